"""Users through the official clients: authentik-client's CoreApi user operations and the `netbird` client's
users resource, each with what a user's creation and deletion mean for their credentials.
"""

from __future__ import annotations

import uuid

import pytest
from authentik_client import ApiClient, Configuration, CoreApi
from authentik_client.exceptions import ForbiddenException, NotFoundException
from authentik_client.models import IntentEnum, SessionUser, TokenRequest, User, UserRequest, UserServiceAccountRequest
from netbird import APIClient
from netbird.exceptions import NetBirdAuthenticationError
from netbird.models import TokenCreate, UserCreate


def core(tokenstack, key) -> CoreApi:
    return CoreApi(ApiClient(Configuration(host=tokenstack.authentik_url, access_token=key)))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_authentik_user_lifecycle_takes_its_tokens_and_key(tokenstack):
    admin = core(tokenstack, tokenstack.authentik_key)
    username = unique("carol")
    user = admin.core_users_create(UserRequest(username=username, name="Carol", email=f"{username}@example.com"))
    assert isinstance(user, User) and user.username == username and user.path == "users"
    assert admin.core_users_retrieve(user.pk).uuid == user.uuid
    identifier = unique("carol-api")
    admin.core_tokens_create(TokenRequest(identifier=identifier, user=user.pk, intent=IntentEnum.API))
    key = admin.core_tokens_view_key_retrieve(identifier).key
    as_user = core(tokenstack, key)
    listed = as_user.core_tokens_list()
    assert [t.identifier for t in listed.results] == [identifier], "the user's key lists only their own tokens"
    me = as_user.core_users_me_retrieve()
    assert isinstance(me, SessionUser) and me.user.username == username

    admin.core_users_destroy(user.pk)
    with pytest.raises(ForbiddenException):
        as_user.core_tokens_list()
    with pytest.raises(NotFoundException):
        admin.core_tokens_retrieve(identifier)
    with pytest.raises(NotFoundException):
        admin.core_users_retrieve(user.pk)


def test_authentik_service_account_gets_its_app_password(tokenstack):
    admin = core(tokenstack, tokenstack.authentik_key)
    name = unique("robot")
    created = admin.core_users_service_account_create(UserServiceAccountRequest(name=name))
    assert created.username == name and created.token
    tokens = admin.core_tokens_list(user__username=name).results
    assert [(t.identifier, t.intent) for t in tokens] == [(f"service-account-{name}-password", IntentEnum.APP_PASSWORD)]
    assert admin.core_tokens_view_key_retrieve(tokens[0].identifier).key == created.token
    user = admin.core_users_retrieve(created.user_pk)
    assert user.path == "goauthentik.io/service-accounts" and user.type.value == "service_account"


def test_netbird_service_user_pat_lives_and_dies_with_the_user(tokenstack):
    owner = APIClient(host=tokenstack.base_url, api_token=tokenstack.netbird_pat)
    bot = owner.users.create(UserCreate(email="bot@example.com", name=unique("bot"), role="admin", is_service_user=True))
    assert bot["is_service_user"] is True and bot["role"] == "admin"
    pat = owner.tokens.create(bot["id"], TokenCreate(name="bot-ci", expires_in=30))
    as_bot = APIClient(host=tokenstack.base_url, api_token=pat["plain_token"])
    ids = {u["id"] for u in as_bot.users.list()}
    assert bot["id"] in ids and "admin" in ids, "the PAT authenticates with the service user's admin role"
    owner.users.delete(bot["id"])
    with pytest.raises(NetBirdAuthenticationError):
        as_bot.users.list()
