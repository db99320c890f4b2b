"""NetBird setup keys through the `netbird` 1.4.0 PyPI client: `client.setup_keys.list`, `.create`, `.get`,
`.update` and `.delete`, as NetBird's own e2e harness creates its agents' key.

The plain key only in the create response and the hidden form elsewhere; upstream's refusals with NetBird's
bodies; revoking without un-revoking; an expired key with the clock offset. Each test starts from the plugin's
reset state.
"""

from __future__ import annotations

import uuid

import pytest
from netbird import APIClient
from netbird.exceptions import NetBirdAPIError, NetBirdNotFoundError, NetBirdValidationError
from netbird.models import GroupCreate, SetupKeyCreate, SetupKeyUpdate

from conftest import AUDITOR_PAT, USER_ROLE_PAT


def client(tokenstack, pat=None) -> APIClient:
    return APIClient(host=tokenstack.base_url, api_token=pat or tokenstack.netbird_pat)


def test_the_e2e_harness_key_and_the_hidden_form(tokenstack):
    owner = client(tokenstack)
    group = owner.groups.create(GroupCreate(name=f"agents-{uuid.uuid4().hex[:8]}"))
    created = owner.setup_keys.create(SetupKeyCreate(
        name="e2e-agents", type="reusable", expires_in=86400, usage_limit=0, auto_groups=[group["id"]]))
    key = created["key"]
    assert len(key) == 36 and key == key.upper() and str(uuid.UUID(key)).upper() == key
    assert (created["state"], created["valid"], created["used_times"], created["auto_groups"]) == (
        "valid", True, 0, [group["id"]])
    assert created["last_used"] == "0001-01-01T00:00:00Z"
    hidden = key[:5] + "****"
    assert [k["key"] for k in owner.setup_keys.list() if k["id"] == created["id"]] == [hidden]
    assert owner.setup_keys.get(created["id"])["key"] == hidden
    # The auditor reads them; a `user`-role caller may not.
    assert client(tokenstack, AUDITOR_PAT).setup_keys.get(created["id"])["key"] == hidden
    with pytest.raises(NetBirdAPIError) as err:
        client(tokenstack, USER_ROLE_PAT).setup_keys.list()
    assert (err.value.status_code, err.value.response_data) == (403, {"message": "permission denied", "code": 403})

    # The group the key holds cannot be deleted.
    with pytest.raises(NetBirdValidationError) as err:
        owner.groups.delete(group["id"])
    assert err.value.response_data == {"message": "group has been linked to setup key: e2e-agents", "code": 400}


def test_refusals_have_upstreams_statuses_and_texts(tokenstack):
    owner = client(tokenstack)
    all_id = owner.groups.list()[0]["id"]
    cases = [
        (SetupKeyCreate(name="", type="reusable", expires_in=0), 422, "setup key name shouldn't be empty"),
        (SetupKeyCreate(name="k", type="one-off", expires_in=0, usage_limit=2), 422,
         "usage_limit 2 is not valid for a one-off setup key, which can be used once; use type reusable for a key "
         "that can be used more than once"),
        (SetupKeyCreate(name="k", type="reusable", expires_in=-60), 422, "expiresin can not be in the past"),
        (SetupKeyCreate(name="k", type="reusable", expires_in=0, auto_groups=["unknown"]), 422,
         "invalid auto groups: group not found: unknown"),
        (SetupKeyCreate(name="k", type="reusable", expires_in=0, auto_groups=[all_id]), 422,
         "invalid auto groups: can't add 'all' group to the setup key"),
    ]
    for body, status, message in cases:
        with pytest.raises(NetBirdValidationError) as err:
            owner.setup_keys.create(body)
        assert (err.value.status_code, err.value.response_data) == (status, {"message": message, "code": status})


def test_revoke_once_delete_and_expire_with_the_clock(tokenstack):
    owner = client(tokenstack)
    once = owner.setup_keys.create(SetupKeyCreate(name="once", type="one-off", expires_in=3600))
    assert once["usage_limit"] == 1
    revoked = owner.setup_keys.update(once["id"], SetupKeyUpdate(revoked=True, auto_groups=[]))
    assert (revoked["revoked"], revoked["valid"], revoked["state"]) == (True, False, "revoked")
    with pytest.raises(NetBirdValidationError) as err:
        owner.setup_keys.update(once["id"], SetupKeyUpdate(revoked=False, auto_groups=[]))
    assert err.value.response_data == {"message": "can't un-revoke a revoked setup key", "code": 422}
    with pytest.raises(NetBirdValidationError) as err:
        owner.setup_keys.update(once["id"], SetupKeyUpdate(revoked=True))
    assert err.value.response_data == {"message": "setup key autogroups field is invalid", "code": 422}
    owner.setup_keys.delete(once["id"])
    with pytest.raises(NetBirdNotFoundError) as err:
        owner.setup_keys.get(once["id"])
    assert err.value.response_data == {"message": f"setup key: {once['id']} not found", "code": 404}

    hour = owner.setup_keys.create(SetupKeyCreate(name="hour", type="reusable", expires_in=3600))
    tokenstack.clock(7200)
    try:
        expired = owner.setup_keys.get(hour["id"])
        assert (expired["state"], expired["valid"]) == ("expired", False)
    finally:
        tokenstack.clock(0)
    assert owner.setup_keys.get(hour["id"])["state"] == "valid"


def test_the_harness_sequence_after_its_setup_steps(tokenstack):
    """NetBird's e2e harness (`e2e/harness/bootstrap.go`) minus `POST /api/setup` (the plugin's server has its
    owner from the start; `--netbird-setup` is tested in tests/integration/netbird_setup.rs) and `GET /api/accounts`,
    which tokenstack does not serve yet."""
    owner = client(tokenstack)
    assert owner.instance.get_status() == {"setup_required": False}
    assert owner.users.get_current()["role"] == "owner"
    all_group = [g for g in owner.groups.list() if g["name"] == "All"]
    assert len(all_group) == 1
    group = owner.groups.create(GroupCreate(name=f"e2e-{uuid.uuid4().hex[:8]}"))
    key = owner.setup_keys.create(SetupKeyCreate(
        name="e2e-agents", type="reusable", expires_in=86400, usage_limit=0, auto_groups=[]))
    assert (key["state"], key["auto_groups"], len(key["key"])) == ("valid", [], 36)
    assert group["id"] in {g["id"] for g in owner.groups.list()}


def test_current_user_with_permissions(tokenstack):
    me = client(tokenstack).users.get_current()
    assert (me["id"], me["role"], me["is_current"]) == (tokenstack.netbird_user, "owner", True)
    assert me["permissions"]["modules"]["setup_keys"] == {"read": True, "create": True, "update": True, "delete": True}
    auditor = client(tokenstack, AUDITOR_PAT).users.get_current()
    assert auditor["permissions"]["modules"]["setup_keys"] == {"read": True, "create": False, "update": False,
                                                              "delete": False}
