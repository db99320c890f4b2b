"""Shared fixtures: one real tokenstack server per test session, plus credentials.

The server is the binary built by run.sh (or the one named by TOKENSTACK_BIN). It listens on
127.0.0.1:0; the port is read from the first line it prints ("tokenstack listening on http://…").
Its bootstrap credentials are generated here, fresh for every session: an authentik key for the
superuser `akadmin` (token identifier `authentik-bootstrap-token`) and a NetBird PAT for the owner
`admin`. Everything else comes from examples/seed.yaml, whose keys and PATs are mirrored below.
"""

from __future__ import annotations

import collections
import os
import re
import secrets
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Seeded credentials (examples/seed.yaml). alice is an authentik superuser, bob a normal user.
ALICE_KEY = "alice-example-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"
BOB_KEY = "bob-example-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
NETADMIN_PAT = "nbp_GFQ9OIZ8lRv83g5RLzL9bt5qJCzdm43kXuyc"
AUDITOR_PAT = "nbp_0AerRTjreD8S1qqopvtv2s73odEBiS0FMQ7i"
USER_ROLE_PAT = "nbp_yfycRidLEnQfFfkcs4SEgKcTrYsyQS1zEN0E"
SERVICE_PAT = "nbp_rSOUlEr7lUQQUmu00fFT7yRWNpGcxH0QMbyq"
BLOCKED_PAT = "nbp_qGW0r4eCQtcOt2UDxfVvQNXUf5xvNo4EaFMd"

BOOTSTRAP_IDENTIFIER = "authentik-bootstrap-token"
BOOTSTRAP_NB_USER = "admin"

# Counters shown at the end of the run (pytest_terminal_summary below): which operations each client
# drove, and what schemathesis checked.
COUNTS: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def base62_encode(num: int) -> str:
    """NetBird's base62.Encode: most significant digit first, "0" for zero."""
    if num == 0:
        return "0"
    digits = []
    while num:
        num, rem = divmod(num, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits))


def generate_pat() -> str:
    """A fresh, valid NetBird PAT: nbp_ + 30 base62 chars + base62(crc32(secret)) left-padded with '0' to 6."""
    secret = "".join(secrets.choice(BASE62) for _ in range(30))
    checksum = base62_encode(zlib.crc32(secret.encode()) & 0xFFFFFFFF).rjust(6, "0")
    token = f"nbp_{secret}{checksum}"
    assert len(token) == 40
    return token


def generate_key() -> str:
    """A fresh authentik-style key (60 alphanumerics, like authentik's generate_id)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(60))


def seed_path() -> Path:
    return REPO / "examples" / "seed.yaml"


def server_binary() -> Path:
    return Path(os.environ.get("TOKENSTACK_BIN") or REPO / "target" / "debug" / "tokenstack")


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT
    ak_key: str  # bootstrap key of akadmin (superuser)
    pat: str  # bootstrap PAT of the NetBird owner `admin`
    process: subprocess.Popen
    log_path: Path
    extra: dict = field(default_factory=dict)

    @property
    def ak_host(self) -> str:
        return f"{self.url}/api/v3"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(tmp_dir: Path) -> Server:
    binary = server_binary()
    if not binary.exists():
        raise RuntimeError(f"tokenstack binary {binary} missing: run tests/python/run.sh or set TOKENSTACK_BIN")
    ak_key = generate_key()
    pat = generate_pat()
    env = dict(os.environ)
    env.update(
        TOKENSTACK_BIND="127.0.0.1:0",
        TOKENSTACK_BOOTSTRAP_TOKEN=ak_key,
        TOKENSTACK_BOOTSTRAP_PAT=pat,
        TOKENSTACK_BOOTSTRAP_USER=BOOTSTRAP_NB_USER,
    )
    env.pop("TOKENSTACK_SEED", None)
    log_path = tmp_dir / "tokenstack.log"
    log = open(log_path, "wb")
    # stdout and stderr go to a file, so a chatty server can never block on a full pipe.
    process = subprocess.Popen(
        [str(binary), "--seed", str(seed_path())],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    log.close()
    deadline = time.monotonic() + 30
    pattern = re.compile(rb"tokenstack listening on (http://127\.0\.0\.1:\d+)")
    while time.monotonic() < deadline:
        match = pattern.search(log_path.read_bytes())
        if match:
            return Server(url=match.group(1).decode(), ak_key=ak_key, pat=pat, process=process, log_path=log_path)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"tokenstack did not start (exit {process.poll()}):\n{log_path.read_text(errors='replace')}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def server():
    with tempfile.TemporaryDirectory(prefix="tokenstack-pytest-") as tmp:
        srv = start_server(Path(tmp))
        try:
            yield srv
        finally:
            stop_server(srv)


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
