"""Checks for notebook 06, "The lifecycle, visualized".

* 06.1 ``queue_wait(entries, run_id)``: how long a run waited for a worker,
  read from the lifecycle log.
* 06.2 ``count_transitions(entries)``: how many times each status change
  happened, the numbers the state chart writes on its arrows.
* 06.3 ``longest_attempt(entries)``: which run held a worker the longest in
  one attempt, and which worker; the culprit of a slow night.

Every check reads logs made on a simulated clock, so the right answer is the
same every time, and compares the learner's answer with what the library's
own ``teachtasks.viz`` functions read from the same log. Each check tries
several logs (the demo scenario with different numbers of workers, and three
"slow nights"), so an answer that fits one picture by luck does not pass.
"""

from __future__ import annotations

import math
import random
from typing import Any

from . import NotSolved, exercise

#: The nights ``slow_night`` can build: (seed, workers, seconds of the long export).
NIGHTS: dict[int, tuple[int, int, float]] = {1: (11, 3, 9.0), 2: (23, 3, 8.5), 3: (5, 4, 9.5)}


def slow_night(night: int = 1) -> Any:
    """A ``TaskManager`` on a simulated clock after a night of work that went
    slowly: thumbnails arrive every half second, a shop's nightly jobs run
    beside them, and one of those jobs holds a worker for a long time in a
    single attempt. Three other runs look long for other reasons: one lives
    long because it waits between its iterations (``continue_`` with a
    delay), one works long in all but in many short iterations, and one is
    long from start to finish only because of a retry's backoff. Nights 1, 2
    and 3 shuffle the order (so the run ids differ), the timings and the
    number of workers."""
    from .. import RetryPolicy, Runner, SimulatedClock, TaskManager

    seed, workers, export_seconds = NIGHTS[night]
    rng = random.Random(seed)
    tasks = TaskManager(clock=SimulatedClock())

    @tasks.task("make-thumbnail")
    def make_thumbnail(ctx: Any, ctl: Any) -> Any:
        ctx.sleep(ctx.input["seconds"])
        return ctl.response.done()

    @tasks.task("export-orders")
    def export_orders(ctx: Any, ctl: Any) -> Any:
        ctx.sleep(ctx.input["seconds"])  # one long attempt: nothing else can use this worker
        return ctl.response.done()

    @tasks.task("sync-stock", max_iterations=20)
    def sync_stock(ctx: Any, ctl: Any) -> Any:
        ctx.sleep(1.0)  # one shop a second, one shop per iteration
        if ctx.iteration < ctx.input["shops"]:
            return ctl.response.continue_()
        return ctl.response.done()

    @tasks.task("poll-supplier", max_iterations=10)
    def poll_supplier(ctx: Any, ctl: Any) -> Any:
        ctx.sleep(0.5)
        if ctx.iteration < 3:
            return ctl.response.continue_(delay=6.0)  # look again in 6 s
        return ctl.response.done()

    @tasks.task("call-api", retry=RetryPolicy(max_attempts=2, backoff=9.0, jitter=0))
    def call_api(ctx: Any, ctl: Any) -> Any:
        ctx.sleep(0.5)
        if ctx.attempt == 1:
            raise ConnectionError("the API did not answer")
        return ctl.response.done()

    jobs: list[tuple[str, dict[str, Any], float]] = [
        ("export-orders", {"seconds": export_seconds}, 0.0),
        ("export-orders", {"seconds": round(rng.uniform(1.5, 2.5), 2)}, 0.0),
        ("sync-stock", {"shops": 10 + rng.randint(0, 2)}, 0.0),
        ("poll-supplier", {}, 0.0),
        ("call-api", {}, 0.0),
    ]
    rng.shuffle(jobs)
    for n in range(14):  # thumbnails arrive every half second
        jobs.append(("make-thumbnail", {"seconds": round(rng.uniform(0.4, 0.9), 2)}, 0.5 * n))
    for definition_id, data, delay in jobs:
        tasks.trigger(definition_id, data, delay=delay)
    Runner(tasks, workers=workers).run_until_idle()
    return tasks


def _logs() -> list[tuple[str, Any]]:
    """The logs every check tries: (a name for messages, the entries)."""
    from ..viz import demo_manager

    logs = [(f"the demo with {w} worker{'s' if w > 1 else ''}",
             demo_manager(workers=w).lifecycle()) for w in (3, 1)]
    logs += [(f"slow night {n}", slow_night(n).lifecycle()) for n in NIGHTS]
    return logs


def _names_used(function: Any) -> set[str]:
    """Every global or attribute name a function's code (and the code of the
    functions defined inside it) refers to."""
    names: set[str] = set()
    stack = [getattr(function, "__code__", None)]
    while stack:
        code = stack.pop()
        if code is None:
            continue
        names.update(code.co_names)
        stack.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return names


def _refuse_helper(function: Any, helper: str) -> None:
    """The exercise asks for the walk through the log that ``helper`` does:
    an answer that calls it has not done the exercise."""
    if helper in _names_used(function):
        raise NotSolved(f"your function uses {helper}, the library's answer; walk through "
                        "the entries yourself")


# ---- 06.1 queue wait -------------------------------------------------------------------


def _expected_waits(entries: Any) -> dict[str, float | None]:
    from ..viz import run_times

    return {t.run_id: (t.queue_wait if t.first_started is not None else None)
            for t in run_times(entries)}


@exercise("06.1", solution="queue_wait")
def check_queue_wait(queue_wait: Any) -> str:
    from ..run import Step

    if not callable(queue_wait):
        raise NotSolved("write a function: def queue_wait(entries, run_id): ...")
    checked = 0
    for name, entries in _logs():
        for run_id, want in _expected_waits(entries).items():
            got = queue_wait(entries, run_id)
            if want is None:
                if got is not None:
                    raise NotSolved(f"in {name}, {run_id} never started (no 'iteration "
                                    f"started' entry), so its queue wait is None, not {got!r}")
                checked += 1
                continue
            if got is None or not isinstance(got, int | float) or isinstance(got, bool):
                raise NotSolved(f"in {name}, queue_wait(entries, {run_id!r}) returned {got!r}; "
                                f"expected a number of seconds ({want:g})")
            if not math.isclose(got, want, abs_tol=1e-6):
                mine = [e for e in entries if e.run_id == run_id]
                trigger = mine[0]
                delay = trigger.detail.get("delay", 0)
                hint = ""
                if delay and math.isclose(got, want + float(delay), abs_tol=1e-6):
                    hint = (f": it was triggered at t={trigger.time:g} with delay={delay:g}, "
                            f"so it was due only at t={trigger.time + float(delay):g}")
                elif any(e.step is Step.RETRY_SCHEDULED or e.step is Step.REQUEUED
                         for e in mine):
                    hint = ": count only the wait before its first 'iteration started'"
                raise NotSolved(f"in {name}, {run_id} waited {want:g} s, your function says "
                                f"{got:g}{hint}")
            checked += 1
    return f"the right queue wait for all {checked} runs of 5 logs"


# ---- 06.2 count the transitions -------------------------------------------------------------


def _normalise(answer: Any) -> dict[tuple[Any, Any], int]:
    from ..run import Status

    if not isinstance(answer, dict):
        raise NotSolved(f"count_transitions returned {type(answer).__name__}; return a dict "
                        "like {('pending', 'running'): 10, ...}")
    out: dict[tuple[Any, Any], int] = {}
    for key, n in answer.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise NotSolved(f"each key must be a pair (old status, new status), not {key!r}")
        try:
            pair = (Status.parse(key[0]), Status.parse(key[1]))
        except Exception:
            raise NotSolved(f"{key!r} is not a pair of statuses") from None
        if n:
            out[pair] = out.get(pair, 0) + n
    return out


@exercise("06.2", solution="count_transitions")
def check_count_transitions(count_transitions: Any) -> str:
    from ..viz import transition_counts

    if not callable(count_transitions):
        raise NotSolved("write a function: def count_transitions(entries): ...")
    _refuse_helper(count_transitions, "transition_counts")
    total = 0
    for name, entries in _logs():
        want = {pair: n for pair, n in transition_counts(entries).items() if n}
        got = _normalise(count_transitions(entries))
        for pair in sorted(set(want) | set(got), key=lambda p: (p[0].value, p[1].value)):
            if want.get(pair, 0) != got.get(pair, 0):
                old, new = pair
                if pair not in want:
                    raise NotSolved(f"in {name} you counted {old.value} -> {new.value} "
                                    f"{got[pair]} time(s), but no run ever made that change; "
                                    "compare each entry only with the previous entry of the "
                                    "same run")
                raise NotSolved(f"in {name}, {old.value} -> {new.value} happened "
                                f"{want[pair]} time(s); you counted {got.get(pair, 0)}")
        total += sum(want.values())
    return f"every status change of 5 logs counted right ({total} in all)"


# ---- 06.3 the run that held a worker ---------------------------------------------------------


def _longest(entries: Any) -> tuple[str, str]:
    from ..viz import bars

    longest = max(bars(entries), key=lambda b: b.duration)
    return longest.run_id, str(longest.worker)


def _why_not(entries: Any, run_id: str) -> str:
    """Why ``run_id`` is not the run that held a worker longest in one attempt."""
    from ..viz import bars, run_times

    mine = [b for b in bars(entries) if b.run_id == run_id]
    times = {t.run_id: t for t in run_times(entries)}
    if not mine or run_id not in times:
        return "is not a run of this log"
    t = times[run_id]
    longest = max(b.duration for b in mine)
    if len(mine) > 1:
        return (f"lived {t.total:g} s and worked {t.working:g} s in all, but in "
                f"{len(mine)} attempts of at most {longest:g} s each; after each attempt it "
                "let go of its worker, which could take other runs")
    return f"held its worker for {longest:g} s; another attempt held one longer"


@exercise("06.3", solution="longest_attempt")
def check_longest_attempt(longest_attempt: Any) -> str:
    if not callable(longest_attempt):
        raise NotSolved("write a function: def longest_attempt(entries): ...")
    _refuse_helper(longest_attempt, "bars")
    found = []
    for night in NIGHTS:
        entries = slow_night(night).lifecycle()
        run_id, worker = _longest(entries)
        got = longest_attempt(entries)
        if not (isinstance(got, tuple | list) and len(got) == 2):
            raise NotSolved(f"on night {night} longest_attempt returned {got!r}; return a "
                            "pair (run id, worker), like ('run-3', 'worker-2')")
        got_run, got_worker = got
        if got_run != run_id:
            why = _why_not(entries, str(got_run))
            raise NotSolved(f"on night {night} you named {got_run!r}; it {why}. Pair each "
                            "'iteration started' entry with the same run's next entry that "
                            "ends the attempt")
        if got_worker != worker:
            raise NotSolved(f"on night {night}, {run_id} is right, but it ran on {worker}, "
                            f"not {got_worker!r}: take the worker of its 'iteration started' "
                            "entry")
        found.append(f"night {night}: {run_id} on {worker}")
    return "; ".join(found)


__all__ = ["NIGHTS", "check_count_transitions", "check_longest_attempt", "check_queue_wait",
           "slow_night"]
