"""pytest plugin (entry point ``pytest11``): a tokenstack server per session, its state reset before each test.

- ``tokenstack_server`` (session): starts the bundled ``tokenstack`` binary on a free port of 127.0.0.1 with
  fresh credentials, waits until ``/readyz`` answers, and stops it when the session ends.
- ``tokenstack`` (function): the same server after a reset of its state, clock offset and fault rules, so
  every test starts from the start-up state. It offers ``base_url``, ``authentik_key``, ``netbird_pat``,
  ``netbird_user``, ``authentik_client()``, ``netbird_client()``, ``seed(dict)``, ``clock(offset_seconds)``,
  ``faults(rules)`` and ``export()``.

Options: ``--tokenstack-bin PATH``, ``--tokenstack-store URL``, ``--tokenstack-seed FILE``.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from tokenstack._server import Server


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tokenstack", "tokenstack (authentik and NetBird token APIs)")
    group.addoption(
        "--tokenstack-bin",
        metavar="PATH",
        default=None,
        help="tokenstack binary to run (default: the one installed with the tokenstack package)",
    )
    group.addoption(
        "--tokenstack-store",
        metavar="URL",
        default="memory",
        help="store of the server: memory (default), sqlite:PATH or postgres://user@host:port/db",
    )
    group.addoption(
        "--tokenstack-seed",
        metavar="FILE",
        default=None,
        help="YAML seed file loaded at start-up: the state that every test starts from",
    )


@pytest.fixture(scope="session")
def tokenstack_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A tokenstack server for the whole session (its state is not reset between tests: use ``tokenstack``)."""
    config = request.config
    server = Server.start(
        config.getoption("tokenstack_bin"),
        store=config.getoption("tokenstack_store"),
        seed=config.getoption("tokenstack_seed"),
        log_dir=tmp_path_factory.mktemp("tokenstack"),
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tokenstack(tokenstack_server: Server) -> Server:
    """The session's server, back to its start-up state with the wall clock and no faults."""
    exited = tokenstack_server.process.poll()
    if exited is not None:
        pytest.fail(f"the tokenstack server exited with {exited}:\n{tokenstack_server.log_tail()}", pytrace=False)
    tokenstack_server.reset()
    tokenstack_server.clock(0)
    tokenstack_server.faults([])
    return tokenstack_server
