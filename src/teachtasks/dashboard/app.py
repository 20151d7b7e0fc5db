"""The FastAPI app: routes, templates, and the token on every one of them.

Pages are rendered on the server with Jinja2 (autoescape on: every value from
a run, its id, input, output, logs, reaches the page as text, never as HTML).
A small script (``static/dashboard.js``) polls a JSON endpoint every two
seconds and rewrites the counts and the rows with ``textContent``; without it
the pages still work, they just do not move. There is no CDN and no build
step: three static files sit next to this module.
"""

from __future__ import annotations

import contextlib
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader
from starlette.concurrency import run_in_threadpool

from ..errors import InvalidArgumentError, RunNotFoundError, TeachtasksError
from ..manager import TaskManager
from ..run import Status
from . import pages
from .security import Guard, new_token

#: the status symbols of ``viz.colors.STATUS_SYMBOLS`` (not imported: that pulls in matplotlib)
SYMBOLS = {"pending": "\u25cb", "running": "\u25b6", "success": "\u2605", "failed": "\u2716",
           "aborted": "\u25a0"}
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
#: no inline script or style can run, whatever a page holds; images may be data: URLs
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # "same-origin", not "no-referrer": with no referrer at all Chromium sends
    # "Origin: null" with a form, and the origin check would refuse our own forms
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("teachtasks.dashboard", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(statuses=pages.STATUSES, symbols=SYMBOLS, quote=lambda s: quote(s, safe=""))
    env.filters["qs"] = lambda d: urlencode(d)
    env.filters["when"] = pages.when
    env.filters["since"] = lambda t, start: f"+{t - start:.3f} s"
    return env


def create_app(manager: TaskManager, *, token: str | None = None) -> FastAPI:
    """A dashboard over ``manager``. Without ``token`` a random one is made;
    either way it is ``app.state.token``, and every request needs it."""
    if not isinstance(manager, TaskManager):
        raise InvalidArgumentError(f"create_app takes a TaskManager, not {type(manager).__name__}")
    guard = Guard(token if token is not None else new_token())
    env = _environment()
    app = FastAPI(title="teachtasks dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.token, app.state.manager, app.state.guard = guard.token, manager, guard

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(csrf=guard.csrf, path=request.url.path, **context)
        return HTMLResponse(html, status_code=status_code)

    @app.middleware("http")
    async def check_token(request: Request, call_next: Any) -> Response:
        if not guard.allowed(request):
            response: Response = render(request, "denied.html", status_code=403)
        elif guard.token_in_query(request) and request.method == "GET":
            # like Jupyter: the token once in the address, then a cookie
            response = RedirectResponse(guard.without_token(request), status_code=303)
            response.set_cookie(guard.cookie_name, guard.token, httponly=True, samesite="strict",
                                path="/")
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    def query(request: Request) -> dict[str, str]:
        return dict(request.query_params)

    def refused(request: Request, exc: TeachtasksError, status_code: int = 400) -> HTMLResponse:
        return render(request, "error.html", status_code=status_code, title="Not possible",
                      words="That filter or page address is not valid; nothing was listed.", exc=exc)

    # ---- pages ---------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def runs(request: Request) -> Response:
        try:
            page = pages.runs_page(manager, query(request))
        except InvalidArgumentError as exc:
            return refused(request, exc)
        deleted = request.query_params.get("deleted")
        return render(request, "runs.html", page=page, rows=[pages.run_row(r) for r in page.runs],
                      deleted=deleted, api="/api/runs?" + urlencode(query(request)))

    @app.get("/definitions", response_class=HTMLResponse)
    def definitions(request: Request) -> Response:
        return render(request, "definitions.html", definitions=pages.definitions(manager))

    @app.get("/runs/{run_id:path}", response_class=HTMLResponse)
    def run(request: Request, run_id: str) -> Response:
        try:
            detail = pages.run_detail(manager, run_id)
        except RunNotFoundError as exc:
            return render(request, "error.html", status_code=404, title="No such run", exc=exc,
                          words=pages.plain_words("open", exc, None))
        notice = pages.NOTICES.get(request.query_params.get("done", ""))
        return render(request, "run.html", notice=notice, actions=pages.ACTIONS, **detail)

    @app.get("/actions/{action}/{run_id:path}", response_class=HTMLResponse)
    def confirm(request: Request, action: str, run_id: str) -> Response:
        if action not in pages.ACTIONS:
            return render(request, "error.html", status_code=404, title="No such action",
                          words=f"The actions are: {', '.join(pages.ACTIONS)}.", exc=None)
        try:
            found = manager.get_run(run_id)
        except RunNotFoundError as exc:
            return render(request, "error.html", status_code=404, title="No such run", exc=exc,
                          words=pages.plain_words(action, exc, None))
        return render(request, "confirm.html", action=action, run=found, row=pages.run_row(found),
                      label=pages.ACTIONS[action][0], explain=pages.ACTIONS[action][1],
                      code_here=manager.find_definition(found.definition_id) is not None)

    @app.post("/actions/{action}/{run_id:path}")
    async def act(request: Request, action: str, run_id: str) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        if not guard.same_origin(request) or not guard.csrf_ok(form):
            return render(request, "error.html", status_code=403, title="Refused", exc=None,
                          words="This form did not carry the dashboard's CSRF token, so nothing "
                                "was done. Open the run's page and use its buttons.")
        if action not in pages.ACTIONS:
            return render(request, "error.html", status_code=404, title="No such action",
                          words=f"The actions are: {', '.join(pages.ACTIONS)}.", exc=None)
        if form.get("confirm") != "yes":
            return RedirectResponse(f"/actions/{action}/{quote(run_id, safe='')}", status_code=303)
        try:
            return await run_in_threadpool(perform, action, run_id)  # a store may block: not here
        except TeachtasksError as exc:
            before = None
            with contextlib.suppress(TeachtasksError):
                before = manager.get_run(run_id)
            code = 404 if isinstance(exc, RunNotFoundError) and before is None else 409
            return render(request, "error.html", status_code=code, exc=exc, run=before,
                          title=f"{pages.ACTIONS[action][0]}: not done",
                          words=pages.plain_words(action, exc, before))

    def perform(action: str, run_id: str) -> Response:
        """Do it, and send the browser to the page that shows the result."""
        if action == "abort":
            after = manager.abort(run_id)
            done = "aborted" if after.status is Status.ABORTED else "abort-requested"
            return RedirectResponse(f"/runs/{quote(run_id, safe='')}?done={done}", 303)
        if action == "retrigger":
            new = pages.retrigger(manager, run_id)
            done = "retriggered" if manager.find_definition(new.definition_id) else \
                "retriggered-elsewhere"
            return RedirectResponse(f"/runs/{quote(new.id, safe='')}?done={done}", 303)
        manager.delete_run(run_id)
        return RedirectResponse("/?" + urlencode({"deleted": run_id}), 303)

    # ---- JSON for the live refresh ---------------------------------------------------------
    @app.get("/api/runs")
    def runs_json(request: Request) -> Response:
        try:
            return JSONResponse(pages.runs_page(manager, query(request)).json())
        except InvalidArgumentError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    @app.get("/api/runs/{run_id:path}")
    def run_json(request: Request, run_id: str) -> Response:
        try:
            found = manager.get_run(run_id)
            logs = manager.logs(run_id)
        except RunNotFoundError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        return JSONResponse({**pages.run_row(found), "final": found.is_final, "logs": len(logs)})

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        suffix = name[name.rfind("."):] if "." in name else ""
        folder = resources.files("teachtasks.dashboard") / "static"
        if "/" in name or suffix not in STATIC_TYPES or not (folder / name).is_file():
            return Response("not found", status_code=404, media_type="text/plain")
        return Response((folder / name).read_bytes(), media_type=STATIC_TYPES[suffix])

    return app
