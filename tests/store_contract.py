"""The store contract: what every store must do, the same on each of them.

Every test here takes the ``tasks`` fixture (a ``TaskManager`` on a
simulated clock over one store) or ``store`` (the bare store) and never asks
which store it got: the same calls must give the same runs, lifecycle entries
and errors. ``test_store_contract.py`` runs them on every store in
``STORES``; a new store (Redis, say) joins by adding one line there.

The numbered tests are the cases of issue 12, each a promise that once broke
under a crash, an interrupt or odd input.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import session_redis

from teachtasks import (
    InvalidArgumentError,
    InvalidDefinitionError,
    MemoryStore,
    PayloadNotJSONError,
    RealClock,
    RetryPolicy,
    Run,
    RunFilter,
    Runner,
    SimulatedClock,
    SQLiteStore,
    Status,
    Step,
    Store,
    StoreError,
    TaskManager,
    TeachtasksError,
    task,
)
from teachtasks.lifecycle import WORKER_LOST
from teachtasks.payload import MAX_DEPTH
from teachtasks.stores.redis import RedisStore

#: Every store the contract runs on: a name and how to make one in a folder.
STORES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda folder: MemoryStore(),
    "sqlite": lambda folder: SQLiteStore(folder / "runs.db"),
    "redis": lambda folder: RedisStore(session_redis.url(), prefix=session_redis.new_prefix()),
}


@pytest.fixture(params=sorted(STORES))
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Makes fresh stores of one kind (each in its own folder); closes them after."""
    made: list[Store] = []

    def make() -> Store:
        folder = tmp_path / f"store-{len(made)}"
        folder.mkdir()
        made.append(STORES[request.param](folder))
        return made[-1]

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    return make_store()


@pytest.fixture
def tasks(store: Store) -> TaskManager:
    return TaskManager(store, clock=SimulatedClock())


def snapshot(manager: TaskManager) -> tuple:
    """Everything a store holds, to prove a refused call changed nothing."""
    store = manager.store
    runs = store.list_runs(RunFilter(limit=10_000))
    return (runs, store.list_entries(), store.list_definitions(),
            [store.list_logs(r.id) for r in runs])


def counting(tasks: TaskManager, max_iterations: int = 2, **options: object) -> list:
    """A task that continues until its last iteration and notes every
    execution as (iteration, attempt, input)."""
    executions: list[tuple[int, int, object]] = []

    @tasks.task("count", max_iterations=max_iterations, **options)
    def count(ctx, ctl):  # noqa: ANN001, ANN202
        executions.append((ctx.iteration, ctx.attempt, ctx.input))
        if ctx.iteration < max_iterations:
            return ctl.response.continue_({"next": ctx.iteration + 1}, delay=1)
        return ctl.response.done(ctx.iteration)

    return executions


# ---- the lifecycle, step by step, the same on every store --------------------------------------
def test_a_scenario_gives_the_same_lifecycle_on_every_store(tasks: TaskManager) -> None:
    tries: list[int] = []

    @tasks.task("flaky", max_iterations=3, retry=RetryPolicy(max_attempts=2, backoff=1, jitter=0))
    def flaky(ctx, ctl):  # noqa: ANN001, ANN202
        tries.append(ctx.attempt)
        if ctx.iteration == 1:
            return ctl.response.continue_(delay=2)
        if ctx.attempt == 1:
            raise ConnectionError("try again")
        ctx.log.info("done")
        return ctl.response.done("ok")

    run = tasks.trigger("flaky", {"n": 1})
    Runner(tasks, workers=1).run_until_idle()
    final = tasks.get_run(run.id)
    assert (final.status, final.output, final.iterations, final.attempt) == (
        Status.SUCCESS, "ok", 2, 2)
    assert (final.error, final.traceback) == (None, None)  # success clears the failed try
    assert [str(e) for e in tasks.lifecycle(run.id)] == [
        "t=   0.000  run-1    triggered         -> pending",
        "t=   0.000  run-1    started           -> running on worker-1",
        "t=   0.000  run-1    iteration started -> running on worker-1 it=1 try=1",
        "t=   0.000  run-1    continued         -> running on worker-1 it=1 try=1 delay=2.0",
        "t=   2.000  run-1    iteration started -> running on worker-1 it=2 try=1",
        "t=   2.000  run-1    retry scheduled   -> running on worker-1 it=2 try=1 "
        "error=ConnectionError: try again, delay=1.0",
        "t=   3.000  run-1    iteration started -> running on worker-1 it=2 try=2",
        "t=   3.000  run-1    finished          -> success on worker-1 it=2 try=2",
    ]
    assert [str(line) for line in tasks.logs(run.id)] == ["t=   3.000 [info] done"]


def test_abort_while_pending_and_while_running(tasks: TaskManager) -> None:
    @tasks.task("wait")
    def wait(ctx, ctl):  # noqa: ANN001, ANN202
        tasks.abort(ctx.run.id)  # someone clicks Cancel while it works
        return ctl.response.aborted() if ctl.is_aborted() else ctl.response.done()

    pending = tasks.trigger("wait")
    aborted = tasks.abort(pending.id)
    assert (aborted.status, aborted.abort_requested) == (Status.ABORTED, True)
    assert [e.step for e in tasks.lifecycle(pending.id)] == [
        Step.TRIGGERED, Step.ABORT_REQUESTED, Step.FINISHED]
    running = tasks.trigger("wait")
    Runner(tasks, workers=1).run_until_idle()
    assert tasks.get_run(running.id).status is Status.ABORTED
    assert [e.step for e in tasks.lifecycle(running.id)] == [
        Step.TRIGGERED, Step.STARTED, Step.ITERATION_STARTED, Step.ABORT_REQUESTED,
        Step.FINISHED]


# ---- case 1: the claim gap ---------------------------------------------------------------------
def test_case1_a_worker_that_dies_right_after_claiming_a_pending_run(tasks: TaskManager) -> None:
    executions = counting(tasks)
    run = tasks.trigger("count", {"next": 1})
    claimed = tasks.store.claim("dead", tasks.clock.now(), 5)
    assert claimed is not None and (claimed.iterations, claimed.attempt) == (1, 1)
    tasks.clock.advance(6)
    [requeued] = tasks.store.requeue_expired(tasks.clock.now())
    assert (requeued.status, requeued.retry_pending, requeued.requeues) == (Status.PENDING, True, 1)
    Runner(tasks, workers=1).run_until_idle()
    # iteration 1 again as its second attempt, then iteration 2: never "iteration 0",
    # never max_iterations + 1 executions
    assert [(i, a) for i, a, _ in executions] == [(1, 2), (2, 1)]
    final = tasks.get_run(run.id)
    assert (final.status, final.iterations, final.output) == (Status.SUCCESS, 2, 2)


def test_case1_a_worker_that_dies_right_after_claiming_a_run_between_iterations(
    tasks: TaskManager,
) -> None:
    executions = counting(tasks)
    run = tasks.trigger("count", {"next": 1})
    Runner(tasks, workers=1).step()  # iteration 1 continues, due in 1 s
    tasks.clock.advance(1)
    claimed = tasks.store.claim("dead", tasks.clock.now(), 5)
    assert claimed is not None and (claimed.iterations, claimed.attempt) == (2, 1)
    tasks.clock.advance(6)
    tasks.store.requeue_expired(tasks.clock.now())
    Runner(tasks, workers=1).run_until_idle()
    # iteration 2 (not a repeat of 1), with the input continue_ gave it
    assert executions == [(1, 1, {"next": 1}), (2, 2, {"next": 2})]
    assert tasks.get_run(run.id).status is Status.SUCCESS


# ---- case 2: idempotency keys ----------------------------------------------------------------------
def test_case2_an_idempotency_key_is_scoped_to_its_definition(tasks: TaskManager) -> None:
    for name in ("charge-card", "send-receipt"):
        tasks.register(task(name)(lambda ctx, ctl: ctl.response.done()))
    charge = tasks.trigger("charge-card", {"order": 7}, idempotency_key="order-7")
    receipt = tasks.trigger("send-receipt", {"order": 7}, idempotency_key="order-7")
    assert receipt.id != charge.id and receipt.definition_id == "send-receipt"
    again = tasks.trigger("charge-card", {"order": 7}, idempotency_key="order-7")
    assert again.id == charge.id  # the same definition and key: the first run
    assert len(tasks.list_runs()) == 2


# ---- case 3: run_until_idle leaves nothing pending or running -----------------------------------------
def test_case3_run_until_idle_finishes_a_run_a_dead_worker_held(tasks: TaskManager) -> None:
    counting(tasks)
    run = tasks.trigger("count")
    tasks.store.claim("dead", tasks.clock.now(), 30)  # and it never comes back
    steps = Runner(tasks, workers=2, lease_seconds=30).run_until_idle()
    assert steps == 2
    final = tasks.get_run(run.id)
    assert (final.status, final.requeues) == (Status.SUCCESS, 1)
    assert tasks.clock.now() > 30  # the lease ran out, on paper
    counts = tasks.count_runs()
    assert counts[Status.PENDING] == counts[Status.RUNNING] == 0


def test_case3_an_iteration_interrupted_by_ctrl_c_is_finished_later(tasks: TaskManager) -> None:
    calls: list[tuple[int, int]] = []

    @tasks.task("interrupted")
    def interrupted(ctx, ctl):  # noqa: ANN001, ANN202
        calls.append((ctx.iteration, ctx.attempt))
        if len(calls) == 1:
            raise KeyboardInterrupt  # Ctrl+C in the notebook cell
        return ctl.response.done("finished")

    run = tasks.trigger("interrupted")
    runner = Runner(tasks, workers=1)
    with pytest.raises(KeyboardInterrupt):
        runner.run_until_idle()
    assert tasks.get_run(run.id).status is Status.RUNNING  # held until its lease ends
    runner.run_until_idle()
    final = tasks.get_run(run.id)
    assert (final.status, final.output) == (Status.SUCCESS, "finished")
    assert calls == [(1, 1), (1, 2)]  # the same iteration, its next attempt
    assert [e.step for e in tasks.lifecycle(run.id)][-4:] == [
        Step.REQUEUED, Step.STARTED, Step.ITERATION_STARTED, Step.FINISHED]


def test_case3_on_a_real_clock_run_until_idle_waits_for_the_lease(store: Store) -> None:
    tasks = TaskManager(store, clock=RealClock())
    counting(tasks, max_iterations=1)
    run = tasks.trigger("count")
    store.claim("dead", time.time(), 0.3)
    Runner(tasks, workers=1, lease_seconds=0.3, poll_interval=0.02).run_until_idle()
    assert tasks.get_run(run.id).status is Status.SUCCESS


# ---- case 4: stop(timeout) never lets a run execute twice at once ---------------------------------
def test_case4_stop_with_a_timeout_says_so_and_keeps_the_lease(store: Store) -> None:
    tasks = TaskManager(store, clock=RealClock())
    executions: list[int] = []
    release = threading.Event()

    @tasks.task("slow")
    def slow(ctx, ctl):  # noqa: ANN001, ANN202
        executions.append(ctx.attempt)
        release.wait(10)
        return ctl.response.done()

    run = tasks.trigger("slow")
    first = Runner(tasks, workers=1, lease_seconds=0.3, poll_interval=0.01).start()
    deadline = time.monotonic() + 5
    while not executions and time.monotonic() < deadline:
        time.sleep(0.01)
    assert first.stop(timeout=0.05) is False  # plainly: it did not finish
    assert first.running
    time.sleep(0.8)  # well past the lease: it is still renewed
    assert store.requeue_expired(time.time()) == []
    second = Runner(tasks, workers=1, lease_seconds=0.3, name="second")
    assert second.step("second-1") is None  # nothing to take: the run is still held
    release.set()
    assert first.stop() is True and not first.running
    assert executions == [1]  # one execution, never two at once
    assert tasks.get_run(run.id).status is Status.SUCCESS


# ---- case 5: a log line never fails a run ------------------------------------------------------------
def test_case5_a_log_line_that_is_not_utf8_is_kept_escaped(tasks: TaskManager) -> None:
    name = os.fsdecode(b"caf\xe9.txt")  # a lone surrogate: a file name that is not UTF-8

    @tasks.task("list-files")
    def list_files(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.log.info(name)
        return ctl.response.done()

    run = tasks.trigger("list-files")
    Runner(tasks, workers=1).run_until_idle()
    assert tasks.get_run(run.id).status is Status.SUCCESS
    assert [line.message for line in tasks.logs(run.id)] == ["caf\\udce9.txt"]


def test_case5_a_log_line_the_store_cannot_keep_never_fails_the_run(
    tasks: TaskManager, caplog: pytest.LogCaptureFixture
) -> None:
    @tasks.task("chatty")
    def chatty(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.log.info("one line")
        return ctl.response.done("ok")

    def full(record: object) -> None:
        raise StoreError("the disk is full")

    tasks.store.add_log = full  # type: ignore[method-assign]
    try:
        run = tasks.trigger("chatty")
        with caplog.at_level(logging.WARNING, logger="teachtasks"):
            Runner(tasks, workers=1).run_until_idle()
    finally:
        del tasks.store.add_log
    assert tasks.get_run(run.id).status is Status.SUCCESS
    assert any("a log line was not kept" in r.getMessage() for r in caplog.records)


# ---- case 6: poison payloads --------------------------------------------------------------------------
def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def test_case6_a_payload_nested_too_deep_is_refused_naming_the_path(tasks: TaskManager) -> None:
    tasks.register(task("echo")(lambda ctx, ctl: ctl.response.done(ctx.input)))
    before = snapshot(tasks)
    for depth in (MAX_DEPTH + 1, 985, 5000):
        with pytest.raises(PayloadNotJSONError, match=rf"input\[0\]\[0\].*nested more than "
                                                      rf"{MAX_DEPTH}"):
            tasks.trigger("echo", nested(depth))
    assert snapshot(tasks) == before
    ok = tasks.trigger("echo", nested(MAX_DEPTH))  # the limit itself is fine, in every store
    Runner(tasks, workers=1).run_until_idle()
    assert (tasks.get_run(ok.id).status, tasks.get_run(ok.id).output) == (
        Status.SUCCESS, nested(MAX_DEPTH))


# ---- case 7: a cap on requeues ---------------------------------------------------------------------------
def test_case7_a_run_that_loses_its_worker_every_time_fails(tasks: TaskManager) -> None:
    failed: list[Run] = []

    @tasks.task("poison", max_requeues=2, on_error=failed.append)
    def poison(ctx, ctl):  # noqa: ANN001, ANN202
        return ctl.response.done()

    run = tasks.trigger("poison")
    runner = Runner(tasks, workers=1, lease_seconds=5)
    for _ in range(3):  # each time a worker claims it and dies
        assert tasks.store.claim("dead", tasks.clock.now(), 5) is not None
        tasks.clock.advance(6)
        runner._reap(tasks.clock.now())
    final = tasks.get_run(run.id)
    assert (final.status, final.requeues, final.worker) == (Status.FAILED, 3, None)
    assert final.error is not None and final.error["type"] == WORKER_LOST
    assert "worker was lost 3 times" in final.error["message"]
    assert [r.id for r in failed] == [run.id]  # on_error fired
    steps = [e.step for e in tasks.lifecycle(run.id)]
    assert steps.count(Step.REQUEUED) == 2 and steps[-1] is Step.FINISHED


def test_case7_the_default_cap_is_a_definition_setting(tasks: TaskManager) -> None:
    counting(tasks)
    assert tasks.store.get_definition("count").max_requeues == 5
    with pytest.raises(InvalidDefinitionError, match="max_requeues"):
        task("bad", max_requeues=-1)(lambda ctx, ctl: None)


# ---- case 8: the stores agree --------------------------------------------------------------------------
@pytest.mark.parametrize("changes", [{"output": "changed"}, {"progress": 0.5}, {"state": {}},
                                     {"error": None}])
def test_case8_a_final_run_cannot_be_updated(tasks: TaskManager, changes: dict) -> None:
    from teachtasks import IllegalTransitionError

    counting(tasks, max_iterations=1)
    run = tasks.trigger("count")
    Runner(tasks, workers=1).run_until_idle()
    before = snapshot(tasks)
    with pytest.raises(IllegalTransitionError, match="final"):
        tasks.store.update(run.id, changes, now=tasks.clock.now())
    assert snapshot(tasks) == before


def test_case8_an_idempotency_key_that_is_not_unicode_is_refused(tasks: TaskManager) -> None:
    counting(tasks)
    before = snapshot(tasks)
    with pytest.raises(InvalidArgumentError, match="idempotency_key .* not valid Unicode"):
        tasks.trigger("count", idempotency_key="order-\udce9")
    assert snapshot(tasks) == before


# ---- case 9: every refusal is a named teachtasks error, with nothing written --------------------------
ODD_INPUTS: dict[str, tuple[type[TeachtasksError], str, Callable[[TaskManager], object]]] = {
    "huge int": (PayloadNotJSONError, "too large for JSON",
                 lambda t: t.trigger("count", {"n": 10**5000})),
    "events=5": (InvalidDefinitionError, "events must be an event name",
                 lambda t: t.register(task("e", events=5)(lambda c, k: None))),  # type: ignore[arg-type]
    "unknown option": (InvalidDefinitionError, "unknown option.*colour",
                       lambda t: t.register(task("c", colour="red")(lambda c, k: None))),
    "clock=5": (InvalidArgumentError, "clock must be a Clock",
                lambda t: TaskManager(t.store, clock=5)),  # type: ignore[arg-type]
    "store as a path": (InvalidArgumentError, r"SQLiteStore\('x.db'\)",
                        lambda t: TaskManager(store="x.db")),  # type: ignore[arg-type]
    "NUL in a path": (InvalidArgumentError, "NUL", lambda t: SQLiteStore("runs\0.db")),
    "infinite lease": (InvalidArgumentError, "lease_seconds",
                       lambda t: Runner(t, lease_seconds=float("inf"))),
    "delay 1e300": (InvalidArgumentError, "delay must be at most 31622400",
                    lambda t: t.trigger("count", delay=1e300)),
    "emit a bad name": (InvalidArgumentError, "event name 'bad name!' is not valid",
                        lambda t: t.emit("bad name!")),
    "runner without a manager": (InvalidArgumentError, "TaskManager",
                                 lambda t: Runner(t.store)),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", sorted(ODD_INPUTS))
def test_case9_odd_input_gets_a_named_error_and_writes_nothing(
    tasks: TaskManager, case: str
) -> None:
    error, message, call = ODD_INPUTS[case]
    counting(tasks)
    before = snapshot(tasks)
    with pytest.raises(error, match=message):
        call(tasks)
    assert snapshot(tasks) == before


@pytest.mark.parametrize(("what", "message"), [
    ("state.update(['a'])", "state.update takes a dict"),
    ("response.error(5)", "response.error takes an exception"),
])
def test_case9_odd_input_inside_a_run_fails_it_with_a_clear_error(
    tasks: TaskManager, what: str, message: str
) -> None:
    @tasks.task("odd")
    def odd(ctx, ctl):  # noqa: ANN001, ANN202
        if what.startswith("state"):
            ctx.state.update(["a"])
        return ctl.response.error(5)

    run = tasks.trigger("odd")
    Runner(tasks, workers=1).run_until_idle()
    final = tasks.get_run(run.id)
    assert final.status is Status.FAILED and final.state == {}
    assert final.error is not None and final.error["type"] == "InvalidArgumentError"
    assert message in final.error["message"]


# ---- case 10: a failure keeps its traceback ---------------------------------------------------------------
def test_case10_a_failure_keeps_its_traceback_apart_from_its_error(tasks: TaskManager) -> None:
    @tasks.task("broken")
    def broken(ctx, ctl):  # noqa: ANN001, ANN202
        return {"a": 1}["missing"]

    run = tasks.trigger("broken")
    Runner(tasks, workers=1).run_until_idle()
    final = tasks.get_run(run.id)
    assert final.error == {"type": "KeyError", "message": "'missing'"}  # what notebooks print
    assert final.traceback is not None
    assert final.traceback.startswith("Traceback (most recent call last):")
    assert 'return {"a": 1}["missing"]' in final.traceback
    assert final.traceback.rstrip().endswith("KeyError: 'missing'")
    assert "traceback" not in repr(final)  # printing a run stays short


def test_case10_worker_errors_are_exceptions_and_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    tasks = TaskManager(store, clock=RealClock())
    runner = Runner(tasks, workers=1, poll_interval=0.01)
    trouble = StoreError("the disk is full")
    real_claim = store.claim
    calls = {"n": 0}

    def claim_once_failing(*args: object) -> Run | None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise trouble
        return real_claim(*args)  # type: ignore[arg-type]

    store.claim = claim_once_failing  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.ERROR, logger="teachtasks"):
            runner.start()
            deadline = time.monotonic() + 5
            while not runner.errors and time.monotonic() < deadline:
                time.sleep(0.01)
            assert runner.stop(timeout=5)
    finally:
        del store.claim
    assert runner.errors[0] is trouble
    [record] = [r for r in caplog.records if r.name == "teachtasks"]
    assert "the disk is full" in record.getMessage() and record.exc_info is not None
