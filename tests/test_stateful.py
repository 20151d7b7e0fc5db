"""Random sequences of trigger, step, abort, fail, continue, crashes and
interrupts never break the transition table, never lose a run, never leave
two workers on one run, and count iterations and attempts right.

The crash rules: a worker that dies right after its claim (of a pending run,
or of one waiting between iterations), a worker that dies in the middle of an
iteration, and an iteration a ``KeyboardInterrupt`` stops. The machine runs
on every store of the contract (``store_contract.STORES``).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from store_contract import STORES

from teachtasks import (
    ACTIVE_STATUSES,
    TRANSITIONS,
    IllegalTransitionError,
    RetryPolicy,
    Run,
    Runner,
    SimulatedClock,
    Status,
    Step,
    TaskManager,
)

ACTIONS = ["done", "continue", "error", "raise", "abort-self", "check-abort", "sleep", "die",
           "interrupt"]
MAX_ITERATIONS = 4
MAX_REQUEUES = 2
LEASE = 10.0


class WorkerDied(BaseException):  # noqa: N818 - a process that dies, not an error it raises
    """The worker's process dies in the middle of an iteration: nothing after
    this line runs, nothing catches it, the run stays held until its lease ends."""


class Lifecycle(RuleBasedStateMachine):
    #: which store of ``STORES`` this machine runs on (set per store below)
    store_name = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="tt-stateful-"))
        self.store = STORES[self.store_name](self.folder)
        self.tasks = TaskManager(self.store, clock=SimulatedClock())
        tasks = self.tasks
        #: every real execution: (run id, iteration, attempt)
        self.executions: list[tuple[str, int, int]] = []

        @tasks.task("scripted", max_iterations=MAX_ITERATIONS, budget_seconds=5,
                    retry=RetryPolicy(max_attempts=2, backoff=1), max_requeues=MAX_REQUEUES)
        def scripted(ctx, ctl):  # noqa: ANN001, ANN202
            self.executions.append((ctx.run.id, ctx.iteration, ctx.attempt))
            plan = ctx.input["plan"]
            action = plan[(ctx.iteration + ctx.attempt) % len(plan)]
            if action == "done":
                return ctl.response.done(ctx.iteration)
            if action == "continue":
                return ctl.response.continue_(ctx.input, delay=1)
            if action == "error":
                return ctl.response.error("planned failure")
            if action == "raise":
                raise ConnectionError("planned exception")
            if action == "abort-self":
                tasks.abort(ctx.run.id)
                return ctl.response.continue_(ctx.input)
            if action == "check-abort":
                return ctl.response.aborted() if ctl.is_aborted() else ctl.response.done()
            if action == "die":
                event("a worker died in the middle of an iteration")
                ctx.state.set("half", True)  # some work written, then the process is gone
                raise WorkerDied
            if action == "interrupt":
                event("an iteration was interrupted")
                raise KeyboardInterrupt  # Ctrl+C in the notebook cell
            ctx.sleep(6)  # over the 5 s budget
            return ctl.response.done()

        self.runner = Runner(tasks, workers=2, lease_seconds=LEASE)
        self.dead_workers = (f"dead-{n}" for n in itertools.count(1))
        self.ids: list[str] = []
        self.seen: dict[str, list[Status]] = {}

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # ---- what happens --------------------------------------------------------------------
    # "continue" weighs more: runs that wait between iterations are the ones
    # the between-iterations crash rule needs
    @rule(plan=st.lists(st.sampled_from([*ACTIONS, "continue", "continue"]), min_size=1,
                        max_size=4),
          delay=st.sampled_from([0, 0, 1, 3]))
    def trigger(self, plan: list[str], delay: int) -> None:
        self.ids.append(self.tasks.trigger("scripted", {"plan": plan}, delay=delay).id)

    @rule()
    def step(self) -> None:
        try:
            self.runner.step()
        except (WorkerDied, KeyboardInterrupt):
            pass  # the run stays held by worker-1 until its lease ends

    @rule(seconds=st.sampled_from([0.5, 1, 2, LEASE + 1]))
    def time_passes(self, seconds: float) -> None:
        self.tasks.clock.advance(seconds)

    @rule()
    def a_worker_claims_and_dies(self) -> None:
        """Right after a claim: of a pending run, or of one between iterations."""
        before = {r.id: r.status for r in self.tasks.list_runs(limit=10_000)}
        claimed = self.store.claim(next(self.dead_workers), self.tasks.clock.now(), LEASE)
        if claimed is not None:
            event("a worker died right after claiming a " + (
                "pending run" if before[claimed.id] is Status.PENDING
                else "run between iterations"))

    def next_claimable(self) -> Run | None:
        """The run a claim takes next: the earliest due that nobody holds
        (ties: the oldest), as both stores order them."""
        free = [r for r in self.tasks.list_runs(limit=10_000)
                if r.worker is None and not r.is_final]
        return min(reversed(free), key=lambda r: r.due_at, default=None)

    @precondition(lambda self: (r := self.next_claimable()) is not None
                  and r.status is Status.RUNNING)
    @rule()
    def a_worker_dies_between_iterations(self) -> None:
        """A run waits for its next iteration; a worker takes it and dies at once."""
        waiting = self.next_claimable()
        assert waiting is not None
        clock = self.tasks.clock
        clock.advance(max(0.0, waiting.due_at - clock.now()))
        if clock.now() < waiting.due_at:  # advance() rounds to nanoseconds: land on it exactly
            clock.set(waiting.due_at)
        claimed = self.store.claim(next(self.dead_workers), clock.now(), LEASE)
        assert claimed is not None and claimed.id == waiting.id
        assert (claimed.iterations, claimed.attempt) == (waiting.iterations + 1, 1) or (
            waiting.retry_pending and (claimed.iterations, claimed.attempt) == (
                waiting.iterations, waiting.attempt + 1))
        event("a worker died right after claiming a run between iterations")

    @precondition(lambda self: self.ids)
    @rule(index=st.integers(min_value=0))
    def abort(self, index: int) -> None:
        run_id = self.ids[index % len(self.ids)]
        before = self.tasks.get_run(run_id)
        try:
            after = self.tasks.abort(run_id)
        except IllegalTransitionError:
            assert before.is_final
            assert self.tasks.get_run(run_id) == before
        else:
            assert not before.is_final
            assert after.status in (Status.ABORTED, before.status)

    @rule()
    def run_until_idle(self) -> None:
        try:
            self.runner.run_until_idle(max_steps=10_000)
        except (WorkerDied, KeyboardInterrupt):
            return
        counts = self.tasks.count_runs()
        assert not any(counts[s] for s in ACTIVE_STATUSES), counts  # case 3

    # ---- what must always hold -----------------------------------------------------------
    @invariant()
    def transitions_follow_the_table_and_nothing_is_lost(self) -> None:
        runs = {r.id: r for r in self.tasks.list_runs(limit=10_000)}
        assert set(runs) == set(self.ids)
        for run_id, run in runs.items():
            history = self.seen.setdefault(run_id, [Status.PENDING])
            if history[-1].is_final:
                assert run.status == history[-1], "a final run moved"
            history.append(run.status)
            if run.worker is not None:  # held: by a worker that died, or was interrupted
                assert run.status is Status.RUNNING and run.lease_expires_at is not None
            statuses = [e.status for e in self.tasks.lifecycle(run_id)]
            for old, new in zip(statuses, statuses[1:], strict=False):
                assert old == new or new in TRANSITIONS[old], statuses
            if run.is_final:
                assert statuses[-1] == run.status
                assert run.worker is None
            assert run.requeues <= MAX_REQUEUES + 1

    @invariant()
    def iterations_and_attempts_are_counted_right(self) -> None:
        executed: dict[str, list[tuple[int, int]]] = {}
        for run_id, iteration, attempt in self.executions:
            executed.setdefault(run_id, []).append((iteration, attempt))
        for run_id in self.ids:
            run = self.tasks.get_run(run_id)
            started: list[tuple[int, int]] = []
            ended = None  # how the last iteration that started ended, so far
            for entry in self.tasks.store.list_entries(run_id):
                count = (entry.iteration, entry.attempt)
                if entry.step is Step.ITERATION_STARTED:
                    if not started:
                        assert count == (1, 1), count
                    elif ended is Step.CONTINUED:
                        assert count == (started[-1][0] + 1, 1), (started, count)
                    else:  # a retry, or a requeue after a lost worker: the same iteration again
                        assert ended in (Step.RETRY_SCHEDULED, Step.REQUEUED), (started, ended)
                        assert count == (started[-1][0], started[-1][1] + 1), (started, count)
                    assert count[0] <= MAX_ITERATIONS
                    started.append(count)
                    ended = None
                elif entry.step in (Step.CONTINUED, Step.RETRY_SCHEDULED, Step.REQUEUED):
                    if started:
                        assert count == started[-1], (entry, started)
                    ended = entry.step
            # every execution was a counted start, and none ran twice
            mine = executed.get(run_id, [])
            assert len(mine) == len(set(mine)), mine
            assert set(mine) <= set(started), (mine, started)
            if started:
                assert (run.iterations, run.attempt) == started[-1]


SETTINGS = settings(max_examples=300, stateful_step_count=30, deadline=None)

# one machine per store of the contract: TestLifecycleOnMemory, TestLifecycleOnSqlite, ...
for _name in STORES:
    _machine = type(f"LifecycleOn{_name.title()}", (Lifecycle,), {"store_name": _name})
    _case = _machine.TestCase
    _case.settings = SETTINGS
    globals()[f"TestLifecycleOn{_name.title()}"] = _case
del _name, _machine, _case
