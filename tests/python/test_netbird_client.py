"""The `netbird` 1.4.0 PyPI client against tokenstack's NetBird PAT API.

All 4 operations (client.tokens.list/create/get/delete) with assertions, both auth schemes, the role
matrix and validation errors, as in shared/notes/upstream-behaviour.md §5-§7. The client does not
validate response models, so this file checks the bodies itself; an httpx response hook records the
raw status and body of each call so that upstream's 200-on-create and `{}`-on-delete can be checked.
"""

from __future__ import annotations

import uuid
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from netbird import APIClient
from netbird.exceptions import (
    NetBirdAPIError,
    NetBirdAuthenticationError,
    NetBirdNotFoundError,
    NetBirdValidationError,
)
from netbird.models import TokenCreate

from conftest import (
    AUDITOR_PAT,
    BASE62,
    BLOCKED_PAT,
    BOOTSTRAP_NB_USER,
    COUNTS,
    NETADMIN_PAT,
    SERVICE_PAT,
    USER_ROLE_PAT,
)

GROUP = "netbird-client operations"
OPERATIONS = {"list", "create", "get", "delete"}
PAT_FIELDS = {"id", "name", "expiration_date", "created_by", "created_at"}


class Recorded:
    """An APIClient whose `tokens` calls are counted and whose raw HTTP responses are kept."""

    def __init__(self, tokenstack, pat, scheme="Token"):
        self.client = APIClient(host=tokenstack.base_url, api_token=pat, auth_scheme=scheme)
        self.responses = []
        self.client.client.event_hooks["response"].append(self._record)

    def _record(self, response):
        response.read()
        self.responses.append(response)

    @property
    def last(self):
        return self.responses[-1]

    def __getattr__(self, op):
        method = getattr(self.client.tokens, op)

        def call(*args, **kwargs):
            COUNTS[GROUP][op] += 1
            return method(*args, **kwargs)

        return call


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def now() -> datetime:
    return datetime.now(timezone.utc)


def valid_pat(token: str) -> bool:
    if len(token) != 40 or not token.startswith("nbp_"):
        return False
    checksum = 0
    for ch in token[34:]:
        checksum = checksum * 62 + BASE62.index(ch)
    return checksum == zlib.crc32(token[4:34].encode())


def check_pat(body: dict, name: str | None = None, user: str | None = None):
    assert PAT_FIELDS <= set(body), body
    assert set(body) <= PAT_FIELDS | {"last_used"}, body
    assert "plain_token" not in body and "hashed_token" not in body
    if name is not None:
        assert body["name"] == name
    if user is not None:
        assert body["created_by"] == user
    parse_time(body["created_at"])
    parse_time(body["expiration_date"])


def status_of(exc: pytest.ExceptionInfo) -> int:
    return exc.value.status_code


@pytest.fixture
def owner(tokenstack):
    return Recorded(tokenstack, tokenstack.netbird_pat)


# --- all four operations as the owner ----------------------------------------------------------------


def test_owner_full_cycle(tokenstack, owner):
    listed = owner.list(BOOTSTRAP_NB_USER)
    assert owner.last.status_code == 200
    assert owner.last.headers["content-type"].startswith("application/json")
    assert owner.last.headers.get("x-request-id")
    assert isinstance(listed, list) and listed
    bootstrap = [t for t in listed if t["name"] == "bootstrap"]
    assert len(bootstrap) == 1
    check_pat(bootstrap[0], "bootstrap", BOOTSTRAP_NB_USER)
    # The bootstrap PAT authenticated this very request, so it is marked used.
    assert "last_used" in bootstrap[0]

    name = f"ci-{uuid.uuid4().hex[:8]}"
    created = owner.create(BOOTSTRAP_NB_USER, TokenCreate(name=name, expires_in=30))
    assert owner.last.status_code == 200  # NetBird's create is 200, not 201
    assert set(created) == {"plain_token", "personal_access_token"}
    plain = created["plain_token"]
    assert valid_pat(plain), plain
    pat = created["personal_access_token"]
    check_pat(pat, name, BOOTSTRAP_NB_USER)
    assert "last_used" not in pat  # omitempty: absent until first use, never null
    expected = now() + timedelta(days=30)
    assert abs(parse_time(pat["expiration_date"]) - expected) < timedelta(minutes=5)
    assert abs(parse_time(pat["created_at"]) - now()) < timedelta(minutes=5)

    got = owner.get(BOOTSTRAP_NB_USER, pat["id"])
    assert owner.last.status_code == 200
    check_pat(got, name, BOOTSTRAP_NB_USER)
    assert got["id"] == pat["id"] and "last_used" not in got
    assert pat["id"] in {t["id"] for t in owner.list(BOOTSTRAP_NB_USER)}

    # The new PAT authenticates (Token scheme) and is then marked used.
    fresh = Recorded(tokenstack, plain)
    assert pat["id"] in {t["id"] for t in fresh.list(BOOTSTRAP_NB_USER)}
    used = owner.get(BOOTSTRAP_NB_USER, pat["id"])
    assert abs(parse_time(used["last_used"]) - now()) < timedelta(minutes=5)

    assert owner.delete(BOOTSTRAP_NB_USER, pat["id"]) is None
    assert owner.last.status_code == 200
    assert owner.last.json() == {}
    with pytest.raises(NetBirdNotFoundError) as err:
        owner.get(BOOTSTRAP_NB_USER, pat["id"])
    assert err.value.message == f"pat: {pat['id']} not found"
    with pytest.raises(NetBirdNotFoundError):
        owner.delete(BOOTSTRAP_NB_USER, pat["id"])
    # A deleted PAT no longer authenticates.
    with pytest.raises(NetBirdAuthenticationError) as err:
        fresh.list(BOOTSTRAP_NB_USER)
    assert status_of(err) == 401


def test_bearer_scheme(tokenstack):
    bearer = Recorded(tokenstack, tokenstack.netbird_pat, scheme="Bearer")
    listed = bearer.list(BOOTSTRAP_NB_USER)
    assert "bootstrap" in {t["name"] for t in listed}
    created = bearer.create(BOOTSTRAP_NB_USER, TokenCreate(name="via-bearer", expires_in=1))
    token_id = created["personal_access_token"]["id"]
    assert bearer.get(BOOTSTRAP_NB_USER, token_id)["name"] == "via-bearer"
    bearer.delete(BOOTSTRAP_NB_USER, token_id)
    # And the new PAT works with Bearer too.
    with pytest.raises(NetBirdNotFoundError):
        bearer.get(BOOTSTRAP_NB_USER, token_id)


def test_validation_errors(owner):
    for body, message in [
        (TokenCreate.model_construct(name="zero", expires_in=0), "expiration has to be between 1 and 365"),
        (TokenCreate.model_construct(name="too-long", expires_in=366), "expiration has to be between 1 and 365"),
        (TokenCreate.model_construct(name="", expires_in=5), "token name can't be empty"),
    ]:
        with pytest.raises(NetBirdValidationError) as err:
            owner.create(BOOTSTRAP_NB_USER, body)
        assert status_of(err) == 422
        assert err.value.message == message
        assert err.value.response_data == {"message": message, "code": 422}
    names = {t["name"] for t in owner.list(BOOTSTRAP_NB_USER)}
    assert not names & {"zero", "too-long", ""}


def test_unknown_ids_and_bad_credentials(tokenstack, owner):
    with pytest.raises(NetBirdNotFoundError) as err:
        owner.list("nobody")
    assert err.value.message == "user: nobody not found"
    with pytest.raises(NetBirdNotFoundError) as err:
        owner.get(BOOTSTRAP_NB_USER, "doesnotexist00000000")
    assert err.value.message == "pat: doesnotexist00000000 not found"

    # A malformed PAT (bad checksum) and a scheme NetBird does not know.
    broken = tokenstack.netbird_pat[:-1] + ("0" if tokenstack.netbird_pat[-1] != "0" else "1")
    for client, message in [
        (Recorded(tokenstack, broken), "token invalid"),
        (Recorded(tokenstack, "nbp_short"), "token invalid"),
    ]:
        with pytest.raises(NetBirdAuthenticationError) as err:
            client.list(BOOTSTRAP_NB_USER)
        assert status_of(err) == 401 and err.value.message == message


# --- the role matrix ---------------------------------------------------------------------------------------


def expect_403(call, message):
    with pytest.raises(NetBirdAPIError) as err:
        call()
    assert status_of(err) == 403, (err.value.status_code, err.value.message)
    assert err.value.message == message
    assert err.value.response_data == {"message": message, "code": 403}


def test_owner_manages_service_users_but_not_other_humans(owner):
    # Admin power + service-user target: allowed.
    robot = owner.list("robot")
    assert "robot-ci" in {t["name"] for t in robot}
    created = owner.create("robot", TokenCreate(name="robot-extra", expires_in=7))
    pat = created["personal_access_token"]
    check_pat(pat, "robot-extra", BOOTSTRAP_NB_USER)  # created_by is the initiator
    assert owner.get("robot", pat["id"])["id"] == pat["id"]
    owner.delete("robot", pat["id"])
    # Another human user's PATs are off limits even to the owner.
    for target in ("auditor", "netadmin", "plain-user"):
        expect_403(lambda: owner.list(target), "admin role required to perform this action")
        expect_403(lambda: owner.create(target, TokenCreate(name="x", expires_in=1)),
                   "admin role required to perform this action")
    # A PAT id of another user, asked for under the caller's own id, is not found.
    with pytest.raises(NetBirdNotFoundError):
        owner.get(BOOTSTRAP_NB_USER, robot[0]["id"])


def test_network_admin_manages_own(tokenstack):
    netadmin = Recorded(tokenstack, NETADMIN_PAT)
    assert "netadmin-ci" in {t["name"] for t in netadmin.list("netadmin")}
    pat = netadmin.create("netadmin", TokenCreate(name="na", expires_in=2))["personal_access_token"]
    assert netadmin.get("netadmin", pat["id"])["name"] == "na"
    netadmin.delete("netadmin", pat["id"])
    # No admin power: a service user's PATs are out of reach.
    expect_403(lambda: netadmin.list("robot"), "admin role required to perform this action")


def test_auditor_reads_only(tokenstack):
    auditor = Recorded(tokenstack, AUDITOR_PAT)
    listed = auditor.list("auditor")
    assert [t["name"] for t in listed] == ["auditor-ci"]
    assert auditor.get("auditor", listed[0]["id"])["name"] == "auditor-ci"
    expect_403(lambda: auditor.create("auditor", TokenCreate(name="nope", expires_in=1)), "permission denied")
    expect_403(lambda: auditor.delete("auditor", listed[0]["id"]), "permission denied")
    expect_403(lambda: auditor.list(BOOTSTRAP_NB_USER), "admin role required to perform this action")
    assert [t["name"] for t in auditor.list("auditor")] == ["auditor-ci"]


def test_user_role_has_no_pat_permissions(tokenstack):
    user = Recorded(tokenstack, USER_ROLE_PAT)
    expect_403(lambda: user.list("plain-user"), "permission denied")
    expect_403(lambda: user.get("plain-user", "whatever"), "permission denied")
    expect_403(lambda: user.create("plain-user", TokenCreate(name="nope", expires_in=1)), "permission denied")
    expect_403(lambda: user.delete("plain-user", "whatever"), "permission denied")


def test_service_user_reads_own(tokenstack):
    robot = Recorded(tokenstack, SERVICE_PAT)
    listed = robot.list("robot")
    assert "robot-ci" in {t["name"] for t in listed}
    expect_403(lambda: robot.create("robot", TokenCreate(name="nope", expires_in=1)), "permission denied")


def test_blocked_user(tokenstack):
    blocked = Recorded(tokenstack, BLOCKED_PAT)
    for call in (
        lambda: blocked.list("blocked"),
        lambda: blocked.create("blocked", TokenCreate(name="nope", expires_in=1)),
        lambda: blocked.get("blocked", "whatever"),
        lambda: blocked.delete("blocked", "whatever"),
    ):
        expect_403(call, "user is blocked")


def test_empty_list_is_an_empty_array(owner):
    """A user without PATs gets `[]`: a deliberate divergence (upstream sends `null`, contradicting its own
    spec, from a nil Go slice); the client maps either to []."""
    for token in owner.list("robot"):
        owner.delete("robot", token["id"])
    assert owner.list("robot") == []
    assert owner.last.status_code == 200
    assert owner.last.content.strip() == b"[]"


def test_all_4_operations_were_driven():
    called = set(COUNTS[GROUP])
    print(f"netbird client drove {len(called & OPERATIONS)}/4 operations, {sum(COUNTS[GROUP].values())} calls")
    assert OPERATIONS - called == set()
