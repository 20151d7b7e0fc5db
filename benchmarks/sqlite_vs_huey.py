"""Runs per second, trigger to success: teachtasks' SQLiteStore against Huey's SqliteHuey.

Not a test: a measurement on this machine, printed as a table. Both sides do
the same work: ``N`` no-op tasks, queued in one SQLite file (WAL mode) and
executed by 4 worker threads of one process.

* teachtasks: ``Runner(workers=4)`` on a ``TaskManager(SQLiteStore(path))``
  with the real clock, threads mode: ``runner.start()``, trigger every run,
  ``runner.wait_idle()``. The clock stops when every run is ``success``.
* Huey: ``SqliteHuey(filename=path)`` and its own consumer with 4 worker
  threads (``huey.create_consumer(workers=4, worker_type="thread")``,
  ``consumer.start()``), enqueue every task, wait until the last one has
  signalled ``SIGNAL_COMPLETE``. The task returns True so Huey writes a
  result for each, as teachtasks writes each run's status and output.

Huey keeps SQLite's default ``synchronous=FULL`` (an fsync at every commit);
teachtasks' default is ``synchronous=NORMAL`` (safe when a process dies, not
when the power goes). So teachtasks is measured both ways, and the second
ratio compares like with like.

Each side runs ``--repeats`` times on a fresh file (median reported). Run from
the repository root::

    .venv/bin/python benchmarks/sqlite_vs_huey.py            # 5,000 runs, 3 repeats
    .venv/bin/python benchmarks/sqlite_vs_huey.py --runs 500 --repeats 1   # a quick look
    .venv/bin/python benchmarks/sqlite_vs_huey.py --listing   # list 50 of 100,000 instead
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import huey
from huey import SqliteHuey
from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR

from teachtasks import (
    LifecycleEntry,
    Run,
    RunFilter,
    Runner,
    SQLiteStore,
    Status,
    Step,
    TaskManager,
    task,
)

WORKERS = 4


@task("noop")
def noop(context, controller):  # noqa: ANN001 - the smallest task there is
    return None


def teachtasks_runs_per_second(path: Path, runs: int, synchronous: str) -> float:
    store = SQLiteStore(path, synchronous=synchronous)
    manager = TaskManager(store)
    manager.register(noop)
    runner = Runner(manager, workers=WORKERS)
    runner.start()
    try:
        start = time.perf_counter()
        for _ in range(runs):
            manager.trigger("noop")
        if not runner.wait_idle(timeout=600):
            raise RuntimeError("teachtasks did not finish within 600 s")
        elapsed = time.perf_counter() - start
    finally:
        runner.stop()
    counts = store.count_runs()
    store.close()
    if counts[Status.SUCCESS] != runs or runner.errors:
        raise RuntimeError(f"teachtasks: {counts} {runner.errors[:3]}")
    return runs / elapsed


def huey_runs_per_second(path: Path, runs: int) -> float:
    queue = SqliteHuey("bench", filename=str(path))
    done = threading.Event()
    finished = {"ok": 0, "error": 0}
    lock = threading.Lock()

    @queue.task()
    def huey_noop() -> bool:
        return True

    @queue.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)
    def on_finish(signal: str, task: object, *args: object) -> None:
        with lock:
            finished["ok" if signal == SIGNAL_COMPLETE else "error"] += 1
            if finished["ok"] + finished["error"] >= runs:
                done.set()

    consumer = queue.create_consumer(workers=WORKERS, worker_type="thread", periodic=False)
    consumer.start()
    try:
        start = time.perf_counter()
        for _ in range(runs):
            huey_noop()
        if not done.wait(timeout=600):
            raise RuntimeError("huey did not finish within 600 s")
        elapsed = time.perf_counter() - start
    finally:
        consumer.stop(graceful=True)
        queue.storage.close()
    results = queue.result_count()
    if finished["ok"] != runs or results != runs:
        raise RuntimeError(f"huey: {finished}, {results} results stored")
    return runs / elapsed


def listing_milliseconds(path: Path, runs: int) -> dict[str, float]:
    """Fill a store with ``runs`` finished runs (85% success, 10% failed, 3%
    aborted, 2% pending, seven definitions) and time a few listings: median
    milliseconds of 21 calls each."""
    store = SQLiteStore(path)
    weights = (Status.SUCCESS,) * 85 + (Status.FAILED,) * 10 + (Status.ABORTED,) * 3 + (
        Status.PENDING,) * 2
    for i in range(runs):
        status = weights[(i * 37) % 100]
        run = Run(id=f"run-{i}", definition_id=f"def-{i % 7}", status=status, input={"i": i},
                  created_at=float(i), updated_at=float(i), due_at=float(i),
                  finished_at=float(i) if status.is_final else None)
        store.create_run(run, LifecycleEntry(run.id, run.definition_id, Step.TRIGGERED,
                                             float(i), status))
    queries = {
        "50 newest failed": RunFilter(status="failed", limit=50),
        "50 newest failed, page 20": RunFilter(status="failed", limit=50, offset=1000),
        "50 newest of one definition": RunFilter(definition_id="def-3", limit=50),
        "50 newest created in a range": RunFilter(created_after=50_000, created_before=60_000,
                                                  limit=50),
    }
    timings = {}
    for name, where in queries.items():
        samples = []
        for _ in range(21):
            start = time.perf_counter()
            page = store.list_runs(where)
            samples.append(time.perf_counter() - start)
        timings[f"{name} ({len(page)} rows)"] = statistics.median(samples) * 1000
    for name, call in (("count_runs()", store.count_runs),
                       ("next_due()", store.next_due),
                       ("claim the next due run", lambda: store.claim("w", float(runs), 60.0))):
        samples = []
        for _ in range(21):
            start = time.perf_counter()
            call()
            samples.append(time.perf_counter() - start)
        timings[name] = statistics.median(samples) * 1000
    store.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=None,
                        help="where the database files go (default: a temporary folder)")
    parser.add_argument("--listing", type=int, nargs="?", const=100_000, default=None,
                        metavar="RUNS", help="time listings among RUNS (100,000) runs instead")
    args = parser.parse_args()
    if args.listing:
        with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
            timings = listing_milliseconds(Path(tmp) / "listing.db", args.listing)
        print(f"SQLiteStore with {args.listing} runs, median of 21 calls (ms):")
        for name, ms in timings.items():
            print(f"  {name:<42} {ms:7.2f} ms")
        return

    print(f"{args.runs} no-op runs, {WORKERS} worker threads, median of {args.repeats}")
    print(f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"huey {huey.__version__}, {os.cpu_count()} cores, {platform.machine()}")
    # teachtasks twice: with its default (synchronous=NORMAL, no fsync per commit)
    # and with synchronous=FULL, which is what SqliteHuey uses by default (an fsync
    # per commit), so the last line compares like with like.
    sides: dict[str, Callable[[Path], float]] = {
        "teachtasks": lambda p: teachtasks_runs_per_second(p, args.runs, "normal"),
        "teachtasks-full": lambda p: teachtasks_runs_per_second(p, args.runs, "full"),
        "huey": lambda p: huey_runs_per_second(p, args.runs),
    }
    rates: dict[str, list[float]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        for i in range(args.repeats):
            # rotate who goes first, so no side always gets the warmer (or busier) machine
            names = list(sides)
            names = names[i % len(names):] + names[:i % len(names)]
            for name in names:
                rate = sides[name](Path(tmp) / f"{name}-{i}.db")
                rates[name].append(rate)
                print(f"  repeat {i + 1}: {name:<16} {rate:8.0f} runs/s", flush=True)
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(f"teachtasks SQLiteStore (synchronous=normal, default): "
          f"{median['teachtasks']:6.0f} runs/s")
    print(f"teachtasks SQLiteStore (synchronous=full):            "
          f"{median['teachtasks-full']:6.0f} runs/s")
    print(f"huey SqliteHuey (its default, synchronous=full):       {median['huey']:6.0f} runs/s")
    print(f"ratio ours/huey, defaults:                 {median['teachtasks'] / median['huey']:.2f}")
    print(f"ratio ours/huey, both synchronous=full:    "
          f"{median['teachtasks-full'] / median['huey']:.2f}")


if __name__ == "__main__":
    main()
