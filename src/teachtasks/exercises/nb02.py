"""Self-checks for notebook 02, "Events, not cron"."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..events import EventBus
from . import NotSolved, exercise


@exercise("02.1", solution="once",
          hang_hint="does your wrapper call itself, or emit the event it listens to?")
def check_once(once: Callable[..., Any]) -> str:
    """``once(bus, event, handler)`` subscribes ``handler`` for the first emit only."""
    bus = EventBus()
    calls: list[tuple[str, object]] = []

    def greet(event: str, payload: Any) -> str:
        calls.append(("greet", payload))
        return f"hello {payload['n']}"

    def count(event: str, payload: Any) -> None:
        calls.append(("count", payload))

    bus.subscribe("user.signed_up", count)
    cancel = once(bus, "user.signed_up", greet)
    if not callable(cancel):
        raise NotSolved(
            f"once should return the unsubscribe function (what bus.subscribe returned), "
            f"not {cancel!r}"
        )
    if calls:
        raise NotSolved("once must not call the handler itself; only an emit should")
    bus.emit("something.else", {"n": 0})
    if calls:
        raise NotSolved("the handler was called for an event it did not subscribe to")
    first = bus.emit("user.signed_up", {"n": 1})
    if ("greet", {"n": 1}) not in calls:
        raise NotSolved("after once(...), the first emit did not call the handler")
    if "hello 1" not in first:
        raise NotSolved(
            "the first emit should hand back what the handler returned "
            f"(emit returned {first!r}); return handler(event, payload) from your wrapper"
        )
    bus.emit("user.signed_up", {"n": 2})
    bus.emit("user.signed_up", {"n": 3})
    greets = [p for who, p in calls if who == "greet"]
    if greets != [{"n": 1}]:
        raise NotSolved(f"the handler should run for the first emit only; it saw {greets}")
    counts = [p for who, p in calls if who == "count"]
    if counts != [{"n": 1}, {"n": 2}, {"n": 3}]:
        raise NotSolved("once changed the other handlers: they must still hear every emit")

    # two `once` handlers on the same event: each fires once, on the first emit
    bus, seen = EventBus(), []
    once(bus, "order.paid", lambda e, p: seen.append(("a", p["n"])))
    once(bus, "order.paid", lambda e, p: seen.append(("b", p["n"])))
    for n in (1, 2):
        bus.emit("order.paid", {"n": n})
    if sorted(seen) != [("a", 1), ("b", 1)]:
        raise NotSolved(f"two once-handlers on one event should each run once; they ran as {seen}")

    # cancelled before it fires: never runs
    bus, seen = EventBus(), []
    cancel = once(bus, "order.paid", lambda e, p: seen.append(p))
    cancel()
    bus.emit("order.paid", {"n": 1})
    if seen:
        raise NotSolved("calling what once returned should cancel it before it fires")
    return "the handler hears the first emit only, and the others are untouched"


def _expected_delays(times: list[float], every: float) -> list[float]:
    return [math.ceil(t / every) * every - t for t in times]


@exercise("02.2", solution="polling_delays")
def check_polling_delays(polling_delays: Callable[..., Any]) -> str:
    """``polling_delays(signup_times, every)``: the wait from each sign-up to
    the first poll at or after it, with polls at 0, every, 2*every, ..."""
    cases: list[tuple[list[float], float]] = [
        ([130, 610, 655], 300),
        ([0, 300, 301], 300),
        ([130, 610, 655, 1510, 2210, 2290, 3010, 3470], 60),
        ([130, 610, 655, 1510, 2210, 2290, 3010, 3470], 900),
        ([1.5, 2.5, 2.0], 1),
        ([], 300),
    ]
    for times, every in cases:
        got = polling_delays(list(times), every)
        want = _expected_delays(times, every)
        if got is None:
            raise NotSolved("polling_delays returned None; return the list of delays")
        try:
            got = list(got)
        except TypeError:
            raise NotSolved(f"return a list of numbers, not {got!r}") from None
        if len(got) != len(want):
            raise NotSolved(
                f"for sign-ups at {times} you returned {len(got)} delays; "
                f"there should be one per sign-up ({len(want)})"
            )
        for t, g, w in zip(times, got, want, strict=True):
            if not isinstance(g, int | float) or isinstance(g, bool) or not math.isclose(
                g, w, abs_tol=1e-9
            ):
                hint = ""
                if t % every == 0:
                    hint = " (a sign-up at the very moment of a poll is found by that poll: delay 0)"
                raise NotSolved(
                    f"polling every {every} s, a sign-up at {t} s waits {w:g} s, "
                    f"but your function says {g!r}{hint}"
                )
    return "you can predict every polling delay without running the simulation"
