"""The clock the engine reads: real, or simulated.

Why the engine never calls ``time.time()`` itself: lessons about time should
not depend on how fast the learner's laptop is. Every timestamp, delay, retry
backoff and time budget goes through a ``Clock``. ``RealClock`` is the wall
clock. ``SimulatedClock`` only moves when told to: a task that "sleeps" for an
hour finishes in microseconds, and the same scenario yields the same lifecycle
log, to the last digit, on every run and every machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .checks import check_number
from .errors import InvalidArgumentError


@runtime_checkable
class Clock(Protocol):
    """What the engine needs from a clock."""

    simulated: bool

    def now(self) -> float:
        """Seconds since the clock's epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (really, or on paper)."""
        ...


def _check_seconds(seconds: float) -> float:
    return float(check_number(seconds, "seconds", low=0))


class RealClock:
    """The wall clock: ``time.time()`` and ``time.sleep()``."""

    simulated = False

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(_check_seconds(seconds))

    def __repr__(self) -> str:
        return "RealClock()"


class SimulatedClock:
    """A clock that starts at ``start`` and moves only by ``sleep``/``advance``/``set``.

    ``Runner.run_until_idle`` drives it with a simulated pool
    (``simulation.py``): each simulated worker has its own point in time, and
    there ``sleep`` hands control to whichever worker's time is earliest.
    Anywhere else (``Runner.step()``, your own code) ``sleep`` simply moves the
    clock forward. Real worker threads (``Runner.start``) need a ``RealClock``.
    """

    simulated = True

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self._alarms: list[tuple[float, Callable[[], Any]]] = []
        #: the simulated pool driving this clock, while ``run_until_idle`` runs
        self._simulation: Any = None

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def _simulated_worker(self) -> Any:
        sim = self._simulation
        return sim if sim is not None and sim.is_actor() else None

    def at(self, when: float, function: Callable[[], Any]) -> None:
        """Call ``function()`` once the clock reaches ``when``: "someone clicks
        Cancel at t=5", on paper. Alarms ring in time order as time moves forward:
        with ``sleep``/``advance``, or in a simulated pool when the earliest
        worker reaches ``when`` (an idle pool does not wait for an alarm)."""
        if not callable(function):
            raise InvalidArgumentError("at() needs a function to call")
        self._alarms.append((float(when), function))
        self._alarms.sort(key=lambda alarm: alarm[0])

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (ringing any alarm passed); returns the new time.
        In a simulated worker, the other workers catch up meanwhile."""
        seconds = _check_seconds(seconds)
        sim = self._simulated_worker()
        if sim is not None:
            return float(sim.sleep(seconds))
        with self._lock:
            self._now = round(self._now + seconds, 9)
            now = self._now
        while self._alarms and self._alarms[0][0] <= now:
            _, function = self._alarms.pop(0)
            function()
        return now

    def set(self, when: float) -> None:
        """Jump to ``when``. The runner's simulation uses it to put each virtual
        worker at its own point in time; going back is allowed for that reason."""
        with self._lock:
            self._now = float(when)

    def __repr__(self) -> str:
        return f"SimulatedClock(now={self._now:g})"
