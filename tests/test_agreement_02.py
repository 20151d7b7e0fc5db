"""Notebook 02's event bus (its ``live-version`` cells) and ``teachtasks.EventBus``
agree: the same handlers are called, in the same order, with the same payloads,
for the same subscriptions and emits."""

from __future__ import annotations

from typing import Any

import pytest
from notebook_cells import live_namespace

from teachtasks import EventBus, Runner, SimulatedClock, TaskManager

NOTEBOOK = "02_events_not_cron.ipynb"


@pytest.fixture(scope="module")
def live() -> dict[str, Any]:
    return live_namespace(NOTEBOOK)


def play(bus: Any) -> list[tuple[str, str, Any]]:
    """One scenario: subscriptions and emits interleaved; returns every call."""
    calls: list[tuple[str, str, Any]] = []

    def handler(name: str):
        def handle(event: str, payload: Any) -> None:
            calls.append((name, event, payload))
        return handle

    welcome, analytics, fraud, newsletter = (handler(n) for n in
                                             ("welcome", "analytics", "fraud", "newsletter"))
    bus.subscribe("user.signed_up", welcome)
    bus.subscribe("user.signed_up", analytics)
    bus.subscribe("order.paid", analytics)
    bus.subscribe("user.signed_up", fraud)
    bus.emit("user.signed_up", {"email": "ada@example.com", "n": 1})
    bus.emit("order.paid", {"order": 7, "items": ["book", "pen"]})
    bus.emit("nobody.listens", {"n": 2})
    bus.subscribe("user.signed_up", newsletter)       # a listener added later comes last
    bus.subscribe("order.paid", welcome)
    bus.emit("user.signed_up", {"email": "bob@example.com", "n": 3})
    bus.emit("order.paid", {"order": 8, "items": []})
    bus.subscribe("user.signed_up", welcome)          # the same handler twice: called twice
    bus.emit("user.signed_up", {"email": "cy@example.com", "n": 4})
    return calls


def test_same_calls_in_the_same_order(live: dict[str, Any]) -> None:
    mine, library = play(live["Bus"]()), play(EventBus())
    assert mine == library
    assert [name for name, event, _ in mine if event == "user.signed_up"][:3] == [
        "welcome", "analytics", "fraud"]
    assert len(mine) == 3 + 1 + 4 + 2 + 5


def test_emit_with_no_listener_calls_nothing(live: dict[str, Any]) -> None:
    for bus in (live["Bus"](), EventBus()):
        calls: list[Any] = []
        bus.subscribe("a.b", lambda event, payload, calls=calls: calls.append(payload))
        bus.emit("c.d", {"x": 1})
        assert calls == []


def test_manager_emit_makes_one_run_per_listening_definition() -> None:
    """What the notebook says of TaskManager.emit: one pending run per listening
    definition, in definition order, none for others; the runner runs them."""
    tasks = TaskManager(clock=SimulatedClock())
    for name, seconds in (("send-welcome-email", 2), ("record-signup", 0.5), ("check-for-fraud", 1)):
        tasks.task(name, events=["user.signed_up"])(
            lambda ctx, ctl, s=seconds: (ctx.sleep(s), ctl.response.done())[1])
    tasks.task("ship-order", events=["order.paid"])(lambda ctx, ctl: ctl.response.done())
    runs = tasks.emit("user.signed_up", {"email": "ada@example.com"})
    assert [r.definition_id for r in runs] == ["send-welcome-email", "record-signup", "check-for-fraud"]
    assert {r.status.value for r in runs} == {"pending"}
    assert Runner(tasks, workers=3).run_until_idle() == 3
    assert {tasks.get_run(r.id).finished_at for r in runs} == {2.0, 0.5, 1.0}
