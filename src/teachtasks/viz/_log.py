"""Reading the lifecycle log: the few questions every picture asks of it.

Why a module of its own: the timeline, the state chart, the replay and the
throughput charts all read the same log (a list of ``LifecycleEntry``), and
must read it the same way: in the clock's order ``(time, seq)``, run by run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from ..run import LifecycleEntry


def in_clock_order(entries: Iterable[LifecycleEntry]) -> list[LifecycleEntry]:
    """The entries sorted by ``(time, seq)``, as ``manager.lifecycle()`` returns
    them. Sorting is stable, so entries written by hand (``seq`` 0) keep the
    order they were given in."""
    return sorted(entries, key=lambda e: (e.time, e.seq))


def by_run(entries: Iterable[LifecycleEntry]) -> dict[str, list[LifecycleEntry]]:
    """Each run's entries in the clock's order, runs in the order they first
    appear in the log."""
    runs: dict[str, list[LifecycleEntry]] = {}
    for entry in in_clock_order(entries):
        runs.setdefault(entry.run_id, []).append(entry)
    return runs


def natural_key(name: str) -> tuple[object, ...]:
    """Sort ``worker-2`` before ``worker-10`` and ``run-9`` before ``run-10``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def time_span(entries: Iterable[LifecycleEntry]) -> tuple[float, float]:
    """The first and last time in the log (``(0, 0)`` for an empty log)."""
    times = [e.time for e in entries]
    return (min(times), max(times)) if times else (0.0, 0.0)


#: A log whose first time is at least this is on a wall clock (seconds since
#: 1970, e.g. 1795508951.9): only differences between its times mean anything.
WALL_CLOCK = 1e8


def since_first(entries: Iterable[LifecycleEntry]) -> tuple[list[LifecycleEntry], bool]:
    """The entries in clock order, and whether their times were moved: a
    wall-clock log is shifted so that its first entry is at 0 (pictures and
    captions then read 0.0, 0.3, 1.2 s instead of 1795508951.928). A
    simulated clock's log, which starts near 0 already, is left as it is."""
    ordered = in_clock_order(entries)
    if not ordered or ordered[0].time < WALL_CLOCK:
        return ordered, False
    start = ordered[0].time
    return [replace(e, time=e.time - start) for e in ordered], True


def time_label(shifted: bool) -> str:
    """The x-axis label of a time chart."""
    return "time (seconds since the first entry)" if shifted else "time (seconds on the clock)"
