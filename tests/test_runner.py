"""The runner: responses, iterations, retries, budgets, aborts, hooks, context,
the simulated pool and the thread pool."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from teachtasks import (
    ConfigurationError,
    InvalidArgumentError,
    RealClock,
    RetryPolicy,
    Runner,
    SimulatedClock,
    Status,
    Step,
    TaskManager,
)


def steps_of(tasks: TaskManager, run_id: str) -> list[str]:
    return [e.step.value for e in tasks.lifecycle(run_id)]


def test_done_continue_error_aborted(sim: TaskManager) -> None:
    @sim.task("answers")
    def answers(ctx, ctl):  # noqa: ANN001, ANN202
        kind = ctx.input["kind"]
        if kind == "done":
            return ctl.response.done({"answer": 42})
        if kind == "continue":
            if ctx.iteration < 3:
                return ctl.response.continue_({"kind": "continue", "seen": ctx.iteration}, delay=5)
            return ctl.response.done(ctx.input["seen"])
        if kind == "error":
            return ctl.response.error(ValueError("bad row 7"))
        if kind == "plain":
            return "just a value"
        return ctl.response.aborted()

    runs = {k: sim.trigger("answers", {"kind": k}) for k in ("done", "continue", "error", "plain", "stop")}
    Runner(sim, workers=1).run_until_idle()
    got = {k: sim.get_run(r.id) for k, r in runs.items()}
    assert got["done"].status is Status.SUCCESS and got["done"].output == {"answer": 42}
    assert got["continue"].status is Status.SUCCESS and got["continue"].output == 2
    assert got["continue"].iterations == 3
    assert got["error"].status is Status.FAILED
    assert got["error"].error == {"type": "ValueError", "message": "bad row 7"}
    assert got["plain"].output == "just a value"
    assert got["stop"].status is Status.ABORTED
    continued = [e for e in sim.lifecycle(runs["continue"].id) if e.step is Step.CONTINUED]
    started = [e for e in sim.lifecycle(runs["continue"].id) if e.step is Step.ITERATION_STARTED]
    assert [e.detail["delay"] for e in continued] == [5, 5]
    assert started[1].time - continued[0].time == 5  # the delay was honoured


def test_max_iterations_fails_via_on_max_iterations(sim: TaskManager) -> None:
    seen = []

    @sim.task("forever", max_iterations=3, on_max_iterations=lambda r: seen.append(r.iterations),
              on_error=lambda r: seen.append("on_error too?"))
    def forever(ctx, ctl):  # noqa: ANN001, ANN202
        return ctl.response.continue_()

    run = sim.trigger("forever", {"keep": "me"})
    Runner(sim).run_until_idle()
    final = sim.get_run(run.id)
    assert final.status is Status.FAILED and final.iterations == 3
    assert final.error["type"] == "MaxIterationsError"
    assert final.input == {"keep": "me"}  # continue_() without input keeps the old one
    assert seen == [3]


def test_retries_with_backoff_then_success(sim: TaskManager) -> None:
    attempts = []

    @sim.task("flaky", retry=RetryPolicy(max_attempts=4, backoff=2, factor=3, jitter=0))
    def flaky(ctx, ctl):  # noqa: ANN001, ANN202
        attempts.append((ctx.iteration, ctx.attempt, ctx.now()))
        if len(attempts) < 3:
            raise ConnectionError("smtp down")
        return "sent"

    run = sim.trigger("flaky")
    Runner(sim).run_until_idle()
    final = sim.get_run(run.id)
    assert final.status is Status.SUCCESS and final.attempt == 3 and final.iterations == 1
    assert attempts == [(1, 1, 0.0), (1, 2, 2.0), (1, 3, 8.0)]
    assert steps_of(sim, run.id).count("retry scheduled") == 2


def test_retries_run_out_or_do_not_apply(sim: TaskManager) -> None:
    errors = []

    @sim.task("always", retry=RetryPolicy(max_attempts=2, backoff=1, retry_on=(ConnectionError,)),
              on_error=lambda r: errors.append(r.error["type"]))
    def always(ctx, ctl):  # noqa: ANN001, ANN202
        raise ctx.input == "conn" and ConnectionError("down") or KeyError("row")

    conn, key = sim.trigger("always", "conn"), sim.trigger("always", "key")
    Runner(sim).run_until_idle()
    assert sim.get_run(conn.id).attempt == 2 and sim.get_run(conn.id).status is Status.FAILED
    assert sim.get_run(key.id).attempt == 1  # KeyError is not retried
    assert sorted(errors) == ["ConnectionError", "KeyError"]


def test_time_budget_and_checkpoint(sim: TaskManager) -> None:
    @sim.task("slow", budget_seconds=10)
    def slow(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.sleep(11)
        return ctl.response.done()

    @sim.task("batch", budget_seconds=10)
    def batch(ctx, ctl):  # noqa: ANN001, ANN202
        row = ctx.state.get("row", 0)
        while row < 30:
            if ctl.is_close_to_timeout():
                ctx.state.set("row", row)
                return ctl.response.continue_()
            ctx.sleep(1)
            row += 1
            ctl.progress(row, 30)
        return ctl.response.done({"rows": row, "remaining": ctl.remaining_seconds()})

    slow_run, batch_run = sim.trigger("slow"), sim.trigger("batch")
    Runner(sim, workers=2).run_until_idle()
    assert sim.get_run(slow_run.id).error["type"] == "TimeBudgetExceededError"
    done = sim.get_run(batch_run.id)
    assert done.status is Status.SUCCESS and done.output == {"rows": 30, "remaining": 4.0}
    assert done.iterations == 4 and done.state == {"row": 24} and done.progress == 1.0


def test_cooperative_abort_and_a_run_that_never_checks(sim: TaskManager) -> None:
    @sim.task("polite")
    def polite(ctx, ctl):  # noqa: ANN001, ANN202
        sim.abort(ctx.run.id)  # someone presses "abort" while it runs
        if ctl.is_aborted():
            return ctl.response.aborted()
        return ctl.response.done()

    @sim.task("deaf", max_iterations=100)
    def deaf(ctx, ctl):  # noqa: ANN001, ANN202
        if ctx.iteration == 2:
            sim.abort(ctx.run.id)
        return ctl.response.continue_()

    p, d = sim.trigger("polite"), sim.trigger("deaf")
    Runner(sim).run_until_idle()
    assert sim.get_run(p.id).status is Status.ABORTED
    deaf_run = sim.get_run(d.id)
    assert deaf_run.status is Status.ABORTED and deaf_run.iterations == 2  # no third iteration
    assert "abort requested" in steps_of(sim, d.id)


def test_hooks_and_a_failing_hook_is_recorded_not_fatal(sim: TaskManager) -> None:
    def broken(run):  # noqa: ANN001, ANN202
        raise RuntimeError("hook bug")

    @sim.task("fine", on_done=broken)
    def fine(ctx, ctl):  # noqa: ANN001, ANN202
        return 1

    run = sim.trigger("fine")
    Runner(sim).run_until_idle()
    assert sim.get_run(run.id).status is Status.SUCCESS
    failed = [e for e in sim.lifecycle(run.id) if e.step is Step.HOOK_FAILED]
    assert failed[0].detail == {"hook": "on_done", "error": "RuntimeError: hook bug"}


def test_context_children_events_logs_services(sim: TaskManager) -> None:
    sim.services["mailer"] = sent = []

    @sim.task("parent")
    def parent(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.log.info("starting")
        child = ctx.trigger("child", {"n": 1})
        ctx.emit("report.ready", {"n": 2})
        return {"child": child.id}

    @sim.task("child", events=["report.ready"])
    def child(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.services["mailer"].append(ctx.input["n"])
        ctx.log.warning(f"child of {ctx.run.parent_id}")

    root = sim.trigger("parent")
    Runner(sim).run_until_idle()
    kids = sim.children(root.id)
    assert sorted(r.input["n"] for r in kids) == [1, 2]
    assert all(r.status is Status.SUCCESS for r in kids)
    assert sorted(sent) == [1, 2]
    assert [(r.level, r.message) for r in sim.logs(root.id)] == [("info", "starting")]
    assert sim.logs(kids[0].id)[0].message == f"child of {root.id}"


def test_output_that_is_not_json_fails_the_run(sim: TaskManager) -> None:
    @sim.task("sloppy")
    def sloppy(ctx, ctl):  # noqa: ANN001, ANN202
        return ctl.response.done({"when": object()})

    run = sim.trigger("sloppy")
    Runner(sim).run_until_idle()
    assert sim.get_run(run.id).error["type"] == "PayloadNotJSONError"


def scenario() -> list[str]:
    tasks = TaskManager(clock=SimulatedClock())

    @tasks.task("mail", events=["user.signed_up"], retry=RetryPolicy(max_attempts=3, backoff=1))
    def mail(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.sleep(0.3 + ctx.input["n"] % 3)
        if ctx.input["n"] % 4 == 0 and ctx.attempt < 2:
            raise ConnectionError("try later")
        return ctl.response.continue_(ctx.input, delay=2) if ctx.iteration < 2 else None

    for n in range(12):
        tasks.emit("user.signed_up", {"n": n})
    tasks.trigger("mail", {"n": 99}, delay=7)
    Runner(tasks, workers=3).run_until_idle()
    return [str(e) for e in tasks.lifecycle()]


def test_the_simulated_clock_reproduces_the_log_exactly() -> None:
    first, second = scenario(), scenario()
    assert first == second
    assert len(first) > 80
    workers = {line.split(" on ")[1].split()[0] for line in first if " on " in line}
    assert workers == {"worker-1", "worker-2", "worker-3"}


def test_simulated_pool_runs_in_parallel(sim: TaskManager) -> None:
    @sim.task("sleepy")
    def sleepy(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.sleep(10)

    for _ in range(8):
        sim.trigger("sleepy")
    Runner(sim, workers=4).run_until_idle()
    assert sim.clock.now() == 20  # 8 runs of 10 s on 4 workers


def test_threads_need_a_real_clock_and_bad_sizes_are_refused(sim: TaskManager) -> None:
    with pytest.raises(ConfigurationError, match="RealClock"):
        Runner(sim).start()
    with pytest.raises(InvalidArgumentError):
        Runner(sim, workers=0)
    with pytest.raises(InvalidArgumentError):
        Runner(sim, lease_seconds=-1)


def test_thread_pool_10000_runs_8_workers_none_twice() -> None:
    tasks = TaskManager(clock=RealClock())
    executions: Counter[str] = Counter()
    running: set[str] = set()
    overlaps = []
    lock = threading.Lock()

    @tasks.task("count")
    def count(ctx, ctl):  # noqa: ANN001, ANN202
        with lock:
            if ctx.run.id in running:
                overlaps.append(ctx.run.id)
            running.add(ctx.run.id)
            executions[ctx.run.id] += 1
        with lock:
            running.discard(ctx.run.id)

    ids = [tasks.trigger("count", {"i": i}).id for i in range(10_000)]
    runner = Runner(tasks, workers=8)
    with runner:
        assert runner.wait_idle(timeout=120)
    assert runner.errors == []
    assert not overlaps
    assert set(executions) == set(ids) and set(executions.values()) == {1}
    counts = tasks.count_runs()
    assert counts[Status.SUCCESS] == 10_000 and sum(counts.values()) == 10_000
    workers_used = {e.worker for e in tasks.lifecycle() if e.step is Step.STARTED}
    assert len(workers_used) > 1


def test_graceful_stop_lets_the_iteration_in_flight_finish() -> None:
    tasks = TaskManager(clock=RealClock())
    started = threading.Event()

    @tasks.task("slowish")
    def slowish(ctx, ctl):  # noqa: ANN001, ANN202
        started.set()
        ctx.sleep(0.2)
        return "finished"

    run = tasks.trigger("slowish")
    later = tasks.trigger("slowish", delay=60)
    runner = Runner(tasks, workers=2).start()
    assert started.wait(5)
    runner.stop()
    assert tasks.get_run(run.id).status is Status.SUCCESS
    assert tasks.get_run(later.id).status is Status.PENDING
    assert not runner.running


def test_an_error_that_comes_with_an_abort_is_kept(sim: TaskManager) -> None:
    @sim.task("crashes-after-abort")
    def crashes(ctx, ctl):  # noqa: ANN001, ANN202
        sim.abort(ctx.run.id)
        raise RuntimeError("disk full")

    run = sim.trigger("crashes-after-abort")
    Runner(sim).run_until_idle()
    final = sim.get_run(run.id)
    assert final.status is Status.ABORTED
    assert final.error == {"type": "RuntimeError", "message": "disk full"}
    assert sim.lifecycle(run.id)[-1].detail["error"] == "RuntimeError: disk full"


def test_input_changes_last_for_the_iteration_only(sim: TaskManager) -> None:
    @sim.task("mutates", max_iterations=3)
    def mutates(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.input["seen"] = ctx.input.get("seen", 0) + 1
        if ctx.iteration < 2:
            return ctl.response.continue_()
        return ctx.input["seen"]

    run = sim.trigger("mutates", {"seen": 10})
    Runner(sim).run_until_idle()
    assert sim.get_run(run.id).output == 11  # the change held within iteration 2 only
    assert sim.get_run(run.id).input == {"seen": 10}


def test_decide_is_the_one_rulebook() -> None:
    from teachtasks.controller import RESPONSES
    from teachtasks.definition import TaskDefinition
    from teachtasks.runner import decide

    definition = TaskDefinition("d", lambda c, k: None, max_iterations=2, budget_seconds=10,
                                retry=RetryPolicy(max_attempts=2, backoff=3, jitter=0))

    def outcome(response=None, failure=None, *, iteration=1, attempt=1, elapsed=1.0,
                abort=False):  # noqa: ANN001, ANN202
        return decide(definition, run_id="r", iteration=iteration, attempt=attempt,
                      response=response, failure=failure, elapsed=elapsed, abort_requested=abort)

    assert outcome(RESPONSES.done(1)).status is Status.SUCCESS
    assert outcome(RESPONSES.done(1), elapsed=11).error["type"] == "TimeBudgetExceededError"
    assert outcome(RESPONSES.continue_(delay=4)).delay == 4
    assert outcome(RESPONSES.continue_(), iteration=2).hook == "on_max_iterations"
    assert outcome(RESPONSES.continue_(), abort=True).status is Status.ABORTED
    assert outcome(RESPONSES.done(), abort=True).status is Status.SUCCESS  # finished first
    retry = outcome(failure=ConnectionError("x"))
    assert (retry.step, retry.delay) == (Step.RETRY_SCHEDULED, 3)
    assert outcome(failure=ConnectionError("x"), attempt=2).status is Status.FAILED
    assert outcome(RESPONSES.error("no")).error == {"type": "Error", "message": "no"}


def test_a_store_failing_between_claims_does_not_kill_the_worker() -> None:
    """A store that fails while a worker looks for its next due run (Redis dropped the
    connection, a locked file) is noted in ``errors``; the worker goes on."""
    from teachtasks import MemoryStore, Runner, StoreError, TaskManager

    class Flaky(MemoryStore):
        failures = 1

        def next_due(self):
            if Flaky.failures:
                Flaky.failures -= 1
                raise StoreError("the store did not answer")
            return super().next_due()

    tasks = TaskManager(Flaky())

    @tasks.task("noop")
    def noop(ctx, ctl):
        return ctl.response.done()

    runner = Runner(tasks, workers=1, poll_interval=0.01)
    runner.start()
    try:
        import time

        deadline = time.monotonic() + 5
        while Flaky.failures and time.monotonic() < deadline:
            time.sleep(0.01)
        run = tasks.trigger("noop")
        assert runner.wait_idle(timeout=10)
    finally:
        runner.stop()
    assert tasks.get_run(run.id).status.value == "success"
    assert any(isinstance(e, StoreError) for e in runner.errors)
