"""A worker process for the SQLite process tests (run as a script, never imported by them).

The tests start it with ``sys.executable tests/sqlite_worker.py COMMAND ...``:

* ``seed DB N``: trigger N runs of ``record`` (input ``{"n": i}``), then exit.
* ``work DB EXECLOG [--hang-at N --marker FILE]``: a ``TaskManager(SQLiteStore(DB))``
  and a ``Runner(workers=2, lease_seconds=1.0)`` work until nothing is pending
  or running, then exit 0. Every execution of ``record`` first appends
  ``"<run id> <pid>"`` to EXECLOG. With ``--hang-at N``, the run whose input is
  N creates FILE and then hangs, so the test can kill the process while that
  run is certainly mid-execution.
* ``claim DB CLAIMLOG READY GO``: no runner, the bare store: announce READY,
  wait for GO, then claim runs and finish them one at a time until none is
  left, appending ``"<run id> <pid>"`` to CLAIMLOG at each claim.

The task definitions live here, in the worker, as they would in a real
deployment: the test process only reads the database afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from teachtasks import (
    LifecycleEntry,
    Runner,
    SQLiteStore,
    Status,
    Step,
    TaskManager,
    task,
)

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


def seed(db: Path, count: int) -> None:
    store = SQLiteStore(db)
    manager = TaskManager(store)
    manager.register(record)
    for i in range(count):
        manager.trigger("record", {"n": i})
    store.close()


def work(db: Path) -> int:
    store = SQLiteStore(db)
    manager = TaskManager(store)
    manager.register(record)
    runner = Runner(manager, workers=2, lease_seconds=LEASE_SECONDS, poll_interval=0.02)
    # no names set by hand: on a shared file the Runner makes them unique
    # (worker-1@<pid>), which these crash tests rely on
    runner.start()
    try:
        idle = runner.wait_idle(timeout=120)
    finally:
        runner.stop()
        store.close()
    if runner.errors:
        print("\n".join(runner.errors), file=sys.stderr)
    return 0 if idle else 3


def claim(db: Path, claim_log: Path, ready: Path, go: Path) -> int:
    store = SQLiteStore(db, busy_timeout=30)
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
            time.sleep(0.001)
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
    p.add_argument("db", type=Path)
    p.add_argument("count", type=int)
    p = commands.add_parser("work")
    p.add_argument("db", type=Path)
    p.add_argument("exec_log", type=Path)
    p.add_argument("--hang-at", type=int, default=None)
    p.add_argument("--marker", type=Path, default=None)
    p = commands.add_parser("claim")
    p.add_argument("db", type=Path)
    p.add_argument("claim_log", type=Path)
    p.add_argument("ready", type=Path)
    p.add_argument("go", type=Path)
    args = parser.parse_args(argv)
    if args.command == "seed":
        seed(args.db, args.count)
        return 0
    if args.command == "work":
        SETTINGS.update(exec_log=args.exec_log, hang_at=args.hang_at, marker=args.marker)
        return work(args.db)
    return claim(args.db, args.claim_log, args.ready, args.go)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
