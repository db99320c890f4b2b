"""authentik's authenticated sessions (`/api/v3/core/authenticated_sessions/`) through the official client
(`CoreApi`): sessions made by the headless login of `requests`, listed with upstream's filters, retrieved,
hidden from other users (the owner rule) and ended; an ended session's cookie authenticates nothing.
"""

from __future__ import annotations

import pytest
from authentik_client import ApiClient, Configuration, CoreApi
from authentik_client.exceptions import NotFoundException

from conftest import ALICE_KEY, ALICE_PASSWORD, BOB_KEY, COUNTS
from test_oauth2 import login


def core(tokenstack, key: str) -> CoreApi:
    return CoreApi(ApiClient(Configuration(host=tokenstack.authentik_url, access_token=key)))


def test_sessions_are_listed_filtered_retrieved_and_ended_with_the_owner_rule(tokenstack):
    browser = login(tokenstack.base_url, "alice", ALICE_PASSWORD)
    me = browser.get(f"{tokenstack.base_url}/api/v3/core/users/me/", timeout=10)
    assert me.status_code == 200 and me.json()["user"]["username"] == "alice"

    alice = core(tokenstack, ALICE_KEY)
    listed = alice.core_authenticated_sessions_list()
    assert listed.pagination.count == 1
    session = listed.results[0]
    assert session.user == 2 and session.current is False
    assert session.last_ip == "127.0.0.1"
    assert session.last_user_agent.startswith("python-requests/")
    assert session.user_agent.user_agent.family == "Python Requests"
    assert session.geo_ip is None and session.asn is None
    assert alice.core_authenticated_sessions_list(user__username="alice").pagination.count == 1
    assert alice.core_authenticated_sessions_list(user__username="bob").pagination.count == 0
    assert alice.core_authenticated_sessions_list(search="requests").pagination.count == 1
    assert alice.core_authenticated_sessions_retrieve(str(session.uuid)).uuid == session.uuid

    # bob sees his own sessions only: alice's is not found for him, and he cannot end it.
    bob = core(tokenstack, BOB_KEY)
    assert bob.core_authenticated_sessions_list().pagination.count == 0
    with pytest.raises(NotFoundException):
        bob.core_authenticated_sessions_retrieve(str(session.uuid))
    with pytest.raises(NotFoundException):
        bob.core_authenticated_sessions_destroy(str(session.uuid))

    alice.core_authenticated_sessions_destroy(str(session.uuid))
    assert alice.core_authenticated_sessions_list().pagination.count == 0
    me = browser.get(f"{tokenstack.base_url}/api/v3/core/users/me/", timeout=10)
    assert me.status_code == 403, "the ended session's cookie authenticates nothing"
    COUNTS["authentik-client"]["authenticated sessions"] += 1
