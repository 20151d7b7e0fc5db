"""A slide deck per notebook, for a teacher: nbconvert's reveal.js export, offline.

Why from the notebooks themselves: slides kept beside a course drift from it;
a deck made from the saved notebook shows exactly the code and outputs the
learners will see. Which cells: those a teacher tagged ``slide`` (talk over
it) or ``demo`` (run it live), each starting a slide; in a notebook nobody
tagged yet, each markdown cell with a heading starts a slide and brings the
first code cell after it (with its output), and each cell tagged
``live-version`` (the course's built-live code) gets a slide of its own.
Everything else is skipped, so a deck stays short.

reveal.js itself (``dist/`` and the speaker-notes plugin) is taken from npm at
build time, like the widget JavaScript (``build_site.npm_package``), and
shipped in the site's ``static/reveal/``; the pages load it with the site's
own require.js. Nothing comes from a CDN, and no MathJax or jQuery is needed:
the template below replaces the reveal template's script block with one that
uses neither.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

#: pinned, so a deck renders the same every build (nbconvert's template targets reveal.js 4)
REVEAL = ("reveal.js", "4.6.0")
#: the tags a teacher puts on the cells a deck shows
SLIDE_TAGS = ("slide", "demo")
#: cells never shown: the prev/next links at the bottom of each notebook
SKIP_TAGS = ("navigation",)
#: cells the course already marks as built live (notebooks 02 to 05): in an
#: untagged notebook each gets a slide of its own, since it is what a teacher types
LIVE_TAG = "live-version"

HEADING = re.compile(r"^\s{0,3}#{1,3}\s", re.M)

DECK_TEMPLATE = r"""
{%- extends 'index.html.j2' -%}
{%- block html_head_js_jquery -%}{%- endblock html_head_js_jquery -%}
{%- block html_head_js_requirejs -%}
<script src="{{ resources.site.static }}/require.js"></script>
{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block body_header -%}
{{ super() }}
{%- endblock body_header -%}
{% block body_footer %}
</div>
</div>
<a class="deck-home" href="{{ resources.site.page }}" title="the notebook's page">{{ resources.site.label }}</a>
</main>
<style type="text/css">
.reveal .slides section { overflow-y: auto; max-height: 100%; }
.reveal .jp-OutputArea-output img { max-height: 60vh; }
a.deck-home { position: fixed; left: 12px; bottom: 10px; z-index: 40; font: 13px sans-serif;
  color: #0550ae; background: rgba(255,255,255,0.85); padding: 2px 6px; border-radius: 4px;
  text-decoration: none; }
</style>
</body>
{% endblock body_footer %}
{% block footer_js %}
<script>
require({ waitSeconds: 15 },
  ["{{ resources.reveal.url_prefix }}/dist/reveal.js",
   "{{ resources.reveal.url_prefix }}/plugin/notes/notes.js"],
  function (Reveal, RevealNotes) {
    Reveal.initialize({ controls: true, progress: true, history: true, hash: true,
      transition: "{{ resources.reveal.transition }}", slideNumber: "c/t",
      plugins: [RevealNotes], width: 1280, height: 800, margin: 0.04 });
    document.body.setAttribute("data-deck-ready", "yes");
  });
</script>
{% endblock footer_js %}
"""


def ship_reveal(static: Path, npm_package: Any) -> str | None:
    """Copy reveal.js's ``dist/`` and its notes plugin into ``static/reveal``;
    what was shipped, or None without npm."""
    package = npm_package(*REVEAL)
    if package is None:
        return None
    dest = static / "reveal"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(package / "dist", dest / "dist",
                    ignore=shutil.ignore_patterns("*.map", "*.esm.js"))
    shutil.copytree(package / "plugin" / "notes", dest / "plugin" / "notes",
                    ignore=shutil.ignore_patterns("*.esm.js"))
    if (package / "LICENSE").exists():
        shutil.copy2(package / "LICENSE", dest / "LICENSE")
    return f"{REVEAL[0]}@{REVEAL[1]} (from npm)"


def _tags(cell: Any) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def select_slides(nb: Any) -> tuple[Any, str]:
    """A copy of ``nb`` with each cell's ``slideshow.slide_type`` set, and the
    rule used: ``"tags"`` (cells tagged slide/demo) or ``"headings"``."""
    nb = copy.deepcopy(nb)
    tagged = any(_tags(c) & set(SLIDE_TAGS) for c in nb.cells)
    want_code = False
    for cell in nb.cells:
        kind = "skip"
        if _tags(cell) & set(SKIP_TAGS):
            pass
        elif tagged:
            kind = "slide" if _tags(cell) & set(SLIDE_TAGS) else "skip"
        elif LIVE_TAG in _tags(cell):
            kind, want_code = "slide", False
        elif cell.cell_type == "markdown" and HEADING.search("".join(cell.source)):
            kind, want_code = "slide", True
        elif cell.cell_type == "code" and want_code:
            kind, want_code = "-", False  # joins the heading's slide
        cell.setdefault("metadata", {})["slideshow"] = {"slide_type": kind}
    return nb, "tags" if tagged else "headings"


def slide_count(nb: Any) -> int:
    return sum(1 for c in nb.cells if c.get("metadata", {}).get("slideshow", {}).get("slide_type")
               == "slide")


def write_deck(nb: Any, stem: str, title: str, out: Path) -> tuple[Path, str, int]:
    """Write ``out/slides/<stem>.html``; returns its path, the rule and the number of slides."""
    from jinja2 import DictLoader
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(
        template_file="course_deck.html.j2",
        extra_loaders=[DictLoader({"course_deck.html.j2": DECK_TEMPLATE})],
        reveal_url_prefix="../static/reveal", reveal_theme="white", reveal_transition="none",
        embed_images=True, exclude_anchor_links=True,
    )
    deck, rule = select_slides(nb)
    deck.metadata.pop("widgets", None)  # a deck shows widgets as their text form
    for cell in deck.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
    deck.metadata["title"] = f"{stem[:2]} · {title}"
    resources = {"site": {"static": "../static", "page": f"../{stem}.html",
                          "label": f"{stem[:2]} {title}: the notebook's page"},
                 "metadata": {"name": stem}}
    body, _ = exporter.from_notebook_node(deck, resources=resources)
    path = out / "slides" / f"{stem}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path, rule, slide_count(deck)
