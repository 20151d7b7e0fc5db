"""Notebook 03's runner (its ``live-version`` cells) and ``teachtasks.Runner``
agree: on real threads, the same jobs run exactly once each with the same
results, and a graceful stop finishes what is in hand and leaves the rest
waiting; on paper (the notebook's ``simulate_pool``) and on a ``SimulatedClock``
(the library's step mode), every job starts and ends at the same time on the
same worker."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from notebook_cells import live_namespace

from teachtasks import RealClock, Runner, SimulatedClock, Status, Step, TaskManager

NOTEBOOK = "03_build_a_runner.ipynb"


@pytest.fixture(scope="module")
def live() -> dict[str, Any]:
    return live_namespace(NOTEBOOK)


def library_manager(clock: Any, seconds: dict[str, float], results: list[str]) -> TaskManager:
    tasks = TaskManager(clock=clock)
    lock = threading.Lock()

    def make(name: str, duration: float):
        def run(ctx: Any, ctl: Any) -> Any:
            ctx.sleep(duration)
            with lock:
                results.append(f"{name}({ctx.input})")
            return ctl.response.done(f"{name}({ctx.input})")
        return run

    for name, duration in seconds.items():
        tasks.task(name)(make(name, duration))
    return tasks


LINE = [("make_report", "March"), ("send_email", "ada"), ("send_email", "bob"),
        ("send_email", "cy"), ("make_report", "April"), ("send_email", "dee"),
        ("send_email", "eve"), ("send_email", "fay"), ("send_email", "gus")]


def test_threads_run_every_job_exactly_once_with_the_same_results(live: dict[str, Any]) -> None:
    seconds = {"make_report": 0.1, "send_email": 0.02}
    mine: list[str] = []
    lock = threading.Lock()

    def job(name: str):
        def function(argument: str) -> None:
            time.sleep(seconds[name])
            with lock:
                mine.append(f"{name}({argument})")
        function.__name__ = name
        return function

    functions = {name: job(name) for name in seconds}
    pool = live["Pool"](3)
    pool.start()
    for name, argument in LINE:
        pool.put(functions[name], argument)
    pool.wait_idle()
    pool.stop()
    assert not any(t.is_alive() for t in pool.threads)

    theirs: list[str] = []
    tasks = library_manager(RealClock(), seconds, theirs)
    runner = Runner(tasks, workers=3)
    runner.start()
    for name, argument in LINE:
        tasks.trigger(name, argument)
    assert runner.wait_idle(timeout=10)
    runner.stop()

    expected = sorted(f"{n}({a})" for n, a in LINE)
    assert sorted(mine) == sorted(theirs) == expected
    assert sorted(row[0] for row in pool.record) == expected
    assert sorted(r.output for r in tasks.list_runs()) == expected
    assert {r.status for r in tasks.list_runs()} == {Status.SUCCESS}
    # both pools are pools: each of the three workers did something, none more than one at once
    for rows in (pool.record, [(None, e.worker, 0, 0) for e in tasks.lifecycle()
                               if e.step == Step.STARTED]):
        assert {row[1] for row in rows} <= {"worker-1", "worker-2", "worker-3"}
    for worker in {row[1] for row in pool.record}:
        spans = sorted((s, e) for _, w, s, e in pool.record if w == worker)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_graceful_stop_finishes_in_hand_and_leaves_the_rest(live: dict[str, Any]) -> None:
    done: list[str] = []

    def slow(argument: str) -> None:
        time.sleep(0.2)
        done.append(argument)

    pool = live["Pool"](2)
    pool.start()
    for n in range(8):
        pool.put(slow, f"job{n}")
    time.sleep(0.1)
    pool.stop()
    left = pool.jobs.qsize()
    assert len(done) + left == 8 and 2 <= len(done) < 8
    assert len(pool.record) == len(done)                  # every job taken was finished

    tasks = TaskManager(clock=RealClock())
    tasks.task("slow")(lambda ctx, ctl: (ctx.sleep(0.2), ctl.response.done())[1])
    runner = Runner(tasks, workers=2).start()
    for n in range(8):
        tasks.trigger("slow", f"job{n}")
    time.sleep(0.1)
    runner.stop()
    counts = tasks.count_runs()
    assert counts[Status.RUNNING] == 0                    # nothing left half done
    assert counts[Status.SUCCESS] + counts[Status.PENDING] == 8
    assert 2 <= counts[Status.SUCCESS] < 8


def library_record(jobs: list[tuple[str, float]], workers: int) -> list[tuple[str, str, float, float]]:
    tasks = TaskManager(clock=SimulatedClock())
    tasks.task("job")(lambda ctx, ctl: (ctx.sleep(ctx.input["seconds"]),
                                        ctl.response.done(ctx.input["name"]))[1])
    for name, seconds in jobs:
        tasks.trigger("job", {"name": name, "seconds": seconds})
    assert Runner(tasks, workers=workers).run_until_idle() == len(jobs)
    started = {e.run_id: (e.worker, e.time) for e in tasks.lifecycle() if e.step == Step.STARTED}
    finished = {e.run_id: e.time for e in tasks.lifecycle() if e.step == Step.FINISHED}
    rows = []
    for run in reversed(tasks.list_runs()):
        worker, start = started[run.id]
        rows.append((run.input["name"], worker, start, finished[run.id]))
    return rows


SCENARIOS = [
    [(f"{n}({a})", 5 if n == "make_report" else 1) for n, a in LINE],
    [("a", 3), ("b", 1), ("c", 1), ("d", 2), ("e", 0.5), ("f", 4), ("g", 0.25), ("h", 1)],
    [("only", 2)],
    [(f"job{i}", (i * 7) % 5 + 0.5) for i in range(15)],
]


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
@pytest.mark.parametrize("jobs", SCENARIOS, ids=["notebook", "mixed", "one", "fifteen"])
def test_on_paper_and_on_a_simulated_clock_the_same_timeline(
    live: dict[str, Any], jobs: list[tuple[str, float]], workers: int
) -> None:
    mine = live["simulate_pool"](jobs, workers)
    theirs = library_record(jobs, workers)
    assert [(j, w) for j, w, _, _ in mine] == [(j, w) for j, w, _, _ in theirs]
    for (_, _, s1, e1), (_, _, s2, e2) in zip(mine, theirs, strict=True):
        assert s1 == pytest.approx(s2, abs=1e-9) and e1 == pytest.approx(e2, abs=1e-9)
