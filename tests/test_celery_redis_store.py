"""The Celery bridge's default store: run records in Redis, so workers share no file.

Two ``celery worker`` processes, each in a folder of its own with its own copy
of ``celery_two_folders_app.py`` and no file in common, take 500 runs from one
real Redis (``processes.RedisServer``, started and stopped here). The bridge
was given no store: it keeps each run's record, lifecycle log and logs in a
``RedisStore`` on the broker's Redis, the next database number. Every run
must end final, executed once, with its lifecycle and its log line.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("celery")

from teachtasks import Status, Step  # noqa: E402
from teachtasks.integrations.celery import store_url  # noqa: E402
from teachtasks.processes import CeleryWorker, RedisServer, stop_all, wait_until  # noqa: E402
from teachtasks.stores.redis import RedisStore  # noqa: E402

APP = Path(__file__).with_name("celery_two_folders_app.py")
MODULE = APP.stem
RUNS = 500
WAIT = 120  # seconds: a safety net against a broken worker, not a measurement


@pytest.fixture
def two_machines(tmp_path: Path) -> Iterator[tuple[ModuleType, list[Path]]]:
    """Redis, and two workers in folders of their own; the app imported here
    from a third copy, as the process that sends the runs."""
    redis_server = RedisServer().start()
    folders = [tmp_path / f"machine-{n}" for n in (1, 2, 3)]
    for folder in folders:
        folder.mkdir()
        shutil.copy(APP, folder / APP.name)
    env = {"TEACHTASKS_REDIS_URL": redis_server.url(0)}
    workers = [CeleryWorker(MODULE, f"m{n}@%h", concurrency=2, env=env, cwd=folder,
                            logfile=folder / "worker.log")
               for n, folder in enumerate(folders[:2], start=1)]
    saved = os.environ.get("TEACHTASKS_REDIS_URL")
    module = None
    try:
        os.environ.update(env)
        sys.path.insert(0, str(folders[2]))
        sys.modules.pop(MODULE, None)
        module = importlib.import_module(MODULE)
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready(module.app, timeout=WAIT)
        yield module, folders[:2]
    finally:
        try:
            if module is not None and module.bridge.store is not None:
                module.bridge.store.close()
        finally:
            left = stop_all(*workers, redis_server)
            sys.modules.pop(MODULE, None)
            sys.path.remove(str(folders[2]))
            if saved is None:
                os.environ.pop("TEACHTASKS_REDIS_URL", None)
            else:
                os.environ["TEACHTASKS_REDIS_URL"] = saved
        assert left == 0, "a worker or Redis is still running"


def test_the_default_store_is_the_brokers_redis_next_database() -> None:
    assert store_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/1"
    assert store_url("redis://:secret@h:7000/4") == "redis://:secret@h:7000/5"
    assert store_url("redis://h:7000") == "redis://h:7000/1"
    assert store_url("memory://") is None and store_url(None) is None


def test_two_workers_in_folders_with_no_file_in_common_share_runs_through_redis(
    two_machines: tuple[ModuleType, list[Path]],
) -> None:
    ct, folders = two_machines
    store = ct.bridge.store
    assert isinstance(store, RedisStore)  # nobody gave the bridge a store
    assert store.get_definition("stamp").id == "stamp"
    run_ids = [ct.bridge.trigger("stamp", {"n": n}).id for n in range(RUNS)]
    wait_until(lambda: store.count_runs()[Status.SUCCESS] == RUNS, WAIT, interval=0.1,
               what="every run to succeed")

    executions = {folder.name: [line.split() for line in
                                (folder / "executions.log").read_text().splitlines()]
                  for folder in folders if (folder / "executions.log").exists()}
    assert sorted(executions) == ["machine-1", "machine-2"], "one worker did all the work"
    ran = Counter(line[0] for lines in executions.values() for line in lines)
    assert set(ran) == set(run_ids) and set(ran.values()) == {1}  # each run once, one place
    for folder in folders:  # nothing shared, nothing kept on disk but notes and logs
        assert {p.name for p in folder.iterdir()} <= {
            APP.name, "executions.log", "worker.log", "worker.out", "__pycache__"}
    counts = store.count_runs()
    assert counts[Status.SUCCESS] == RUNS and sum(counts.values()) == RUNS
    for n, run_id in enumerate(run_ids):
        run = store.get_run(run_id)
        assert (run.status, run.output, run.iterations) == (Status.SUCCESS, {"n": n}, 1)
        assert [e.step for e in ct.bridge.lifecycle(run_id)] == [
            Step.TRIGGERED, Step.STARTED, Step.ITERATION_STARTED, Step.FINISHED]
        assert [line.message for line in ct.bridge.logs(run_id)] == [f"stamped {n}"]


def test_a_bridge_whose_redis_is_not_up_yet_still_starts_and_says_why() -> None:
    from celery import Celery

    from teachtasks import ConfigurationError, task
    from teachtasks.integrations.celery import CeleryBridge, json_only
    from teachtasks.processes import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = json_only(Celery("not-yet", broker=url, backend=url, set_as_current=False))
    bridge = CeleryBridge(app)
    bridge.register(task("later")(lambda ctx, ctl: ctl.response.done()))  # the worker starts
    assert bridge.store is None
    assert bridge.record_errors and "cannot reach Redis" in bridge.record_errors[0]
    with pytest.raises(ConfigurationError, match="no store .*cannot reach Redis"):
        bridge.get_run("some-run")
