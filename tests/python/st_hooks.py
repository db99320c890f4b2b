"""Schemathesis hooks for the tokenstack run (loaded through SCHEMATHESIS_HOOKS by test_schemathesis.py).

1. Authentication, per API: authentik operations (/api/v3/...) get `Authorization: Bearer <key>` (the
   bootstrap superuser akadmin's key), NetBird operations (/api/users/...) get `Authorization: Token <pat>`
   (the bootstrap owner's PAT). Schemathesis' own negative-auth cases still go through unchanged.

2. Credential protection. Schemathesis reuses identifiers it has seen in responses, so sooner or later it
   would DELETE, PUT/PATCH (e.g. intent or expiry) or set_key the very token it authenticates with, or
   DELETE the very PAT it authenticates with, and every later request would fail with 403/401
   (shared/notes/testing-facts.md). `before_call` below therefore redirects every such mutating request:
     - authentik: PUT/PATCH/DELETE /api/v3/core/tokens/authentik-bootstrap-token/ and
       POST .../authentik-bootstrap-token/set_key/  ->  the same request on identifier
       `protected-by-st-hooks` (does not exist: a documented 404);
     - authentik: PUT/PATCH/DELETE /api/v3/core/users/<akadmin's pk>/ (deactivating, renaming or deleting the
       bootstrap superuser would end its key too)  ->  the same request on id `protected-by-st-hooks` (404);
     - NetBird: DELETE /api/users/{userId}/tokens/<bootstrap PAT id>  ->  tokenId `protectedbysthooks00`.
   Reads of the credentials are left alone. Every redirect is counted and written to the stats file, which
   the test prints, so the protection is visible in the run's output.
"""

from __future__ import annotations

import atexit
import collections
import json
import os

import schemathesis

AK_KEY = os.environ["TOKENSTACK_ST_AK_KEY"]
PAT = os.environ["TOKENSTACK_ST_PAT"]
PAT_ID = os.environ["TOKENSTACK_ST_PAT_ID"]
AK_USER_PK = os.environ["TOKENSTACK_ST_AK_USER_PK"]
STATS_PATH = os.environ.get("TOKENSTACK_ST_STATS")

BOOTSTRAP_IDENTIFIER = "authentik-bootstrap-token"
DECOY_IDENTIFIER = "protected-by-st-hooks"
DECOY_TOKEN_ID = "protectedbysthooks00"

STATS: collections.Counter = collections.Counter()


def _api(case) -> str | None:
    path = case.operation.path
    if path.startswith("/api/v3/"):
        return "authentik"
    if path.startswith("/api/"):
        return "netbird"
    return None  # tokenstack's own unauthenticated endpoints, if the spec has any


@schemathesis.auth(refresh_interval=None)
class PerApiAuth:
    def get(self, case, context):
        return {"authentik": f"Bearer {AK_KEY}", "netbird": f"Token {PAT}"}

    def set(self, case, data, context):
        api = _api(case)
        if api is not None:
            case.headers = case.headers or {}
            case.headers["Authorization"] = data[api]


@schemathesis.hook
def before_call(context, case, **kwargs):
    method = case.method.upper()
    params = case.path_parameters or {}
    STATS[f"requests {_api(case) or 'other'}"] += 1
    if method in {"PUT", "PATCH", "DELETE", "POST"} and params.get("identifier") == BOOTSTRAP_IDENTIFIER:
        params["identifier"] = DECOY_IDENTIFIER
        STATS[f"redirected {method} {case.operation.path} away from {BOOTSTRAP_IDENTIFIER}"] += 1
    if (
        method in {"PUT", "PATCH", "DELETE"}
        and case.operation.path.startswith("/api/v3/core/users/")
        and str(params.get("id")) == AK_USER_PK
    ):
        params["id"] = DECOY_IDENTIFIER
        STATS[f"redirected {method} {case.operation.path} away from akadmin"] += 1
    if method == "DELETE" and params.get("tokenId") == PAT_ID:
        params["tokenId"] = DECOY_TOKEN_ID
        STATS[f"redirected DELETE {case.operation.path} away from the bootstrap PAT"] += 1


@atexit.register
def _write_stats():
    if STATS_PATH:
        with open(STATS_PATH, "w") as fh:
            json.dump(dict(STATS), fh, indent=1, sort_keys=True)
