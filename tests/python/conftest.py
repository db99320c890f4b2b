"""The suite's thin layer over the shipped pytest plugin (python/tokenstack/plugin.py), which runs the server.

Every test takes the plugin's `tokenstack` fixture: the session's one server (the plugin's `tokenstack_server`,
started with fresh bootstrap credentials for the superuser `akadmin` and the NetBird owner `admin`, and the
admin API on), back to its start-up state, wall clock and no faults before each test. The plugin's options
choose what it runs (`--tokenstack-bin`, `--tokenstack-seed`, `--tokenstack-store`); what only this suite
needs is here:

- the plugin from the source tree (run.sh's virtualenv holds the official clients, not the tokenstack wheel;
  an installed wheel's plugin is used as it is);
- its defaults: the binary in $TOKENSTACK_BIN (run.sh sets it), else target/debug/tokenstack, and the seed
  examples/seed.yaml, whose keys and PATs are mirrored below;
- the counts of what each client drove, shown at the end of the run.
"""

from __future__ import annotations

import collections
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

if not any(ep.value == "tokenstack.plugin" for ep in entry_points(group="pytest11")):
    sys.path.insert(0, str(REPO / "python"))
    pytest_plugins = ["tokenstack.plugin"]

from tokenstack import Server  # noqa: E402  (importable only once python/ is on the path)

# NetBird's base62 alphabet, for checking PAT checksums.
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Seeded credentials (examples/seed.yaml). alice is an authentik superuser, bob a normal user.
ALICE_KEY = "alice-example-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"
ALICE_PASSWORD = "alice-password"
BOB_KEY = "bob-example-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
NETADMIN_PAT = "nbp_GFQ9OIZ8lRv83g5RLzL9bt5qJCzdm43kXuyc"
AUDITOR_PAT = "nbp_0AerRTjreD8S1qqopvtv2s73odEBiS0FMQ7i"
USER_ROLE_PAT = "nbp_yfycRidLEnQfFfkcs4SEgKcTrYsyQS1zEN0E"
SERVICE_PAT = "nbp_rSOUlEr7lUQQUmu00fFT7yRWNpGcxH0QMbyq"
BLOCKED_PAT = "nbp_qGW0r4eCQtcOt2UDxfVvQNXUf5xvNo4EaFMd"

# The bootstrap credentials of the plugin's server: akadmin's token and the NetBird owner.
BOOTSTRAP_IDENTIFIER = "authentik-bootstrap-token"
BOOTSTRAP_NB_USER = Server.netbird_user

# Counters shown at the end of the run (pytest_terminal_summary below): which operations each client
# drove, and what schemathesis checked.
COUNTS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def pytest_configure(config) -> None:
    """The suite's defaults for the plugin's options, where the command line gives none."""
    if config.getoption("tokenstack_bin") is None:
        config.option.tokenstack_bin = os.environ.get("TOKENSTACK_BIN") or str(REPO / "target" / "debug" / "tokenstack")
    if config.getoption("tokenstack_seed") is None:
        config.option.tokenstack_seed = str(REPO / "examples" / "seed.yaml")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not COUNTS:
        return
    terminalreporter.section("tokenstack counts")
    for group in sorted(COUNTS):
        counter = COUNTS[group]
        total = sum(counter.values())
        terminalreporter.write_line(f"{group}: {len(counter)} distinct, {total} total")
        for name, n in sorted(counter.items()):
            terminalreporter.write_line(f"    {name}: {n}")
