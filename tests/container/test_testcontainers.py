"""``tokenstack.testcontainers.TokenstackContainer`` against the image ``cargo xtask image`` built (``TOKENSTACK_IMAGE``),
through the Docker API that ``cargo xtask image --test`` serves with podman."""

import json
import urllib.request
from pathlib import Path

from tokenstack.testcontainers import TokenstackContainer

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed.yaml"


def get(url: str, authorization: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": authorization})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return json.load(response)


def test_the_container_is_healthy_with_its_credentials_seed_and_admin_api():
    with TokenstackContainer(seed=SEED) as tokenstack:
        me = get(f"{tokenstack.base_url}/api/v3/core/users/me/", f"Bearer {tokenstack.authentik_key}")
        assert me["user"]["username"] == "akadmin"
        users = get(f"{tokenstack.base_url}/api/users", f"Token {tokenstack.netbird_pat}")
        assert any(user["id"] == tokenstack.netbird_user for user in users)
        # The seed file was mounted and loaded; the admin API answers through the container's port.
        usernames = {user["username"] for user in tokenstack.export()["authentik"]["users"]}
        assert {"alice", "bob", "akadmin"} <= usernames
        tokenstack.seed({"authentik": {"users": [{"pk": 50, "username": "carol"}]}})
        assert {user["username"] for user in tokenstack.export()["authentik"]["users"]} == {"carol", "akadmin"}
        tokenstack.reset()
        assert {"alice", "bob"} <= {user["username"] for user in tokenstack.export()["authentik"]["users"]}
