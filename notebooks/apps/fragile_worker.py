"""A worker process for notebook 07: it works through the runs in a SQLite task
store until none is left, and may be killed halfway, on purpose.

Start it from a terminal in the ``notebooks`` folder (the notebook does the same
with ``subprocess``)::

    python -m apps.fragile_worker TASKS_DB SHOP_DB --name A --pause 30

* ``TASKS_DB``: the task store, a SQLite file shared with the notebook.
* ``SHOP_DB``: the shop's database, where the tasks write their emails.
* ``--name A``: its two worker threads are called ``A-1`` and ``A-2``, so the
  lifecycle log tells which process did what.
* ``--pause 30``: each task waits 30 s after sending its email (the notebook
  kills the process during that wait). Without it, no wait.

Leases last 1 s (``LEASE_SECONDS``), so a run whose worker died is free again
a second later. The process's housekeeper thread renews the leases of the runs
it holds (the **heartbeat**) and requeues runs whose lease ran out (the
**reaper**). It exits by itself, with status 0, once nothing is pending or
running any more.

The task definitions come from ``apps/order_tasks.py``: a worker imports the
code of the tasks it runs, never a notebook.
"""

from __future__ import annotations

import argparse
import sys

from teachtasks import Runner, SQLiteStore, TaskManager

from .order_tasks import DEFINITIONS

LEASE_SECONDS = 1.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.fragile_worker")
    parser.add_argument("tasks_db")
    parser.add_argument("shop_db")
    parser.add_argument("--name", default="W")
    parser.add_argument("--pause", type=float, default=0.0)
    args = parser.parse_args(argv)

    store = SQLiteStore(args.tasks_db)
    tasks = TaskManager(store, services={"shop_db": args.shop_db, "pause": args.pause})
    for definition in DEFINITIONS:
        tasks.register(definition)
    # named: the notebook starts each process with its own --name
    runner = Runner(tasks, workers=2, lease_seconds=LEASE_SECONDS, poll_interval=0.02,
                    name=args.name)
    runner.start()
    try:
        idle = runner.wait_idle(timeout=120)
    finally:
        runner.stop()
        store.close()
    for problem in runner.errors:
        print(problem, file=sys.stderr)
    return 0 if idle and not runner.errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
