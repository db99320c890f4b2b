"""The official authentik Python client (authentik-client 2026.8.5) against tokenstack.

Every one of the 17 token operations (9 core, 8 OAuth2) is driven through CoreApi / Oauth2Api, with
the client's strict pydantic models deserializing every response. Expected behaviour follows
shared/notes/upstream-behaviour.md §2-§4. The last test checks that all 17 operations were called.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from authentik_client import ApiClient, Configuration, CoreApi, Oauth2Api
from authentik_client.exceptions import BadRequestException, ForbiddenException, NotFoundException
from authentik_client.models import (
    GenericError,
    IntentEnum,
    PaginatedTokenList,
    PaginatedTokenModelList,
    PatchedTokenRequest,
    Token,
    TokenModel,
    TokenRequest,
    TokenSetKeyRequest,
    TokenView,
)

from conftest import ALICE_KEY, BOB_KEY, BOOTSTRAP_IDENTIFIER, COUNTS

OPERATIONS = {
    "core_tokens_list",
    "core_tokens_create",
    "core_tokens_retrieve",
    "core_tokens_update",
    "core_tokens_partial_update",
    "core_tokens_destroy",
    "core_tokens_set_key_create",
    "core_tokens_used_by_list",
    "core_tokens_view_key_retrieve",
    "oauth2_access_tokens_list",
    "oauth2_access_tokens_retrieve",
    "oauth2_access_tokens_destroy",
    "oauth2_access_tokens_used_by_list",
    "oauth2_refresh_tokens_list",
    "oauth2_refresh_tokens_retrieve",
    "oauth2_refresh_tokens_destroy",
    "oauth2_refresh_tokens_used_by_list",
}
GROUP = "authentik-client operations"

# Seeded users (examples/seed.yaml): alice pk 2 (superuser), bob pk 3 (normal); akadmin is added by bootstrap.
ALICE_PK, BOB_PK = 2, 3


class Counted:
    """Wraps a generated API class and counts every operation called through it."""

    def __init__(self, api):
        self._api = api

    def __getattr__(self, name):
        attr = getattr(self._api, name)
        if callable(attr) and not name.startswith("_"):
            op = name.removesuffix("_with_http_info").removesuffix("_without_preload_content")

            def call(*args, **kwargs):
                COUNTS[GROUP][op] += 1
                return attr(*args, **kwargs)

            return call
        return attr


def apis(tokenstack, key):
    client = ApiClient(Configuration(host=tokenstack.authentik_url, access_token=key))
    return Counted(CoreApi(client)), Counted(Oauth2Api(client))


@pytest.fixture
def admin(tokenstack):
    """CoreApi and Oauth2Api as akadmin (the bootstrap superuser)."""
    return apis(tokenstack, tokenstack.authentik_key)


@pytest.fixture
def bob(tokenstack):
    """CoreApi and Oauth2Api as bob, a normal (non-superuser) user."""
    return apis(tokenstack, BOB_KEY)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now() -> datetime:
    return datetime.now(timezone.utc)


def create(core, identifier, **fields) -> Token:
    response = core.core_tokens_create_with_http_info(TokenRequest(identifier=identifier, **fields))
    assert response.status_code == 201
    body = json.loads(response.raw_data)
    assert "key" not in body, "create must never return the key"
    assert isinstance(response.data, Token)
    return response.data


# --- core tokens: CRUD as the superuser -------------------------------------------------------------


def test_create_retrieve_update_patch(admin):
    core, _ = admin
    ident = unique("crud")
    far = now() + timedelta(days=300)
    token = create(core, ident, description="first", intent=IntentEnum.API, expires=far, expiring=True)
    assert token.identifier == ident
    assert token.intent == IntentEnum.API
    assert token.description == "first"
    assert token.user_obj.username == "akadmin"
    assert token.user == token.user_obj.pk
    assert token.user_obj.is_superuser is True
    assert token.expiring is True
    # intent=api: expires is forced to now + default_token_duration (1 day); the client's value is ignored.
    assert token.expires is not None
    assert abs(token.expires - (now() + timedelta(days=1))) < timedelta(minutes=5)

    got = core.core_tokens_retrieve(ident)
    assert isinstance(got, Token)
    assert got.pk == token.pk and got.identifier == ident and got.description == "first"
    assert got.expires == token.expires

    updated = core.core_tokens_update_with_http_info(
        ident, TokenRequest(identifier=ident, description="second", intent=IntentEnum.API, expiring=True)
    )
    assert updated.status_code == 200
    assert updated.data.description == "second"
    assert updated.data.pk == token.pk
    assert "key" not in json.loads(updated.raw_data)

    patched = core.core_tokens_partial_update_with_http_info(ident, PatchedTokenRequest(description="third"))
    assert patched.status_code == 200
    assert patched.data.description == "third"
    assert patched.data.identifier == ident and patched.data.intent == IntentEnum.API
    assert "key" not in json.loads(patched.raw_data)
    assert core.core_tokens_retrieve(ident).description == "third"


def test_view_key_set_key_and_authentication(tokenstack, admin):
    core, _ = admin
    ident = unique("rotate")
    create(core, ident, intent=IntentEnum.API, description="rotated")
    view = core.core_tokens_view_key_retrieve(ident)
    assert isinstance(view, TokenView)
    old_key = view.key
    assert len(old_key) >= 50

    # The old key authenticates.
    own_core, _ = apis(tokenstack, old_key)
    assert own_core.core_tokens_retrieve(ident).identifier == ident

    new_key = "rotated-" + uuid.uuid4().hex + uuid.uuid4().hex
    response = core.core_tokens_set_key_create_with_http_info(ident, TokenSetKeyRequest(key=new_key))
    assert response.status_code == 204
    assert response.data is None
    assert core.core_tokens_view_key_retrieve(ident).key == new_key

    with pytest.raises(ForbiddenException) as err:
        own_core.core_tokens_list()
    assert isinstance(err.value.data, GenericError)
    assert err.value.data.detail == "Token invalid/expired"

    new_core, _ = apis(tokenstack, new_key)
    listed = new_core.core_tokens_list(identifier=ident)
    assert [t.identifier for t in listed.results] == [ident]


def test_used_by_is_empty(admin):
    core, oauth = admin
    assert core.core_tokens_used_by_list(BOOTSTRAP_IDENTIFIER) == []
    assert oauth.oauth2_access_tokens_used_by_list(1) == []
    assert oauth.oauth2_refresh_tokens_used_by_list(1) == []


def test_list_filters_search_ordering_pagination(admin):
    core, _ = admin
    tag = uuid.uuid4().hex[:8]
    idents = [f"list-{tag}-{c}" for c in "abc"]
    for i, ident in enumerate(idents):
        create(core, ident, description=f"listing {tag} #{i}", intent=IntentEnum.API)
    create(core, f"list-{tag}-app", description=f"listing {tag} app", intent=IntentEnum.APP_PASSWORD,
           expires=now() + timedelta(hours=1))

    everything = core.core_tokens_list(page_size=100)
    assert isinstance(everything, PaginatedTokenList)
    assert everything.autocomplete == {}
    assert everything.pagination.count == len(everything.results) >= 7
    assert everything.pagination.next == 0 and everything.pagination.previous == 0
    # Default ordering: identifier.
    assert [t.identifier for t in everything.results] == sorted(t.identifier for t in everything.results)
    assert {"alice-ci", "bob-api", BOOTSTRAP_IDENTIFIER} <= {t.identifier for t in everything.results}

    # search: icontains over identifier, intent, user__username, description.
    found = core.core_tokens_list(search=tag.upper(), page_size=100)
    assert sorted(t.identifier for t in found.results) == sorted(idents + [f"list-{tag}-app"])
    assert found.pagination.count == 4

    # Exact-match filters.
    assert [t.identifier for t in core.core_tokens_list(identifier=idents[1]).results] == [idents[1]]
    apps = core.core_tokens_list(intent=IntentEnum.APP_PASSWORD, search=tag)
    assert [t.identifier for t in apps.results] == [f"list-{tag}-app"]
    assert [t.identifier for t in core.core_tokens_list(description=f"listing {tag} #2").results] == [idents[2]]
    bobs = core.core_tokens_list(user__username="bob", page_size=100)
    assert bobs.results and all(t.user_obj.username == "bob" for t in bobs.results)
    assert "bob-api" in {t.identifier for t in bobs.results}
    not_expiring = core.core_tokens_list(expiring=False, page_size=100)
    assert {"alice-ci", BOOTSTRAP_IDENTIFIER} <= {t.identifier for t in not_expiring.results}
    assert all(t.expiring is False for t in not_expiring.results)

    # ordering: descending identifier.
    desc = core.core_tokens_list(search=tag, ordering="-identifier")
    assert [t.identifier for t in desc.results] == sorted(idents + [f"list-{tag}-app"], reverse=True)

    # Pagination: page_size 2 over 4 matches.
    page1 = core.core_tokens_list(search=tag, page_size=2, page=1)
    p = page1.pagination
    assert (p.count, p.current, p.total_pages, p.start_index, p.end_index, p.next, p.previous) == (4, 1, 2, 1, 2, 2, 0)
    page2 = core.core_tokens_list(search=tag, page_size=2, page=2)
    p = page2.pagination
    assert (p.count, p.current, p.total_pages, p.start_index, p.end_index, p.next, p.previous) == (4, 2, 2, 3, 4, 0, 1)
    assert [t.identifier for t in page1.results + page2.results] == sorted(idents + [f"list-{tag}-app"])
    # A page out of range is DRF's 404 "Invalid page.".
    with pytest.raises(NotFoundException):
        core.core_tokens_list(search=tag, page_size=2, page=3)

    # An empty result: count 0, current 1, total_pages 1, start/end 0.
    empty = core.core_tokens_list(search="no-such-token-" + tag)
    p = empty.pagination
    assert empty.results == []
    assert (p.count, p.current, p.total_pages, p.start_index, p.end_index, p.next, p.previous) == (0, 1, 1, 0, 0, 0, 0)


def test_destroy(admin):
    core, _ = admin
    ident = unique("doomed")
    create(core, ident, intent=IntentEnum.API)
    response = core.core_tokens_destroy_with_http_info(ident)
    assert response.status_code == 204
    assert response.data is None
    with pytest.raises(NotFoundException):
        core.core_tokens_retrieve(ident)
    with pytest.raises(NotFoundException):
        core.core_tokens_destroy(ident)


# --- validation and error paths -----------------------------------------------------------------------


def test_create_validation_errors(admin):
    core, _ = admin
    ident = unique("dup")
    create(core, ident, intent=IntentEnum.API)
    with pytest.raises(BadRequestException) as err:
        core.core_tokens_create(TokenRequest(identifier=ident, intent=IntentEnum.API))
    assert "identifier" in json.loads(err.value.body)

    with pytest.raises(BadRequestException) as err:
        core.core_tokens_create(TokenRequest(identifier=unique("recovery"), intent=IntentEnum.RECOVERY))
    assert "intent" in json.loads(err.value.body)

    # app_password: expires may not exceed now + the default duration (1 day).
    with pytest.raises(BadRequestException) as err:
        core.core_tokens_create(
            TokenRequest(identifier=unique("app"), intent=IntentEnum.APP_PASSWORD, expires=now() + timedelta(days=10))
        )
    assert "expires" in json.loads(err.value.body)
    soon = (now() + timedelta(hours=2)).replace(microsecond=0)
    app = create(core, unique("app"), intent=IntentEnum.APP_PASSWORD, expires=soon)
    assert app.intent == IntentEnum.APP_PASSWORD and app.expires == soon


def test_bad_credentials_are_403_with_detail(tokenstack):
    for key, detail in [
        ("not-a-real-key", "Token invalid/expired"),
        (None, "Authentication credentials were not provided."),
    ]:
        core, oauth = apis(tokenstack, key)
        with pytest.raises(ForbiddenException) as err:
            core.core_tokens_list()
        assert isinstance(err.value.data, GenericError), err.value.body
        assert err.value.data.detail == detail
        with pytest.raises(ForbiddenException) as err:
            oauth.oauth2_access_tokens_list()
        assert err.value.data.detail == detail


def test_unknown_identifiers_are_404(admin):
    core, oauth = admin
    missing = unique("missing")
    for call in (
        lambda: core.core_tokens_retrieve(missing),
        lambda: core.core_tokens_update(missing, TokenRequest(identifier=missing)),
        lambda: core.core_tokens_partial_update(missing, PatchedTokenRequest(description="x")),
        lambda: core.core_tokens_destroy(missing),
        lambda: core.core_tokens_set_key_create(missing, TokenSetKeyRequest(key="k" * 40)),
        lambda: core.core_tokens_used_by_list(missing),
        lambda: core.core_tokens_view_key_retrieve(missing),
        lambda: oauth.oauth2_access_tokens_retrieve(999999),
        lambda: oauth.oauth2_refresh_tokens_retrieve(999999),
        lambda: oauth.oauth2_access_tokens_destroy(999999),
        lambda: oauth.oauth2_refresh_tokens_used_by_list(999999),
    ):
        with pytest.raises(NotFoundException):
            call()


# --- two users: a normal user is confined to his own tokens ---------------------------------------------


def test_normal_user_cannot_reach_superuser_tokens(admin, bob):
    core, _ = admin
    bob_core, _ = bob
    target = unique("admins")
    create(core, target, intent=IntentEnum.API, description="owned by akadmin")

    listed = bob_core.core_tokens_list(page_size=100)
    assert listed.results and all(t.user == BOB_PK for t in listed.results)
    assert listed.pagination.count == len(listed.results)
    assert bob_core.core_tokens_list(identifier=target).results == []

    for ident in (target, BOOTSTRAP_IDENTIFIER, "alice-ci"):
        for call in (
            lambda: bob_core.core_tokens_retrieve(ident),
            lambda: bob_core.core_tokens_update(ident, TokenRequest(identifier=ident, description="hijacked")),
            lambda: bob_core.core_tokens_partial_update(ident, PatchedTokenRequest(description="hijacked")),
            lambda: bob_core.core_tokens_view_key_retrieve(ident),
            lambda: bob_core.core_tokens_set_key_create(ident, TokenSetKeyRequest(key="x" * 40)),
            lambda: bob_core.core_tokens_used_by_list(ident),
            lambda: bob_core.core_tokens_destroy(ident),
        ):
            with pytest.raises(NotFoundException):
                call()
    # Nothing changed.
    still = core.core_tokens_retrieve(target)
    assert still.description == "owned by akadmin"
    assert core.core_tokens_retrieve(BOOTSTRAP_IDENTIFIER).user_obj.username == "akadmin"


def test_normal_user_creates_for_himself(admin, bob):
    core, _ = admin
    bob_core, _ = bob
    ident = unique("bobs")
    # user and expiring are forced for non-superusers.
    token = create(bob_core, ident, intent=IntentEnum.API, user=core.core_tokens_retrieve(BOOTSTRAP_IDENTIFIER).user,
                   expiring=False)
    assert token.user == BOB_PK and token.user_obj.username == "bob"
    assert token.expiring is True
    # The creator is granted view_token_key on his new token.
    assert len(bob_core.core_tokens_view_key_retrieve(ident).key) >= 50
    assert bob_core.core_tokens_partial_update(ident, PatchedTokenRequest(description="mine")).description == "mine"
    assert bob_core.core_tokens_retrieve(ident).description == "mine"
    # The superuser sees bob's token too.
    assert core.core_tokens_retrieve(ident).user_obj.username == "bob"
    assert bob_core.core_tokens_destroy_with_http_info(ident).status_code == 204


def test_token_created_for_user_by_admin_does_not_grant_view_key(admin, bob):
    core, _ = admin
    bob_core, _ = bob
    ident = unique("for-bob")
    token = create(core, ident, intent=IntentEnum.API, user=BOB_PK)
    assert token.user == BOB_PK
    assert bob_core.core_tokens_retrieve(ident).identifier == ident
    with pytest.raises(ForbiddenException) as err:
        bob_core.core_tokens_view_key_retrieve(ident)
    assert err.value.data is not None and err.value.data.detail


# --- OAuth2 access and refresh tokens ---------------------------------------------------------------------


def check_token_model(model: TokenModel):
    assert isinstance(model, TokenModel)
    assert model.provider.pk == 1 and model.provider.name == "grafana"
    assert isinstance(model.id_token, str)


def test_oauth2_access_tokens(admin, bob):
    _, oauth = admin
    _, bob_oauth = bob
    listed = oauth.oauth2_access_tokens_list()
    assert isinstance(listed, PaginatedTokenModelList)
    assert listed.autocomplete == {}
    pks = [t.pk for t in listed.results]
    assert {1, 2} <= set(pks)
    assert listed.pagination.count == len(listed.results)
    for t in listed.results:
        check_token_model(t)
    assert [t.pk for t in oauth.oauth2_access_tokens_list(user=ALICE_PK).results] == [1]
    assert {t.pk for t in oauth.oauth2_access_tokens_list(provider=1).results} == set(pks)
    # provider/user are django-filter ModelChoiceFilters: an unknown pk is 400 "Select a valid choice".
    with pytest.raises(BadRequestException) as err:
        oauth.oauth2_access_tokens_list(provider=999)
    assert "provider" in json.loads(err.value.body)
    assert [t.pk for t in oauth.oauth2_access_tokens_list(search="alice").results] == [1]
    page = oauth.oauth2_access_tokens_list(page_size=1, page=1)
    assert len(page.results) == 1 and page.pagination.total_pages == len(pks) and page.pagination.next == 2

    one = oauth.oauth2_access_tokens_retrieve(1)
    check_token_model(one)
    assert one.pk == 1 and one.user.username == "alice"
    assert one.scope == ["openid", "profile", "email"]
    assert one.is_expired is False
    assert json.loads(one.id_token)["sub"] == "alice"
    expired = oauth.oauth2_access_tokens_retrieve(2)
    assert expired.user.username == "bob" and expired.is_expired is True

    # bob sees only his own.
    bob_list = bob_oauth.oauth2_access_tokens_list()
    assert [t.pk for t in bob_list.results] == [2]
    with pytest.raises(NotFoundException):
        bob_oauth.oauth2_access_tokens_retrieve(1)
    with pytest.raises(NotFoundException):
        bob_oauth.oauth2_access_tokens_used_by_list(1)
    with pytest.raises(NotFoundException):
        bob_oauth.oauth2_access_tokens_destroy(1)
    assert oauth.oauth2_access_tokens_retrieve(1).pk == 1


def test_oauth2_refresh_tokens(admin, bob):
    _, oauth = admin
    _, bob_oauth = bob
    listed = oauth.oauth2_refresh_tokens_list()
    assert isinstance(listed, PaginatedTokenModelList)
    assert [t.pk for t in listed.results] == [1]
    assert oauth.oauth2_refresh_tokens_list(user=ALICE_PK).results == []
    assert [t.pk for t in oauth.oauth2_refresh_tokens_list(user=BOB_PK).results] == [1]
    one = oauth.oauth2_refresh_tokens_retrieve(1)
    check_token_model(one)
    assert one.user.username == "bob" and one.scope == ["openid", "offline_access"] and one.is_expired is False
    assert [t.pk for t in bob_oauth.oauth2_refresh_tokens_list().results] == [1]
    assert bob_oauth.oauth2_refresh_tokens_retrieve(1).pk == 1
    assert bob_oauth.oauth2_refresh_tokens_used_by_list(1) == []


def test_oauth2_destroy(admin, bob):
    _, oauth = admin
    _, bob_oauth = bob
    # bob may delete his own refresh token; the superuser deletes bob's expired access token.
    response = bob_oauth.oauth2_refresh_tokens_destroy_with_http_info(1)
    assert response.status_code == 204 and response.data is None
    with pytest.raises(NotFoundException):
        oauth.oauth2_refresh_tokens_retrieve(1)
    assert oauth.oauth2_refresh_tokens_list().results == []

    response = oauth.oauth2_access_tokens_destroy_with_http_info(2)
    assert response.status_code == 204 and response.data is None
    with pytest.raises(NotFoundException):
        oauth.oauth2_access_tokens_retrieve(2)
    assert 2 not in {t.pk for t in oauth.oauth2_access_tokens_list().results}


def test_seeded_superuser_alice_sees_everything(tokenstack):
    core, oauth = apis(tokenstack, ALICE_KEY)
    assert BOOTSTRAP_IDENTIFIER in {t.identifier for t in core.core_tokens_list(page_size=100).results}
    assert core.core_tokens_retrieve("bob-api").user_obj.username == "bob"
    assert core.core_tokens_view_key_retrieve("alice-ci").key == ALICE_KEY


def test_all_17_operations_were_driven():
    """Runs last in this file: every authentik operation went through the official client."""
    called = set(COUNTS[GROUP])
    print(f"authentik-client drove {len(called & OPERATIONS)}/17 operations, {sum(COUNTS[GROUP].values())} calls")
    assert OPERATIONS - called == set()
