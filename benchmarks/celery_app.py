"""The Celery app of benchmarks/celery_bridge_vs_celery.py, imported by its workers.

Two tasks doing the same nothing: ``plain-noop``, a plain Celery task, and
``noop``, a teachtasks definition run through the bridge (which also writes the
run record, its lifecycle entries and its status to a RedisStore on the
broker's Redis: the bridge's default).
"""

from __future__ import annotations

import os

from celery import Celery

from teachtasks import task
from teachtasks.integrations.celery import JSON_ONLY, CeleryBridge

URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
app = Celery("bench", broker=URL, backend=URL)
app.conf.update(**JSON_ONLY, worker_prefetch_multiplier=4, task_acks_late=False,
                broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)


@app.task(name="plain-noop")
def plain_noop() -> None:
    return None


@task("noop")
def noop(ctx, ctl):
    return ctl.response.done()


bridge = CeleryBridge(app)
bridge.register(noop)
