"""Timelines: who ran what, when.

Why: a lifecycle log is a long list of lines; a timeline shows at a glance
how many workers were busy, which attempt failed and was tried again, where a
long job stopped at its time budget and went on, and how long each run waited
in the queue before a worker took it.

Two pictures, both drawn from the lifecycle log alone:

* ``timeline``: one row per worker, one bar per attempt (an attempt starts at
  an ITERATION_STARTED entry and ends at the run's next CONTINUED,
  RETRY_SCHEDULED, FINISHED or REQUEUED entry), coloured by the run's status
  when it ended, with markers for the steps in between;
* ``run_timeline``: one row per run, its waiting time in grey and its working
  time in colour.

``bars(entries)`` returns the bars themselves, as data, so a test or an
exercise can check them without looking at pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import offset_copy

from ..run import LifecycleEntry, Status, Step
from ..simulation import Fault
from ._figure import figure_of, new_figure, style_time_axis
from ._log import by_run, in_clock_order, natural_key, since_first, time_label, time_span
from .colors import (
    INK,
    STATUS_MARKERS,
    STEP_MARKERS,
    status_marker_handle,
    status_patch,
    status_style,
    step_handle,
)
from .projector import drawn_in_look, fs, look, lw

#: How an attempt can end. The first three end the run; the others do not.
OUTCOMES = ("success", "failed", "aborted", "continued", "retry scheduled", "requeued",
            "running")

_END_STEPS = {
    Step.CONTINUED: "continued",
    Step.RETRY_SCHEDULED: "retry scheduled",
    Step.REQUEUED: "requeued",
}

#: What a bar's colour says, in a legend: the run's status when the attempt ended.
BAR_LABELS: dict[Status, str] = {
    Status.SUCCESS: "success",
    Status.FAILED: "failed",
    Status.ABORTED: "aborted",
    Status.RUNNING: "running on (continue_ or retry)",
    Status.PENDING: "pending again (requeued)",
}

#: The row of a timeline for what happens to runs while no worker holds them.
QUEUE_ROW = "queue"

_BAR_HEIGHT = 0.62


@dataclass(frozen=True, slots=True)
class Bar:
    """One attempt of one run on one worker."""

    run_id: str
    worker: str | None
    start: float
    end: float
    iteration: int
    attempt: int
    #: how the attempt ended: one of ``OUTCOMES`` ("running" if the log ends first)
    outcome: str
    #: the run's status right after the attempt (what the bar's colour shows)
    status: Status
    definition_id: str = ""

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def gid(self) -> str:
        """The id the bar's rectangle carries in a figure (``Artist.get_gid()``)."""
        return f"bar:{self.run_id}:{self.iteration}:{self.attempt}"


def bars(entries: Iterable[LifecycleEntry], *, until: float | None = None) -> list[Bar]:
    """Every attempt in the log, in the order they started.

    An attempt starts at an ITERATION_STARTED entry and ends at the same run's
    next CONTINUED, RETRY_SCHEDULED, FINISHED or REQUEUED entry. An attempt
    the log has not seen end yet gets outcome ``"running"`` and ends at
    ``until`` (default: the last time in the log)."""
    ordered = in_clock_order(entries)
    if until is None:
        until = time_span(ordered)[1]
    open_: dict[str, LifecycleEntry] = {}
    done: list[tuple[LifecycleEntry, Bar]] = []

    def close(start: LifecycleEntry, end: float, outcome: str, status: Status) -> None:
        done.append((start, Bar(
            run_id=start.run_id, worker=start.worker, start=start.time, end=max(end, start.time),
            iteration=start.iteration, attempt=start.attempt, outcome=outcome, status=status,
            definition_id=start.definition_id,
        )))

    for entry in ordered:
        started = open_.get(entry.run_id)
        if entry.step is Step.ITERATION_STARTED:
            if started is not None:  # never seen it end (a lost lease): it ends here
                close(started, entry.time, "running", Status.RUNNING)
            open_[entry.run_id] = entry
        elif started is not None and (entry.step in _END_STEPS or entry.step is Step.FINISHED):
            outcome = _END_STEPS.get(entry.step, entry.status.value)
            close(started, entry.time, outcome, entry.status)
            del open_[entry.run_id]
    for started in open_.values():
        close(started, until, "running", Status.RUNNING)
    done.sort(key=lambda pair: (pair[0].time, pair[0].seq))
    return [bar for _, bar in done]


def _markers(entries: Sequence[LifecycleEntry]) -> list[tuple[Step, float, str]]:
    """(step, time, row) of every step a timeline points at."""
    out = []
    for entry in entries:
        if entry.step in STEP_MARKERS:
            out.append((entry.step, entry.time, entry.worker or QUEUE_ROW))
    return out


def _axes(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes]:
    if ax is not None:
        return figure_of(ax), ax
    fig = new_figure(width, height)
    return fig, fig.add_subplot()


#: The narrowest an attempt is drawn, in pixels: a 1-second attempt on a
#: 720-second axis is a tenth of a pixel wide, so it would not show at all.
MIN_BAR_PIXELS = 4.0


def _min_width(fig: Figure, span: float) -> float:
    """The narrowest bar, in seconds: ``MIN_BAR_PIXELS`` on this figure's axis
    (about 85% of the figure's width), and never less than 0.2% of the span."""
    axis_px = fig.get_figwidth() * fig.dpi * 0.85
    return span * max(0.002, MIN_BAR_PIXELS * look().line / axis_px)


def _legend(fig: Figure, ax: Axes, own_figure: bool, handles: Sequence[Patch | Line2D],
            title: str | None = None) -> None:
    """The legend goes under the plot: across the bottom of a figure we made,
    or under the given axes when the figure is the caller's (which should use
    ``layout="constrained"`` so that it gets room)."""
    columns = 4 if look().font == 1 else 3  # larger text (projector mode): fewer columns fit
    options = {"handles": list(handles), "ncols": min(columns, len(handles) or 1), "fontsize": fs(8.5),
               "frameon": False, "title": title, "title_fontsize": fs(8.5), "handlelength": 2.6,
               "handleheight": 1.4}
    if own_figure:
        fig.legend(loc="outside lower center", **options)
    else:
        options["ncols"] = min(3, len(handles) or 1)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), **options)


def _fit_labels(
    fig: Figure, ax: Axes, items: Sequence[tuple[float, float, float, tuple[str, ...]]],
    fontsize: float,
) -> int:
    """Write a name in the middle of each bar ``(left, right, y, names)``: the
    first of its ``names`` (longest first) that fits in the bar's width on
    screen, or none. Returns how many bars were named. Measured after layout,
    so a name never spills over a bar's edge onto its neighbour."""
    if not items:
        return 0
    fig.draw_without_rendering()
    to_px = ax.transData
    written = 0
    row_px = abs(to_px.transform((0, 0))[1] - to_px.transform((0, _BAR_HEIGHT))[1])
    for left, right, y, names in items:
        width_px = to_px.transform((right, y))[0] - to_px.transform((left, y))[0]
        if width_px < 12 or row_px < fontsize * fig.dpi / 72 + 2:
            continue
        for text in names:
            label = ax.text((left + right) / 2, y, text, ha="center", va="center",
                            fontsize=fontsize, color=INK, clip_on=True, zorder=4,
                            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                                  "edgecolor": "none", "alpha": 0.8})
            label.set_in_layout(False)
            if label.get_window_extent().width + 8 <= width_px:
                written += 1
                break
            label.remove()
    return written


def _names(bar: Bar) -> tuple[str, ...]:
    """What a bar can be called, longest first: which iteration and which try
    are worth saying only when it is not the first."""
    extra = []
    if bar.iteration > 1:
        extra.append(f"it {bar.iteration}")
    if bar.attempt > 1:
        extra.append(f"try {bar.attempt}")
    return (f"{bar.run_id} {' '.join(extra)}", bar.run_id) if extra else (bar.run_id,)


@drawn_in_look
def timeline(
    entries: Iterable[LifecycleEntry],
    ax: Axes | None = None,
    *,
    title: str = "Who ran what, when: one row per worker, one bar per attempt",
    label_runs: bool = True,
    legend: bool = True,
    width: float = 10.0,
    faults: Sequence[Fault] = (),
) -> Figure:
    """A Gantt chart of the lifecycle log: one row per worker, one bar per
    attempt, coloured (and hatched) by the run's status when the attempt
    ended; markers where runs were triggered, scheduled a retry, continued,
    were asked to abort or were requeued after their worker's lease expired.
    Runs are named on their bars when there is room. ``faults`` (a simulated
    runner's ``runner.faults``) are drawn on their worker's row: a cross where
    it was killed, a dotted frame over the time it was paused; the log itself
    cannot show them (a frozen or dead worker writes nothing). Returns the
    figure; each bar's rectangle has ``gid`` ``Bar.gid``."""
    log, shifted = since_first(entries)
    attempts = bars(log)
    marks = _markers(log)
    workers = sorted(({b.worker or QUEUE_ROW for b in attempts} | {row for _, _, row in marks}
                      | {f.worker for f in faults}) - {QUEUE_ROW}, key=natural_key)
    rows = ([QUEUE_ROW] if any(row == QUEUE_ROW for _, _, row in marks) else []) + workers
    y_of = {row: i for i, row in enumerate(rows)}
    own_figure = ax is None
    fig, ax = _axes(ax, width, 2.0 + 0.42 * max(len(rows), 2) + (0.9 if legend else 0))

    start, end = time_span(log)
    for fault in faults:
        start, end = min(start, fault.at), max(end, fault.at + fault.seconds)
    span = max(end - start, 1e-9)
    min_width = _min_width(fig, span)
    _draw_faults(ax, faults, y_of)

    for bar in attempts:
        y = y_of[bar.worker or QUEUE_ROW]
        style = status_style(bar.status, linewidth=lw(1.0))
        if bar.duration < min_width:  # drawn wider than it was: a dark edge keeps it visible
            style.update(edgecolor=INK, linewidth=lw(0.6))
        if bar.outcome == "running":
            style.update(edgecolor=INK, linestyle="--")
        (rect,) = ax.barh(y, max(bar.duration, min_width), left=bar.start,
                          height=_BAR_HEIGHT, zorder=2, **style).patches
        rect.set_gid(bar.gid)

    # step markers sit on the top edge of their row's bars (touching it: a marker
    # floating above the row reads as belonging to no bar)
    for step in STEP_MARKERS:
        points = [(t, y_of[row]) for s, t, row in marks if s is step]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, [y if y == y_of.get(QUEUE_ROW) else y - _BAR_HEIGHT / 2
                         for y in ys], linestyle="",
                    marker=STEP_MARKERS[step], markersize=fs(11 if step is not Step.TRIGGERED else 7),
                    color=INK, markeredgecolor="white", markeredgewidth=0.3, zorder=5,
                    gid=f"marker:{step.value}")

    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylim(len(rows) - 0.5, -0.5 - 0.25)
    ax.set_xlim(start - span * 0.01, end + span * 0.02)
    style_time_axis(ax, title, "worker", time_label(shifted))

    if legend:
        handles: list[Patch | Line2D] = []
        seen = {b.status for b in attempts}
        for status in (Status.SUCCESS, Status.FAILED, Status.ABORTED, Status.RUNNING,
                       Status.PENDING):
            if status in seen:
                handles.append(status_patch(status, BAR_LABELS[status]))
        if any(b.outcome == "running" for b in attempts):
            handles.append(Patch(facecolor="white", edgecolor=INK, linestyle="--",
                                 label="not over when the log ends"))
        present = {s for s, _, _ in marks}
        handles += [step_handle(s) for s in STEP_MARKERS if s in present]
        handles += [FAULT_HANDLES[kind]() for kind in ("kill", "pause")
                    if any(f.kind == kind for f in faults)]
        _legend(fig, ax, own_figure, handles, title="bar colour: the run's status when the "
                "attempt ended;  markers: steps")

    if label_runs:
        _fit_labels(fig, ax, [(b.start, b.start + max(b.duration, min_width),
                               y_of[b.worker or QUEUE_ROW], _names(b)) for b in attempts], fs(8))
    return fig


def _draw_faults(ax: Axes, faults: Sequence[Fault], y_of: dict[str, int]) -> None:
    """Kills and pauses on their worker's row (see ``timeline``)."""
    for fault in faults:
        y = y_of[fault.worker]
        if fault.kind == "pause":
            ax.barh(y, fault.seconds, left=fault.at, height=_BAR_HEIGHT + 0.22, zorder=4,
                    facecolor="none", edgecolor=INK, hatch="..", linestyle=":",
                    linewidth=lw(1.2), gid=f"fault:pause:{fault.worker}")
            ax.text(fault.at + fault.seconds / 2, y + _BAR_HEIGHT / 2 + 0.12,
                    f"paused {fault.seconds:g} s", ha="center", va="top", fontsize=fs(8),
                    color=INK, zorder=6)
        else:
            ax.plot([fault.at], [y], linestyle="", marker="X", markersize=fs(14), color=INK,
                    markeredgecolor="white", markeredgewidth=0.8, zorder=6,
                    gid=f"fault:kill:{fault.worker}")
            ax.text(fault.at, y + _BAR_HEIGHT / 2 + 0.12, "killed", ha="center", va="top",
                    fontsize=fs(8), color=INK, zorder=6)


#: legend entries for the faults a timeline draws
FAULT_HANDLES = {
    "kill": lambda: Line2D([], [], linestyle="", marker="X", markersize=fs(10), color=INK,
                           label="worker killed (as SIGKILL)"),
    "pause": lambda: Patch(facecolor="none", edgecolor=INK, hatch="..", linestyle=":",
                           label="worker paused (frozen, lease not renewed)"),
}


@drawn_in_look
def run_timeline(
    entries: Iterable[LifecycleEntry],
    ax: Axes | None = None,
    *,
    title: str = "Each run's life: waiting (grey) and working (coloured)",
    legend: bool = True,
    width: float = 10.0,
) -> Figure:
    """One row per run, in the order they were triggered: a thin line while it
    was held back on purpose (a trigger ``delay``), grey while it waited for a
    worker in the queue, light grey with dots while it waited between
    attempts (a retry's backoff, a continue's delay), a coloured bar for each
    attempt, and its final status as a marker at the end.
    Each bar's rectangle has ``gid`` ``Bar.gid``; each wait ``wait:<run id>:<n>``."""
    log, shifted = since_first(entries)
    runs = by_run(log)
    attempts_of: dict[str, list[Bar]] = {}
    for bar in bars(log):
        attempts_of.setdefault(bar.run_id, []).append(bar)
    ids = list(runs)
    n = len(ids)
    height = min(max(2.6 + 0.24 * n + (0.9 if legend else 0), 3.5), 14.0)
    own_figure = ax is None
    fig, ax = _axes(ax, width, height)
    start, end = time_span(log)
    span = max(end - start, 1e-9)
    thick = 0.7 if n <= 60 else 0.85
    min_width = _min_width(fig, span)

    between_attempts = False  # any wait after a first attempt (a retry's backoff, a delay)
    for y, run_id in enumerate(ids):
        run_entries = runs[run_id]
        first = run_entries[0]
        triggered = first.time if first.step is Step.TRIGGERED else None
        mine = attempts_of.get(run_id, [])
        last = run_entries[-1]
        stop = last.time
        # held back on purpose: trigger delay
        cursor = triggered if triggered is not None else (mine[0].start if mine else first.time)
        delay = first.detail.get("delay") if triggered is not None else None
        if isinstance(delay, int | float) and delay > 0:
            due = min(cursor + float(delay), stop)
            ax.plot([cursor, due], [y, y], color=look().wait, linewidth=lw(1.0), zorder=1)
            cursor = due
        waits = []
        for bar in mine:
            if bar.start > cursor:
                waits.append((cursor, bar.start))
            cursor = max(cursor, bar.end)
        if stop > cursor:
            waits.append((cursor, stop))
        for i, (a, b) in enumerate(waits):
            queued = not mine or b <= mine[0].start  # before its first attempt: in the queue
            (rect,) = ax.barh(y, b - a, left=a, height=thick * 0.45, color=look().wait,
                              linewidth=lw(0), zorder=1,
                              **({} if queued else {"alpha": 0.45, "hatch": "..."})).patches
            rect.set_gid(f"wait:{run_id}:{i}")
            between_attempts = between_attempts or not queued
        for bar in mine:
            style = status_style(bar.status, linewidth=lw(0.6 if n > 60 else 0.9))
            if bar.duration < min_width:  # drawn wider than it was: a dark edge keeps it visible
                style.update(edgecolor=INK, linewidth=lw(0.6))
            (rect,) = ax.barh(y, max(bar.duration, min_width), left=bar.start, height=thick,
                              zorder=2, **style).patches
            rect.set_gid(bar.gid)
        if last.status.is_final:
            size = fs(8 if n <= 60 else 5) * (1.35 if last.status is Status.SUCCESS else 1.0)
            # just after the run's end, so that it never hides a short last attempt
            after = offset_copy(ax.transData, fig=fig, x=size * 0.6, units="points")
            ax.plot([last.time], [y], linestyle="", marker=STATUS_MARKERS[last.status],
                    transform=after,
                    markersize=size, markerfacecolor=status_style(last.status)["facecolor"],
                    markeredgecolor=INK, markeredgewidth=0.6, zorder=3, gid=f"end:{run_id}")

    # as many run ids on the axis as fit without touching
    fig.draw_without_rendering()
    axes_px = ax.get_window_extent().height
    every = max(1, math.ceil(n / max(axes_px / 11.0, 1.0)))
    names = [f"{r} ({runs[r][0].definition_id})" if n <= 40 else r for r in ids]
    ax.set_yticks(range(0, n, every), names[::every], fontsize=fs(8 if n <= 60 else 7))
    ax.set_ylim(max(n, 1) - 0.5, -0.5)
    ax.set_xlim(start - span * 0.01, end + span * 0.03)
    style_time_axis(ax, title, "run" if every == 1 else f"run (one in {every} named)",
                    time_label(shifted))

    if legend:
        finals = {r[-1].status for r in runs.values() if r[-1].status.is_final}
        seen = {b.status for bars_ in attempts_of.values() for b in bars_}
        held_back = any(
            r[0].step is Step.TRIGGERED and isinstance(r[0].detail.get("delay"), int | float)
            and r[0].detail["delay"] > 0
            for r in runs.values()
        )
        handles: list[Patch | Line2D] = [Patch(facecolor=look().wait, label="waiting for a worker")]
        if between_attempts:
            handles.append(Patch(facecolor=look().wait, alpha=0.45, hatch="...",
                                 label="waiting to try again (backoff, continue delay)"))
        if held_back:
            handles.insert(0, Line2D([], [], color=look().wait, linewidth=lw(1.0),
                                     label="held back (trigger delay)"))
        for status in (Status.SUCCESS, Status.FAILED, Status.ABORTED, Status.RUNNING,
                       Status.PENDING):
            if status in seen:
                handles.append(status_patch(status, "attempt: " + BAR_LABELS[status]))
        for status in (Status.SUCCESS, Status.FAILED, Status.ABORTED):
            if status in finals:
                handles.append(status_marker_handle(status, f"ended {status.value}"))
        _legend(fig, ax, own_figure, handles)
    return fig
