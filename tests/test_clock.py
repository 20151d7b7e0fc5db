from __future__ import annotations

import pytest

from teachtasks import InvalidArgumentError, RealClock, SimulatedClock


def test_simulated_clock_moves_only_when_told() -> None:
    clock = SimulatedClock(start=10)
    assert clock.now() == 10
    clock.sleep(0.1)
    clock.sleep(0.2)
    assert clock.now() == 10.3  # rounded: no 10.300000000000001
    clock.set(3)
    assert clock.now() == 3
    assert clock.simulated and not RealClock.simulated


@pytest.mark.parametrize("bad", [-1, float("nan"), "1", None, True])
def test_bad_sleep_is_refused(bad: object) -> None:
    clock = SimulatedClock()
    with pytest.raises(InvalidArgumentError):
        clock.sleep(bad)  # type: ignore[arg-type]
    assert clock.now() == 0


def test_real_clock_sleeps() -> None:
    clock = RealClock()
    before = clock.now()
    clock.sleep(0.01)
    assert clock.now() > before


def test_alarms_ring_in_time_order_when_time_passes() -> None:
    clock = SimulatedClock()
    rang: list[tuple[str, float]] = []
    clock.at(5, lambda: rang.append(("cancel", clock.now())))
    clock.at(2, lambda: rang.append(("early", clock.now())))
    clock.sleep(1)
    assert rang == []
    clock.sleep(3)
    assert rang == [("early", 4.0)]
    clock.sleep(10)
    assert rang == [("early", 4.0), ("cancel", 14.0)]
    clock.sleep(10)
    assert len(rang) == 2  # each alarm rings once
    with pytest.raises(InvalidArgumentError):
        clock.at(1, "not a function")  # type: ignore[arg-type]
