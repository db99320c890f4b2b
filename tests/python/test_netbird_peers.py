"""NetBird's e2e harness sequence through the `netbird` 1.4.0 PyPI client, unmodified, to its end: the instance,
the current user, the account, `All`, a group, the `e2e-agents` setup key, then agents that join with it (the
plugin's `join_peer`, what the management server does on a setup-key login) and `client.peers`; the account
settings through `client.accounts`. Each test starts from the plugin's reset state.
"""

from __future__ import annotations

import uuid

import pytest
from netbird import APIClient
from netbird.exceptions import NetBirdAPIError, NetBirdNotFoundError
from netbird.models import AccountSettings, GroupCreate, PeerUpdate, SetupKeyCreate

from tokenstack import TokenstackError

from conftest import AUDITOR_PAT, USER_ROLE_PAT


def client(tokenstack, pat=None) -> APIClient:
    return APIClient(host=tokenstack.base_url, api_token=pat or tokenstack.netbird_pat)


def test_the_harness_sequence_with_agents_that_join(tokenstack):
    owner = client(tokenstack)
    assert owner.instance.get_status() == {"setup_required": False}
    assert owner.users.get_current()["role"] == "owner"
    accounts = owner.accounts.list()
    assert len(accounts) == 1 and accounts[0]["settings"]["peer_login_expiration_enabled"] is True
    all_group = owner.groups.list()[0]
    assert all_group["name"] == "All"
    group = owner.groups.create(GroupCreate(name=f"agents-{uuid.uuid4().hex[:8]}"))
    key = owner.setup_keys.create(SetupKeyCreate(
        name="e2e-agents", type="reusable", expires_in=86400, usage_limit=2, auto_groups=[group["id"]]))

    first = tokenstack.join_peer(key["key"], "agent-1", os="linux", version="0.77.1")
    second = tokenstack.join_peer(key["key"], "agent-2")
    assert [g["name"] for g in first["groups"]] == ["All", group["name"]]
    assert (first["os"], first["version"], first["dns_label"]) == ("linux ", "0.77.1", "agent-1.netbird.selfhosted")

    # The harness polls GET /api/peers until its agents are there.
    peers = owner.peers.list()
    assert sorted(p["name"] for p in peers) == ["agent-1", "agent-2"]
    assert all(p["ephemeral"] is False and p["accessible_peers_count"] == 0 for p in peers)
    assert owner.peers.list(name="agent-2")[0]["id"] == second["id"]
    assert owner.peers.get(first["id"])["ip"] == first["ip"]
    assert owner.groups.get(group["id"])["peers_count"] == 2
    used = owner.setup_keys.get(key["id"])
    assert (used["used_times"], used["state"]) == (2, "overused")

    # Overused: the management server's refusal, with its gRPC NotFound as 404.
    with pytest.raises(TokenstackError) as err:
        tokenstack.join_peer(key["key"], "agent-3")
    assert err.value.status == 404 and "couldn't add peer: setup key is invalid" in str(err.value)

    renamed = owner.peers.update(second["id"], PeerUpdate(
        name="builder", ssh_enabled=True, login_expiration_enabled=False, inactivity_expiration_enabled=False))
    assert (renamed["name"], renamed["ssh_enabled"]) == ("builder", True)
    owner.peers.delete(first["id"])
    with pytest.raises(NetBirdNotFoundError):
        owner.peers.get(first["id"])
    assert [p["id"] for p in owner.peers.list()] == [second["id"]]
    # The auditor reads the peers; a `user`-role caller sees none while the account blocks regular users' views.
    assert [p["id"] for p in client(tokenstack, AUDITOR_PAT).peers.list()] == [second["id"]]
    assert client(tokenstack, USER_ROLE_PAT).peers.list() == []


def test_account_settings_through_the_client(tokenstack):
    owner = client(tokenstack)
    account = owner.accounts.list()[0]
    settings = AccountSettings(peer_login_expiration_enabled=True, peer_login_expiration=7200)
    updated = owner.accounts.update(account["id"], settings)
    assert (updated["settings"]["peer_login_expiration"], updated["settings"]["regular_users_view_blocked"]) == (
        7200, False)
    assert owner.accounts.list()[0]["settings"]["peer_login_expiration"] == 7200
    with pytest.raises(NetBirdAPIError) as err:
        owner.accounts.update(account["id"], AccountSettings(peer_login_expiration=60))
    assert (err.value.status_code, err.value.response_data) == (
        422, {"message": "peer login expiration can't be smaller than one hour", "code": 422})
    with pytest.raises(NetBirdAPIError) as err:
        client(tokenstack, AUDITOR_PAT).accounts.update(account["id"], settings)
    assert (err.value.status_code, err.value.response_data) == (403, {"message": "permission denied", "code": 403})
