"""The site's pages for teachers, without a browser: which cells a slide deck
shows, and that the Markdown pages link only to pages the site has.

The browser test (test_browser.py) proves a deck loads offline; these check
the choices behind it in a second, on every run of the suite.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import site_docs  # noqa: E402  (tools/ is not a package)
import slides  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def kinds(nb) -> list[str]:
    return [c.metadata["slideshow"]["slide_type"] for c in nb.cells]


def notebook(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for kind, source, tags in cells:
        make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        cell = make(source)
        cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


def test_untagged_notebook_gets_a_slide_per_heading_with_its_first_code_cell() -> None:
    nb = notebook(("md", "# Title", ()), ("md", "words", ()), ("code", "a = 1", ()),
                  ("code", "b = 2", ()), ("md", "## Part 2\nmore", ()), ("code", "c = 3", ()),
                  ("code", "def f(): ...", ("live-version",)), ("md", "links", ("navigation",)))
    deck, rule = slides.select_slides(nb)
    assert rule == "headings"
    assert kinds(deck) == ["slide", "skip", "-", "skip", "slide", "-", "slide", "skip"]
    assert "slideshow" not in nb.cells[0].metadata, "the notebook itself is left alone"


def test_tagged_cells_are_the_whole_deck() -> None:
    nb = notebook(("md", "# Title", ()), ("code", "setup()", ()), ("code", "demo()", ("demo",)),
                  ("md", "## Talk", ("slide",)), ("code", "x", ("live-version",)))
    deck, rule = slides.select_slides(nb)
    assert rule == "tags"
    assert kinds(deck) == ["skip", "skip", "slide", "slide", "skip"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_course_notebook_makes_a_short_deck(path: Path) -> None:
    deck, _ = slides.select_slides(nbformat.read(path, as_version=4))
    count = slides.slide_count(deck)
    assert 3 <= count <= 30, f"{path.name}: {count} slides"
    assert kinds(deck)[0] == "slide", "the title cell opens the deck"


def test_doc_pages_link_only_to_pages_the_site_has(tmp_path: Path) -> None:
    warnings: list[str] = []
    stems = {p.stem for p in NOTEBOOKS}
    written = site_docs.write_docs(tmp_path, stems, warnings)
    assert warnings == []
    assert {"teachers.html", "cheatsheet.html"} <= set(written)
    assert len([w for w in written if w.startswith("teaching/")]) == len(NOTEBOOKS)
    for target in written:
        page = (tmp_path / target).read_text(encoding="utf-8")
        for href in re.findall(r'href="([^"#:]+)', page):
            resolved = (tmp_path / target).parent / href
            name = resolved.resolve().relative_to(tmp_path.resolve()).as_posix()
            # the index, notebook pages and slides are written by build_site itself
            assert (resolved.exists() or name == "index.html" or name in {f"{s}.html" for s in stems}
                    or name in {f"slides/{s}.html" for s in stems}), f"{target}: {href}"
        assert "<img" not in page or 'src="data:image/png;base64,' in page, f"{target}: images embedded"


def test_cheat_sheet_prints_on_two_pages(tmp_path: Path) -> None:
    site_docs.write_docs(tmp_path, set(), [])
    page = (tmp_path / "cheatsheet.html").read_text(encoding="utf-8")
    assert "@media print" in page and "size: A4" in page
    assert page.count('class="page-break"') == 1, "one break: two pages"
    for heading in ("The words", "The life of a run", "The API you use"):
        assert f">{heading}</h2>" in page
