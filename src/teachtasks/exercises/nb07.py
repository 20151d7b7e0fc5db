"""Checks for notebook 07, "When things go wrong".

* 07.1 ``transient_only()``: a ``RetryPolicy`` that retries what can get
  better (a connection error, a timeout) and nothing else.
* 07.2 ``send_receipt(ctx, ctl)``: an idempotent task body: at most one
  receipt per order, however many runs and executions there are.
* 07.3 ``order_payload(order)``: an order made of Python objects, turned into a
  JSON payload a trigger accepts.

Every check runs on a simulated clock and a memory task store; 07.2 makes (and
removes) its own temporary SQLite file for the shop's tables.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import NotSolved, exercise

# ---- 07.1 retry only what can get better -------------------------------------------------------


def _calls(failures: list[type[BaseException]]) -> Any:
    """A run function that raises ``failures[k]`` on try k+1, then works."""
    def call(ctx: Any, ctl: Any) -> Any:
        ctx.sleep(0.5)
        if ctx.attempt <= len(failures):
            raise failures[ctx.attempt - 1](f"try {ctx.attempt} failed")
        return ctl.response.done({"rate": 0.92})

    return call


def _down_for_good(ctx: Any, ctl: Any) -> Any:
    ctx.sleep(0.5)
    raise ConnectionError("the rates service is down")


@exercise("07.1", solution="transient_only")
def check_transient_only(transient_only: Any) -> str:
    from .. import RetryPolicy, Runner, SimulatedClock, TaskDefinition, TaskManager
    from ..run import Step
    from .nb04 import run_task

    if not callable(transient_only):
        raise NotSolved("write a function: def transient_only(): return RetryPolicy(...)")
    policy = transient_only()
    if not isinstance(policy, RetryPolicy):
        raise NotSolved(f"transient_only() returned {type(policy).__name__}; return a "
                        "RetryPolicy(...)")
    # rule 1: a timeout and a lost connection pass by themselves
    for failures in ([TimeoutError, ConnectionError], [ConnectionError, ConnectionError]):
        _, run = run_task(_calls(failures), retry=policy)
        if run.status.value != "success":
            names = " then ".join(f.__name__ for f in failures)
            raise NotSolved(f"a call that failed with {names} and then worked ended "
                            f"{run.status.value} after {run.attempt} tr{'y' if run.attempt == 1 else 'ies'}: retry "
                            "ConnectionError and TimeoutError (retry_on=...), with enough tries")
    # rule 2: bad input does not get better
    for kind in (ValueError, KeyError):
        _, run = run_task(_calls([kind]), retry=policy)
        if run.attempt != 1 or run.status.value != "failed":
            raise NotSolved(f"a {kind.__name__} (bad input: the same input fails the same way "
                            f"every time) was tried {run.attempt} times; retry only "
                            "ConnectionError and TimeoutError: retry_on=(ConnectionError, "
                            "TimeoutError)")
    # rule 3: down for good: at least 4 tries, at most 20 s of waiting, whatever the jitter
    if not 0.05 <= policy.jitter <= 0.5:
        raise NotSolved(f"jitter={policy.jitter:g}; rule 4 asks for 0.05 to 0.5")
    tasks = TaskManager(clock=SimulatedClock())
    tasks.register(TaskDefinition("down", _down_for_good, retry=policy))
    runs = [tasks.trigger("down") for _ in range(20)]
    Runner(tasks, workers=20).run_until_idle(max_steps=100_000)
    worst, tries = 0.0, set()
    for run in runs:
        final = tasks.get_run(run.id)
        tries.add(final.attempt)
        worst = max(worst, sum(float(e.detail["delay"]) for e in tasks.lifecycle(run.id)
                               if e.step is Step.RETRY_SCHEDULED))
    if min(tries) < 4:
        raise NotSolved(f"against a service that is down for good a run gave up after "
                        f"{min(tries)} tries; rule 3 wants at least 4")
    if worst > 20:
        raise NotSolved(f"a run waited {worst:.1f} s in all before giving up; rule 3 allows "
                        "20 s (count the waits: backoff, backoff x factor, ... and add the "
                        "jitter)")
    return (f"timeouts and lost connections retried, bad input failed at once; down for "
            f"good: {min(tries)} tries and at most {worst:.1f} s of waiting")


# ---- 07.2 an idempotent task body ------------------------------------------------------------


def create_receipt_tables(path: str) -> None:
    """The two tables of exercise 07.2 (the notebook describes them)."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE receipts (order_id TEXT PRIMARY KEY)")
        db.execute("CREATE TABLE outbox (n INTEGER PRIMARY KEY AUTOINCREMENT, "
                   "order_id TEXT NOT NULL, subject TEXT NOT NULL)")
        db.commit()


def _outbox(path: str) -> Counter[str]:
    with closing(sqlite3.connect(path)) as db:
        return Counter(row[0] for row in db.execute("SELECT order_id FROM outbox"))


def _receipt_runs(send_receipt: Any, shop_db: str, orders: list[str],
                  crash_after_first_try: bool) -> list[Any]:
    """Run ``send_receipt`` once per entry of ``orders`` (one run each), in a
    fresh manager. With ``crash_after_first_try``, every run's first execution
    is followed by a ConnectionError (as if the worker died right after the
    body), so the runner executes the body a second time for the same run."""
    from .. import RetryPolicy, Runner, SimulatedClock, TaskDefinition, TaskManager

    def body(ctx: Any, ctl: Any) -> Any:
        response = send_receipt(ctx, ctl)
        if crash_after_first_try and ctx.attempt == 1:
            raise ConnectionError("the worker lost its database connection after the body ran")
        return response

    tasks = TaskManager(clock=SimulatedClock(), services={"shop_db": shop_db})
    tasks.register(TaskDefinition("send-receipt", body, retry=RetryPolicy(
        max_attempts=2, backoff=1, jitter=0, retry_on=ConnectionError)))
    runs = [tasks.trigger("send-receipt", {"order_id": order}) for order in orders]
    Runner(tasks, workers=2).run_until_idle(max_steps=1000)
    finals = [tasks.get_run(run.id) for run in runs]
    for run in finals:
        if run.error and run.error.get("type") == "NotImplementedError":
            raise NotImplementedError
        if run.status.value != "success":
            detail = f" ({run.error['type']}: {run.error['message']})" if run.error else ""
            raise NotSolved(f"a run for order {run.input['order_id']} ended "
                            f"{run.status.value}{detail}, not success")
    return finals


@exercise("07.2", solution="send_receipt")
def check_send_receipt(send_receipt: Any) -> str:
    if not callable(send_receipt):
        raise NotSolved("write a function: def send_receipt(ctx, ctl): ...")
    folder = Path(tempfile.mkdtemp(prefix="check-07-2-"))
    try:
        # three runs: two for order B-1 (a customer who clicked twice), one for B-2
        shop_db = str(folder / "shop-a.db")
        create_receipt_tables(shop_db)
        _receipt_runs(send_receipt, shop_db, ["B-1", "B-2", "B-1"], crash_after_first_try=False)
        sent = _outbox(shop_db)
        if not sent:
            raise NotSolved("nothing reached the outbox: the first run for an order must "
                            "INSERT one row into outbox")
        if sent["B-2"] == 0:
            raise NotSolved("order B-2 got no receipt at all: every order needs one")
        if sent["B-1"] > 1:
            raise NotSolved(f"order B-1 had two runs and got {sent['B-1']} receipts: record the "
                            "sending in the receipts table keyed by the ORDER id (a run id "
                            "is new for every run), and send only if that record is new")
        if set(sent) - {"B-1", "B-2"}:
            raise NotSolved(f"the outbox holds receipts for {sorted(sent)}; use "
                            "ctx.input['order_id'] as the order_id column")
        # every run executed twice, as after a worker that died right after the body
        shop_db = str(folder / "shop-b.db")
        create_receipt_tables(shop_db)
        _receipt_runs(send_receipt, shop_db, ["C-1", "C-2", "C-3"], crash_after_first_try=True)
        sent = _outbox(shop_db)
        twice = sorted(order for order, n in sent.items() if n > 1)
        if twice:
            raise NotSolved(f"when each run executed twice, {', '.join(twice)} got "
                            f"{sent[twice[0]]} receipts: check the receipts table before "
                            "sending, in the same transaction as the send")
        missing = sorted({"C-1", "C-2", "C-3"} - set(sent))
        if missing:
            raise NotSolved(f"when each run executed twice, {', '.join(missing)} got no "
                            "receipt at all")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return ("two runs for one order, and runs executed twice: every order got exactly "
            "one receipt")


# ---- 07.3 an order as a JSON payload --------------------------------------------------------------

class _Tags(set):  # type: ignore[type-arg]
    """A set that lists its items backwards (a real set's order is anyone's guess),
    so that a payload that does not sort them cannot pass by luck."""

    def __iter__(self) -> Any:
        return iter(sorted(set.__iter__(self), reverse=True))


_ORDERS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"id": "A-1003", "placed_at": datetime(2026, 3, 2, 9, 30),
      "total": Decimal("19.90"), "tags": _Tags({"gift", "express"})},
     {"id": "A-1003", "placed_at": "2026-03-02T09:30:00", "total": "19.90",
      "tags": ["express", "gift"]}),
    ({"id": "A-1004", "placed_at": datetime(2026, 12, 31, 23, 59, 5, tzinfo=UTC),
      "total": Decimal("0.10"), "tags": set()},
     {"id": "A-1004", "placed_at": "2026-12-31T23:59:05+00:00", "total": "0.10", "tags": []}),
    ({"id": "A-1005", "placed_at": datetime(2027, 1, 5, 8, 0, 0, 250000),
      "total": Decimal("1200"), "tags": _Tags({"b2b", "invoice", "bulk"})},
     {"id": "A-1005", "placed_at": "2027-01-05T08:00:00.250000", "total": "1200",
      "tags": ["b2b", "bulk", "invoice"]}),
]


@exercise("07.3", solution="order_payload")
def check_order_payload(order_payload: Any) -> str:
    import copy

    from ..errors import PayloadNotJSONError
    from ..payload import check_json

    if not callable(order_payload):
        raise NotSolved("write a function: def order_payload(order): return {...}")
    for order, want in _ORDERS:
        original = copy.deepcopy(order)
        got = order_payload(order)
        try:
            check_json(got, "your payload")
        except PayloadNotJSONError as error:
            raise NotSolved(f"for order {order['id']}: {error}") from None
        if order != original:
            raise NotSolved("order_payload changed the order it was given; build a new dict")
        if not isinstance(got, dict) or set(got) != set(want):
            keys = sorted(got) if isinstance(got, dict) else type(got).__name__
            raise NotSolved(f"for order {order['id']} you returned {keys}; expected a dict "
                            f"with the keys {sorted(want)}")
        for key in ("id", "placed_at", "total", "tags"):
            if got[key] != want[key] or type(got[key]) is not type(want[key]):
                hint = {
                    "placed_at": "use order['placed_at'].isoformat()",
                    "total": "use str(order['total']): text keeps every digit of a Decimal "
                             "(a float would turn 0.10 into 0.1 and some sums into "
                             "0.30000000000000004)",
                    "tags": "use sorted(order['tags']): a list, always in the same order",
                }.get(key, "keep it as it is")
                raise NotSolved(f"for order {order['id']}, {key} came out as {got[key]!r}; "
                                f"expected {want[key]!r} ({hint})")
    return "three orders: every value JSON, nothing lost (a Decimal kept as text)"


__all__ = ["check_order_payload", "check_send_receipt", "check_transient_only",
           "create_receipt_tables"]
