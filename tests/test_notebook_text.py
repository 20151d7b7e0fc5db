"""The notebooks' text keeps the course's promises (notebooks/AUTHORING.md):
short markdown cells, a one-line "What you will do" at the top, an exercise
never without its self-check, every glossary link pointing at a real entry,
and every recap followed by the learner's progress table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from teachtasks.exercises import load_all

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
GLOSSARY = NOTEBOOKS_DIR / "GLOSSARY.md"

#: the limits of issue 16: a reader's attention, not a style preference
AVERAGE_WORDS, MOST_WORDS = 60, 150

#: the course map written by tools/navigation.py is a generated table of contents, not prose
MAP = re.compile(r"<!-- map: written by tools/navigation.py -->.*?<!-- /map -->", re.S)


def words(markdown: str) -> int:
    """Words a reader reads: link targets are not read, the generated map is not prose."""
    text = MAP.sub("", markdown)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return len(re.findall(r"\S+", text))


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_word_count_ignores_link_targets_and_the_map() -> None:
    assert words("a [b](GLOSSARY.md#b) c") == 3
    assert words("x <!-- map: written by tools/navigation.py -->\n| a | b |\n<!-- /map --> y") == 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_cells_are_short(path: Path) -> None:
    counts = [(i, words(source(c))) for i, c in enumerate(cells(path)) if c["cell_type"] == "markdown"]
    too_long = [(i, n) for i, n in counts if n > MOST_WORDS]
    assert not too_long, f"{path.name}: markdown cells over {MOST_WORDS} words (cell, words): {too_long}"
    average = sum(n for _, n in counts) / len(counts)
    assert average <= AVERAGE_WORDS, f"{path.name}: markdown cells average {average:.0f} words"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_what_you_will_do_is_one_line_at_the_top(path: Path) -> None:
    first = source(cells(path)[0])
    lines = [line for line in first.splitlines() if "What you will do" in line]
    assert len(lines) == 1, f"{path.name}: the first cell needs one 'What you will do' line"
    assert first.index("What you will do") < first.index("What you will learn")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_a_stub_and_a_self_check_after_it(path: Path) -> None:
    all_cells = cells(path)
    stated = {m.group(1): i for i, c in enumerate(all_cells) if c["cell_type"] == "markdown"
              for m in re.finditer(r"Exercise (\d\d\.\d+)", source(c))}
    assert stated, f"{path.name} has no exercise"
    for exercise_id, at in stated.items():
        later = [source(c) for c in all_cells[at:] if c["cell_type"] == "code"]
        nn, m = exercise_id.split(".")
        assert any(f"# %load solutions/{nn}_{m}_" in s for s in later), f"{exercise_id}: no stub cell"
        assert any(re.search(rf'check\("{re.escape(exercise_id)}"', s) for s in later), \
            f"{path.name}: exercise {exercise_id} has no self-check cell after it"


def test_every_registered_exercise_is_stated_in_its_notebook() -> None:
    text = {p.name[:2]: "".join(source(c) for c in cells(p)) for p in NOTEBOOKS}
    missing = [e for e in load_all() if f"Exercise {e}" not in text.get(e[:2], "")]
    assert not missing, f"exercises with a check but no statement: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_loaded_solution_exists(path: Path) -> None:
    for cell in cells(path):
        for name in re.findall(r"%load (solutions/\S+\.py)", source(cell)):
            assert (NOTEBOOKS_DIR / name).exists(), f"{path.name} loads a missing {name}"


def glossary_anchors() -> set[str]:
    return set(re.findall(r'<a id="([a-z0-9-]+)"></a>', GLOSSARY.read_text(encoding="utf-8")))


def test_glossary_links_point_at_entries_and_every_entry_is_linked() -> None:
    anchors = glossary_anchors()
    linked = {a for p in NOTEBOOKS for a in re.findall(r"GLOSSARY\.md#([a-z0-9-]+)", p.read_text("utf-8"))}
    assert linked - anchors == set(), f"links to missing glossary entries: {linked - anchors}"
    assert anchors - linked == set(), f"glossary entries no notebook links: {anchors - linked}"


def test_glossary_entries_are_short_and_name_their_notebook() -> None:
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.startswith("<a id="):
            assert re.search(r"\*Introduced in \[\d\d\]\(\d\d_\w+\.ipynb\)\.\*$", line), line
            assert (NOTEBOOKS_DIR / re.search(r"\((\d\d_\w+\.ipynb)\)", line).group(1)).exists()
            assert words(line) <= 60, f"a glossary entry is one or two sentences: {line[:60]}"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if not p.name.startswith("00")],
                         ids=lambda p: p.name)
def test_every_recap_shows_the_progress_table(path: Path) -> None:
    all_cells = cells(path)
    [recap] = [i for i, c in enumerate(all_cells) if source(c).startswith("## Recap")]
    after = [source(c) for c in all_cells[recap:] if c["cell_type"] == "code"]
    assert any("progress()" in s for s in after), f"{path.name}: the recap does not show progress()"
