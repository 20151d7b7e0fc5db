"""The simulated pool tells the truth: runs interleave in simulated time, a
run reads only what was written before its moment, the same scenario gives
the same log byte for byte, and faults strike at chosen moments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teachtasks import (
    ConfigurationError,
    Fault,
    InvalidArgumentError,
    RealClock,
    RetryPolicy,
    Runner,
    SimulatedClock,
    Status,
    Step,
    TaskManager,
)
from teachtasks.viz import timeline
from teachtasks.viz.replay import caption
from teachtasks.viz.timeline import bars


def finished_at(tasks: TaskManager, run_id: str) -> float:
    return next(e.time for e in tasks.lifecycle(run_id) if e.step is Step.FINISHED)


def issue_example(workers: int = 2) -> tuple[TaskManager, str]:
    """The parent that waits for three children (the issue's example)."""
    m = TaskManager(clock=SimulatedClock())

    @m.task("child")
    def child(ctx, ctl):
        ctx.sleep(5)
        return ctl.response.done()

    @m.task("parent", max_iterations=100)
    def parent(ctx, ctl):
        if ctx.iteration == 1:
            for _ in range(3):
                ctx.trigger("child")
        elif all(k.is_final for k in m.children(ctx.run.id)):
            return ctl.response.done()
        return ctl.response.continue_(delay=1)

    p = m.trigger("parent")
    Runner(m, workers=workers).run_until_idle()
    return m, p.id


def test_the_parent_finishes_after_its_last_child() -> None:
    m, parent = issue_example()
    children = sorted(finished_at(m, k.id) for k in m.children(parent))
    assert children == [5.0, 5.0, 10.0]  # two workers: the third child waits for one
    assert finished_at(m, parent) == 10.0
    assert finished_at(m, parent) >= max(children)
    # both workers are busy with children until t=5: the parent, due at t=1, waits
    iterations = [e.time for e in m.lifecycle(parent) if e.step is Step.ITERATION_STARTED]
    assert iterations == [0.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]


def test_a_worker_never_overlaps_itself_and_time_never_goes_back() -> None:
    m, _ = issue_example(workers=3)
    log = m.lifecycle()
    assert [e.time for e in log] == sorted(e.time for e in log)
    by_worker: dict[str, list[tuple[float, float]]] = {}
    for bar in bars(log):
        by_worker.setdefault(bar.worker or "", []).append((bar.start, bar.start + bar.duration))
    for spans in by_worker.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), spans


def mixed_scenario() -> str:
    """Parents, children, delays, retries with jitter, an abort, a kill and a
    pause, on three workers: the whole log as text."""
    m = TaskManager(clock=SimulatedClock())

    @m.task("resize", retry=RetryPolicy(max_attempts=3, backoff=1, jitter=0.3))
    def resize(ctx, ctl):
        ctx.sleep(1.5 + ctx.input["n"] % 3)
        if ctx.attempt == 1 and ctx.input["n"] % 2:
            raise ConnectionError("the image server is busy")
        return ctl.response.done(ctx.input["n"])

    @m.task("album", max_iterations=50)
    def album(ctx, ctl):
        if ctx.iteration == 1:
            for n in range(4):
                ctx.trigger("resize", {"n": n})
        if ctl.is_aborted():
            return ctl.response.aborted()
        if all(k.is_final for k in m.children(ctx.run.id)):
            return ctl.response.done(len(m.children(ctx.run.id)))
        return ctl.response.continue_(delay=0.5)

    for _ in range(3):
        m.trigger("album")
    m.trigger("resize", {"n": 7}, delay=2)
    m.clock.at(4.0, lambda: m.abort("run-2"))
    runner = Runner(m, workers=3, lease_seconds=6)
    runner.kill_worker("worker-2", at=3.2)
    runner.pause_worker("worker-3", at=5, seconds=9)
    runner.run_until_idle()
    assert {r.status for r in m.list_runs()} <= {Status.SUCCESS, Status.ABORTED, Status.FAILED}
    return "\n".join(map(repr, m.lifecycle())) + f"\n{runner.faults}"


def test_the_same_scenario_gives_the_same_log_20_times() -> None:
    first = mixed_scenario()
    assert "requeued" in first and "aborted" in first and "retry scheduled" in first
    for _ in range(19):
        assert mixed_scenario() == first


def one_slow_charge(workers: int = 2) -> tuple[TaskManager, list[tuple[str, str, float]]]:
    m = TaskManager(clock=SimulatedClock())
    lines: list[tuple[str, str, float]] = []

    @m.task("charge-card")
    def charge(ctx, ctl):
        lines.append(("start", ctx.run.worker or "", ctx.now()))
        ctx.sleep(5)
        lines.append(("charged", ctx.run.worker or "", ctx.now()))
        return ctl.response.done("ok")

    m.trigger("charge-card")
    return m, lines


def test_a_killed_worker_writes_nothing_more_and_its_run_is_requeued() -> None:
    m, lines = one_slow_charge()
    runner = Runner(m, workers=2, lease_seconds=10)
    kill = runner.kill_worker("worker-1", at=3)
    runner.run_until_idle()
    assert runner.faults == [kill]
    run = m.list_runs()[0]
    assert run.status is Status.SUCCESS and run.attempt == 2
    # worker-1 started, then vanished at t=3: it never reached "charged"
    assert lines[0] == ("start", "worker-1", 0.0)
    assert [line for line in lines if line[1] == "worker-1"] == [lines[0]]
    assert lines[-1][0:2] == ("charged", "worker-2")
    steps = [(e.step, e.worker) for e in m.lifecycle()]
    assert (Step.REQUEUED, "worker-1") in steps
    assert all(w != "worker-1" for s, w in steps[steps.index((Step.REQUEUED, "worker-1")) + 1:])


def test_a_paused_worker_runs_the_body_twice_and_its_late_finish_is_refused() -> None:
    m, lines = one_slow_charge()
    runner = Runner(m, workers=2, lease_seconds=10)
    runner.pause_worker("worker-1", at=1, seconds=30)
    runner.run_until_idle()
    charged = [line for line in lines if line[0] == "charged"]
    assert [w for _, w, _ in charged] == ["worker-2", "worker-1"]  # the double execution
    assert charged[1][2] == 31.0  # worker-1 woke at 31 and finished its sleep
    finishes = [e for e in m.lifecycle() if e.step is Step.FINISHED]
    assert [e.worker for e in finishes] == ["worker-2"]  # the late finish wrote nothing
    assert m.list_runs()[0].status is Status.SUCCESS


def test_faults_are_drawn_and_captioned() -> None:
    m, _ = one_slow_charge()
    runner = Runner(m, workers=2, lease_seconds=10)
    runner.kill_worker("worker-2", at=40)  # after everything: never applied
    runner.pause_worker("worker-1", at=1, seconds=30)
    runner.run_until_idle()
    assert [f.kind for f in runner.faults] == ["pause"]
    fig = timeline(m.lifecycle(), faults=runner.faults)
    gids = {artist.get_gid() for ax in fig.axes for artist in ax.get_children()}
    assert "fault:pause:worker-1" in gids
    log = m.lifecycle()
    assert "worker-1 paused at t=1 for 30 s" in caption(log, len(log), runner.faults)
    assert "paused" not in caption(log, 1, runner.faults)  # t=0: before the pause


def test_fault_arguments_are_checked() -> None:
    m, _ = one_slow_charge()
    runner = Runner(m, workers=2)
    with pytest.raises(InvalidArgumentError, match="no worker 'worker-9'"):
        runner.kill_worker("worker-9", at=1)
    with pytest.raises(InvalidArgumentError):
        runner.pause_worker("worker-1", at=1, seconds=0)
    with pytest.raises(InvalidArgumentError):
        runner.kill_worker("worker-1", at=-1)
    assert runner._faults == []  # nothing kept from a refused call
    real = Runner(TaskManager(clock=RealClock()), workers=1)
    with pytest.raises(ConfigurationError, match="SimulatedClock"):
        real.kill_worker("worker-1", at=1)


def test_ten_thousand_iterations_take_no_real_time() -> None:
    """10,000 iterations over ten simulated hours: no real second passes
    (benchmarks/simulation.py measures the CPU it takes)."""
    m = TaskManager(clock=SimulatedClock())

    @m.task("tick", max_iterations=1000)
    def tick(ctx, ctl):
        ctx.sleep(14)  # 10 runs on 4 workers: 10,000 x 14 s / 4 = 9.7 simulated hours
        return ctl.response.continue_(delay=1) if ctx.iteration < 1000 else ctl.response.done()

    for _ in range(10):
        m.trigger("tick")
    assert Runner(m, workers=4).run_until_idle() == 10_000
    assert 9.5 * 3600 <= m.clock.now() <= 10.5 * 3600


# ---- the property: random scenarios of parents, children, delays, retries,
# aborts and kills ---------------------------------------------------------------------


@dataclass
class Scenario:
    workers: int
    parents: list[tuple[int, float]]  # (children, delay between looks)
    child_work: list[float]
    fail_first: list[bool]
    aborts: list[tuple[float, int]]  # (at, which parent)
    kills: list[tuple[int, float]]  # (worker number, at)
    pauses: list[tuple[int, float, float]]
    reads: list[tuple[float, str, str]] = field(default_factory=list)  # (t, child id, status)
    bodies: list[list[float]] = field(default_factory=list)  # [start, end] of each body


scenarios = st.builds(
    Scenario,
    workers=st.integers(1, 3),
    parents=st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0.5, 1.0, 2.0])),
                     min_size=1, max_size=3),
    child_work=st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.0]), min_size=1, max_size=4),
    fail_first=st.lists(st.booleans(), min_size=1, max_size=4),
    aborts=st.lists(st.tuples(st.sampled_from([0.0, 1.0, 2.5, 6.0]), st.integers(0, 2)),
                    max_size=2),
    kills=st.lists(st.tuples(st.integers(1, 3), st.sampled_from([0.5, 2.0, 4.0])), max_size=1),
    pauses=st.lists(st.tuples(st.integers(1, 3), st.sampled_from([1.0, 3.0]),
                              st.sampled_from([2.0, 12.0])), max_size=1),
)


def play(s: Scenario) -> tuple[TaskManager, Runner]:
    m = TaskManager(clock=SimulatedClock())

    def body(work: Callable[[], object]) -> object:
        span = [m.clock.now(), m.clock.now()]
        s.bodies.append(span)
        try:
            return work()
        finally:
            span[1] = m.clock.now()

    @m.task("child", retry=RetryPolicy(max_attempts=2, backoff=1, jitter=0.2), max_iterations=3)
    def child(ctx, ctl):
        def work():
            ctx.sleep(ctx.input["work"])
            if ctx.input["fail"] and ctx.attempt == 1:
                raise ConnectionError("try again")
            if ctx.iteration == 1 and ctx.input["work"] >= 3:
                return ctl.response.continue_(delay=0.5)
            return ctl.response.done()
        return body(work)

    @m.task("parent", max_iterations=200)
    def parent(ctx, ctl):
        def work():
            if ctx.iteration == 1:
                for k in range(ctx.input["children"]):
                    ctx.trigger("child", {"work": s.child_work[k % len(s.child_work)],
                                          "fail": s.fail_first[k % len(s.fail_first)]})
            if ctl.is_aborted():
                return ctl.response.aborted()
            kids = m.children(ctx.run.id)
            s.reads.extend((ctx.now(), k.id, k.status.value) for k in kids)
            if all(k.is_final for k in kids):
                return ctl.response.done()
            return ctl.response.continue_(delay=ctx.input["every"])
        return body(work)

    ids = [m.trigger("parent", {"children": n, "every": every}).id for n, every in s.parents]
    for at, which in s.aborts:
        run_id = ids[which % len(ids)]
        m.clock.at(at, lambda run_id=run_id: m.abort(run_id)
                   if not m.get_run(run_id).is_final else None)
    runner = Runner(m, workers=s.workers, lease_seconds=6)
    for number, at in s.kills:
        runner.kill_worker(f"worker-{(number - 1) % s.workers + 1}", at=at)
    for number, at, seconds in s.pauses:
        runner.pause_worker(f"worker-{(number - 1) % s.workers + 1}", at=at, seconds=seconds)
    runner.run_until_idle()
    return m, runner


def states_at(log: list, run_id: str, t: float) -> set[str]:
    """Every status ``run_id`` could be read in at moment ``t``: all entries
    before t applied, and any prefix of those at exactly t."""
    mine = [e for e in log if e.run_id == run_id]
    before = [e for e in mine if e.time < t]
    status = before[-1].status.value if before else None
    seen = {status} if status else set()
    for e in (e for e in mine if e.time == t):
        seen.add(e.status.value)
    return seen


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios)
def test_reads_agree_with_the_log_and_no_parent_finishes_before_its_children(s: Scenario) -> None:
    m, runner = play(s)
    log = m.lifecycle()
    # every value a parent read at t is the child's status in the log at t
    for t, child, status in s.reads:
        assert status in states_at(log, child, t), (t, child, status)
    # nothing is left half done, and no parent that finished did so before a child
    runs = m.list_runs()
    killed = {f.worker for f in runner.faults if f.kind == "kill"}
    if len(killed) < s.workers:  # with every worker killed, nobody is left to finish them
        assert all(r.is_final for r in runs), [(r.id, r.status) for r in runs]
    for p in (r for r in runs if r.definition_id == "parent" and r.status is Status.SUCCESS):
        for kid in m.children(p.id):
            assert finished_at(m, kid.id) <= finished_at(m, p.id)
    # never more bodies executing at one moment than there are workers (a
    # paused worker's frozen body counts: it still holds its worker)
    moments = sorted({t for span in s.bodies for t in span})
    for t in moments:
        busy = sum(1 for start, end in s.bodies if start <= t < end)
        assert busy <= s.workers, (t, busy)
    # the log's clock never goes back, and the faults that struck are kept
    assert [e.time for e in log] == sorted(e.time for e in log)
    assert all(isinstance(f, Fault) for f in runner.faults)
