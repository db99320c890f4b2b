"""NetBird groups through the `netbird` 1.4.0 PyPI client: `client.groups.list()`, `.create`, `.get`, `.update`, `.delete`.

The account's `All` group comes first, as upstream lists it; a created group comes back with the shape of
`toGroupResponse`; an empty name is 422 and a name the account has 409, with NetBird's error bodies; a `user`-role
caller is refused. Each test starts from the plugin's reset state.
"""

from __future__ import annotations

import uuid

import pytest
from netbird import APIClient
from netbird.exceptions import NetBirdAPIError, NetBirdNotFoundError, NetBirdValidationError
from netbird.models import GroupCreate, GroupUpdate

from conftest import AUDITOR_PAT, USER_ROLE_PAT

GROUP_FIELDS = {"id", "name", "issued", "peers", "peers_count", "resources", "resources_count"}


def client(tokenstack, pat=None) -> APIClient:
    return APIClient(host=tokenstack.base_url, api_token=pat or tokenstack.netbird_pat)


def test_list_starts_with_all_and_create_returns_the_group(tokenstack):
    owner = client(tokenstack)
    groups = owner.groups.list()
    assert groups[0]["name"] == "All"
    all_group = groups[0]
    assert set(all_group) == GROUP_FIELDS
    assert (all_group["issued"], all_group["peers"], all_group["peers_count"]) == ("api", [], 0)
    assert len(all_group["id"]) == 20

    name = f"devs-{uuid.uuid4().hex[:8]}"
    created = owner.groups.create(GroupCreate(name=name))
    assert set(created) == GROUP_FIELDS
    assert (created["name"], created["issued"], created["peers_count"], created["resources_count"]) == (name, "api", 0, 0)
    listed = owner.groups.list()
    assert listed[0]["id"] == all_group["id"]
    assert created["id"] in {g["id"] for g in listed}
    # The auditor reads the same account's groups.
    assert created["id"] in {g["id"] for g in client(tokenstack, AUDITOR_PAT).groups.list()}


def test_create_errors_have_netbirds_bodies(tokenstack):
    owner = client(tokenstack)
    with pytest.raises(NetBirdValidationError) as err:
        owner.groups.create(GroupCreate(name=""))
    assert err.value.status_code == 422
    assert err.value.response_data == {"message": "group name shouldn't be empty", "code": 422}

    name = f"Ops-{uuid.uuid4().hex[:8]}"
    owner.groups.create(GroupCreate(name=name))
    with pytest.raises(NetBirdValidationError) as err:
        owner.groups.create(GroupCreate(name=name))
    assert err.value.status_code == 409
    assert err.value.response_data == {"message": f"group with name {name.lower()} already exists", "code": 409}


def test_user_role_may_not_read_or_create_groups(tokenstack):
    user = client(tokenstack, USER_ROLE_PAT)
    for call in (user.groups.list, lambda: user.groups.create(GroupCreate(name="nope"))):
        with pytest.raises(NetBirdAPIError) as err:
            call()
        assert err.value.status_code == 403
        assert err.value.response_data == {"message": "permission denied", "code": 403}


def test_get_update_and_delete_a_group(tokenstack):
    owner = client(tokenstack)
    all_group = owner.groups.list()[0]
    name = f"devs-{uuid.uuid4().hex[:8]}"
    created = owner.groups.create(GroupCreate(name=name))
    got = owner.groups.get(created["id"])
    assert set(got) == GROUP_FIELDS and got["name"] == name

    resources = [{"id": "r1", "type": "host"}]
    updated = owner.groups.update(created["id"], GroupUpdate(name=f"{name}-2", resources=resources))
    assert (updated["id"], updated["name"], updated["resources"], updated["resources_count"]) == (
        created["id"], f"{name}-2", resources, 1)
    # A group holding resources cannot be deleted: a 400 with the text as written.
    with pytest.raises(NetBirdValidationError) as err:
        owner.groups.delete(created["id"])
    assert err.value.response_data == {"message": "group has been linked to network resource: r1", "code": 400}
    owner.groups.update(created["id"], GroupUpdate(name=name, resources=[]))
    owner.groups.delete(created["id"])
    with pytest.raises(NetBirdNotFoundError) as err:
        owner.groups.get(created["id"])
    assert err.value.response_data == {"message": f"group: {created['id']} not found", "code": 404}

    # `All` cannot be updated (422, lower-cased) nor deleted (400, as written).
    with pytest.raises(NetBirdValidationError) as err:
        owner.groups.update(all_group["id"], GroupUpdate(name="everyone"))
    assert err.value.response_data == {"message": "updating group all is not allowed", "code": 422}
    with pytest.raises(NetBirdValidationError) as err:
        owner.groups.delete(all_group["id"])
    assert err.value.response_data == {"message": "deleting group ALL is not allowed", "code": 400}
