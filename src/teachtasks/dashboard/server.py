"""Serving the dashboard: uvicorn in a daemon thread, on 127.0.0.1, started and stopped by you.

Why a thread and not a process: in a notebook the dashboard should see the
very manager the notebook uses (a memory store included) and die with the
kernel. A daemon thread does both. Why bind the socket here: with ``port=None``
the system picks a free port, and the address (with its token) is known the
moment ``serve`` returns, before the first request.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from ..errors import InvalidArgumentError, TeachtasksError
from ..manager import TaskManager
from .app import create_app

LOCALHOST = "127.0.0.1"


class DashboardServer:
    """A running dashboard. ``url`` opens it (the token included); ``stop()``
    shuts it down and waits for its thread; ``with serve(m) as server:`` does
    both."""

    def __init__(self, manager: TaskManager, *, host: str = LOCALHOST, port: int | None = None,
                 token: str | None = None, start_timeout: float = 10.0) -> None:
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                                 or not 0 <= port <= 65535):
            raise InvalidArgumentError(f"port must be a whole number from 0 to 65535, not {port!r}")
        self.app = create_app(manager, token=token)
        self.token: str = self.app.state.token
        self.host = host
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: without it a response written in two
        # pieces (headers, then body) waits ~40 ms for the client's delayed ACK
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._socket.bind((host, port or 0))
        except OSError:
            self._socket.close()
            raise
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name=f"teachtasks-dashboard-{self.port}",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise TeachtasksError(f"the dashboard did not start on {host}:{self.port}: "
                                      f"{self._error!r}")
            time.sleep(0.01)

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # noqa: BLE001 - reported by __init__ or stop
            self._error = exc

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The address to open, with the token (as JupyterLab prints it)."""
        return f"{self.base_url}/?token={self.token}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and self._server.started and not self._server.should_exit

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down and wait for its thread (idempotent)."""
        self._server.should_exit = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> DashboardServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<DashboardServer {self.base_url} {state}>"

    def _repr_html_(self) -> str:
        from html import escape

        if not self.running:
            return f"<p>teachtasks dashboard at {escape(self.base_url)}: stopped</p>"
        return (f'<p>teachtasks dashboard: <a href="{escape(self.url)}" target="_blank">'
                f"{escape(self.base_url)}</a> (stop it with <code>.stop()</code>)</p>")


def serve(manager: TaskManager, *, port: int | None = None, token: str | None = None,
          host: str = LOCALHOST, **options: Any) -> DashboardServer:
    """Serve a dashboard over ``manager`` in a background thread and return at
    once. On 127.0.0.1 unless ``host`` says otherwise; a free port unless
    ``port`` names one; a random token unless ``token`` gives one."""
    return DashboardServer(manager, host=host, port=port, token=token, **options)
