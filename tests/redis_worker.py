"""A worker process for the Redis store tests (run as a script; the tests import only its tasks).

The tests start it (and import only its task definitions, as an app that
triggers runs would) with ``sys.executable tests/redis_worker.py COMMAND URL PREFIX ...``,
``URL`` a Redis URL and ``PREFIX`` the store's key prefix (one per test):

* ``seed URL PREFIX N``: trigger N runs of ``record`` (input ``{"n": i}``), then exit.
* ``work URL PREFIX EXECLOG [--hang-at N --marker FILE]``: a
  ``TaskManager(RedisStore(URL))`` and a ``Runner(workers=2, lease_seconds=1.0)``
  work until nothing is pending or running, then exit 0. Every execution of
  ``record`` first appends ``"<run id> <pid>"`` to EXECLOG. With ``--hang-at N``
  the run whose input is N creates FILE and then hangs, so the test can kill
  the process while that run is certainly mid-execution. While Redis is
  unreachable (a test restarts it) the runner notes errors and keeps trying.
* ``serve URL PREFIX EXECLOG``: a ``Runner(workers=2)`` over
  ``TaskManager(RedisStore(URL))`` that runs ``pipeline`` (three iterations)
  until it is asked to stop (SIGTERM, or CTRL_BREAK on Windows), then stops
  politely and exits 0. Every execution appends ``"<run id> <iteration>
  <attempt> <pid>"`` to EXECLOG. This is a machine of its own: it shares
  nothing with the process that triggers the runs but the Redis URL.
* ``claim URL PREFIX CLAIMLOG READY GO``: no runner, the bare store: announce
  READY, wait for GO, then claim runs and finish them one at a time until none
  is left, appending ``"<run id> <pid>"`` to CLAIMLOG at each claim.

The task definitions live here, in the worker, as they would on another
machine: the test process only reads Redis afterwards.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from teachtasks import LifecycleEntry, Runner, Status, Step, StoreError, TaskManager, task
from teachtasks.stores.redis import RedisStore

LEASE_SECONDS = 1.0
SETTINGS: dict[str, object] = {"exec_log": None, "hang_at": None, "marker": None}


def _append_line(path: object, line: str) -> None:
    # one write() on a file opened for appending: lines from several processes never mix
    fd = os.open(str(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@task("record", title="Record that it ran", max_iterations=3)
def record(context, controller):  # noqa: ANN001
    _append_line(SETTINGS["exec_log"], f"{context.run.id} {os.getpid()}\n")
    n = context.input["n"]
    if SETTINGS["hang_at"] is not None and n == SETTINGS["hang_at"]:
        marker = Path(str(SETTINGS["marker"]))
        marker.with_suffix(".tmp").write_text(context.run.id)
        os.replace(marker.with_suffix(".tmp"), marker)  # appears whole, never half written
        time.sleep(120)  # the test kills this process long before
    context.log.info(f"recorded {n}")
    time.sleep(0.003)  # a little work, so a kill is likely to land mid-run
    return controller.response.done({"n": n})


@task("pipeline", title="Three steps, one per iteration", max_iterations=3)
def pipeline(context, controller):  # noqa: ANN001
    """Fetch, transform, store: one iteration each, the state carried between them."""
    line = f"{context.run.id} {context.iteration} {context.attempt} {os.getpid()}\n"
    _append_line(SETTINGS["exec_log"], line)
    context.log.info(f"step {context.iteration} on {os.getpid()}")
    seen = context.state.get("pids", [])
    context.state.set("pids", [*seen, os.getpid()])
    if context.iteration < 3:
        return controller.response.continue_()
    return controller.response.done({"n": context.input["n"], "pids": [*seen, os.getpid()]})


def seed(url: str, prefix: str, count: int) -> None:
    with RedisStore(url, prefix=prefix) as store:
        manager = TaskManager(store)
        manager.register(record)
        for i in range(count):
            manager.trigger("record", {"n": i})


def _idle(store: RedisStore) -> bool:
    try:
        counts = store.count_runs()
    except StoreError:  # Redis is restarting: not idle, ask again
        return False
    return not (counts[Status.PENDING] or counts[Status.RUNNING])


def work(url: str, prefix: str) -> int:
    store = RedisStore(url, prefix=prefix)
    manager = TaskManager(store)
    manager.register(record)
    runner = Runner(manager, workers=2, lease_seconds=LEASE_SECONDS, poll_interval=0.02)
    runner.start()  # worker names made unique (worker-1@<pid>): the store is shared
    deadline = time.monotonic() + 120
    try:
        while not _idle(store):
            if time.monotonic() > deadline:
                return 3
            time.sleep(0.02)
    finally:
        runner.stop()
        store.close()
    return 0


def serve(url: str, prefix: str) -> int:
    stop = threading.Event()
    for name in ("SIGTERM", "SIGBREAK", "SIGINT"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
    store = RedisStore(url, prefix=prefix)
    manager = TaskManager(store)
    manager.register(pipeline)
    runner = Runner(manager, workers=2, lease_seconds=5.0, poll_interval=0.02).start()
    try:
        while not stop.wait(0.1):
            pass
    finally:
        finished = runner.stop(timeout=30)
        store.close()
    return 0 if finished and not runner.errors else 5


def claim(url: str, prefix: str, claim_log: Path, ready: Path, go: Path) -> int:
    store = RedisStore(url, prefix=prefix)
    worker = f"pid{os.getpid()}"
    ready.write_text(worker)
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            return 4
        time.sleep(0.005)
    while True:
        now = time.time()
        run = store.claim(worker, now, 60.0)
        if run is None:
            if store.next_due() is None:
                break
            continue
        _append_line(claim_log, f"{run.id} {os.getpid()}\n")
        done = time.time()
        store.update(run.id, {
            "status": Status.SUCCESS, "finished_at": done, "worker": None,
            "lease_expires_at": None, "output": {"by": worker},
        }, [LifecycleEntry(run.id, run.definition_id, Step.FINISHED, done, Status.SUCCESS,
                           worker=worker)], worker=worker, now=done)
    store.close()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("seed")
    p.add_argument("url")
    p.add_argument("prefix")
    p.add_argument("count", type=int)
    p = commands.add_parser("work")
    p.add_argument("url")
    p.add_argument("prefix")
    p.add_argument("exec_log", type=Path)
    p.add_argument("--hang-at", type=int, default=None)
    p.add_argument("--marker", type=Path, default=None)
    p = commands.add_parser("serve")
    p.add_argument("url")
    p.add_argument("prefix")
    p.add_argument("exec_log", type=Path)
    p = commands.add_parser("claim")
    p.add_argument("url")
    p.add_argument("prefix")
    p.add_argument("claim_log", type=Path)
    p.add_argument("ready", type=Path)
    p.add_argument("go", type=Path)
    args = parser.parse_args(argv)
    if args.command == "seed":
        seed(args.url, args.prefix, args.count)
        return 0
    if args.command == "work":
        SETTINGS.update(exec_log=args.exec_log, hang_at=args.hang_at, marker=args.marker)
        return work(args.url, args.prefix)
    if args.command == "serve":
        SETTINGS.update(exec_log=args.exec_log)
        return serve(args.url, args.prefix)
    return claim(args.url, args.prefix, args.claim_log, args.ready, args.go)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
