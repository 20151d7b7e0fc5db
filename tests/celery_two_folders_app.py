"""The Celery app of the two-folder test: it needs nothing but the Redis URL.

``tests/test_celery_redis_store.py`` copies this file into each worker's own
folder (as each machine would get its own copy of the code) and starts
``celery -A celery_two_folders_app worker`` there. Broker and result backend:
``TEACHTASKS_REDIS_URL``; run records, lifecycle log and logs: the bridge's
default store, a ``RedisStore`` on the same Redis, the next database number.
No file is shared: each worker notes its executions in its own folder.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

from teachtasks import Context, Controller, task
from teachtasks.integrations.celery import JSON_ONLY, CeleryBridge

REDIS_URL = os.environ["TEACHTASKS_REDIS_URL"]
app = Celery("two-folders", broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
app.conf.update(**JSON_ONLY, worker_prefetch_multiplier=1,
                broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)
bridge = CeleryBridge(app)  # store: RedisStore on the broker's Redis, database + 1


@task("stamp")
def stamp(ctx: Context, ctl: Controller) -> Any:
    """Note the execution in this worker's folder (its working directory)."""
    line = f"{ctx.run.id} {ctx.iteration} {ctx.attempt} {os.getpid()}\n"
    fd = os.open("executions.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())  # one write: lines of the pool's processes never mix
    finally:
        os.close(fd)
    ctx.log.info(f"stamped {ctx.input['n']}")
    return ctl.response.done({"n": ctx.input["n"]})


bridge.register(stamp)
