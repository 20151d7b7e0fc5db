"""Shared test helpers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib
import pytest

from teachtasks import SimulatedClock, TaskManager

# Headless figures for the library's tests. Not through the MPLBACKEND
# environment variable: the notebook kernels nbval starts would inherit it and
# draw nothing inline.
matplotlib.use("Agg")

# Passing checks are remembered in a progress file (teachtasks.exercises.record).
# Tests, and the notebook kernels nbval starts (they inherit this environment),
# write into a throw-away file, never into the learner's own, and read an empty
# one, so the saved "progress()" outputs (nothing solved) stay stable. This file
# is loaded whenever `tests` is among the paths (`python3 course.py test`); a
# bare `pytest --nbval notebooks/NN.ipynb` should set TEACHTASKS_PROGRESS itself.
os.environ["TEACHTASKS_PROGRESS"] = str(Path(tempfile.mkdtemp(prefix="teachtasks-progress-"))
                                        / "progress.json")


@pytest.fixture(autouse=True)
def _own_progress_file(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test that passes a check writes into a file of its own, so a
    solution proven in one test never shows as solved in a notebook nbval
    checks later in the same session (its kernel reads the session's file)."""
    monkeypatch.setenv("TEACHTASKS_PROGRESS",
                       str(tmp_path_factory.mktemp("progress") / "progress.json"))


@pytest.fixture
def sim() -> TaskManager:
    """A manager on a simulated clock and a memory store."""
    return TaskManager(clock=SimulatedClock())


def snapshot(manager: TaskManager) -> tuple:
    """Everything a store holds, to prove a refused call changed nothing."""
    store = manager.store
    runs = store.list_runs(__import__("teachtasks").RunFilter(limit=10_000))
    logs = [store.list_logs(r.id) for r in runs]
    return (runs, store.list_entries(), store.list_definitions(), logs,
            [d.id for d in manager.list_definitions()])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the session's Redis (``session_redis``), if a test started it."""
    import sys

    helper = sys.modules.get("session_redis")
    if helper is not None:
        helper.stop()
