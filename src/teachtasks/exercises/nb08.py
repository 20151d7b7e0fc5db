"""Checks for notebook 08, "Managing tasks".

* 08.1 ``failed_run_ids(tasks, page_size)``: the ids of every failed run,
  newest first, read a page at a time with ``limit`` and ``offset``.
* 08.2 ``retrigger_failed(tasks, definition_id)``: re-trigger every failed run
  of one definition, however many pages they fill; return the new runs' ids.

Each check builds managers on a simulated clock and a memory store, with runs
that failed and runs that did not, and hands the learner's function a
``CallRecorder``: the manager itself, except that it remembers every
``list_runs`` call, so a check can see how the function paged.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from . import NotSolved, exercise


class CallRecorder:
    """A ``TaskManager`` that remembers the arguments of every ``list_runs`` call."""

    def __init__(self, tasks: Any) -> None:
        self._tasks = tasks
        self.calls: list[dict[str, Any]] = []

    def list_runs(self, **filters: Any) -> Any:
        self.calls.append(dict(filters))
        return self._tasks.list_runs(**filters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tasks, name)


def _shop(failing: dict[str, int], succeeding: int = 12) -> Any:
    """A manager whose runs ended: ``failing[definition]`` failed runs of each
    definition (``charge-card`` and ``resize-image``), and ``succeeding`` runs
    that worked, all triggered in a shuffled but fixed order."""
    import random

    from .. import Runner, SimulatedClock, TaskManager

    tasks = TaskManager(clock=SimulatedClock())

    def work(ctx: Any, ctl: Any) -> Any:
        ctx.sleep(1)
        if ctx.input["fail"]:
            raise RuntimeError(f"{ctx.input['item']} did not work")
        return ctl.response.done()

    for definition in ("charge-card", "resize-image"):
        tasks.task(definition)(work)
    plan = [(d, True) for d, n in failing.items() for _ in range(n)]
    plan += [("charge-card" if i % 2 else "resize-image", False) for i in range(succeeding)]
    random.Random(len(plan)).shuffle(plan)
    for n, (definition, fail) in enumerate(plan, start=1):
        tasks.trigger(definition, {"item": f"item-{n}", "fail": fail})
    Runner(tasks, workers=8).run_until_idle()
    return tasks


def _ids_in_order(tasks: Any, **filters: Any) -> list[str]:
    return [run.id for run in tasks.list_runs(limit=10_000, **filters)]


def _is_failed(value: Any) -> bool:
    return str(getattr(value, "value", value)).lower() == "failed"


# ---- 08.1 every failed run, a page at a time ------------------------------------------------------


@exercise("08.1", solution="failed_run_ids")
def check_failed_run_ids(failed_run_ids: Any) -> str:
    if not callable(failed_run_ids):
        raise NotSolved("write a function: def failed_run_ids(tasks, page_size): ...")
    cases = [({"charge-card": 6, "resize-image": 4}, 5), ({"charge-card": 23}, 5),
             ({}, 3), ({"charge-card": 70, "resize-image": 60}, 100)]
    for failing, page_size in cases:
        real = _shop(failing)
        want = _ids_in_order(real, status="failed")
        tasks = CallRecorder(real)
        got = failed_run_ids(tasks, page_size)
        where = f"with {len(want)} failed runs and page_size={page_size}"
        if not isinstance(got, list):
            raise NotSolved(f"{where} you returned {type(got).__name__}; return a list of ids")
        if not tasks.calls:
            raise NotSolved(f"{where} your function never called tasks.list_runs(...)")
        for call in tasks.calls:
            if call.get("limit", 100) > page_size:
                raise NotSolved(f"{where} you asked for limit={call.get('limit', 100)}; ask for "
                                "at most page_size runs at a time: limit=page_size")
            if not _is_failed(call.get("status")):
                raise NotSolved(f"{where} you called list_runs({_show(call)}); let the store "
                                "do the filtering: status='failed'")
        pages = len(want) // page_size + 1  # the last one shorter than page_size
        if len(tasks.calls) > pages + 1:
            raise NotSolved(f"{where} you called list_runs {len(tasks.calls)} times; "
                            f"{pages} pages of page_size runs are enough (stop at the first "
                            "page shorter than page_size)")
        if any(not isinstance(i, str) for i in got):
            raise NotSolved(f"{where} your list holds {type(got[0]).__name__} values; return "
                            "the ids: run.id")
        if Counter(got) != Counter(want):
            if set(got) < set(want):
                raise NotSolved(f"{where} you returned {len(got)} of the {len(want)} ids: keep "
                                "asking for the next page (offset += page_size) until a page "
                                "comes back shorter than page_size")
            raise NotSolved(f"{where} you returned {len(got)} ids, {len(set(got) - set(want))} "
                            "of them not of a failed run or twice; expected each failed run "
                            "once")
        if got != want:
            raise NotSolved(f"{where} you returned the right ids in another order; keep "
                            "list_runs' order, newest first")
    return "0, 10, 23 and 130 failed runs, each found once, a page at a time"


def _show(call: dict[str, Any]) -> str:
    return ", ".join(f"{k}={getattr(v, 'value', v)!r}" for k, v in call.items())


# ---- 08.2 re-trigger every failed run of one definition -------------------------------------------


@exercise("08.2", solution="retrigger_failed")
def check_retrigger_failed(retrigger_failed: Any) -> str:
    if not callable(retrigger_failed):
        raise NotSolved("write a function: def retrigger_failed(tasks, definition_id): ...")
    cases = [({"charge-card": 130, "resize-image": 7}, "charge-card"),
             ({"charge-card": 3, "resize-image": 5}, "resize-image"),
             ({"resize-image": 2}, "charge-card")]
    for failing, definition in cases:
        real = _shop(failing)
        before = {run.id: run for run in real.list_runs(limit=10_000)}
        failed = [run for run in before.values()
                  if run.status.value == "failed" and run.definition_id == definition]
        got = retrigger_failed(CallRecorder(real), definition)
        where = f"with {len(failed)} failed {definition} runs"
        after = real.list_runs(limit=10_000)
        new = [run for run in after if run.id not in before]
        if not isinstance(got, list) or any(not isinstance(i, str) for i in got):
            raise NotSolved(f"{where} you returned {got!r:.60}; return a list of the new "
                            "runs' ids (the .id of what tasks.retrigger(...) returns)")
        others = sorted({run.definition_id for run in new} - {definition})
        if others:
            raise NotSolved(f"{where} you also re-triggered runs of {others}; only "
                            f"{definition} was asked for: filter with definition_id=...")
        if len(new) < len(failed):
            raise NotSolved(f"{where} you re-triggered {len(new)} of them: list_runs gives "
                            "one page (100 runs unless you ask otherwise); go through every "
                            "page")
        wanted = Counter(run.input["item"] for run in failed)
        made = Counter(run.input["item"] for run in new)
        if made != wanted:
            extra = sorted(made - wanted)
            raise NotSolved(f"{where} the new runs do not match the failed ones one to one"
                            + (f" (for example {extra[0]} came twice, or had not failed)"
                               if extra else ""))
        if any(run.status.value != "pending" for run in new):
            raise NotSolved(f"{where} the new runs should wait, pending, for a runner; "
                            "do not run them")
        if any(real.get_run(run.id).status.value != "failed" for run in failed):
            raise NotSolved(f"{where} an old failed run changed or disappeared; re-triggering "
                            "makes a new run and leaves the old one as it was")
        if sorted(got) != sorted(run.id for run in new):
            raise NotSolved(f"{where} you returned {len(got)} ids, but {len(new)} new runs "
                            "were made; return the id of each new run")
    return "130 failed runs over two pages, and two small cases: each re-triggered once"


__all__ = ["CallRecorder", "check_failed_run_ids", "check_retrigger_failed"]
