"""A small, unreliable currency-rates API on 127.0.0.1, for notebook 09.

It stands in for a partner's web API that your app calls from a background
task. ``GET /rates/EUR`` answers ``{"code": "EUR", "per_usd": 0.92}``. Like a
real one, it is not always in the mood:

* **rate limit**: at most ``limit`` requests per ``window`` seconds (a fixed
  window on ``clock``: 0-10 s, 10-20 s, ...). One more gets ``429 Too Many
  Requests`` with a ``Retry-After`` header: the whole seconds until the next
  window opens;
* **hiccups**: the requests numbered in ``fail_on`` (counting from 1) get
  ``500 Internal Server Error``, a failure that goes away if you try again;
* an unknown currency gets ``404 Not Found``, which never goes away.

Everything depends on the request count and on ``clock``, never on luck, so
the same calls get the same answers every time. Give it the notebook's
``SimulatedClock`` and its seconds are the notebook's seconds. It also keeps
an honest record (``requests``) and counts ``too_early``: requests from a
caller (named by the ``X-Run-Id`` header) that came back before the
``Retry-After`` it was given had passed.

    with RatesAPI(clock) as api:       # serving on api.url, in a thread
        httpx.get(f"{api.url}/rates/EUR")
                                       # stopped (thread joined) when the block ends
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

RATES = {"EUR": 0.92, "GBP": 0.79, "JPY": 151.2, "CHF": 0.88, "CAD": 1.36, "AUD": 1.52}


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    number: int
    time: float
    path: str
    caller: str
    status: int
    retry_after: int | None = None

    def __str__(self) -> str:
        wait = f"  Retry-After: {self.retry_after}" if self.retry_after is not None else ""
        return (f"#{self.number:<2} t={self.time:7.3f}  {self.caller:<7} GET {self.path:<11}"
                f" -> {self.status}{wait}")


class RatesAPI:
    def __init__(self, clock: Any, *, limit: int = 3, window: float = 10.0,
                 fail_on: tuple[int, ...] = (2, 5), host: str = "127.0.0.1") -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self.fail_on = set(fail_on)
        self.requests: list[Request] = []
        self.too_early = 0
        self._come_back_at: dict[str, float] = {}
        self._served_in_window: dict[int, int] = {}
        self._lock = threading.Lock()
        self._server = HTTPServer((host, 0), self._handler_class())
        self.host, self.port = self._server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._thread: threading.Thread | None = None

    # ---- the rules -----------------------------------------------------------------
    def answer(self, path: str, caller: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, headers, JSON body) for one request, and a line in the record."""
        with self._lock:
            now = self.clock.now()
            number = len(self.requests) + 1
            if now < self._come_back_at.get(caller, -math.inf):
                self.too_early += 1
            window = int(now // self.window)
            headers: dict[str, str] = {}
            retry_after = None
            if self._served_in_window.get(window, 0) >= self.limit:
                retry_after = max(1, math.ceil((window + 1) * self.window - now))
                self._come_back_at[caller] = now + retry_after
                status, body = 429, {"error": "too many requests"}
                headers["Retry-After"] = str(retry_after)
            else:
                self._served_in_window[window] = self._served_in_window.get(window, 0) + 1
                code = path.removeprefix("/rates/")
                if number in self.fail_on:
                    status, body = 500, {"error": "internal server error, please try again"}
                elif path.startswith("/rates/") and code in RATES:
                    status, body = 200, {"code": code, "per_usd": RATES[code]}
                else:
                    status, body = 404, {"error": f"no such currency: {code}"}
            self.requests.append(Request(number, now, path, caller, status, retry_after))
            return status, headers, body

    # ---- HTTP plumbing -----------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                status, headers, body = api.answer(self.path, self.headers.get("X-Run-Id", "-"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep the notebook quiet: no line on stderr per request

        return Handler

    def start(self) -> RatesAPI:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="rates-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> RatesAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RatesAPI({self.url}, {'running' if self.running else 'stopped'})"
