"""Every benchmark of the course, each as a ratio against a baseline measured in
the same run (medians of several repetitions). Nothing here is a test: it
prints numbers for this machine and asserts nothing about speed.

    .venv/bin/python benchmarks/run.py                 # everything (a few minutes)
    .venv/bin/python benchmarks/run.py dispatch peers  # some of them

1. throughput  20,000 no-op runs on ThreadPoolExecutor(4), Huey (memory
             storage, 4 threads), Dramatiq (stub broker, 4 threads) and the
             memory store; 5,000 on SqliteHuey and the SQLite store (both
             synchronous settings; sqlite_vs_huey.py), one table
2. latency   emit -> the run's first line of code, idle pool of 4: p50 and p99,
             memory and SQLite
3. scale     the 50 newest failed runs among 100,000 in SQLite; the memory of
             100,000 finished runs in the memory store
4. course    seconds to execute every notebook headless
5. simulation  CPU seconds of 10,000 simulated iterations over ten simulated hours
6. redis     RedisStore + Runner against RQ on the same real Redis (redis_vs_rq.py)
7. celery    the Celery bridge against plain Celery on the same Redis
             (celery_bridge_vs_celery.py)
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from teachtasks import RealClock, Runner, SimulatedClock, SQLiteStore, TaskManager

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import sqlite_vs_huey  # noqa: E402  (the durable benchmark lives beside this file)
from jobs import noop  # noqa: E402

WORKERS = 4


def median_of(repeats: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(repeats))


def say(line: str = "") -> None:
    print(line, flush=True)


# ---- 1. throughput: each system's measure ---------------------------------------------------
def pool_seconds(runs: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        wait([pool.submit(noop) for _ in range(runs)])
    return time.perf_counter() - start


def teachtasks_seconds(runs: int) -> float:
    tasks = TaskManager(clock=RealClock())
    tasks.task("noop")(noop)
    runner = Runner(tasks, workers=WORKERS).start()
    try:
        start = time.perf_counter()
        for _ in range(runs):
            tasks.trigger("noop")
        if not runner.wait_idle(timeout=600):
            raise RuntimeError("teachtasks did not finish")
        return time.perf_counter() - start
    finally:
        runner.stop()


def huey_memory_seconds(runs: int) -> float:
    from huey import MemoryHuey
    from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR

    huey = MemoryHuey("bench", immediate=False)
    done, finished, lock = threading.Event(), [0], threading.Lock()

    @huey.task()
    def huey_noop() -> None:
        return None

    @huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)
    def on_finish(signal: str, task: object, *args: object) -> None:
        with lock:
            finished[0] += 1
            if finished[0] >= runs:
                done.set()

    # Huey's consumer sleeps between empty polls; keep its sleeps short so it
    # is not measured waking up
    consumer = huey.create_consumer(workers=WORKERS, worker_type="thread", periodic=False,
                                    initial_delay=0.001, max_delay=0.01)
    consumer.start()
    try:
        start = time.perf_counter()
        for _ in range(runs):
            huey_noop()
        if not done.wait(600):
            raise RuntimeError("huey did not finish")
        return time.perf_counter() - start
    finally:
        consumer.stop(graceful=True)


def dramatiq_seconds(runs: int) -> float:
    import dramatiq
    from dramatiq.brokers.stub import StubBroker

    broker = StubBroker()
    broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    actor = dramatiq.actor(noop, actor_name=f"noop_{time.monotonic_ns()}", broker=broker)
    worker = dramatiq.Worker(broker, worker_threads=WORKERS, worker_timeout=10)
    worker.start()
    try:
        start = time.perf_counter()
        for _ in range(runs):
            actor.send()
        broker.join(actor.queue_name, fail_fast=True)
        worker.join()
        return time.perf_counter() - start
    finally:
        worker.stop()
        broker.close()


def throughput(repeats: int) -> None:
    """The issue's table: every system in one run, the same no-op, 4 workers,
    the pool already started, the clock stopped when the last run is final."""
    import logging

    for name in ("dramatiq", "huey"):
        logging.getLogger(name).setLevel(logging.ERROR)
    in_memory, on_disk = 20_000, 5_000
    say(f"1. throughput: no-op runs, {WORKERS} workers each, median of {repeats} "
        "(durable rows: median of 3)")
    rows: list[tuple[str, int, float]] = []

    def row(name: str, runs: int, seconds: float) -> float:
        rows.append((name, runs, runs / seconds))
        return runs / seconds

    pool = row("ThreadPoolExecutor", in_memory, median_of(repeats, lambda: pool_seconds(in_memory)))
    huey = row("Huey MemoryHuey, 4 threads", in_memory,
               median_of(repeats, lambda: huey_memory_seconds(in_memory)))
    row("Dramatiq StubBroker, 4 threads", in_memory,
        median_of(repeats, lambda: dramatiq_seconds(in_memory)))
    ours = row("teachtasks, memory store", in_memory,
               median_of(repeats, lambda: teachtasks_seconds(in_memory)))
    durable_repeats = min(repeats, 3)
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(10**6))

        def fresh() -> Path:
            return Path(folder) / f"{next(counter)}.db"

        def rate(measure: Callable[[], float]) -> float:
            return statistics.median(measure() for _ in range(durable_repeats))

        sqlite_huey = rate(lambda: sqlite_vs_huey.huey_runs_per_second(fresh(), on_disk))
        rows.append(("SqliteHuey (synchronous FULL)", on_disk, sqlite_huey))
        rows.append(("teachtasks SQLite, default (NORMAL)", on_disk, rate(
            lambda: sqlite_vs_huey.teachtasks_runs_per_second(fresh(), on_disk, "normal"))))
        full = rate(lambda: sqlite_vs_huey.teachtasks_runs_per_second(fresh(), on_disk, "full"))
        rows.append(("teachtasks SQLite, synchronous=full", on_disk, full))
    say(f"   {'system':<38} {'runs':>7} {'per second':>11} {'vs pool':>8}")
    for name, runs, per_second in rows:
        versus = f"{per_second / pool:8.2f}" if runs == in_memory else ""
        say(f"   {name:<38} {runs:>7,} {per_second:>11,.0f} {versus}")
    say(f"   memory store / Huey memory: {ours / huey:.2f}   (floor: 1.0)")
    say(f"   memory store / ThreadPoolExecutor: {ours / pool:.2f}   (aim: 0.5; moonshot: 0.8)")
    say(f"   SQLite synchronous=full / SqliteHuey: {full / sqlite_huey:.2f}   "
        "(floor: 1.0; aim: 1.5)")


# ---- 2. latency ---------------------------------------------------------------------------------
def emit_latencies(tasks: TaskManager, samples: int) -> list[float]:
    started = threading.Event()
    first_line: list[float] = [0.0]

    def ping(ctx, ctl):  # noqa: ANN001, ANN202
        first_line[0] = time.perf_counter()
        started.set()

    tasks.task("ping", events=["ping"])(ping)
    runner = Runner(tasks, workers=WORKERS).start()
    latencies = []
    try:
        time.sleep(0.2)  # an idle pool: every worker waiting
        for _ in range(samples):
            started.clear()
            emitted = time.perf_counter()
            tasks.emit("ping", {})
            if not started.wait(5):
                raise RuntimeError("the run never started")
            latencies.append(first_line[0] - emitted)
            time.sleep(0.005)
    finally:
        runner.stop()
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def latency(repeats: int) -> None:
    samples = 300
    say(f"2. latency: emit -> first line of the run, idle pool of {WORKERS}, {samples} emits")
    with tempfile.TemporaryDirectory() as folder:
        # (store, p50 aim, p99 aim) in ms
        for name, store, aim50, aim99 in (("memory", None, 0.1, 0.3),
                                          ("SQLite", SQLiteStore(Path(folder) / "l.db"), 2.0, None)):
            values = emit_latencies(TaskManager(store, clock=RealClock()), samples)
            p50, p99 = percentile(values, 50) * 1000, percentile(values, 99) * 1000
            p99_aim = "" if aim99 is None else f", p99 / aim: {p99 / aim99:.2f}"
            say(f"   {name:<7} p50 {p50:6.3f} ms   p99 {p99:6.3f} ms   p50 / aim: "
                f"{p50 / aim50:.2f}{p99_aim}   (aim: p50 at most {aim50:g} ms"
                + ("" if aim99 is None else f", p99 at most {aim99:g} ms") + ")")
            if store is not None:
                store.close()


# ---- 3. scale -----------------------------------------------------------------------------------
def scale(repeats: int) -> None:
    runs = 100_000
    with tempfile.TemporaryDirectory() as folder:
        timings = sqlite_vs_huey.listing_milliseconds(Path(folder) / "big.db", runs)
    newest = next(v for k, v in timings.items() if k.startswith("50 newest failed ("))
    say(f"3. scale: {runs:,} runs")
    say(f"   SQLite, the 50 newest failed runs: {newest:.2f} ms (median of 21)   "
        f"ratio to aim: {newest / 20:.3f}   (aim: under 20 ms)")
    gc.collect()
    tracemalloc.start()
    tasks = TaskManager(clock=SimulatedClock())
    tasks.task("noop")(noop)
    for i in range(runs):
        tasks.trigger("noop", {"n": i})
    Runner(tasks, workers=WORKERS).run_until_idle()
    used, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    entries = len(tasks.store.list_entries())
    mb = used / 2**20
    say(f"   memory store, {runs:,} finished runs with their {entries:,} lifecycle entries: "
        f"{mb:.0f} MB   ratio to aim: {mb / 100:.2f}   (aim: at most 100 MB)")


# ---- 4. the course ------------------------------------------------------------------------------
def course(repeats: int) -> None:
    import subprocess

    jupyter = Path(sys.executable).with_name("jupyter")
    total = 0.0
    say("4. the course: every notebook executed headless in a fresh kernel (copies; nothing saved)")
    with tempfile.TemporaryDirectory() as out:
        for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            start = time.perf_counter()
            subprocess.run([str(jupyter), "nbconvert", "--to", "notebook", "--execute",
                            "--ExecutePreprocessor.timeout=300", "--output-dir", out, str(path)],
                           cwd=path.parent, check=True, capture_output=True)
            seconds = time.perf_counter() - start
            total += seconds
            say(f"   {path.stem:<28} {seconds:6.1f} s   ratio to the 15 s aim: {seconds / 15:.2f}")
    say(f"   all notebooks: {total:.0f} s   ratio to the 75 s aim: {total / 75:.2f}")


# ---- 5. the simulation ---------------------------------------------------------------------------
def simulation_cpu_seconds() -> tuple[float, int, float]:
    """10,000 iterations over about ten simulated hours (10 runs of 1,000
    iterations of 14 simulated seconds, 4 simulated workers): CPU seconds."""
    tasks = TaskManager(clock=SimulatedClock())

    @tasks.task("tick", max_iterations=1000)
    def tick(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.sleep(14)
        return ctl.response.continue_(delay=1) if ctx.iteration < 1000 else ctl.response.done()

    for _ in range(10):
        tasks.trigger("tick")
    start = time.process_time()
    steps = Runner(tasks, workers=WORKERS).run_until_idle()
    return time.process_time() - start, steps, tasks.clock.now()


def simulation(repeats: int) -> None:
    results = [simulation_cpu_seconds() for _ in range(repeats)]
    cpu = statistics.median(r[0] for r in results)
    _, steps, simulated = results[0]
    say(f"5. simulation: {steps:,} iterations over {simulated / 3600:.1f} simulated hours, "
        f"{WORKERS} simulated workers, median of {repeats}")
    say(f"   {cpu:.2f} CPU s ({steps / cpu:,.0f} iterations per CPU s, "
        f"{simulated / cpu:,.0f} simulated s per CPU s)   ratio to aim: {cpu / 2:.2f}   "
        "(aim: a couple of seconds, 2 s)")


# ---- 6 and 7. more than one machine: Redis ------------------------------------------------------
def _script(title: str, name: str, *args: str) -> None:
    """Run a benchmark that starts its own servers and worker processes (they
    need a fresh interpreter each), and print its table under ``title``."""
    import subprocess

    say(title)
    out = subprocess.run([sys.executable, str(Path(__file__).with_name(name)), *args],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        say(f"   {line}" if line.strip() else "")


def redis(repeats: int) -> None:
    _script("6. redis: RedisStore + Runner against RQ on the same real Redis "
            "(benchmarks/redis_vs_rq.py)", "redis_vs_rq.py", "--repeats", str(min(repeats, 3)))


def celery(repeats: int) -> None:
    _script("7. celery: the bridge against plain Celery on the same Redis "
            "(benchmarks/celery_bridge_vs_celery.py)", "celery_bridge_vs_celery.py",
            "--repeats", str(min(repeats, 3)))


BENCHMARKS = {"throughput": throughput, "latency": latency,
              "scale": scale, "course": course, "simulation": simulation, "redis": redis,
              "celery": celery}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", choices=[*BENCHMARKS, []], default=[])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import platform

    say(f"python {platform.python_version()}, {platform.machine()}, "
        f"{__import__('os').cpu_count()} cores")
    for name in args.which or BENCHMARKS:
        say()
        BENCHMARKS[name](args.repeats)


if __name__ == "__main__":
    main()
