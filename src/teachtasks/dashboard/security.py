"""Who may look and act: the token, its cookie, and the CSRF token of the forms.

Why a token even on 127.0.0.1: every program and every user on the machine
can reach a local port, and a web page in the browser can make it send
requests. So, as JupyterLab does, the dashboard prints its address with a
random token; the first request carries it as ``?token=...``, the answer turns
it into a cookie and sends the browser to the same address without it (so
the token does not stay in the address bar, the history or a screenshot).

Why a CSRF token as well: a page from another site can make the browser POST
a form to 127.0.0.1, and the browser would attach the cookie. The forms carry
a second value derived from the token, which that other page cannot read; a
POST without it changes nothing. The cookie is also ``SameSite=Strict``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlencode

from starlette.requests import Request

#: the query parameter that carries the token on the first visit
TOKEN_PARAM = "token"


def new_token() -> str:
    """A random token: 192 bits, URL-safe."""
    return secrets.token_hex(24)


class Guard:
    """Checks the token of every request and the CSRF token of every action."""

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or len(token) < 8:
            raise ValueError("the dashboard's token must be a string of at least 8 characters")
        self.token = token
        digest = hashlib.sha256(token.encode()).hexdigest()
        # cookies are shared by every port of 127.0.0.1: a name per token lets
        # two dashboards (or a dashboard and a test) live side by side
        self.cookie_name = f"teachtasks-dashboard-{digest[:10]}"
        self.csrf = hmac.new(token.encode(), b"teachtasks-dashboard-csrf", hashlib.sha256).hexdigest()

    def _same(self, given: str | None, expected: str) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), expected.encode())

    def token_in_query(self, request: Request) -> bool:
        return self._same(request.query_params.get(TOKEN_PARAM), self.token)

    def allowed(self, request: Request) -> bool:
        """A valid cookie, ``Authorization: token ...`` header, or ``?token=``."""
        if self._same(request.cookies.get(self.cookie_name), self.token):
            return True
        header = request.headers.get("authorization", "")
        if header.lower().startswith("token ") and self._same(header[6:].strip(), self.token):
            return True
        return self.token_in_query(request)

    def csrf_ok(self, form: dict[str, str]) -> bool:
        return self._same(form.get("csrf"), self.csrf)

    @staticmethod
    def same_origin(request: Request) -> bool:
        """A browser names the page a POST came from in ``Origin``; refuse
        one from another host (a missing header, as from curl, passes)."""
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None
        host = request.headers.get("host", "")
        return origin.split("://", 1)[-1] == host

    @staticmethod
    def without_token(request: Request) -> str:
        """The request's path and query with the token taken out."""
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != TOKEN_PARAM]
        return request.url.path + (f"?{urlencode(rest)}" if rest else "")
