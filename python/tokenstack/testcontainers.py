"""tokenstack in a container, for testcontainers-python (``pip install 'tokenstack[testcontainers]'``).

    from tokenstack.testcontainers import TokenstackContainer

    with TokenstackContainer() as tokenstack:
        api = authentik_client.CoreApi(tokenstack.authentik_client())

The container runs the tokenstack image with fresh credentials and the admin API on, and ``start()`` returns once the
image's own healthcheck (``tokenstack healthcheck``, run in the container) passes. It offers what the ``tokenstack``
pytest fixture offers: ``base_url``, ``authentik_key``, ``netbird_pat``, ``netbird_user``, ``authentik_client()``,
``netbird_client()``, ``reset()``, ``seed(dict)``, ``clock(offset_seconds)``, ``faults(rules)`` and ``export()``.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Optional

from testcontainers.core.container import DockerContainer

from tokenstack._server import Api, PathLike, TokenstackError, generate_key, generate_pat

#: The port tokenstack listens on in its image.
PORT = 9000
#: The image's healthcheck command.
HEALTHCHECK = ["/usr/local/bin/tokenstack", "healthcheck"]


def default_image() -> str:
    """``TOKENSTACK_IMAGE`` when set, else ``tokenstack:<this package's version>`` (the tag ``cargo xtask image``
    gives the image it builds)."""
    image = os.environ.get("TOKENSTACK_IMAGE")
    if image:
        return image
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"tokenstack:{version('tokenstack')}"
    except PackageNotFoundError:
        return "tokenstack:latest"


class TokenstackContainer(DockerContainer, Api):
    """A tokenstack container: ``seed`` is a seed file (tokenstack's YAML format, ``examples/seed.yaml``) mounted
    read-only and loaded at start-up; ``store`` is ``memory`` (default) or a URL the container can reach;
    further keyword arguments go to ``DockerContainer``."""

    def __init__(
        self,
        image: Optional[str] = None,
        *,
        seed: Optional[PathLike] = None,
        store: str = "memory",
        log_level: str = "warn",
        **kwargs: object,
    ) -> None:
        super().__init__(image or default_image(), **kwargs)
        self.authentik_key = generate_key()
        self.netbird_pat = generate_pat()
        self.admin_token = secrets.token_urlsafe(32)
        self.base_url = ""
        self.with_exposed_ports(PORT)
        self.with_env("TOKENSTACK_BOOTSTRAP_TOKEN", self.authentik_key)
        self.with_env("TOKENSTACK_BOOTSTRAP_PAT", self.netbird_pat)
        self.with_env("TOKENSTACK_BOOTSTRAP_USER", self.netbird_user)
        self.with_env("TOKENSTACK_ADMIN_TOKEN", self.admin_token)
        self.with_env("TOKENSTACK_STORE", store)
        self.with_env("TOKENSTACK_LOG_LEVEL", log_level)
        if seed is not None:
            self.with_volume_mapping(str(Path(seed).resolve()), "/etc/tokenstack/seed.yaml", "ro")
            self.with_env("TOKENSTACK_SEED", "/etc/tokenstack/seed.yaml")

    def start(self, timeout: float = 60.0) -> "TokenstackContainer":
        """Starts the container and waits until its healthcheck passes (at most ``timeout`` seconds)."""
        super().start()
        deadline = time.monotonic() + timeout
        container = self.get_wrapped_container()
        while True:
            exit_code, output = container.exec_run(HEALTHCHECK)
            if exit_code == 0:
                break
            container.reload()
            if container.status not in ("created", "running") or time.monotonic() > deadline:
                logs = container.logs().decode(errors="replace")
                self.stop()
                raise TokenstackError(f"tokenstack container not healthy: {output.decode(errors='replace')}\n{logs}")
            time.sleep(0.05)
        self.base_url = f"http://{self.get_container_host_ip()}:{self.get_exposed_port(PORT)}"
        return self

    def _state(self) -> str:
        try:
            return "container log:\n" + self.get_wrapped_container().logs().decode(errors="replace")
        except Exception:  # noqa: BLE001 - the original error matters more than the log
            return "no container log"
