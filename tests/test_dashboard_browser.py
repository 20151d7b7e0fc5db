"""The dashboard in a real browser: list, filter, open a run, abort it, watch it change live.

The TestClient tests prove what the server sends; only a browser proves what
an operator sees: that the script refreshes the list and the counts without a
reload, that the confirmation and CSRF forms work when clicked, that nothing a
run holds executes, and that the page fits a phone. Headless Debian Chromium
driven by Playwright, every request to anything but 127.0.0.1 refused.

Skips without Chromium or Playwright, except when $CI is set: then it fails
(the pattern of tests/test_browser.py). A screenshot of the runs page goes to a
temp folder ($BROWSER_SCREENSHOTS); with ``UPDATE_DOCS_SCREENSHOTS=1`` also
to docs/images/dashboard.png.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from teachtasks import RealClock, Runner, Status, TaskManager
from teachtasks.dashboard import serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so this fails instead of skipping", pytrace=False)
    pytest.skip(reason)


def find_chromium() -> str | None:
    """$CHROMIUM when set (only it), else Debian's chromium or another on the PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"] if Path(os.environ["CHROMIUM"]).exists() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    chromium = find_chromium()
    if chromium is None:
        _unavailable("no Chromium found (install Debian's: apt-get install chromium; or set $CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements.txt)")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    try:
        yield launched
    finally:
        with contextlib.suppress(Exception):
            launched.close()
        playwright.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    remote: list[str] = []

    def only_this_machine(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            remote.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_machine)
    tab = context.new_page()
    tab.errors, tab.dialogs = [], []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()
    assert remote == [], remote
    assert tab.errors == [] and tab.dialogs == []


def shop() -> TaskManager:
    """A real clock and threads: emails that finish, a report that fails, an
    import that runs until someone aborts it."""
    manager = TaskManager(clock=RealClock())

    @manager.task("send-welcome-email", title="Send the welcome email")
    def email(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.log.info(f"sending to {ctx.input['to']}")
        ctx.sleep(0.05)
        return ctl.response.done({"sent": True})

    @manager.task("nightly-report")
    def report(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.log.warning("the warehouse did not answer")
        raise ConnectionError("warehouse timed out after 30 s")

    @manager.task("import-catalogue", budget_seconds=600)
    def catalogue(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.log.info(f"importing {ctx.input}")
        while not ctl.is_aborted():  # slow to notice, so the page sees it running first
            ctx.sleep(1.5)
        return ctl.response.aborted()

    return manager


def shut_down(manager: TaskManager, runner: Runner) -> None:
    """Abort what still runs (the import never ends by itself), then stop the workers."""
    for status in (Status.PENDING, Status.RUNNING):
        for run in manager.list_runs(status=status):
            with contextlib.suppress(Exception):
                manager.abort(run.id)
    runner.stop(timeout=10)


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_list_filter_open_abort_and_watch_it_change_live(page) -> None:
    from playwright.sync_api import expect

    manager = shop()
    runner = Runner(manager, workers=2).start()
    try:
        for n in range(3):
            manager.trigger("send-welcome-email", {"to": f"user{n}@example.org"})
        manager.trigger("nightly-report", {"day": "2026-12-01"})
        manager.trigger("send-welcome-email", {"to": EVIL})
        long = manager.trigger("import-catalogue", {"file": "catalogue.csv"})
        wait_until(lambda: manager.get_run(long.id).status is Status.RUNNING
                   and manager.count_runs()[Status.SUCCESS] == 4)
        with serve(manager) as server:
            page.goto(server.url)
            assert "token" not in page.url  # the cookie holds it now
            page.wait_for_selector("#live:not([hidden])")  # the script polls
            assert page.locator("#runs tbody tr").count() == 6
            assert page.locator('[data-count="success"]').inner_text() == "4"
            assert page.locator('[data-count="running"]').inner_text() == "1"
            # the list and counts move without a reload
            page.evaluate("window.notReloaded = true")
            manager.trigger("send-welcome-email", {"to": "late@example.org"})
            expect(page.locator('[data-count="all"]')).to_have_text("7")
            expect(page.locator("#runs tbody tr")).to_have_count(7)
            assert page.evaluate("window.notReloaded") is True
            # filter by definition
            page.select_option('select[name="definition"]', "nightly-report")
            page.click('form.filters button[type="submit"]')
            page.wait_for_url("**definition=nightly-report**")
            assert page.locator("#runs tbody tr").count() == 1
            assert "failed" in page.locator("#runs tbody tr").inner_text()
            # open the long run from the unfiltered list, abort it
            page.goto(server.base_url + "/?definition=import-catalogue")
            page.click(f'a.id:text-is("{long.id}")')
            page.wait_for_url(f"**/runs/{long.id}")
            assert page.locator("#status").inner_text().strip().endswith("running")
            assert page.locator("img.timeline").count() == 1
            page.click("button.act-abort")
            page.wait_for_selector("form.confirm")
            assert manager.get_run(long.id).status is Status.RUNNING  # asking did nothing yet
            page.click("form.confirm button")
            page.wait_for_url(lambda url: "done=abort" in url)
            assert "Abort requested" in page.locator(".notice").inner_text()
            assert page.locator('#status [data-status="running"]').count() == 1
            page.evaluate("window.notReloaded = true")
            page.wait_for_selector('#status [data-status="aborted"]', timeout=10_000)
            assert page.evaluate("window.notReloaded") is True  # it changed live
            assert page.locator("#changed").is_visible()
            assert manager.get_run(long.id).status is Status.ABORTED
            # aborting it again is refused, in plain words
            page.click("button.act-abort")
            page.click("form.confirm button")
            assert "Not aborted: the run already finished (aborted)" in page.locator(".problem").inner_text()
            # the run that holds HTML shows it as text
            evil = next(r for r in manager.list_runs() if r.input == {"to": EVIL})
            page.goto(f"{server.base_url}/runs/{evil.id}")
            assert json.dumps(EVIL) in page.locator("pre.json").first.inner_text()
            assert page.locator("ol.logs .msg").first.inner_text() == f"sending to {EVIL}"
            assert page.locator("img[src=x]").count() == 0
            # a phone: nothing sticks out sideways
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(server.base_url + "/")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            page.emulate_media(media="print")
            assert not page.locator("header.top").is_visible()
            assert not page.locator("form.filters").is_visible()
            assert page.locator("#runs").is_visible()
    finally:
        shut_down(manager, runner)


def test_screenshot_of_the_runs_page(browser) -> None:
    manager = shop()
    runner = Runner(manager, workers=3).start()
    try:
        names = ["ada", "grace", "edsger", "barbara", "ken", "margaret", "alan", "frances"]
        for name in names:
            manager.trigger("send-welcome-email", {"to": f"{name}@example.org"})
        for day in ("2026-11-29", "2026-11-30"):
            manager.trigger("nightly-report", {"day": day})
        stuck = manager.trigger("import-catalogue", {"file": "catalogue-2026-12.csv"})
        manager.trigger("import-catalogue", {"file": "prices.csv"})
        wait_until(lambda: manager.count_runs()[Status.SUCCESS] == len(names)
                   and manager.count_runs()[Status.FAILED] == 2)
        manager.abort(stuck.id)
        wait_until(lambda: manager.get_run(stuck.id).status is Status.ABORTED)
        manager.trigger("send-welcome-email", {"to": "linus@example.org"}, delay=3600)
        with serve(manager) as server:
            context = browser.new_context(viewport={"width": 1100, "height": 760}, device_scale_factor=1)
            tab = context.new_page()
            tab.goto(server.url)
            tab.wait_for_selector("#live:not([hidden])")
            folder = Path(os.environ.get("BROWSER_SCREENSHOTS") or Path(tempfile.gettempdir())
                          / "teachtasks-browser-screenshots")
            folder.mkdir(parents=True, exist_ok=True)
            shot = folder / "dashboard.png"
            tab.screenshot(path=str(shot))
            context.close()
        assert shot.stat().st_size > 10_000
        if os.environ.get("UPDATE_DOCS_SCREENSHOTS"):
            shutil.copyfile(shot, ROOT / "docs" / "images" / "dashboard.png")
    finally:
        shut_down(manager, runner)
