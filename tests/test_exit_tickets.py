"""The exit tickets (issue 19, "Checkpoints"): each half-day block of the
two-day plan ends with three or four short questions in its last notebook,
answered with one letter or one value, each checked with a verdict that says
right or wrong and why, never raising, and counted in ``progress()``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from teachtasks.exercises import load_all
from teachtasks.exercises.record import progress_table

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: the notebooks that end a block of the two-day plan in docs/TEACHERS.md
BLOCK_ENDS = ("03", "05", "08", "10")


def ticket_ids(notebook: str) -> list[str]:
    return sorted(e for e in load_all() if e.startswith(f"{notebook}.T"))


def cells(notebook: str) -> list[dict]:
    [path] = NOTEBOOKS.glob(f"{notebook}_*.ipynb")
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_each_block_ends_with_a_ticket_of_three_or_four_questions() -> None:
    assert {e.split(".")[0] for e in load_all() if ".T" in e} == set(BLOCK_ENDS)
    for notebook in BLOCK_ENDS:
        assert 3 <= len(ticket_ids(notebook)) <= 4, notebook


@pytest.mark.parametrize("notebook", BLOCK_ENDS)
def test_the_ticket_comes_just_before_the_recap_and_shows_the_unsolved_state(notebook: str) -> None:
    all_cells = cells(notebook)
    text = ["".join(c["source"]) for c in all_cells]
    start = next(i for i, s in enumerate(text) if s.startswith("## Exit ticket"))
    recap = next(i for i, s in enumerate(text) if s.startswith("## Recap"))
    checks = [i for i, s in enumerate(text) if re.match(rf'check\("{notebook}\.T\d"', s)]
    assert start < min(checks) and max(checks) == recap - 1
    assert len(checks) == len(ticket_ids(notebook))
    for i in checks:
        out = "".join("".join(o.get("text", "")) for o in all_cells[i].get("outputs", []))
        assert out.startswith("not solved yet"), f"{notebook} cell {i}: {out!r}"
        answer = text[i - 1]
        assert "# %load solutions/" in answer and "= ..." in answer, f"{notebook} cell {i - 1}"


def _solution_value(exercise_id: str) -> object:
    import runpy

    nn, m = exercise_id.split(".")
    [path] = (NOTEBOOKS / "solutions").glob(f"{nn}_{m}_*.py")
    return runpy.run_path(str(path))[load_all()[exercise_id].solution]


def _choices(exercise_id: str) -> list[str]:
    """The letters a multiple-choice question offers, read from its notebook cell."""
    notebook = exercise_id.split(".")[0]
    [question] = ["".join(c["source"]) for c in cells(notebook)
                  if f"**Exercise {exercise_id}**" in "".join(c["source"])]
    return re.findall(r"^- \(([a-d])\)", question, re.M)


@pytest.mark.parametrize("exercise_id", [e for n in BLOCK_ENDS for e in ticket_ids(n)])
def test_every_wrong_answer_is_wrong_and_explained_and_nothing_raises(
    exercise_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    check = load_all()[exercise_id].check
    letters = _choices(exercise_id)
    right_value = _solution_value(exercise_id)
    if letters:
        answers: list[object] = list(letters)
    elif isinstance(right_value, str):
        answers = ["FAILURE", "SUCCESS", "nonsense"]
    else:
        answers = [0, -1, 99, 4.25, right_value + 1]
    right = 0
    for answer in answers:
        passed = check(answer)
        out = capsys.readouterr().out
        right += passed
        if not passed:
            assert out.startswith(f"not solved yet ({exercise_id}): wrong: "), out
            why = out.split("is not it. ", 1)[1].strip()
            assert why.endswith(".") and why.count(". ") == 0, f"one sentence: {why!r}"
    assert right == (1 if letters else 0), f"{exercise_id}: {right} answers passed"
    for odd in ("", "z", 3.5 if letters or isinstance(right_value, str) else "3", True, [1], {"a": 1}):
        assert check(odd) is False
        assert "not solved yet" in capsys.readouterr().out


def test_a_ticket_answer_is_read_without_fuss(capsys: pytest.CaptureFixture[str]) -> None:
    checks = load_all()
    assert checks["03.T1"].check(" (B) ") is True
    assert checks["10.T2"].check("pending") is True
    assert checks["10.T1"].check(1.5) is True and checks["03.T2"].check(4.0) is True
    assert checks["03.T2"].check("4") is False
    assert "a number, without quotes" in capsys.readouterr().out.splitlines()[-1]


def test_tickets_appear_in_the_progress_table() -> None:
    table = progress_table(list(load_all()))
    line = next(t for t in table.splitlines() if t.startswith("notebook 05:"))
    assert "[ ] 05.3" in line and "[ ] 05.T1" in line and "[ ] 05.T4" in line
    assert line.index("05.3") < line.index("05.T1")


def test_each_plans_exit_ticket_row_names_a_notebook_just_taught_that_has_one() -> None:
    """"exit ticket (end of NN)" in docs/TEACHERS.md comes after NN in the same
    session, and NN has a ticket; in the two-day plan every block ends with
    its own notebook's ticket."""
    from test_teachers import NOTEBOOK_ROW, PAGE

    named = 0
    for plan, (sessions, _) in PAGE.items():
        for session in sessions:
            taught: list[str] = []
            for _, what, _ in session.rows:
                row = NOTEBOOK_ROW.match(what)
                if row:
                    taught.append(row.group(1))
                ticket = re.match(r"exit ticket \(end of (\d\d)\)", what)
                if ticket:
                    named += 1
                    assert ticket.group(1) in taught, f"{plan} / {session.title}: {what!r}"
                    assert ticket_ids(ticket.group(1)), f"{plan}: {ticket.group(1)} has no ticket"
    assert named >= 8
    two_days = [s for s in PAGE["Two days"][0]]
    ends = [re.match(r"exit ticket \(end of (\d\d)\)", w).group(1)
            for s in two_days for _, w, _ in s.rows if w.startswith("exit ticket")]
    assert ends == list(BLOCK_ENDS)
