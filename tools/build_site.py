#!/usr/bin/env python3
"""Write the course as a static website: ``python3 course.py site`` (into ``_site/``).

Why a site: a learner (or a teacher preparing a lesson) can read every notebook,
with its saved outputs, figures and widgets, in any browser and without a
running Python. The pages are made by nbconvert's HTML exporter (the ``lab``
template) from the saved notebooks, which ``python3 course.py execute`` writes
with their widget state (nbconvert's ``ExecutePreprocessor.store_widget_state``
is on by default). ``--execute`` runs each notebook again first, in memory.

Offline on purpose. nbconvert's pages load require.js, MathJax and the widget
manager (``@jupyter-widgets/html-manager``) from CDNs; this script ships
require.js and the widget manager's ``embed-amd.js`` (and its fonts) in
``_site/static/``, taken with ``npm pack`` from the npm registry at build time
(cached in ``.venv/site-js/``), and points the pages at those copies. MathJax
is left out: the course's notebooks use no LaTeX (a warning says when one
does). Without npm, live widgets are shown as their text form instead; that
loses nothing a learner needs, because every live widget in the course is
followed by a static result (notebooks/AUTHORING.md).

For teachers the site also has a slide deck per notebook (``slides/``, see
``tools/slides.py``: reveal.js, also from npm, shipped in ``static/reveal/``;
no decks without npm) and the Markdown pages: the teachers' page, the
instructor notes, the cheat sheet (printable) and the glossary
(``tools/site_docs.py``).

    python3 tools/build_site.py [--execute] [--out DIR]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from navigation import COURSE  # noqa: E402  (tools/ is not a package)
from site_docs import write_docs  # noqa: E402
from slides import ship_reveal, write_deck  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "_site"
CACHE = ROOT / ".venv" / "site-js"
DOCS = ROOT / "docs"

#: npm packages shipped with the site. html-manager 1.0 is the one that renders
#: ipywidgets 8 state (widget protocol 2); pinned, so a page renders the same every build.
HTML_MANAGER = ("@jupyter-widgets/html-manager", "1.0.15")
REQUIREJS = ("requirejs", "2.3.8")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
STATIC = "static"

# The lab template, with require.js and the widget manager loaded from the site
# itself, MathJax and mermaid left out, and a course bar above and below.
PAGE_TEMPLATE = r"""
{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}
{%- if resources.site.widgets_js %}
<script>window.__jupyter_widgets_assets_path__ = "{{ resources.site.static }}/widgets/";</script>
<script src="{{ resources.require_js_url }}"></script>
{%- endif %}
{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style type="text/css">
nav.course-bar { display: flex; gap: 1.5em; flex-wrap: wrap; align-items: baseline;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: 14px;
  padding: 10px 16px; background: #f3f6fa; border-bottom: 1px solid #d0d7de; }
nav.course-bar.bottom { border-top: 1px solid #d0d7de; border-bottom: none; margin-top: 2em; }
nav.course-bar .course { font-weight: 600; }
nav.course-bar .next { margin-left: auto; font-weight: 600; }
nav.course-bar a { color: #0550ae; text-decoration: none; }
nav.course-bar a:hover { text-decoration: underline; }
/* the widget manager's own CSS falls back to the browser's serif font outside JupyterLab */
.jupyter-widgets, .jupyter-widgets .widget-label, .jupyter-widgets .widget-html-content {
  font-family: var(--jp-ui-font-family, sans-serif); }
.jp-OutputArea-output .jupyter-widgets pre, .jp-OutputArea-output .jupyter-widgets code {
  font-family: var(--jp-code-font-family, monospace); }
</style>
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.site.bar_top }}
{%- endblock body_header -%}
{%- block body_footer -%}
{{ resources.site.bar_bottom }}
{{ super() }}
{%- endblock body_footer -%}
"""

INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>teachtasks: background tasks, built by hand</title>
<style type="text/css">
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  max-width: 56em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }}
h1 {{ font-size: 1.8em; margin-bottom: 0.2em; }}
table {{ border-collapse: collapse; width: 100%; margin: 1.5em 0; }}
th, td {{ text-align: left; padding: 8px 10px; border-bottom: 1px solid #d0d7de; vertical-align: top; }}
th {{ background: #f3f6fa; }}
td.num {{ font-variant-numeric: tabular-nums; color: #57606a; width: 2.5em; }}
td:nth-child(2) {{ width: 15em; }}
td.coming {{ color: #6e7781; }}
a {{ color: #0550ae; text-decoration: none; }}
a:hover {{ text-decoration: underline; }}
code {{ background: #f3f6fa; padding: 1px 4px; border-radius: 4px; }}
.note {{ color: #57606a; font-size: 0.95em; }}
</style>
</head>
<body>
<main>
<h1>teachtasks: background tasks, built by hand</h1>
<p>A hands-on course for junior developers on <strong>background tasks</strong>: why a web app hands
slow work to something else, what "event-driven" means, and how a <strong>runner</strong>, a
<strong>context</strong> and a <strong>controller</strong> fit together.</p>
<p class="note">These pages are the notebooks as saved, with their outputs, figures and widgets. To run
and change them, open the course in JupyterLab: <code>python3 course.py open</code>.</p>
<p class="note">Teaching it? <a href="#for-teachers">For teachers</a>: class-pace plans, instructor
notes and slides for every notebook, and a cheat sheet to print.</p>
<h2 id="the-course">The course</h2>
<table class="course-map">
<thead><tr><th>#</th><th>notebook</th><th>you will</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p class="note">{widgets_note}</p>
{teachers}
</main>
</body>
</html>
"""


@dataclass
class Report:
    """What a build wrote: the pages, whether the widget JavaScript ships, and warnings."""

    out: Path
    pages: list[str] = field(default_factory=list)
    widgets_js: str | None = None
    reveal_js: str | None = None
    slides: list[str] = field(default_factory=list)
    docs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"wrote {self.out}/index.html and {len(self.pages)} notebook page(s)"]
        if self.widgets_js:
            lines.append(f"widget JavaScript shipped in {STATIC}/: {self.widgets_js}")
        else:
            lines.append("widget JavaScript NOT shipped (npm not found or not reachable): "
                         "live widgets are shown as text; each is followed by its static result")
        if self.reveal_js:
            lines.append(f"{len(self.slides)} slide deck(s) in slides/, reveal.js shipped: {self.reveal_js}")
        else:
            lines.append("slide decks NOT written (npm not found or not reachable)")
        lines.append(f"{len(self.docs)} teacher and reference page(s): {', '.join(self.docs)}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# ---------------------------------------------------------------- JavaScript from npm

def npm_package(name: str, version: str) -> Path | None:
    """The unpacked npm package ``name@version`` (its ``package/`` folder), cached; None without npm."""
    dest = CACHE / f"{name.replace('@', '').replace('/', '__')}-{version}"
    if (dest / "package" / "package.json").exists():
        return dest / "package"
    npm = shutil.which("npm")
    if npm is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([npm, "pack", f"{name}@{version}", "--pack-destination", tmp,
                                 "--silent", "--no-fund", "--no-audit"],
                                capture_output=True, text=True, timeout=300)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            print(f"[site] npm pack {name}@{version} failed: {result.stderr.strip()[-500:]}",
                  file=sys.stderr)
            return None
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(unpacked, filter="data")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.move(str(unpacked), dest)
    return dest / "package"


def ship_javascript(out: Path) -> str | None:
    """Copy require.js and the widget manager's embed script and fonts into ``out/static``."""
    manager = npm_package(*HTML_MANAGER)
    requirejs = npm_package(*REQUIREJS)
    if manager is None or requirejs is None:
        return None
    static = out / STATIC
    (static / "widgets").mkdir(parents=True, exist_ok=True)
    shutil.copy2(requirejs / "require.js", static / "require.js")
    for item in (manager / "dist").iterdir():
        # embed-amd.js is the bundle nbconvert's pages expect; the rest of dist/ is its fonts.
        if item.name in ("embed.js", "libembed-amd.js") or item.suffix in (".map", ".txt"):
            continue
        shutil.copy2(item, static / "widgets" / item.name)
    for license_file in ("LICENSE", "LICENSE.md", "LICENSE.txt"):
        for package, prefix in ((manager, "html-manager"), (requirejs, "requirejs")):
            if (package / license_file).exists():
                shutil.copy2(package / license_file, static / f"{prefix}-{license_file}")
    return f"{HTML_MANAGER[0]}@{HTML_MANAGER[1]} and {REQUIREJS[0]}@{REQUIREJS[1]} (from npm)"


# ---------------------------------------------------------------- notebooks

def widget_state(nb) -> dict:
    return nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def without_widget_views(nb, keep: set[str]) -> int:
    """Drop widget views whose model is not in ``keep`` (their text/plain form stays); how many."""
    dropped = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is not None and view.get("model_id") not in keep:
                del output["data"][WIDGET_VIEW]
                output["data"].setdefault("text/plain", "")
                dropped += 1
    return dropped


def execute(nb, path: Path) -> None:
    from nbconvert.preprocessors import ExecutePreprocessor

    ExecutePreprocessor(timeout=300, kernel_name="python3", store_widget_state=True).preprocess(
        nb, {"metadata": {"path": str(path.parent)}})


def nav_bar(index: int, built: list[tuple[str, str]], where: str, extras: tuple[str, ...] = ()) -> str:
    """The course bar: contents, previous and next page (among the pages built),
    and ``extras`` (links for teachers) after the contents."""
    parts = ['<span class="course"><a href="index.html">teachtasks course</a></span>',
             '<a href="index.html#the-course">Contents</a>', *extras]
    if index > 0:
        stem, title = built[index - 1]
        parts.append(f'<a class="prev" rel="prev" href="{stem}.html">&larr; {stem[:2]} {html.escape(title)}</a>')
    if index + 1 < len(built):
        stem, title = built[index + 1]
        parts.append(f'<a class="next" rel="next" href="{stem}.html">Next: {stem[:2]} {html.escape(title)} &rarr;</a>')
    return f'<nav class="course-bar {where}">' + "\n".join(parts) + "</nav>"


LINK = re.compile(r'(href|src)="([^"#?:]+)([#?][^"]*)?"')


def fix_links(page: str, built: set[str], out: Path, warnings: list[str], name: str) -> str:
    """Links to notebooks become links to their pages; files the page links to are copied along."""

    def replace(match: re.Match) -> str:
        attr, target, rest = match.group(1), match.group(2), match.group(3) or ""
        if target.startswith(("/", "data", f"{STATIC}/")) or target.endswith(".html"):
            return match.group(0)
        stem = Path(target).stem
        if target.endswith(".ipynb") and "/" not in target:
            if stem in built:
                return f'{attr}="{stem}.html{rest}"'
            warnings.append(f"{name}: link to {target}, which is not part of the site")
            return match.group(0)
        source = (NOTEBOOKS / target).resolve()
        if source.is_file() and source.is_relative_to(NOTEBOOKS):
            copy = out / source.relative_to(NOTEBOOKS)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
        else:
            warnings.append(f"{name}: link to {target}, which the site does not have")
        return match.group(0)

    return LINK.sub(replace, page)


def build(out: Path = OUT, execute_first: bool = False, use_npm: bool = True) -> Report:
    """Write the site into ``out`` (emptied first) and say what was written."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    report = Report(out=out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    report.widgets_js = ship_javascript(out) if use_npm else None
    report.reveal_js = ship_reveal(out / STATIC, npm_package) if report.widgets_js else None
    notes = DOCS / "teaching"

    exporter = HTMLExporter(
        template_name="lab", template_file="course_page.html.j2",
        extra_loaders=[DictLoader({"course_page.html.j2": PAGE_TEMPLATE})],
        embed_images=True, exclude_anchor_links=False,
        require_js_url=f"{STATIC}/require.js",
        widget_renderer_url=f"{STATIC}/widgets/embed-amd.js",
        # not used while widget_renderer_url is set; a dead address in case a template reaches for it
        jupyter_widgets_base_url=f"{STATIC}/widgets/missing/",
    )
    built = [(stem, title) for stem, title, _ in COURSE if (NOTEBOOKS / f"{stem}.ipynb").exists()]
    stems = {stem for stem, _ in built}
    for index, (stem, title) in enumerate(built):
        path = NOTEBOOKS / f"{stem}.ipynb"
        nb = nbformat.read(path, as_version=4)
        if execute_first:
            print(f"[site] executing {path.name}", flush=True)
            execute(nb, path)
        markdown = "\n".join("".join(c.source) for c in nb.cells if c.cell_type == "markdown")
        if "$$" in markdown or "\\begin{" in markdown or "\\(" in markdown:
            report.warnings.append(f"{path.name} has LaTeX math; the site ships no MathJax, so it shows as source")
        state = widget_state(nb) if report.widgets_js else {}
        dropped = without_widget_views(nb, set(state))
        if report.widgets_js and dropped:
            report.warnings.append(f"{path.name}: {dropped} widget(s) without saved state shown as text "
                                   "(run `python3 course.py execute` to save widget state)")
        if not state:  # no widgets to render here: the page loads no widget JavaScript at all
            nb.metadata.pop("widgets", None)
        nb.metadata["title"] = f"{stem[:2]} · {title} · teachtasks course"
        extras = []
        if report.reveal_js:
            extras.append(f'<a href="slides/{stem}.html">Slides</a>')
        if (notes / f"{stem}.md").exists():
            extras.append(f'<a href="teaching/{stem}.html">Instructor notes</a>')
        resources = {"site": {"static": STATIC, "widgets_js": bool(report.widgets_js and state),
                              "bar_top": nav_bar(index, built, "top", tuple(extras)),
                              "bar_bottom": nav_bar(index, built, "bottom")},
                     "metadata": {"name": stem, "path": str(path.parent)}}
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        body = fix_links(body, stems, out, report.warnings, path.name)
        (out / f"{stem}.html").write_text(body, encoding="utf-8")
        report.pages.append(f"{stem}.html")
        print(f"[site] wrote {stem}.html", flush=True)
        if report.reveal_js:
            deck, rule, count = write_deck(nb, stem, title, out)
            report.slides.append(f"slides/{deck.name}")
            print(f"[site] wrote slides/{deck.name}: {count} slides (chosen by {rule})", flush=True)

    report.docs = write_docs(out, stems, report.warnings)

    rows = []
    for stem, title, does in COURSE:
        if stem in stems:
            name = f'<td><a href="{stem}.html">{html.escape(title)}</a></td>'
        else:
            name = f'<td class="coming">{html.escape(title)} (coming)</td>'
        rows.append(f'<tr><td class="num">{stem[:2]}</td>{name}<td>{html.escape(does)}</td></tr>')
    note = ("Widgets are live: their JavaScript ships with this site, nothing is fetched from elsewhere."
            if report.widgets_js else
            "Widgets are shown as text (this copy of the site was built without their JavaScript); "
            "every live widget is followed by its static result.")
    (out / "index.html").write_text(
        INDEX_TEMPLATE.format(rows="\n".join(rows), widgets_note=note,
                              teachers=teachers_section(built, report, notes)),
        encoding="utf-8")
    (out / "site.json").write_text(json.dumps(
        {"pages": report.pages, "widgets_js": report.widgets_js, "slides": report.slides,
         "docs": report.docs}, indent=1) + "\n", encoding="utf-8")
    return report


def teachers_section(built: list[tuple[str, str]], report: Report, notes: Path) -> str:
    """The index's links for teachers: the plans, the cheat sheet, the glossary,
    and per notebook its instructor notes and slides."""
    links = [f'<a href="{page}">{label}</a>' for page, label in
             (("teachers.html", "Class-pace plans and how to teach the course"),
              ("cheatsheet.html", "Cheat sheet (prints on two pages)"), ("glossary.html", "Glossary"))
             if page in report.docs]
    rows = []
    for stem, title in built:
        note = (f'<a href="teaching/{stem}.html">notes</a>' if (notes / f"{stem}.md").exists()
                else "")
        deck = f'<a href="slides/{stem}.html">slides</a>' if f"slides/{stem}.html" in report.slides else ""
        rows.append(f'<tr><td class="num">{stem[:2]}</td><td>{html.escape(title)}</td>'
                    f"<td>{note}</td><td>{deck}</td></tr>")
    if not links and not any(report.slides):
        return ""
    return ('<h2 id="for-teachers">For teachers</h2>\n<p>' + " · ".join(links) + "</p>\n"
            '<table class="teacher-map"><thead><tr><th>#</th><th>notebook</th>'
            "<th>instructor notes</th><th>slides</th></tr></thead><tbody>\n"
            + "\n".join(rows) + "\n</tbody></table>")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--execute", action="store_true", help="run every notebook again before writing it")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the site (default: _site/)")
    parser.add_argument("--no-npm", action="store_true", help="do not fetch the widget JavaScript")
    args = parser.parse_args(argv)
    report = build(args.out.resolve(), execute_first=args.execute, use_npm=not args.no_npm)
    print(report.summary())
    print(f"open {args.out / 'index.html'} in a browser, or serve it: "
          f"python3 -m http.server --bind 127.0.0.1 --directory {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
