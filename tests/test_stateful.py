"""Random sequences of trigger, step, abort, fail and continue never break the
transition table, never lose a run and never leave two workers on one run."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from teachtasks import (
    TRANSITIONS,
    IllegalTransitionError,
    RetryPolicy,
    Runner,
    SimulatedClock,
    Status,
    TaskManager,
)

ACTIONS = ["done", "continue", "error", "raise", "abort-self", "check-abort", "sleep"]


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tasks = TaskManager(clock=SimulatedClock())
        tasks = self.tasks

        @tasks.task("scripted", max_iterations=4, budget_seconds=5,
                    retry=RetryPolicy(max_attempts=2, backoff=1))
        def scripted(ctx, ctl):  # noqa: ANN001, ANN202
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
            ctx.sleep(6)  # over the 5 s budget
            return ctl.response.done()

        self.runner = Runner(tasks, workers=2)
        self.ids: list[str] = []
        self.seen: dict[str, list[Status]] = {}

    @rule(plan=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=4),
          delay=st.sampled_from([0, 0, 1, 3]))
    def trigger(self, plan: list[str], delay: int) -> None:
        self.ids.append(self.tasks.trigger("scripted", {"plan": plan}, delay=delay).id)

    @rule()
    def step(self) -> None:
        self.runner.step()

    @rule(seconds=st.sampled_from([0.5, 1, 2]))
    def time_passes(self, seconds: float) -> None:
        self.tasks.clock.advance(seconds)

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
        self.runner.run_until_idle(max_steps=200)

    @invariant()
    def transitions_follow_the_table_and_nothing_is_lost(self) -> None:
        runs = {r.id: r for r in self.tasks.list_runs(limit=10_000)}
        assert set(runs) == set(self.ids)
        for run_id, run in runs.items():
            history = self.seen.setdefault(run_id, [Status.PENDING])
            if history[-1].is_final:
                assert run.status == history[-1], "a final run moved"
            history.append(run.status)
            assert run.worker is None  # step mode never leaves a run held
            statuses = [e.status for e in self.tasks.lifecycle(run_id)]
            for old, new in zip(statuses, statuses[1:], strict=False):
                assert old == new or new in TRANSITIONS[old], statuses
            if run.is_final:
                assert statuses[-1] == run.status


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
