"""Throughput: how long runs waited, how long they worked, how fast the queue drained.

Why: "is my queue keeping up?" is the first question anyone running background
tasks asks. Two numbers per run answer most of it: the queue wait (from the
moment it was due to the moment a worker took it) and the working time (the
sum of its attempts). Runs finished per second over time shows whether the
workers keep up with the triggers, and how much more workers would help.

``run_times`` and ``finished_per_second`` give those numbers as data;
``throughput`` draws them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..run import FINAL_STATUSES, LifecycleEntry, Status, Step
from ._figure import label_points, new_figure
from ._log import by_run, in_clock_order, since_first, time_label, time_span
from .colors import (
    INK,
    STATUS_COLORS,
    STATUS_MARKERS,
    status_marker_handle,
    status_patch,
    status_style,
)
from .projector import drawn_in_look, fs, look, lw
from .timeline import bars


@dataclass(frozen=True, slots=True)
class RunTimes:
    """Where one run's time went (seconds on the clock)."""

    run_id: str
    definition_id: str
    triggered: float
    #: when it was due: triggered plus its trigger ``delay``
    due: float
    #: when its first attempt started (None if it never started)
    first_started: float | None
    #: when it reached a final status (None if it has not yet)
    finished: float | None
    status: Status
    #: due -> first attempt: the time it waited for a free worker
    queue_wait: float
    #: the sum of its attempts
    working: float
    #: the rest of its life: backoff before retries, delays between
    #: iterations, waiting again after a requeue
    waiting_between: float
    attempts: int

    @property
    def total(self) -> float | None:
        """Trigger to final status."""
        return None if self.finished is None else self.finished - self.triggered


def run_times(entries: Iterable[LifecycleEntry]) -> list[RunTimes]:
    """Queue wait and working time of every run, in the order they were triggered."""
    log = in_clock_order(entries)
    attempts: dict[str, list[tuple[float, float]]] = {}
    for bar in bars(log):
        attempts.setdefault(bar.run_id, []).append((bar.start, bar.end))
    out = []
    for run_id, mine in by_run(log).items():
        first = mine[0]
        triggered = first.time
        delay = first.detail.get("delay") if first.step is Step.TRIGGERED else None
        due = triggered + (float(delay) if isinstance(delay, int | float) else 0.0)
        spans = attempts.get(run_id, [])
        last = mine[-1]
        finished = last.time if last.status in FINAL_STATUSES else None
        first_started = spans[0][0] if spans else None
        working = float(sum(end - start for start, end in spans))
        queue_wait = max(0.0, first_started - due) if first_started is not None else (
            max(0.0, (finished if finished is not None else last.time) - due))
        end_of_life = finished if finished is not None else last.time
        between = 0.0
        if first_started is not None:
            between = max(0.0, end_of_life - first_started - working)
        out.append(RunTimes(
            run_id=run_id, definition_id=first.definition_id, triggered=triggered, due=due,
            first_started=first_started, finished=finished, status=last.status,
            queue_wait=round(queue_wait, 9), working=round(working, 9),
            waiting_between=round(between, 9), attempts=len(spans),
        ))
    return out


def finished_per_second(
    entries: Iterable[LifecycleEntry], bin_seconds: float = 1.0
) -> list[tuple[float, dict[Status, int]]]:
    """Runs that reached each final status in each ``bin_seconds``-long slice of
    the clock: ``[(slice start, {status: count}), ...]`` from the first entry's
    time to the last, empty slices included. Divide a count by
    ``bin_seconds`` for runs per second."""
    if not bin_seconds > 0:
        raise ValueError(f"bin_seconds must be more than 0, not {bin_seconds!r}")
    log = in_clock_order(entries)
    start, end = time_span(log)
    n = max(1, math.ceil((end - start) / bin_seconds + 1e-9))
    if start + n * bin_seconds <= end:
        n += 1
    slices = [(start + i * bin_seconds, dict.fromkeys(sorted(FINAL_STATUSES,
                                                             key=list(Status).index), 0))
              for i in range(n)]
    for entry in log:
        if entry.step is Step.FINISHED and entry.status in FINAL_STATUSES:
            i = min(int((entry.time - start) // bin_seconds), n - 1)
            slices[i][1][entry.status] += 1
    return slices


@drawn_in_look
def throughput(
    entries: Iterable[LifecycleEntry],
    *,
    bin_seconds: float | None = None,
    title: str = "How fast did the queue move?",
) -> Figure:
    """Two panels: each run's queue wait against its working time (a point per
    run, shaped and coloured by its final status), and runs finished per
    second over time (stacked by final status, with the number of runs still
    waiting or working as a line). ``bin_seconds`` defaults to about a
    twentieth of the log's span, rounded to a readable number."""
    log, shifted = since_first(entries)
    times = run_times(log)
    start, end = time_span(log)
    if bin_seconds is None:
        raw = max((end - start) / 20, 1e-3)
        magnitude = 10 ** math.floor(math.log10(raw))
        bin_seconds = min((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw),
                          default=raw)
    fig = new_figure(11.0, 5.0)
    fig.suptitle(title, x=0.01, ha="left")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.35])

    # left: where each run's time went
    n = len(times)
    size = (70 if n <= 30 else 30) * look().font ** 2  # points squared
    started = [t for t in times if t.first_started is not None]  # a run never started has no wait
    for status in Status:
        mine = [t for t in started if t.status is status]
        if not mine:
            continue
        left.scatter([t.queue_wait for t in mine], [t.working for t in mine],
                     marker=STATUS_MARKERS[status], s=size * (1.6 if status is Status.SUCCESS
                                                              else 1.0),
                     c=STATUS_COLORS[status], edgecolors=INK, linewidths=lw(0.6), alpha=0.9,
                     zorder=3, label=status.value, gid=f"runs:{status.value}")
    if len(started) < n:
        never = n - len(started)
        left.text(0.98, 0.97, f"{never} run{'s' if never > 1 else ''} never started: not shown",
                  transform=left.transAxes, ha="right", va="top", fontsize=fs(8), color=INK,
                  gid="never-started")
    left.set_xlabel("queue wait: due -> first started (seconds)")
    left.set_ylabel("working time: all its attempts (seconds)")
    left.set_title("Each run: waiting vs working", loc="left", fontsize=fs(10))
    left.grid(color=look().grid, linewidth=lw(0.6))
    left.set_axisbelow(True)
    left.margins(0.12)
    left.legend(handles=[status_marker_handle(s) for s in Status
                         if any(t.status is s for t in started)],
                fontsize=fs(8), title="final status:", title_fontsize=fs(8), loc="upper center",
                bbox_to_anchor=(0.5, -0.13), ncols=4, frameon=False)

    # right: runs finished per slice of time
    slices = finished_per_second(log, bin_seconds)
    xs = np.array([s for s, _ in slices])
    bottom = np.zeros(len(slices))
    handles: list[Patch | Line2D] = []
    for status in sorted(FINAL_STATUSES, key=list(Status).index):
        rate = np.array([counts[status] for _, counts in slices]) / bin_seconds
        if not rate.any():
            continue
        right.bar(xs, rate, width=bin_seconds, bottom=bottom, align="edge", zorder=2,
                  gid=f"finished:{status.value}", **status_style(status, linewidth=lw(0.6)))
        bottom += rate
        handles.append(status_patch(status, f"finished: {status.value}"))
    right.set_xlabel(time_label(shifted))
    right.set_ylabel("runs finished per second")
    right.set_title(f"Runs finished per second (in {bin_seconds:g} s slices)", loc="left",
                    fontsize=fs(10))
    right.grid(axis="y", color=look().grid, linewidth=lw(0.6))
    right.set_axisbelow(True)

    # how many runs were in the system (triggered, not final) over time
    events: list[tuple[float, int]] = []
    for t in times:
        events.append((t.triggered, 1))
        if t.finished is not None:
            events.append((t.finished, -1))
    events.sort(key=lambda e: (e[0], -e[1]))
    steps_x, steps_y, level = [start], [0], 0
    for when, change in events:
        level += change
        steps_x.append(when)
        steps_y.append(level)
    steps_x.append(end)
    steps_y.append(level)
    twin = right.twinx()
    twin.step(steps_x, steps_y, where="post", color=INK, linewidth=lw(1.4), zorder=3,
              gid="in-system")
    twin.set_ylabel("runs not finished yet (line)")
    handles.append(Line2D([], [], color=INK, linewidth=lw(1.4), label="runs not finished yet"))
    right.legend(handles=handles, fontsize=fs(8), loc="upper center", bbox_to_anchor=(0.5, -0.13),
                 ncols=2, frameon=False, handlelength=2.6, handleheight=1.4)
    top = max(float(bottom.max()) if len(bottom) else 0.0, 1e-9)
    right.set_ylim(0, top * 1.1)
    twin.set_ylim(0, max(max(steps_y), 1) * 1.1)
    # whole counts get whole ticks: "runs not finished yet" always, and the
    # rate too when a slice is a whole fraction of a second (1 s, 0.5 s, 0.1 s:
    # the rate is then a count times a whole number)
    twin.yaxis.set_major_locator(MaxNLocator(integer=True))
    if abs(1 / bin_seconds - round(1 / bin_seconds)) < 1e-9:
        right.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (left, right):
        ax.spines["top"].set_visible(False)
    if n <= 40:  # name the runs while there is room
        label_points(left, [(t.queue_wait, t.working) for t in times], [t.run_id for t in times])
    return fig
