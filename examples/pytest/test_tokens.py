"""Tests as a team writes them against authentik and NetBird: the tokenstack fixtures and the official clients.

Each test gets the session's tokenstack server back in its start-up state (the `tokenstack` fixture resets
the state, the clock and the fault rules first), so tests never see each other's tokens.
"""

import authentik_client
import pytest
from authentik_client import CoreApi, IntentEnum, TokenRequest, UserRequest
from authentik_client.exceptions import ForbiddenException
from netbird.exceptions import NetBirdAuthenticationError, NetBirdServerError
from netbird.models import TokenCreate, UserCreate

CI_BOT_PAT = "nbp_GFQ9OIZ8lRv83g5RLzL9bt5qJCzdm43kXuyc"


def test_create_an_authentik_token(tokenstack):
    api = CoreApi(tokenstack.authentik_client())
    token = api.core_tokens_create(TokenRequest(identifier="ci-deploy"))
    assert token.identifier == "ci-deploy"


def test_list_the_netbird_owners_pats(tokenstack):
    pats = tokenstack.netbird_client().tokens.list(tokenstack.netbird_user)
    assert [pat["name"] for pat in pats] == ["bootstrap"]


def test_create_users_and_their_tokens(tokenstack):
    core = CoreApi(tokenstack.authentik_client())
    erin = core.core_users_create(UserRequest(username="erin", name="Erin"))
    token = core.core_tokens_create(TokenRequest(identifier="erin-ci", user=erin.pk, intent=IntentEnum.API))
    assert (token.user, token.user_obj.username) == (erin.pk, "erin")

    netbird = tokenstack.netbird_client()
    bot = netbird.users.create(UserCreate(email="deploy-bot@example.com", name="deploy-bot", role="admin", is_service_user=True))
    pat = netbird.tokens.create(bot["id"], TokenCreate(name="ci", expires_in=30))
    assert [p["name"] for p in tokenstack.netbird_client(pat["plain_token"]).tokens.list(bot["id"])] == ["ci"]


def test_reset_returns_to_the_start_up_state(tokenstack):
    api = CoreApi(tokenstack.authentik_client())
    api.core_tokens_create(TokenRequest(identifier="left-behind"))
    tokenstack.reset()
    assert [token.identifier for token in api.core_tokens_list().results] == ["authentik-bootstrap-token"]


def test_seed_users_and_their_tokens(tokenstack):
    tokenstack.seed(
        {
            "authentik": {
                "users": [{"pk": 7, "username": "erin", "email": "erin@example.com"}],
                "tokens": [{"identifier": "erin-ci", "user": "erin", "key": "erin-key", "expiring": False}],
            },
            "netbird": {
                "users": [{"id": "ci-bot", "role": "admin", "service_user": True, "pats": [{"name": "ci", "token": CI_BOT_PAT}]}]
            },
        }
    )
    erin = CoreApi(tokenstack.authentik_client("erin-key"))
    assert [token.identifier for token in erin.core_tokens_list().results] == ["erin-ci"]
    ci_bot = tokenstack.netbird_client(CI_BOT_PAT)
    assert [pat["name"] for pat in ci_bot.tokens.list("ci-bot")] == ["ci"]
    # The bootstrap credentials survive a seed.
    assert CoreApi(tokenstack.authentik_client()).core_tokens_list().pagination.count == 2


def test_tokens_expire_when_the_clock_moves(tokenstack):
    admin = CoreApi(tokenstack.authentik_client())
    admin.core_tokens_create(TokenRequest(identifier="short-lived", intent=IntentEnum.API))
    key = admin.core_tokens_view_key_retrieve("short-lived").key
    short_lived = CoreApi(tokenstack.authentik_client(key))
    short_lived.core_tokens_list()
    tokenstack.clock(2 * 24 * 3600)
    with pytest.raises(ForbiddenException):
        short_lived.core_tokens_list()


def test_injected_faults_reach_the_client(tokenstack):
    tokenstack.faults([{"operation_id": "netbird_tokens_list", "error_rate": 1.0, "error_status": 503}])
    with pytest.raises(NetBirdServerError):
        tokenstack.netbird_client().tokens.list(tokenstack.netbird_user)
    tokenstack.faults([])
    assert tokenstack.netbird_client().tokens.list(tokenstack.netbird_user)


def test_a_wrong_pat_is_refused(tokenstack):
    with pytest.raises(NetBirdAuthenticationError):
        tokenstack.netbird_client("nbp_" + "0" * 36).tokens.list(tokenstack.netbird_user)


def test_the_clients_point_at_the_session_server(tokenstack, tokenstack_server):
    assert tokenstack is tokenstack_server
    assert tokenstack.base_url.startswith("http://127.0.0.1:")
    assert isinstance(tokenstack.authentik_client(), authentik_client.ApiClient)
