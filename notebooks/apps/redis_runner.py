"""Runners without Celery: a teachtasks Runner in a process of its own, on Redis.

Started (by notebook 10, or by you in a terminal, on any machine that reaches
the Redis) with::

    python -m apps.redis_runner redis://127.0.0.1:PORT/2

It runs until asked to stop (Ctrl+C, or SIGTERM), then finishes the
iteration in hand and exits. Its runs, their lifecycle and their logs are in
Redis (a ``RedisStore``): it shares nothing else with the notebook.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

from teachtasks import Context, Controller, Runner, TaskManager, task
from teachtasks.stores.redis import RedisStore


@task("make-thumbnail", max_iterations=2)
def make_thumbnail(ctx: Context, ctl: Controller) -> Any:
    """Two steps, one per iteration: resize, then upload."""
    time.sleep(0.2)  # the slow part
    ctx.log.info(f"step {ctx.iteration} of {ctx.input['image']} in process {os.getpid()}")
    if ctx.iteration == 1:
        return ctl.response.continue_()
    return ctl.response.done({"thumbnail": f"small-{ctx.input['image']}"})


def manager(url: str) -> TaskManager:
    """A TaskManager on the Redis at ``url``, with this module's tasks."""
    tasks = TaskManager(RedisStore(url))
    tasks.register(make_thumbnail)
    return tasks


def main(url: str) -> int:
    stop = threading.Event()
    for name in ("SIGTERM", "SIGBREAK", "SIGINT"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
    tasks = manager(url)
    runner = Runner(tasks, workers=2).start()
    print(f"runner {os.getpid()} working on {tasks.store!r}", flush=True)
    while not stop.wait(0.2):
        pass
    runner.stop()
    tasks.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
