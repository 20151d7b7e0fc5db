"""The teacher's page adds up: every plan, every slot, every prerequisite, every time.

docs/TEACHERS.md promises class-pace plans (one day, two days, four sessions,
self-study) whose rows fill each session exactly, with set-up, breaks, recaps,
exit tickets and a buffer; whose notebooks come after the notebooks they need;
and whose times are the ones the notebooks and the instructor notes state.
This test reads all three (the plans, each notebook's first cell, each
docs/teaching/NN_name.md) and checks each promise, so that a re-timed notebook
or a moved row fails here instead of in front of a class.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEACHERS = ROOT / "docs" / "TEACHERS.md"
TEACHING = ROOT / "docs" / "teaching"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NUMBERS = [p.name[:2] for p in NOTEBOOKS]

PLANS = ("One day", "Two days", "Four sessions of 2.5 hours", "Self-study")
#: what a row that is not a notebook may be
OTHER_ROWS = ("set-up", "break", "recap", "exit ticket", "wrap-up", "buffer")
NOTEBOOK_ROW = re.compile(r"^(\d\d) (.+) \((full|demo|self-study)\)$")
SESSION = re.compile(r"^#### (.+?)(?:, (\d\d?):(\d\d)–(\d\d?):(\d\d))? \((\d+) min\)$")


# ---------------------------------------------------------------- what the notebooks say

def first_cell(path: Path) -> str:
    return "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])


def stated_minutes(path: Path) -> tuple[int, int]:
    """(material, exercises) minutes from the notebook's "About how long" line:
    "45 minutes" is (45, 0), "45 minutes, and 20 more ..." is (45, 20)."""
    text = first_cell(path)
    match = re.search(r"About how long\W*(\d+) minutes(?:[^.\d]{0,20}?(\d+) more)?", text)
    assert match, f"{path.name}: no 'About how long: N minutes' in its first cell"
    return int(match.group(1)), int(match.group(2) or 0)


def prerequisites(path: Path) -> set[str]:
    """The notebooks a notebook's "What you need" line names ("notebooks 03 to 05
    ... and 07"), without what is said in parentheses."""
    text = first_cell(path)
    match = re.search(r"What you need\W*(.*?)(?:\*\*About how long|\Z)", text, re.S)
    assert match, f"{path.name}: no 'What you need' in its first cell"
    need = re.sub(r"\([^)]*\)", "", match.group(1))
    need = need.split("Nothing to install")[0].split("nothing to install")[0]
    found: set[str] = set()
    for a, b in re.findall(r"\b(\d\d) to (\d\d)\b", need):
        found |= {f"{n:02d}" for n in range(int(a), int(b) + 1)}
    found |= set(re.findall(r"\b(\d\d)\b", need))
    return found - {path.name[:2]}


# ---------------------------------------------------------------- what the notes say

@dataclass
class Note:
    class_pace: int
    demo: int
    parts: list[tuple[str, int]]
    total_row: int


def note_of(number: str) -> Note:
    [path] = TEACHING.glob(f"{number}_*.md")
    text = path.read_text(encoding="utf-8")
    pace = re.search(r"\*\*class pace: (\d+) min\*\*", text)
    demo = re.search(r"\*\*demo only: (\d+) min\*\*", text)
    assert pace and demo, f"{path.name}: no '**class pace: N min**' and '**demo only: N min**'"
    timing = text.split("## Timing at class pace", 1)[1].split("\n## ", 1)[0]
    parts, total = [], None
    for line in timing.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"\**\d+\**", cells[2]):
            continue
        minutes = int(cells[2].strip("*"))
        if cells[0].strip("*") == "total":
            total = minutes
        else:
            parts.append((cells[0], minutes))
    assert total is not None, f"{path.name}: its timing table has no total row"
    return Note(int(pace.group(1)), int(demo.group(1)), parts, total)


# ---------------------------------------------------------------- what the page says

@dataclass
class Session:
    title: str
    length: int
    start: int | None  # minutes after midnight, when the session has clock times
    end: int | None
    rows: list[tuple[int | None, str, int]] = field(default_factory=list)  # (start, what, min)


def plans() -> dict[str, tuple[list[Session], int]]:
    """Each plan's sessions, and the total its page states."""
    text = TEACHERS.read_text(encoding="utf-8")
    section = text.split("## Class-pace plans", 1)[1].split("\n## ", 1)[0]
    out: dict[str, tuple[list[Session], int]] = {}
    for block in section.split("\n### ")[1:]:
        name = block.splitlines()[0].strip()
        sessions: list[Session] = []
        total = re.search(r"\*\*Total: (\d+) min\.\*\*", block)
        assert total, f"plan {name!r} states no '**Total: N min.**'"
        for line in block.splitlines():
            line = line.strip()
            head = SESSION.match(line)
            if line.startswith("#### "):
                assert head, f"plan {name!r}: a session heading without '(N min)': {line!r}"
                h1, m1, h2, m2, length = head.group(2, 3, 4, 5, 6)
                sessions.append(Session(
                    head.group(1), int(length),
                    int(h1) * 60 + int(m1) if h1 else None, int(h2) * 60 + int(m2) if h2 else None))
                continue
            cells = [c.strip() for c in line.strip("|").split("|")] if line.startswith("|") else []
            if not cells or not re.fullmatch(r"\d+", cells[-1]):
                continue
            assert sessions, f"plan {name!r}: a row before any session heading"
            start = None
            if len(cells) == 3:
                hh, mm = cells[0].split(":")
                start = int(hh) * 60 + int(mm)
            sessions[-1].rows.append((start, cells[-2], int(cells[-1])))
        out[name] = (sessions, int(total.group(1)))
    return out


PAGE = plans() if TEACHERS.exists() else {}


def notebook_rows(sessions: list[Session]) -> list[tuple[str, str, int]]:
    """(number, mode, minutes) of each notebook row, in the plan's order."""
    out = []
    for session in sessions:
        for _, what, minutes in session.rows:
            match = NOTEBOOK_ROW.match(what)
            if match:
                out.append((match.group(1), match.group(3), minutes))
    return out


# ---------------------------------------------------------------- the tests

def test_every_plan_is_on_the_page() -> None:
    assert list(PAGE) == list(PLANS)


@pytest.mark.parametrize("plan", PLANS)
def test_each_session_adds_up_and_its_clock_times_agree(plan: str) -> None:
    sessions, total = PAGE[plan]
    assert sessions, f"{plan}: no sessions"
    for s in sessions:
        assert s.rows, f"{plan} / {s.title}: no rows"
        assert sum(m for _, _, m in s.rows) == s.length, \
            f"{plan} / {s.title}: rows add up to {sum(m for _, _, m in s.rows)}, not {s.length} min"
        for _, what, minutes in s.rows:
            assert minutes > 0, f"{plan} / {s.title}: {what!r} has no time"
            assert NOTEBOOK_ROW.match(what) or what.startswith(OTHER_ROWS), \
                f"{plan} / {s.title}: {what!r} is neither a notebook nor one of {OTHER_ROWS}"
        if s.start is not None:
            assert s.end is not None and s.end - s.start == s.length, \
                f"{plan} / {s.title}: its clock times do not span {s.length} min"
            clock = s.start
            for start, what, minutes in s.rows:
                assert start == clock, f"{plan} / {s.title}: {what!r} should start at " \
                    f"{clock // 60:02d}:{clock % 60:02d}"
                clock += minutes
    assert sum(s.length for s in sessions) == total, \
        f"{plan}: sessions add up to {sum(s.length for s in sessions)}, the page says {total}"


@pytest.mark.parametrize("plan", PLANS[:3])
def test_a_class_plan_has_set_up_breaks_recaps_exit_tickets_and_buffer(plan: str) -> None:
    sessions, _ = PAGE[plan]
    assert sessions[0].rows[0][1].startswith("set-up"), f"{plan}: the first slot must be set-up"
    for i, s in enumerate(sessions):
        kinds = [what for _, what, _ in s.rows]
        assert any(k.startswith("break") for k in kinds), f"{plan} / {s.title}: no break"
        assert any(k.startswith("exit ticket") for k in kinds), f"{plan} / {s.title}: no exit ticket"
        assert any(k.startswith("buffer") for k in kinds), f"{plan} / {s.title}: no buffer"
        if i > 0:
            assert kinds[0].startswith("recap"), f"{plan} / {s.title}: should open with a recap"
        assert s.length <= 210, f"{plan} / {s.title}: a block over 3.5 hours"


def test_self_study_sittings_have_breaks() -> None:
    for s in PAGE["Self-study"][0]:
        if len([r for r in s.rows if NOTEBOOK_ROW.match(r[1])]) > 1:
            assert any(what.startswith("break") for _, what, _ in s.rows), s.title


@pytest.mark.parametrize("plan", PLANS)
def test_prerequisites_come_earlier(plan: str) -> None:
    seen: list[str] = []
    for number, _, _ in notebook_rows(PAGE[plan][0]):
        path = NOTEBOOKS[NUMBERS.index(number)]
        missing = prerequisites(path) - set(seen)
        assert not missing, f"{plan}: {number} comes before {sorted(missing)}, which it needs"
        assert number not in seen, f"{plan}: {number} appears twice"
        seen.append(number)


def test_the_prerequisites_are_read_from_the_notebooks() -> None:
    """The parser finds what the notebooks say (a test of the test: an empty set would pass all)."""
    need = {p.name[:2]: prerequisites(p) for p in NOTEBOOKS}
    assert need["00"] == set() and need["01"] == set()
    assert {"01", "02"} <= need["03"]
    assert {"03", "04", "05", "07"} <= need["10"]
    assert sum(len(v) for v in need.values()) >= 25


@pytest.mark.parametrize("plan", PLANS)
def test_notebook_rows_use_the_stated_times(plan: str) -> None:
    for number, mode, minutes in notebook_rows(PAGE[plan][0]):
        path = NOTEBOOKS[NUMBERS.index(number)]
        if mode == "self-study":
            want = sum(stated_minutes(path))
            where = f"the notebook's first cell ({path.name})"
        else:
            note = note_of(number)
            want = note.class_pace if mode == "full" else note.demo
            where = f"docs/teaching/{number}_*.md ({mode})"
        assert minutes == want, f"{plan}: {number} ({mode}) is {minutes} min, {where} says {want}"


def test_the_whole_course_is_in_the_two_day_and_self_study_plans() -> None:
    two_days = {n for n, mode, _ in notebook_rows(PAGE["Two days"][0]) if mode == "full"}
    assert two_days == set(NUMBERS) - {"11"}
    assert {n for n, _, _ in notebook_rows(PAGE["Self-study"][0])} == set(NUMBERS)


def _table_rows() -> dict[str, list[str]]:
    text = TEACHERS.read_text(encoding="utf-8").split("## Notebook by notebook", 1)[1]
    rows = {}
    for line in text.split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 4 and re.fullmatch(r"\d\d", cells[0]):
            rows[cells[0]] = cells
    return rows


def test_the_page_states_each_notebooks_own_time() -> None:
    rows = _table_rows()
    assert sorted(rows) == NUMBERS
    for path in NOTEBOOKS:
        material, exercises = stated_minutes(path)
        want = f"{material} + {exercises} min" if exercises else f"{material} min"
        assert rows[path.name[:2]][2] == want, \
            f"docs/TEACHERS.md says {rows[path.name[:2]][2]!r} for {path.name}; its first cell says {want!r}"


def test_each_note_adds_up_and_the_page_agrees_with_it() -> None:
    rows = _table_rows()
    for number in NUMBERS:
        note = note_of(number)
        assert sum(m for _, m in note.parts) == note.total_row == note.class_pace, \
            f"docs/teaching/{number}: parts {sum(m for _, m in note.parts)}, total row " \
            f"{note.total_row}, class pace {note.class_pace}"
        assert 0 < note.demo < note.class_pace
        assert rows[number][3] == f"{note.class_pace} min" and rows[number][4] == f"{note.demo} min"


def test_each_note_has_every_section() -> None:
    for number in NUMBERS:
        [path] = TEACHING.glob(f"{number}_*.md")
        text = path.read_text(encoding="utf-8")
        for heading in ("## Timing at class pace", "## Live-code, or let it run",
                        "## The output to point at", "## Discussion questions",
                        "## Common mistakes (from the self-checks)", "## Where learners get stuck",
                        "## If you finish early"):
            assert heading in text, f"{path.name}: no {heading!r}"
        questions = text.split("## Discussion questions", 1)[1].split("\n## ", 1)[0]
        assert 2 <= len(re.findall(r"^\d\. ", questions, re.M)) <= 3, f"{path.name}: 2-3 questions"
        assert "Good answer" in questions or "A good answer" in questions


def test_each_solution_opens_with_why_and_the_common_wrong_approach() -> None:
    files = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_[0-9T]*_*.py"))
    assert len(files) >= 30
    for path in files:
        head = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
        assert head.startswith("# Why it works: "), f"{path.name} does not open with why it works"
        assert "\n# The common wrong approach: " in head, f"{path.name}: no common wrong approach"
        assert len(head.splitlines()) <= 8, f"{path.name}: the explanation is more than a few lines"
