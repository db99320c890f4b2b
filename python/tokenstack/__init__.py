"""tokenstack: authentik's and NetBird's token APIs for tests, from the bundled ``tokenstack`` binary.

``Server.start()`` runs the binary on a free port of 127.0.0.1 with fresh credentials and the admin API on;
the pytest plugin (``tokenstack.plugin``, loaded automatically) wraps it in the ``tokenstack_server`` and
``tokenstack`` fixtures.
"""

from __future__ import annotations

from tokenstack._server import Server, TokenstackError, find_tokenstack_bin

__all__ = ["Server", "TokenstackError", "find_tokenstack_bin"]
