"""Shared test helpers."""

from __future__ import annotations

import matplotlib
import pytest

from teachtasks import SimulatedClock, TaskManager

# Headless figures for the library's tests. Not through the MPLBACKEND
# environment variable: the notebook kernels nbval starts would inherit it and
# draw nothing inline.
matplotlib.use("Agg")


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
