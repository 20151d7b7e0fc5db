"""The SQLite store across real processes: restarts, crashes, concurrent claims.

Every worker is a real process running ``tests/sqlite_worker.py`` (where the
task definitions live); the test only seeds, kills and reads the database.
Every process a test starts is killed in a ``finally``, whatever happens.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from teachtasks import LifecycleEntry, Run, RunFilter, SQLiteStore, Status, Step

WORKER = Path(__file__).with_name("sqlite_worker.py")
TIMEOUT = 120  # generous: only there so that a broken store fails instead of hanging


@pytest.fixture
def processes() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start worker processes; every one still alive at the end is killed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: object) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover - kill never fails
                pass


def finish(proc: subprocess.Popen[bytes]) -> None:
    """Wait for a worker to exit by itself and check that it succeeded."""
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, f"worker exited {proc.returncode}: {err.decode()[-2000:]}"


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.005)


def log_lines(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines()]  # type: ignore[misc]


def seed(processes: Callable[..., subprocess.Popen[bytes]], db: Path, count: int) -> None:
    finish(processes("seed", db, count))


# ---- restart --------------------------------------------------------------------------------
def test_a_new_store_sees_everything_a_finished_process_wrote(tmp_path: Path, processes) -> None:
    db, exec_log = tmp_path / "runs.db", tmp_path / "exec.log"
    seed(processes, db, 20)
    finish(processes("work", db, exec_log))

    with SQLiteStore(db) as store:  # this process never saw any of it happen
        runs = store.list_runs(RunFilter(limit=100))
        assert len(runs) == 20
        assert sorted(r.input["n"] for r in runs) == list(range(20))
        assert [r.input["n"] for r in runs] == list(range(19, -1, -1))  # newest first
        for run in runs:
            assert run.status is Status.SUCCESS and run.output == {"n": run.input["n"]}
            assert run.worker is None and run.finished_at is not None
            steps = [e.step for e in store.list_entries(run.id)]
            assert steps == [Step.TRIGGERED, Step.STARTED, Step.ITERATION_STARTED,
                             Step.FINISHED]
            assert [log.message for log in store.list_logs(run.id)] == [
                f"recorded {run.input['n']}"
            ]
        assert store.get_definition("record").title == "Record that it ran"
        assert store.count_runs()[Status.SUCCESS] == 20


# ---- a worker killed mid-run ----------------------------------------------------------------
RUNS = 300


def check_recovered(db: Path, exec_log: Path) -> tuple[Counter[str], dict[str, list[Step]]]:
    """Every run final and successful, none lost or running; any run executed
    more than once went through a REQUEUED entry."""
    with SQLiteStore(db) as store:
        runs = store.list_runs(RunFilter(limit=1000))
        assert len(runs) == RUNS, "runs were lost"
        assert sorted(r.input["n"] for r in runs) == list(range(RUNS))
        counts = store.count_runs()
        assert counts[Status.SUCCESS] == RUNS, counts
        assert all(r.worker is None and r.lease_expires_at is None for r in runs)
        steps = {r.id: [e.step for e in store.list_entries(r.id)] for r in runs}
    executions = Counter(run_id for run_id, _pid in log_lines(exec_log))
    assert set(executions) == set(steps), "a run finished without being executed"
    for run_id, times in executions.items():
        if times > 1:
            assert Step.REQUEUED in steps[run_id], f"{run_id} ran {times} times, never requeued"
        assert steps[run_id].count(Step.FINISHED) == 1, steps[run_id]
        # (one more if a kill landed between an iteration's start and its first line)
        assert steps[run_id].count(Step.ITERATION_STARTED) >= times, steps[run_id]
    return executions, steps


@pytest.mark.parametrize("hang_at", [40, 220], ids=["early", "late"])
def test_a_killed_worker_loses_nothing(tmp_path: Path, processes, hang_at: int) -> None:
    db, exec_log, marker = tmp_path / "runs.db", tmp_path / "exec.log", tmp_path / "hung"
    seed(processes, db, RUNS)
    first = processes("work", db, exec_log, "--hang-at", hang_at, "--marker", marker)
    wait_for(lambda: marker.exists() and marker.read_text() != "",
             "the first worker to reach the run it hangs in")
    first.kill()  # SIGKILL: no cleanup, no finally, leases left behind
    first.wait(timeout=TIMEOUT)
    hung = marker.read_text()
    with SQLiteStore(db) as store:
        assert store.get_run(hung).status is Status.RUNNING  # held by a dead worker
        assert store.count_runs()[Status.SUCCESS] < RUNS

    finish(processes("work", db, exec_log))

    executions, steps = check_recovered(db, exec_log)
    assert executions[hung] == 2 and Step.REQUEUED in steps[hung]
    pids = {pid for _run, pid in log_lines(exec_log)}
    assert len(pids) == 2  # the dead worker's executions and the new one's


def test_a_worker_killed_at_a_random_point_loses_nothing(tmp_path: Path, processes) -> None:
    db, exec_log = tmp_path / "runs.db", tmp_path / "exec.log"
    seed(processes, db, RUNS)
    first = processes("work", db, exec_log)
    wait_for(lambda: len(log_lines(exec_log)) >= 150, "150 executions")
    first.kill()
    first.wait(timeout=TIMEOUT)

    finish(processes("work", db, exec_log))

    executions, _ = check_recovered(db, exec_log)
    assert sum(executions.values()) >= RUNS


# ---- four processes claiming from one file ------------------------------------------------------
def test_four_processes_never_claim_the_same_run(tmp_path: Path, processes) -> None:
    db, claim_log, go = tmp_path / "runs.db", tmp_path / "claims.log", tmp_path / "go"
    count = 2000
    seed(processes, db, count)
    ready = [tmp_path / f"ready-{i}" for i in range(4)]
    workers = [processes("claim", db, claim_log, r, go) for r in ready]
    wait_for(lambda: all(r.exists() for r in ready), "four workers to be ready")
    go.touch()  # all four start claiming at the same moment
    for worker in workers:
        finish(worker)

    claims = log_lines(claim_log)
    claimed = Counter(run_id for run_id, _pid in claims)
    assert len(claimed) == count and set(claimed.values()) == {1}, claimed.most_common(3)
    assert len({pid for _run, pid in claims}) >= 2, "the processes did not work side by side"
    by_pid = dict(claims)
    with SQLiteStore(db) as store:
        runs = store.list_runs(RunFilter(limit=count))
        assert {r.id for r in runs} == set(claimed)
        assert store.count_runs()[Status.SUCCESS] == count
        entries = store.list_entries()
    started = Counter(e.run_id for e in entries if e.step is Step.STARTED)
    finished = Counter(e.run_id for e in entries if e.step is Step.FINISHED)
    assert set(started.values()) == {1} and set(finished.values()) == {1}
    for entry in entries:
        if entry.step is Step.STARTED:
            assert entry.worker == f"pid{by_pid[entry.run_id]}"


# ---- a store inherited through fork() ------------------------------------------------------------
def _add(store: SQLiteStore, run_id: str) -> None:
    store.create_run(Run(id=run_id, definition_id="job"),
                     LifecycleEntry(run_id, "job", Step.TRIGGERED, 0.0, Status.PENDING))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="this platform has no fork()")
def test_a_forked_child_uses_a_connection_of_its_own(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db", busy_timeout=1.0)
    _add(store, "from-parent")

    def child() -> None:
        try:
            _add(store, "from-child")
            ok = store.get_run("from-parent").id == "from-parent"
        except Exception:
            ok = False
        os._exit(0 if ok else 1)

    proc = multiprocessing.get_context("fork").Process(target=child)
    with store._lock:  # fork while "another thread" is in the middle of a store call
        proc.start()
    try:
        proc.join(timeout=TIMEOUT)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
    assert proc.exitcode == 0
    assert store.get_run("from-child").status is Status.PENDING  # the parent still works
    _add(store, "after")
    assert [r.id for r in store.list_runs(RunFilter())] == ["after", "from-child", "from-parent"]
    store.close()


def test_runners_sharing_a_file_get_worker_names_nobody_else_has(tmp_path: Path) -> None:
    from teachtasks import RealClock, Runner, SimulatedClock, SQLiteStore, TaskManager

    shared = TaskManager(SQLiteStore(tmp_path / "t.db"), clock=RealClock())
    first, second = Runner(shared, workers=2), Runner(shared, workers=2)
    names = first.worker_names + second.worker_names
    assert len(set(names)) == 4
    assert all(f"@{os.getpid()}" in n for n in names)
    assert first.worker_names[0].split("@")[1] == first.worker_names[1].split("@")[1]  # one suffix
    assert Runner(shared, workers=1, name="A").worker_names == ["A-1"]  # chosen names kept
    assert Runner(TaskManager(clock=RealClock()), workers=2).worker_names == ["worker-1", "worker-2"]
    simulated = TaskManager(SQLiteStore(tmp_path / "s.db"), clock=SimulatedClock())
    assert Runner(simulated, workers=1, name="night").worker_names == ["night-1"]
