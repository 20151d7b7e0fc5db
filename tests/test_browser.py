"""The course in a real browser: every notebook run in JupyterLab, and the website read offline.

nbval proves each notebook's outputs; it cannot see what a learner sees. Here a
real JupyterLab (on 127.0.0.1, with a token, its config and runtime files in a
temp folder) serves a copy of notebooks/, and headless Chromium, driven by
Playwright, opens each notebook, runs Run > Run All Cells like a learner, and
checks that no error appears, that the widgets render and that the plots show.
Then the course is built as a static site (tools/build_site.py) and each page
is read with every request to anything but 127.0.0.1 blocked.

Needs Debian's ``chromium`` (or any Chromium at $CHROMIUM) and the ``playwright``
package; skips without them, except when $CI is set: then it fails. Deselect with
``-m "not browser"``. A screenshot of each notebook and page goes to a temp
folder (/tmp/teachtasks-browser-screenshots, or $BROWSER_SCREENSHOTS); with
``UPDATE_DOCS_SCREENSHOTS=1`` the chosen ones are also copied to docs/images/.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from navigation import COURSE  # noqa: E402  (tools/ is not a package)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: the notebooks the site has a page for: those of the course map that exist, in its order
SITE_PAGES = [ROOT / "notebooks" / f"{stem}.ipynb" for stem, _, _ in COURSE
              if (ROOT / "notebooks" / f"{stem}.ipynb").exists()]
DOCS_IMAGES = ROOT / "docs" / "images"
#: the screenshots the README shows: a notebook with a widget (the live board when it exists) and a site page
DOCS_SHOTS = {"jupyterlab": ("00_start_here", "06_lifecycle_visualized"),
              "site": ("00_start_here", "06_lifecycle_visualized")}

RUN_TIMEOUT = float(os.environ.get("BROWSER_NOTEBOOK_TIMEOUT", "180"))  # seconds per notebook
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--disable-crash-reporter"]
VIEWPORT = {"width": 1280, "height": 900}

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: the CSS class ipywidgets 8 gives each kind of view, to check the right thing rendered
WIDGET_SELECTORS = {
    "IntSliderModel": ".widget-slider", "FloatSliderModel": ".widget-slider",
    "FloatLogSliderModel": ".widget-slider", "IntRangeSliderModel": ".widget-slider",
    "FloatRangeSliderModel": ".widget-slider", "SelectionSliderModel": ".widget-slider",
    "IntProgressModel": ".widget-hprogress, .widget-vprogress",
    "FloatProgressModel": ".widget-hprogress, .widget-vprogress",
    "ButtonModel": ".widget-button", "HTMLModel": ".widget-html", "OutputModel": ".widget-output",
    "HBoxModel": ".widget-hbox", "VBoxModel": ".widget-vbox", "BoxModel": ".widget-box",
    "GridBoxModel": ".widget-gridbox",
}
ERROR_TEXT = re.compile(r"Traceback|\b\w*(Error|Exception)\b")


# ---------------------------------------------------------------- what a notebook should show

@dataclass
class Expected:
    """What a notebook's saved outputs promise a browser will show."""

    name: str
    code_cells: int  # non-empty code cells: each must get an execution number
    images: int  # image/png outputs
    widget_views: int  # widget outputs
    widget_selectors: set[str] = field(default_factory=set)  # one element of each must render

    @classmethod
    def of(cls, path: Path) -> Expected:
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
        outputs = [o for c in code for o in c.get("outputs", [])]
        views = [o["data"][WIDGET_VIEW]["model_id"] for o in outputs if WIDGET_VIEW in o.get("data", {})]
        state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        selectors, seen, todo = set(), set(), list(views)
        while todo:  # every model a displayed view shows, children included
            model_id = todo.pop()
            if model_id in seen or model_id not in state:
                continue
            seen.add(model_id)
            model = state[model_id]
            if model["model_name"] in WIDGET_SELECTORS:
                selectors.add(WIDGET_SELECTORS[model["model_name"]])
            todo += re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(model["state"]))
        return cls(path.name, len(code), sum("image/png" in o.get("data", {}) for o in outputs),
                   len(views), selectors)


# ---------------------------------------------------------------- the browser

def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so this fails instead of skipping (.ci/run installs chromium)",
                    pytrace=False)
    pytest.skip(reason)


def find_chromium() -> str | None:
    """$CHROMIUM when set (only it), else Debian's chromium or another on the PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"] if Path(os.environ["CHROMIUM"]).exists() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@dataclass
class Browser:
    context: object  # playwright BrowserContext
    blocked: list[str] = field(default_factory=list)  # requests to anything but 127.0.0.1, refused

    def page(self):
        self.blocked.clear()
        page = self.context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = find_chromium()
    if chromium is None:
        _unavailable("no Chromium found (install Debian's: apt-get install chromium; or set $CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements.txt)")
    playwright = sync_playwright().start()
    try:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=chromium, headless=True,
            args=CHROMIUM_ARGS, viewport=VIEWPORT)
    except Exception:
        playwright.stop()
        raise
    browser = Browser(context)

    def only_this_machine(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            browser.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_machine)
    try:
        yield browser
    finally:
        with contextlib.suppress(Exception):
            context.close()
        playwright.stop()


@pytest.fixture(scope="module")
def shots() -> Path:
    # not under pytest's tmp_path: pytest keeps only its last three runs' folders
    default = Path(tempfile.gettempdir()) / "teachtasks-browser-screenshots"
    folder = Path(os.environ.get("BROWSER_SCREENSHOTS") or default)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


def screenshot(page, shots: Path, kind: str, stem: str, focus: str | None) -> Path:
    """A screenshot of what a reader sees around ``focus`` (the first widget or figure)."""
    page.mouse.move(1, VIEWPORT["height"] - 1)  # no hover highlight in the picture
    if focus and page.locator(focus).count():
        page.locator(focus).first.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(300)
    path = shots / f"{kind}_{stem}.png"
    page.screenshot(path=str(path))
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") and stem in DOCS_SHOTS[kind]:
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, DOCS_IMAGES / path.name)
    return path


def wait_for_widgets(page, expected: Expected) -> None:
    """Wait until a view of each kind of widget the notebook shows is drawn in an output area.

    Drawn, not necessarily visible: a board hides the bars of finished runs (CSS visibility).
    """
    for selector in sorted(expected.widget_selectors):
        scoped = ", ".join(f".jp-OutputArea-output {alt.strip()}" for alt in selector.split(","))
        try:
            page.locator(scoped).first.wait_for(state="attached", timeout=30_000)
        except Exception as error:
            raise AssertionError(f"{expected.name}: no {selector} widget drawn within 30 s") from error


# ---------------------------------------------------------------- JupyterLab

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree() -> dict[int, list[int]]:
    """Each process's children, from Linux's /proc (empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return children


def descendants(pid: int, tree: dict[int, list[int]] | None = None) -> list[int]:
    """The processes ``pid`` started, and those they started, and so on."""
    tree = process_tree() if tree is None else tree
    found, todo = [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class Lab:
    base: str
    token: str
    log: Path
    process: subprocess.Popen

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.base}/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def kernel_children(self) -> list[int]:
        """Processes the running kernels started (servers, workers) and have not ended."""
        tree = process_tree()
        return [child for kernel in tree.get(self.process.pid, []) for child in descendants(kernel, tree)]

    def stop_kernels(self) -> None:
        """Shut down every notebook's kernel, then end by pid whatever those kernels had started."""
        started = descendants(self.process.pid)
        with contextlib.suppress(Exception):
            for session in self.api("GET", "api/sessions"):
                self.api("DELETE", f"api/sessions/{session['id']}")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in started):
            time.sleep(0.2)
        for pid in started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def lab_settings(config: Path) -> None:
    """A learner's JupyterLab, minus what would make a test flaky or touch the network."""
    settings = config / "lab" / "user-settings" / "@jupyterlab"
    for plugin, values in {
        # every cell in the page (not only those scrolled into view), so all can be checked
        "notebook-extension/tracker": {"windowingMode": "none"},
        # never write the run's outputs back into the notebooks (they are copies anyway)
        "docmanager-extension/plugin": {"autosave": False},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    home = tmp_path_factory.mktemp("jupyterlab")
    # A copy of notebooks/: a run in the browser must never change the course's files.
    shutil.copytree(ROOT / "notebooks", home / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.db*"))
    lab_settings(home / "config")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel's inline plots
    env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), IPYTHONDIR=str(home / "ipython"),
               JUPYTER_PLATFORM_DIRS="1")
    port, token = free_port(), secrets.token_hex(24)
    log = home / "jupyterlab.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser",
             "--ServerApp.open_browser=False", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={home / 'notebooks'}", "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Lab(f"http://127.0.0.1:{port}", token, log, process)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
            try:
                server.api("GET", "api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within 90 s:\n{server.log_tail()}")
                time.sleep(0.3)
        yield server
    finally:
        stop_lab(server)


def stop_lab(server: Lab) -> None:
    """Ask JupyterLab to shut down (kernels too); then end it and what it started, by pid."""
    started = descendants(server.process.pid)
    with contextlib.suppress(Exception):
        server.api("POST", "api/shutdown")
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)
    for pid in started:  # kernels run in sessions of their own; anything left over goes too
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


KERNEL_STATUS = '.jp-StatusBar-TextItem[title^="Change kernel"]'
STATE_JS = """statusSelector => {
  const prompts = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt'))
    .map(e => e.textContent.trim());
  const status = document.querySelector(statusSelector);
  const stderr = Array.from(document.querySelectorAll(
    '.jp-NotebookPanel .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')).map(e => {
      const cell = e.closest('.jp-CodeCell');
      const prompt = cell && cell.querySelector('.jp-InputPrompt');
      return (prompt ? prompt.textContent.trim() + ' ' : '') + e.textContent;
    });
  return {prompts, status: status ? status.textContent : '', stderr};
}"""


def run_all_cells(page, expected: Expected) -> dict:
    """Run > Run All Cells, then wait until every cell has run (or one failed) and the kernel is idle."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
    deadline = time.monotonic() + RUN_TIMEOUT
    settled = 0
    while True:
        state = page.evaluate(STATE_JS, KERNEL_STATUS)
        running = any("*" in p for p in state["prompts"])
        numbered = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in state["prompts"])
        failed = any(ERROR_TEXT.search(text) for text in state["stderr"])
        idle = state["status"].endswith("| Idle")
        # JupyterLab stops a Run All at the first error: then not every cell gets a number
        settled = settled + 1 if idle and not running and (numbered >= expected.code_cells or failed) else 0
        if settled >= 2:  # two looks in a row, half a second apart: nothing is left to run
            return state
        if state["status"].endswith("| Dead"):
            pytest.fail(f"{expected.name}: the kernel died; prompts {state['prompts']}")
        if time.monotonic() > deadline:
            pytest.fail(f"{expected.name}: not finished after {RUN_TIMEOUT:.0f} s: kernel {state['status']!r}, "
                        f"{numbered} of {expected.code_cells} cells ran, prompts {state['prompts']}")
        page.wait_for_timeout(500)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab(lab: Lab, browser: Browser, shots: Path, path: Path) -> None:
    expected = Expected.of(path)
    page = browser.page()
    try:
        # a workspace of its own: only this notebook open, nothing restored from the one before
        page.goto(lab.url(f"lab/workspaces/{path.stem}/tree/{path.name}"))
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
        if page.locator(".jp-Dialog").count():  # e.g. "Select Kernel" for a notebook without a kernelspec
            page.locator(".jp-Dialog .jp-mod-accept").click()
        page.wait_for_function(
            "s => { const e = document.querySelector(s); return e && e.textContent.endsWith('| Idle'); }",
            arg=KERNEL_STATUS, timeout=90_000)
        state = run_all_cells(page, expected)
        widgets = page.locator(".jp-OutputArea-output .jupyter-widgets")
        if expected.widget_views:
            widgets.first.wait_for(timeout=30_000)
            wait_for_widgets(page, expected)
        images = page.locator(".jp-OutputArea-output img")
        visible = images.evaluate_all("imgs => imgs.filter(i => i.naturalWidth > 0 && i.offsetWidth > 0).length")
        widget_errors = page.get_by_text("Error displaying widget").count()
        left_running = lab.kernel_children()
        errors = [text for text in state["stderr"] if ERROR_TEXT.search(text)]
        if errors:  # the picture shows the first error
            focus = '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'
        elif expected.widget_views:
            focus = ".jp-OutputArea-output .jupyter-widgets"
        else:
            focus = ".jp-OutputArea-output img"
        shot = screenshot(page, shots, "jupyterlab", path.stem, focus)

        short = [t if len(t) < 900 else f"{t[:80]} ... {t[-800:]}" for t in errors]  # where, and the error itself
        assert not errors, f"{path.name}: error output in JupyterLab (see {shot}):\n" + "\n---\n".join(short)
        for text in state["stderr"]:
            warnings.warn(f"{path.name} wrote to stderr in JupyterLab: {text[:300]}", stacklevel=1)
        if left_running:
            warnings.warn(f"{path.name} left {len(left_running)} process(es) running after its last cell "
                          "(notebooks/AUTHORING.md: a notebook stops what it starts)", stacklevel=1)
        assert widget_errors == 0, f"{path.name}: 'Error displaying widget' shown (see {shot})"
        assert widgets.count() >= expected.widget_views, (
            f"{path.name}: {widgets.count()} widget(s) rendered, the saved notebook has {expected.widget_views}")
        assert visible >= expected.images, (
            f"{path.name}: {visible} plot(s) visible, the saved notebook has {expected.images} (see {shot})")
        assert not page.errors, f"{path.name}: JavaScript errors in JupyterLab: {page.errors}"
        assert not browser.blocked, f"{path.name}: JupyterLab asked for outside addresses: {browser.blocked}"
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(shots / f"failed_jupyterlab_{path.stem}.png"))
        raise
    finally:
        page.close()
        lab.stop_kernels()


# ---------------------------------------------------------------- the static site

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built by the same script as `python3 course.py site`, served on 127.0.0.1."""
    out = tmp_path_factory.mktemp("site") / "_site"
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"building the site failed:\n{result.stdout}\n{result.stderr}"
    manifest = json.loads((out / "site.json").read_text())
    if not manifest["widgets_js"] and os.environ.get("CI"):
        pytest.fail(f"the site was built without the widget JavaScript (is npm there?):\n{result.stdout}")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield out, f"http://127.0.0.1:{server.server_address[1]}", manifest
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_site_index_maps_the_course(browser: Browser, site, shots: Path) -> None:
    out, base, manifest = site
    page = browser.page()
    try:
        page.goto(f"{base}/index.html")
        links = page.locator("table.course-map a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert links == manifest["pages"], "the map links every page built"
        order = [f"{stem}.html" for stem, _, _ in COURSE]
        assert links == sorted(links, key=order.index), "in the course's order"
        assert {f"{p.stem}.html" for p in SITE_PAGES} <= set(links), "every notebook of the map has a page"
        assert all((out / link).is_file() for link in links)
        screenshot(page, shots, "site", "index", None)
        assert not browser.blocked and not page.errors
    finally:
        page.close()


@pytest.mark.parametrize("path", SITE_PAGES, ids=lambda p: p.stem)
def test_site_page_reads_offline(browser: Browser, site, shots: Path, path: Path) -> None:
    out, base, manifest = site
    expected = Expected.of(path)
    page = browser.page()
    try:
        page.goto(f"{base}/{path.stem}.html", wait_until="load")
        live = bool(manifest["widgets_js"]) and bool(expected.widget_selectors)
        if live:  # the widget manager shipped with the site draws every saved widget
            wait_for_widgets(page, expected)
        page.wait_for_load_state("networkidle")
        images = page.locator(".jp-OutputArea-output img")
        visible = images.evaluate_all("imgs => imgs.filter(i => i.naturalWidth > 0 && i.offsetWidth > 0).length")
        widget_errors = page.get_by_text("Error displaying widget").count()
        hrefs = page.locator("nav.course-bar a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        focus = ".jupyter-widgets" if live else ".jp-OutputArea-output img"
        shot = screenshot(page, shots, "site", path.stem, focus)

        assert not browser.blocked, f"{path.stem}.html asked for outside addresses: {browser.blocked}"
        assert visible >= expected.images, (
            f"{path.stem}.html: {visible} figure(s) shown, the notebook has {expected.images} (see {shot})")
        assert widget_errors == 0, f"{path.stem}.html: 'Error displaying widget' (see {shot})"
        assert not page.errors, f"{path.stem}.html: JavaScript errors: {page.errors}"
        targets = {h.split("#")[0] for h in hrefs}
        assert "index.html" in targets and all((out / t).is_file() for t in targets), hrefs
        index = SITE_PAGES.index(path)
        if index + 1 < len(SITE_PAGES):
            assert f"{SITE_PAGES[index + 1].stem}.html" in targets, "a link to the next notebook"
    finally:
        page.close()


def test_slide_deck_reads_offline(browser: Browser, site, shots: Path) -> None:
    """A notebook's slide deck: reveal.js, shipped with the site, draws its slides with nothing fetched."""
    out, base, manifest = site
    if not manifest.get("slides"):
        pytest.skip("the site was built without npm: no slide decks")
    deck = "slides/03_build_a_runner.html" if "slides/03_build_a_runner.html" in manifest["slides"] \
        else manifest["slides"][0]
    page = browser.page()
    try:
        page.goto(f"{base}/{deck}#/2", wait_until="load")
        page.wait_for_selector("body[data-deck-ready='yes']", timeout=20_000)
        slides = page.locator(".reveal .slides > section").count()
        shown = page.evaluate("() => { const s = document.querySelector('.reveal .slides section.present');"
                              " return s ? s.getBoundingClientRect().width : 0; }")
        number = page.locator(".reveal .slide-number").inner_text()
        screenshot(page, shots, "site", "slides_" + Path(deck).stem, None)
        assert slides >= 3, f"{deck}: {slides} slide(s)"
        assert shown > 300, f"{deck}: the current slide is not drawn"
        assert number.startswith("3"), f"{deck}: #/2 should show slide 3, shows {number!r}"
        assert not browser.blocked, f"{deck} asked for outside addresses: {browser.blocked}"
        assert not page.errors, f"{deck}: JavaScript errors: {page.errors}"
    finally:
        page.close()
