"""A tokenstack process on a free port of 127.0.0.1, its credentials, and its admin API (``/_tokenstack/``).

Only the standard library: the admin calls go through ``urllib``; ``authentik_client()`` and
``netbird_client()`` import the official clients when they are called.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LISTENING = re.compile(rb"tokenstack listening on (https?://\S+)")
# Admin calls go to 127.0.0.1 only: never through an HTTP(S)_PROXY of the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

PathLike = Union[str, "os.PathLike[str]"]


class TokenstackError(Exception):
    """An admin API call failed (``status`` is the HTTP status, ``message`` the server's message), or the
    server did not start."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def find_tokenstack_bin() -> str:
    """The ``tokenstack`` executable installed with this package (the scripts directory of this Python
    environment, the user scheme, or ``bin/`` beside a ``pip install --target`` folder), else the one on
    ``PATH``."""
    name = "tokenstack" + (sysconfig.get_config_var("EXE") or "")
    candidates = [Path(sysconfig.get_path("scripts")) / name]
    user_scheme = f"{os.name}_user"
    if hasattr(sysconfig, "get_preferred_scheme"):
        user_scheme = sysconfig.get_preferred_scheme("user")
    try:
        candidates.append(Path(sysconfig.get_path("scripts", scheme=user_scheme)) / name)
    except KeyError:
        pass
    candidates.append(Path(__file__).resolve().parent.parent / "bin" / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise FileNotFoundError(
        f"no {name} executable beside this Python ({candidates[0]}) nor on PATH: "
        "install the tokenstack wheel, or pass --tokenstack-bin"
    )


def generate_pat() -> str:
    """A fresh, valid NetBird PAT: ``nbp_``, 30 base62 characters, base62(crc32) padded to 6."""
    secret = "".join(secrets.choice(_BASE62) for _ in range(30))
    checksum = zlib.crc32(secret.encode()) & 0xFFFFFFFF
    digits = ""
    while checksum:
        checksum, rem = divmod(checksum, 62)
        digits = _BASE62[rem] + digits
    return f"nbp_{secret}{digits.rjust(6, '0')}"


def generate_key() -> str:
    """A fresh authentik-style key: 60 letters and digits."""
    return "".join(secrets.choice(_BASE62) for _ in range(60))


class Api:
    """What a running tokenstack offers, wherever it runs (a process: ``Server``; a container:
    ``tokenstack.testcontainers.TokenstackContainer``): its URLs, credentials, official clients and admin API.
    Needs ``base_url``, ``authentik_key``, ``netbird_pat``, ``netbird_user`` and ``admin_token``."""

    base_url: str
    authentik_key: str
    netbird_pat: str
    netbird_user: str = "admin"
    admin_token: str

    @property
    def authentik_url(self) -> str:
        """Root of the authentik API (``{base_url}/api/v3``), the ``host`` of authentik_client.Configuration."""
        return f"{self.base_url}/api/v3"

    def authentik_client(self, key: Optional[str] = None) -> Any:
        """An ``authentik_client.ApiClient`` for the superuser ``akadmin`` (or the holder of ``key``)."""
        try:
            import authentik_client
        except ImportError as err:
            raise ImportError("authentik_client() needs the official client: pip install authentik-client") from err
        configuration = authentik_client.Configuration(host=self.authentik_url, access_token=key or self.authentik_key)
        return authentik_client.ApiClient(configuration)

    def netbird_client(self, pat: Optional[str] = None, auth_scheme: str = "Token") -> Any:
        """A ``netbird.APIClient`` for the NetBird owner ``admin`` (or the holder of ``pat``)."""
        try:
            from netbird import APIClient
        except ImportError as err:
            raise ImportError("netbird_client() needs the official client: pip install netbird") from err
        return APIClient(host=self.base_url, api_token=pat or self.netbird_pat, auth_scheme=auth_scheme)

    def reset(self) -> None:
        """Back to the state right after start-up (seed plus bootstrap); keeps the clock offset and faults."""
        self._admin("POST", "/_tokenstack/reset")

    def seed(self, document: Mapping[str, Any]) -> None:
        """Replaces the whole state with a seed document (``examples/seed.yaml``'s format, as a dict); the
        bootstrap credentials keep working."""
        self._admin("PUT", "/_tokenstack/state", dict(document))

    def export(self) -> dict:
        """The whole state as a seed document; ``seed()`` of it restores it exactly."""
        return self._admin("GET", "/_tokenstack/state")

    def clock(self, offset_seconds: int) -> None:
        """Moves the server's clock ``offset_seconds`` ahead of the wall clock (negative: back; 0: wall clock)."""
        self._admin("PUT", "/_tokenstack/clock", {"offset_seconds": int(offset_seconds)})

    def join_peer(self, setup_key: str, hostname: str, **meta: Any) -> dict:
        """A NetBird agent joins with ``setup_key`` as ``hostname`` (what the management server does on a setup-key
        login: the key is counted, the peer is in ``All`` and the key's groups); returns the peer as
        ``GET /api/peers/{id}`` shows it. ``meta`` may give ``wg_pub_key``, ``os``, ``os_version``,
        ``kernel_version``, ``version``, ``serial_number``, ``connection_ip`` and ``extra_dns_labels``. A refused key
        raises ``TokenstackError`` with the management server's status (404 for an invalid key) and message."""
        return self._admin("POST", "/_tokenstack/netbird/peers", {"setup_key": setup_key, "hostname": hostname, **meta})

    def faults(self, rules: Iterable[Mapping[str, Any]]) -> None:
        """Replaces the fault rules (``[]`` turns faults off); a rule is a dict such as
        ``{"operation_id": "core_tokens_list", "error_rate": 1.0, "error_status": 503}``."""
        self._admin("PUT", "/_tokenstack/faults", {"rules": [dict(rule) for rule in rules]})

    def _admin(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        headers = {"Authorization": f"Bearer {self.admin_token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method, headers=headers)
        try:
            with _OPENER.open(request, timeout=30) as response:
                text = response.read()
        except urllib.error.HTTPError as err:
            raw = err.read().decode(errors="replace")
            try:
                message = json.loads(raw).get("message", raw)
            except (ValueError, AttributeError):
                message = raw
            raise TokenstackError(f"{method} {path}: {err.code} {message}", status=err.code) from None
        except (urllib.error.URLError, OSError) as err:
            raise TokenstackError(f"{method} {path}: {err} ({self._state()})") from None
        return json.loads(text) if text else None


    def _state(self) -> str:
        """What to say about the server when a call to it fails."""
        return "no answer"


class Server(Api):
    """A running tokenstack: ``Server.start()``, then ``stop()`` (or use it as a context manager)."""

    netbird_user = "admin"

    def __init__(
        self,
        process: subprocess.Popen,
        base_url: str,
        authentik_key: str,
        netbird_pat: str,
        admin_token: str,
        log_path: Path,
        owns_log: bool,
    ) -> None:
        self.process = process
        self.base_url = base_url
        self.authentik_key = authentik_key
        self.netbird_pat = netbird_pat
        self.admin_token = admin_token
        self.log_path = log_path
        self._owns_log = owns_log

    @classmethod
    def start(
        cls,
        binary: Optional[PathLike] = None,
        *,
        store: str = "memory",
        seed: Optional[PathLike] = None,
        log_dir: Optional[PathLike] = None,
        log_level: str = "warn",
        args: Sequence[str] = (),
        timeout: float = 30.0,
    ) -> "Server":
        """Starts ``binary`` (default: the bundled one) on a free port with fresh credentials and the admin
        API on, and waits until ``/readyz`` answers 200. ``args`` are further flags of ``tokenstack``."""
        if binary:
            # A bare name is looked up on PATH, a path is taken as it is.
            found = shutil.which(str(binary))
            if found is None:
                raise TokenstackError(f"{binary} is not an executable file (--tokenstack-bin)")
            binary = found
        else:
            binary = find_tokenstack_bin()
        authentik_key, netbird_pat, admin_token = generate_key(), generate_pat(), secrets.token_urlsafe(32)
        # Only what is passed here configures the server: no TOKENSTACK_* of the caller's environment.
        env = {name: value for name, value in os.environ.items() if not name.startswith("TOKENSTACK_")}
        # Secrets go through the environment, never the command line that `ps` shows.
        env.update(
            TOKENSTACK_BOOTSTRAP_TOKEN=authentik_key,
            TOKENSTACK_BOOTSTRAP_PAT=netbird_pat,
            TOKENSTACK_BOOTSTRAP_USER=cls.netbird_user,
            TOKENSTACK_ADMIN_TOKEN=admin_token,
        )
        command = [binary, "--bind", "127.0.0.1:0", "--store", store, "--log-level", log_level]
        if seed:
            command += ["--seed", str(Path(seed).resolve())]
        command += list(args)
        owns_log = log_dir is None
        log_dir = Path(tempfile.mkdtemp(prefix="tokenstack-")) if log_dir is None else Path(log_dir)
        log_path = log_dir / "tokenstack.log"
        # Output goes to a file, so that a chatty server never blocks on a full pipe.
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        base_url = None
        while time.monotonic() < deadline and process.poll() is None:
            match = _LISTENING.search(log_path.read_bytes())
            if match:
                base_url = match.group(1).decode()
                break
            time.sleep(0.02)
        server = cls(process, base_url or "", authentik_key, netbird_pat, admin_token, log_path, owns_log)
        if base_url is None:
            server.stop()
            raise TokenstackError(f"tokenstack did not start ({' '.join(command)}):\n{server.log_tail()}")
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with _OPENER.open(f"{base_url}/readyz", timeout=5) as response:
                    if response.status == 200:
                        return server
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        server.stop()
        raise TokenstackError(f"tokenstack at {base_url} did not become ready:\n{server.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful shutdown), then SIGKILL after ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._owns_log:
            shutil.rmtree(self.log_path.parent, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<tokenstack.Server {self.base_url} pid {self.process.pid}>"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's output (stdout and stderr)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _state(self) -> str:
        exited = self.process.poll()
        state = f"the server exited with {exited}" if exited is not None else "the server is running"
        return f"{state}:\n{self.log_tail()}"


def main(argv: Optional[Sequence[str]] = None) -> None:
    """``python -m tokenstack``: runs the bundled binary with the given arguments."""
    binary = find_tokenstack_bin()
    arguments = list(sys.argv[1:] if argv is None else argv)
    os.execv(binary, [binary, *arguments])
