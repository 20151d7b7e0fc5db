"""Every solution in notebooks/solutions passes its exercise's self-check, and
every self-check says "not solved yet" (without raising) to an unsolved stub."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from teachtasks.exercises import load_all

SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"


def exercise_id_of(path: Path) -> str:
    """Solution files are named NN_M_name.py for exercise NN.M."""
    nn, m, *_ = path.stem.split("_")
    return f"{nn}.{m}"


def solution_files() -> list[Path]:
    return sorted(SOLUTIONS.glob("[0-9][0-9]_[0-9T]*_*.py"))


def test_every_exercise_has_a_solution_and_back() -> None:
    registry = load_all()
    have = {exercise_id_of(p) for p in solution_files()}
    assert have == set(registry), f"solutions without checks or checks without solutions: {have ^ set(registry)}"


@pytest.mark.parametrize("path", solution_files(), ids=lambda p: p.name)
def test_solution_passes_its_check(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exercise = load_all()[exercise_id_of(path)]
    namespace = runpy.run_path(str(path))
    assert exercise.solution in namespace, f"{path.name} must define {exercise.solution}"
    assert exercise.check(namespace[exercise.solution]) is True, capsys.readouterr().out
    assert capsys.readouterr().out.startswith("correct")


@pytest.mark.parametrize("exercise_id", sorted(load_all()))
def test_unsolved_stub_is_not_solved_and_does_not_raise(
    exercise_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def stub(*args: object, **kwargs: object) -> object:
        raise NotImplementedError

    assert load_all()[exercise_id].check(stub) is False
    assert "not solved yet" in capsys.readouterr().out


def test_check_returns_true_or_false(capsys: pytest.CaptureFixture[str]) -> None:
    """``check`` answers True or False, so ``if check(...):`` works in a notebook."""
    from teachtasks.exercises import check

    namespace = runpy.run_path(str(SOLUTIONS / "00_1_double.py"))
    assert check("00.1", namespace["double"]) is True
    assert check("00.1", lambda x: x) is False
    assert check("99.9", None) is False
    out = capsys.readouterr().out
    assert "correct (00.1)" in out and "not solved yet (00.1)" in out and "no exercise" in out


def test_a_passing_check_is_remembered_and_progress_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from teachtasks.exercises import check, progress
    from teachtasks.exercises.record import progress_path, solved

    monkeypatch.setenv("TEACHTASKS_PROGRESS", str(tmp_path / "p.json"))
    assert progress_path() == tmp_path / "p.json"
    progress()
    before = capsys.readouterr().out
    assert "[ ] 00.1" in before and f"solved 0 of {len(load_all())}" in before
    namespace = runpy.run_path(str(SOLUTIONS / "00_1_double.py"))
    check("00.1", lambda x: x)  # a wrong answer is not remembered
    assert solved() == {}
    check("00.1", namespace["double"])
    assert set(solved()) == {"00.1"}
    capsys.readouterr()
    progress()
    after = capsys.readouterr().out
    assert "[x] 00.1" in after and "[ ] 00.2" in after and "solved 1 of" in after
    (tmp_path / "p.json").write_text("not json")  # a damaged file means nothing solved
    assert solved() == {}


def test_the_tests_never_write_into_the_learners_progress_file() -> None:
    from teachtasks.exercises.record import FILE_NAME, progress_path

    assert progress_path().name != FILE_NAME, "conftest.py must point TEACHTASKS_PROGRESS elsewhere"


# ---- every payoff cell runs once its exercise is solved ------------------------------

NOTEBOOKS = SOLUTIONS.parent


def _payoff_notebooks() -> list[Path]:
    import json

    return [p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
            if any("if check(" in "".join(c["source"])
                   for c in json.loads(p.read_text(encoding="utf-8"))["cells"])]


@pytest.mark.parametrize("path", _payoff_notebooks(), ids=lambda p: p.name)
def test_every_payoff_cell_runs_once_its_exercise_is_solved(path: Path) -> None:
    """Run the whole notebook with each stub cell replaced by its solution file
    (what ``%load`` does), and find each ``if check(...)`` cell printed its
    verdict ``correct`` and then more: the payoff ran."""
    import re

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    payoffs = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        loaded = re.search(r"# %load (solutions/\S+\.py)", cell.source)
        if loaded:
            cell.source = (NOTEBOOKS / loaded.group(1)).read_text(encoding="utf-8")
        if "if check(" in cell.source:
            payoffs.append(index)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    assert payoffs
    for index in payoffs:
        text = "".join(o.get("text", "") for o in nb.cells[index].outputs if o.output_type == "stream")
        lines = text.strip().splitlines()
        assert lines and lines[0].startswith("correct"), f"cell {index}: {text}"
        assert len(lines) > 1, f"cell {index}: the payoff after the check printed nothing"


# ---- self-checks that once said the wrong thing --------------------------------------


def _verdict(exercise_id: str, answer: object, capsys: pytest.CaptureFixture[str]) -> str:
    assert load_all()[exercise_id].check(answer) is False
    return capsys.readouterr().out


def test_00_2_refuses_a_plain_return(capsys: pytest.CaptureFixture[str]) -> None:
    assert "ctl.response.done" in _verdict("00.2", lambda ctx, ctl: {"answer": 42}, capsys)


def test_01_2_the_printed_job_list_holds_no_answers() -> None:
    from teachtasks.exercises.nb01 import JOBS

    assert all(isinstance(description, str) for description in JOBS.values())


def test_05_1_says_a_hidden_list_caught_a_hard_coded_count(capsys: pytest.CaptureFixture[str]) -> None:
    solution = runpy.run_path(str(SOLUTIONS / "05_1_checkpointed_batch.py"))["checkpointed_batch"]

    def hard_coded(ctx, ctl):  # noqa: ANN001, ANN202
        response = solution(ctx, ctl)
        return ctl.response.done({"sent": 40}) if type(response).__name__ == "Done" else response

    out = _verdict("05.1", hard_coded, capsys)
    assert "a list you have not seen" in out and "len(" in out


def test_05_2_names_error_as_the_mistake_after_an_abort(capsys: pytest.CaptureFixture[str]) -> None:
    def errs(ctx, ctl):  # noqa: ANN001, ANN202
        for _ in range(ctx.input["items"]):
            if ctl.is_aborted():
                return ctl.response.error("stopped")
            ctx.sleep(1)
        return ctl.response.done({"processed": ctx.input["items"]})

    out = _verdict("05.2", errs, capsys)
    assert "answered an error" in out and "raising" not in out


@pytest.mark.parametrize(("exercise_id", "helper"), [("06.2", "transition_counts"), ("06.3", "bars")])
def test_06_refuses_the_library_helper_it_forbids(
    exercise_id: str, helper: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import teachtasks.viz as viz

    if helper == "transition_counts":
        def answer(entries):  # noqa: ANN001, ANN202
            return viz.transition_counts(entries)
    else:
        def answer(entries):  # noqa: ANN001, ANN202
            longest = max(viz.bars(entries), key=lambda b: b.duration)
            return longest.run_id, str(longest.worker)
    assert f"uses {helper}" in _verdict(exercise_id, answer, capsys)


# ---- a learner's code that never returns -----------------------------------------------


@pytest.mark.parametrize("exercise_id", sorted(load_all()))
def test_a_check_given_code_that_never_returns_says_so_in_time(
    exercise_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the check calls the learner's answer with, a function that
    hangs makes it answer False within its time limit, with what probably went
    wrong, instead of freezing the notebook."""
    import threading
    import time

    import teachtasks.exercises as exercises

    monkeypatch.setattr(exercises, "TIME_LIMIT", 0.5)
    release = threading.Event()

    def hangs(*args: object, **kwargs: object) -> object:
        release.wait()  # never returns while the check waits
        raise NotImplementedError

    started = time.monotonic()
    try:
        assert load_all()[exercise_id].check(hangs) is False
        took = time.monotonic() - started
    finally:
        release.set()  # let the abandoned thread end
    out = capsys.readouterr().out
    assert took < 3, f"the check took {took:.1f} s"
    assert "did not finish within 0.5 s" in out, out


def test_03_1_asks_about_sentinels_when_run_all_hangs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import queue
    import threading

    import teachtasks.exercises as exercises

    monkeypatch.setattr(exercises, "TIME_LIMIT", 1.0)
    stop = threading.Event()

    def run_all(jobs, workers):  # noqa: ANN001, ANN202 - forgets the sentinels
        line: queue.Queue = queue.Queue()
        results = [None] * len(jobs)

        def work() -> None:
            while not stop.is_set():
                try:
                    i, function, argument = line.get(timeout=0.05)
                except queue.Empty:
                    continue
                results[i] = function(argument)

        threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for i, (function, argument) in enumerate(jobs):
            line.put((i, function, argument))
        for thread in threads:
            thread.join()  # waits forever: no sentinel ever comes
        return results

    try:
        assert load_all()["03.1"].check(run_all) is False
    finally:
        stop.set()
    assert "did each worker get its sentinel?" in capsys.readouterr().out
