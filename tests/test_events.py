from __future__ import annotations

import pytest

from teachtasks import EventBus, InvalidArgumentError, PayloadNotJSONError


def test_fan_out_in_subscription_order_with_private_payloads() -> None:
    bus = EventBus()
    seen: list[tuple[str, object]] = []

    def first(event: str, payload: dict) -> str:
        payload["touched"] = True
        seen.append(("first", dict(payload)))
        return "a"

    def second(event: str, payload: dict) -> str:
        seen.append(("second", dict(payload)))
        return "b"

    bus.subscribe("user.signed_up", first)
    off = bus.subscribe("user.signed_up", second)
    assert bus.emit("user.signed_up", {"id": 1}) == ["a", "b"]
    assert seen == [("first", {"id": 1, "touched": True}), ("second", {"id": 1})]
    off()
    assert bus.emit("user.signed_up", {"id": 2}) == ["a"]
    assert bus.emit("nobody.listens") == []
    assert bus.events() == ["user.signed_up"]


def test_bad_emits() -> None:
    bus = EventBus()
    with pytest.raises(PayloadNotJSONError, match=r"\['when'\]"):
        bus.emit("x", {"when": object()})
    with pytest.raises(InvalidArgumentError, match="event name 'has space' is not valid"):
        bus.emit("has space", {})  # a bad argument, not a bad definition
    with pytest.raises(TypeError):
        bus.subscribe("x", "not callable")  # type: ignore[arg-type]
