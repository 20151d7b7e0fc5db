"""Checks for notebook 05, "The controller".

* 05.1 ``checkpointed_batch(ctx, ctl)``: a batch longer than its time budget
  that checkpoints in ``ctx.state`` and answers ``continue_`` in time.
* 05.2 ``stop_when_asked(ctx, ctl)``: a run that checks ``ctl.is_aborted()``
  and answers ``aborted()`` soon after someone asks it to stop.
* 05.3 ``choose_policy()``: a ``RetryPolicy`` that meets four constraints.

Like the notebook, the checks run on a simulated clock. ``ClockWithAlarms``
(the notebook shows the same class) lets "a person clicks Cancel at t=3"
happen in the middle of a run's iteration, repeatably.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ..clock import SimulatedClock
from . import NotSolved, exercise
from .nb04 import expect_success, run_task

#: notebook 05 builds this clock live; the library's SimulatedClock has ``at()`` too
ClockWithAlarms = SimulatedClock


class ClockMailer:
    """A fake mailer: one simulated second per email; remembers (time, to)."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, Any]] = []

    def send(self, to: Any) -> None:
        self.clock.sleep(1)
        self.sent.append((self.clock.now(), to))


def _not_implemented(run: Any) -> None:
    if run.error and run.error.get("type") == "NotImplementedError":
        raise NotImplementedError


# ---- 05.1 a batch that fits its budget ---------------------------------------------------


@exercise("05.1", solution="checkpointed_batch")
def check_checkpointed_batch(checkpointed_batch: Any) -> str:
    iterations = 0
    for n in (40, 7):
        emails = [f"reader-{i:02d}@example.com" for i in range(1, n + 1)]
        clock = SimulatedClock()
        mailer = ClockMailer(clock)
        _, run = run_task(checkpointed_batch, {"emails": emails}, clock=clock,
                              services={"mailer": mailer}, budget_seconds=10,
                              max_iterations=20)
        _not_implemented(run)
        sent = [to for _, to in mailer.sent]
        twice = sorted(to for to, k in Counter(sent).items() if k > 1)
        if twice:
            raise NotSolved(f"{len(twice)} address(es) were sent more than once "
                            f"({twice[0]}, ...): each iteration must start where the last "
                            "one stopped; read it back with ctx.state.get(...)")
        if run.error and run.error.get("type") == "TimeBudgetExceededError":
            raise NotSolved("an iteration went over its 10 s budget: check "
                            "ctl.is_close_to_timeout() before each email, save your place "
                            "with ctx.state.set(...) and return ctl.response.continue_()")
        if run.error and run.error.get("type") == "MaxIterationsError":
            raise NotSolved(f"the run asked to continue {run.iterations} times without "
                            "finishing; does it return ctl.response.done(...) once every "
                            "address is sent?")
        expect_success(run)
        if sent != emails:
            missing = [to for to in emails if to not in sent]
            raise NotSolved(f"given {n} addresses{'' if n == 40 else ' (a second list the check tries)'}, "
                            f"the mailer sent {len(sent)}"
                            + (f" (missing {missing[0]}, ...)" if missing else
                               ", not in the order given"))
        if n == 40:
            if run.iterations < 2:
                raise NotSolved("the 40 emails were sent in one iteration")
            iterations = run.iterations
        if run.output != {"sent": n}:
            which = "the 40 addresses" if n == 40 else (
                "a second list of 7 addresses (the check also tries a list you have not "
                "seen, so a number written into the code cannot pass)")
            raise NotSolved(f"with {which} the output was {run.output!r}; expected "
                            f"{{'sent': {n}}}: count the addresses, e.g. len(emails)")
    return f"40 emails in {iterations} iterations, each sent once, none over its budget"


# ---- 05.2 stop cleanly when asked -------------------------------------------------------


@exercise("05.2", solution="stop_when_asked")
def check_stop_when_asked(stop_when_asked: Any) -> str:
    from ..run import Step

    # undisturbed: it must do the work
    _, run = run_task(stop_when_asked, {"items": 4})
    _not_implemented(run)
    if run.status.value == "aborted":
        raise NotSolved("nobody asked the run to stop, yet it ended aborted: answer "
                        "aborted() only when ctl.is_aborted() is True")
    expect_success(run)
    if run.output != {"processed": 4}:
        raise NotSolved(f"with 4 items the output was {run.output!r}; expected "
                        "{'processed': 4}")
    if run.finished_at - run.started_at != 4:
        raise NotSolved(f"4 items should take 4 simulated seconds (ctx.sleep(1) each), "
                        f"not {run.finished_at - run.started_at:g}")

    # Cancel at t=3
    clock = ClockWithAlarms()

    def define(manager: Any) -> None:
        clock.at(3, lambda: manager.abort(manager.list_runs(limit=1)[0].id))

    tasks, run = run_task(stop_when_asked, {"items": 10}, clock=clock, define=define)
    if run.status.value == "success":
        raise NotSolved("Cancel was clicked at t=3, but the run went on and processed all "
                        "10 items: check ctl.is_aborted() before each item")
    if run.status.value == "failed":
        detail = f" ({run.error['type']}: {run.error['message']})" if run.error else ""
        raise NotSolved(f"asked to stop, the run failed{detail}; answer "
                        "ctl.response.aborted() instead of raising")
    [finish] = [e for e in tasks.lifecycle(run.id) if e.step is Step.FINISHED]
    if finish.detail.get("reason") != "the run returned aborted()":
        if run.error:
            raise NotSolved(f"after Cancel your run answered an error ({run.error['type']}: "
                            f"{run.error['message']}). The runner still marked it aborted, "
                            "because a stop was asked for, but an error says something went "
                            "wrong, and nothing did: answer ctl.response.aborted()")
        raise NotSolved("after Cancel your run did not answer aborted(), so the runner had "
                        "to stop it at the end of its iteration; check ctl.is_aborted() and "
                        "answer ctl.response.aborted() yourself")
    if run.finished_at > 4:
        raise NotSolved(f"asked to stop at t=3, the run stopped only at "
                        f"t={run.finished_at:g}; check ctl.is_aborted() before each item")
    return f"asked to stop at t=3, it answered aborted() at t={run.finished_at:g}"


# ---- 05.3 choose a retry policy -----------------------------------------------------------


def _api(fail_times: int | None) -> Callable[[Any, Any], Any]:
    def call(ctx: Any, ctl: Any) -> Any:
        ctx.sleep(0.5)
        if fail_times is None or ctx.attempt <= fail_times:
            raise ConnectionError("the API is down")
        return ctl.response.done({"answer": 42})

    return call


@exercise("05.3", solution="choose_policy")
def check_choose_policy(choose_policy: Any) -> str:
    from .. import RetryPolicy, Runner, TaskDefinition, TaskManager
    from ..run import Step

    if not callable(choose_policy):
        raise NotSolved("write a function: def choose_policy(): return RetryPolicy(...)")
    policy = choose_policy()
    if not isinstance(policy, RetryPolicy):
        raise NotSolved(f"choose_policy() returned {type(policy).__name__}; return a "
                        "RetryPolicy(max_attempts=..., backoff=..., factor=..., jitter=...)")
    if not any(issubclass(ConnectionError, kind) for kind in policy.retry_on):
        raise NotSolved("the policy does not retry ConnectionError; leave retry_on alone")
    if not 0.1 <= policy.jitter <= 0.25:
        raise NotSolved(f"jitter={policy.jitter:g}; rule 4 asks for 0.1 to 0.25")
    plain = RetryPolicy(max_attempts=policy.max_attempts, backoff=policy.backoff,
                        factor=policy.factor, max_backoff=policy.max_backoff, jitter=0)
    waits = [plain.delay(k) for k in range(1, 5)]
    if waits != [2.0, 4.0, 8.0, 16.0]:
        raise NotSolved(f"without jitter the waits would be {waits}; rule 3 wants 2, 4, 8, "
                        "16 ...: backoff=2, factor=2 (and max_backoff no lower than that)")

    # rule 1: three failures, then it works
    _, run = run_task(_api(3), retry=policy)
    if run.status.value != "success":
        raise NotSolved(f"with max_attempts={policy.max_attempts} a call that fails 3 times "
                        "and then works ends failed: it needs a 4th try")

    # rule 2: down for good; several runs, so several jitters
    tasks = TaskManager(clock=SimulatedClock())
    tasks.register(TaskDefinition("down", _api(None), retry=policy))
    runs = [tasks.trigger("down") for _ in range(20)]
    Runner(tasks, workers=20).run_until_idle()
    worst = 0.0
    for r in runs:
        final = tasks.get_run(r.id)
        if final.status.value != "failed":
            raise NotSolved(f"a run against an API that is down for good ended "
                            f"{final.status.value}")
        total = sum(float(e.detail["delay"]) for e in tasks.lifecycle(r.id)
                    if e.step is Step.RETRY_SCHEDULED)
        worst = max(worst, total)
    if worst > 40:
        raise NotSolved(f"with max_attempts={policy.max_attempts}, a run waited "
                        f"{worst:.1f} s in all before giving up; rule 2 allows 40 s")
    return (f"max_attempts={policy.max_attempts}: survives 3 failures, gives up after at most "
            f"{worst:.1f} s of waiting")


__all__ = ["ClockMailer", "ClockWithAlarms", "check_checkpointed_batch",
           "check_choose_policy", "check_stop_when_asked"]
