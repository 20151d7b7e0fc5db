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
    return sorted(SOLUTIONS.glob("[0-9][0-9]_[0-9]*_*.py"))


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
