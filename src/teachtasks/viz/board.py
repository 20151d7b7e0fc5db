"""The live board: watch runs move through their statuses while a runner works.

Why: the lifecycle is easiest to believe when you watch it. The board shows
how many runs are in each status, a progress bar for each active run (from the
``progress`` a run reports with ``controller.progress``), and the latest lines
of the lifecycle log, and keeps them current while the runner works.

Two ways to drive it:

* a runner in **thread mode** (a ``RealClock``): ``board.follow(runner)``
  displays the board, starts a poller thread that only sets the widgets'
  values (nothing is displayed or printed from a thread: output from a thread
  can land in the wrong cell), blocks until the runner is idle, joins the
  poller, and then prints a static summary;
* a runner in **step mode**: ``runner.run_until_idle(on_step=board.update)``
  updates the board after every iteration, then ``board.finish()`` prints the
  summary.

Why a static summary at the end: a widget is live only while its kernel runs.
A saved notebook, nbval (which compares only the ``text/plain`` of outputs)
and an HTML export read without JavaScript all need the result as plain text
and a plain figure, so that is what the board leaves behind.
"""

from __future__ import annotations

import html
import threading
import time
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from ..run import ACTIVE_STATUSES, FINAL_STATUSES, LifecycleEntry, Run, Status, Step
from ..stores.base import RunFilter
from ._figure import new_figure
from ._log import natural_key
from .colors import INK, STATUS_SYMBOLS, css_background, status_patch, status_style
from .projector import drawn_in_look, fs, look, lw

if TYPE_CHECKING:
    from ..manager import TaskManager
    from ..runner import Runner

_ORDER = list(Status)


class Board:
    """A live board of one ``TaskManager``'s runs (an ipywidgets ``VBox``).

    ``Board(manager)`` as the last line of a cell shows it; ``update()``
    refreshes it (safe from any thread: it only sets widget values);
    ``follow(runner)`` keeps it fresh until the runner is idle; ``finish()``
    prints the static summary."""

    def __init__(
        self,
        manager: TaskManager | None = None,
        *,
        title: str = "Live board",
        max_bars: int = 6,
        log_lines: int = 8,
        pause: float = 0.0,
    ) -> None:
        import ipywidgets as w

        self.manager = manager
        self.title = title
        self.log_lines = log_lines
        #: real seconds to wait after each ``update(run)`` from ``on_step``, so a
        #: simulated scenario can be watched (0: as fast as it goes)
        self.pause = pause
        #: errors the poller thread met (and survived), for inspection
        self.errors: list[str] = []
        self._lock = threading.Lock()
        #: text size of the tiles and the log: larger when made in projector mode
        self._px = 11 * look().font
        self._counts: dict[Status, int] = dict.fromkeys(Status, 0)
        self._updates = 0

        self.heading = w.HTML(f"<b>{html.escape(title)}</b>")
        self.tiles = {s: w.HTML(layout=w.Layout(margin="0 6px 0 0")) for s in Status}
        self.bars = [
            w.FloatProgress(value=0.0, min=0.0, max=1.0, description="",
                            style={"description_width": f"{70 * look().font:g}px"},
                            layout=w.Layout(width=f"{260 * look().font:g}px", visibility="hidden"))
            for _ in range(max_bars)
        ]
        self.bar_texts = [w.HTML(layout=w.Layout(visibility="hidden")) for _ in range(max_bars)]
        self.more = w.HTML()
        self.log = w.HTML()
        rows = [w.HBox([bar, text]) for bar, text in zip(self.bars, self.bar_texts, strict=True)]
        self._rows = rows
        self.widget = w.VBox([
            self.heading,
            w.HBox([self.tiles[s] for s in Status]),
            w.HTML("<b>active runs</b> (progress as each run reports it)"),
            *rows,
            self.more,
            w.HTML("<b>latest lifecycle entries</b>"),
            self.log,
        ])
        self._show_counts()

    # ---- reading the manager -------------------------------------------------------
    @property
    def counts(self) -> dict[Status, int]:
        """The numbers the board shows now, per status."""
        with self._lock:
            return dict(self._counts)

    def update(self, run: Run | None = None) -> None:
        """Read the manager and set the widgets' values. Safe to call from any
        thread; usable as ``on_step`` (the ``run`` it passes is not needed)."""
        manager = self._need_manager()
        counts = manager.count_runs()
        active = self._active_runs(manager)
        entries = manager.lifecycle()
        with self._lock:
            self._counts = {s: counts.get(s, 0) for s in Status}
            self._updates += 1
            self._show_counts()
            self._show_bars(active, entries, sum(counts.get(s, 0) for s in ACTIVE_STATUSES))
            # times from the first entry, so a real clock's epoch seconds read as 0.0, 0.1...
            start = entries[0].time if entries else 0.0
            lines = [str(replace(e, time=e.time - start)) for e in entries[-self.log_lines:]] \
                if self.log_lines else []
            self.log.value = (
                f"<pre style='font-size:{self._px:g}px;line-height:1.3;margin:0;overflow-x:auto'>"
                + html.escape("\n".join(lines) or "(nothing yet)") + "</pre>"
            )
        if run is not None and self.pause > 0:
            time.sleep(self.pause)

    def _need_manager(self) -> TaskManager:
        if self.manager is None:
            raise ValueError("this board has no manager yet: Board(manager), or follow(runner)")
        return self.manager

    def _active_runs(self, manager: TaskManager) -> list[Run]:
        """Running runs first, then pending ones, oldest first; at most as many
        as there are bars."""
        out: list[Run] = []
        for status in (Status.RUNNING, Status.PENDING):
            runs = manager.list_runs(status=status, limit=10_000)
            out += sorted(runs, key=lambda r: (r.created_at, natural_key(r.id)))
        return out[: len(self.bars)]

    def _show_counts(self) -> None:
        size = "" if self._px == 11 else f";font-size:{self._px * 1.3:g}px"  # projector mode
        for status, tile in self.tiles.items():
            n = self._counts[status]
            tile.value = (
                f"<div style=\"background:{css_background(status)};border:1px solid {INK};"
                f"border-radius:6px;padding:4px 8px;min-width:78px;text-align:center{size}\">"
                "<span style=\"background:rgba(255,255,255,0.88);border-radius:4px;"
                f"padding:1px 5px;color:{INK}\">{STATUS_SYMBOLS[status]} {status.value}<br>"
                f"<b style=\"font-size:1.4em\">{n}</b></span></div>"
            )

    def _show_bars(self, active: list[Run], entries: list[LifecycleEntry], total: int) -> None:
        latest: dict[str, str] = {}
        for entry in entries:
            if entry.step is Step.PROGRESS and isinstance(entry.detail.get("message"), str):
                latest[entry.run_id] = str(entry.detail["message"])
        for i, (bar, text) in enumerate(zip(self.bars, self.bar_texts, strict=True)):
            if i < len(active):
                run = active[i]
                fraction = run.progress or 0.0
                bar.value = fraction
                bar.description = run.id
                bar.style.bar_color = status_style(run.status)["facecolor"]
                message = latest.get(run.id, "")
                text.value = html.escape(
                    f"{STATUS_SYMBOLS[run.status]} {_doing(run)}: {run.definition_id}, "
                    f"iteration {run.iterations}, try {run.attempt}, {fraction:.0%} {message}"
                ).rstrip()
                bar.layout.visibility = text.layout.visibility = "visible"
            else:
                bar.value = 0.0
                bar.description = ""
                text.value = ""
                bar.layout.visibility = text.layout.visibility = "hidden"
        # nothing active (every run final): fold the empty rows away instead of
        # leaving a blank block; while runs are active, rows keep their place
        for row in self._rows:
            row.layout.display = "none" if not active else None
        hidden = total - len(active)
        self.more.value = f"<i>and {hidden} more active run(s)</i>" if hidden > 0 else (
            "<i>none: every run is final</i>" if not active else "")

    # ---- driving it ------------------------------------------------------------------------
    def display(self) -> None:
        """Show the board in the notebook (call from the main thread)."""
        _display(self)

    def follow(
        self,
        runner: Runner,
        manager: TaskManager | None = None,
        *,
        interval: float = 0.1,
        timeout: float | None = None,
        show: bool = True,
        pace: float = 0.0,
    ) -> None:
        """Show the board and keep it current until ``runner`` is idle, then
        print the static summary and show its figure (``summary()`` returns the
        same text). Nothing is returned, so that a notebook cell ending with
        this call shows the summary once.

        With a ``RealClock`` the runner works in threads: it is started if it
        is not running yet (and stopped again at the end if this call started
        it), a poller thread updates the widgets every ``interval`` seconds,
        and this call blocks until the runner is idle (or ``timeout`` seconds
        have passed), joining the poller before it returns. With a
        ``SimulatedClock`` the runner is stepped here, updating after each
        iteration.

        ``pace`` slows the show down for a live demo: after each iteration
        the worker that ran it waits ``pace`` real seconds before it takes the
        next one (on a simulated clock the board waits instead), so a room can
        watch the tiles move while the teacher talks. The runs' own work is
        unchanged; on a real clock their lifecycle times include the waits.
        0 (the default): as fast as it goes."""
        if isinstance(pace, bool) or not isinstance(pace, int | float) or pace < 0:
            raise ValueError(f"pace must be a number of seconds >= 0, not {pace!r}")
        if manager is not None:
            self.manager = manager
        if self.manager is None:
            self.manager = runner.manager
        self.update()
        if show:
            self.display()
        if runner.clock.simulated:
            pause, self.pause = self.pause, max(self.pause, pace)
            try:
                runner.run_until_idle(on_step=self.update)
            finally:
                self.pause = pause
        else:
            started_here = not runner.running
            slowed = pace > 0
            if slowed:  # the worker threads call runner.step each time: slow this instance only
                runner.step = _paced(runner.step, pace)  # type: ignore[method-assign]
            if started_here:
                runner.start()
            stop = threading.Event()
            poller = threading.Thread(target=self._poll, args=(stop, interval),
                                      name="board-poller", daemon=True)
            poller.start()
            try:
                runner.wait_idle(timeout)
            finally:
                stop.set()
                poller.join()
                if started_here:
                    runner.stop()
                if slowed:
                    del runner.step  # the class's own method again
        self.update()
        self.finish(show=show)

    def _poll(self, stop: threading.Event, interval: float) -> None:
        while not stop.wait(interval):
            try:
                self.update()
            except Exception as exc:  # never let the board take the notebook down
                self.errors.append(f"{type(exc).__name__}: {exc}")

    # ---- the static result ----------------------------------------------------------------
    def summary(self) -> str:
        """The result in plain text: runs per status, per definition, and (on a
        simulated clock) when the last entry happened. The same scenario gives
        the same text."""
        manager = self._need_manager()
        counts = manager.count_runs()
        total = sum(counts.values())
        finals = ", ".join(f"{counts[s]} {s.value}" for s in _ORDER if s in FINAL_STATUSES)
        lines = [
            f"{_count(total, 'run')}: {finals} "
            f"({counts[Status.PENDING]} pending, {counts[Status.RUNNING]} running)"
        ]
        width = max((len(d.id) for d in manager.list_definitions()), default=0)
        for definition in manager.list_definitions():
            mine = manager.store.count_runs(RunFilter(definition_id=definition.id))
            n = sum(mine.values())
            parts = ", ".join(f"{mine[s]} {s.value}" for s in _ORDER if mine[s])
            lines.append(f"  {definition.id:<{width}}  {_count(n, 'run'):>8}"
                         f"{': ' + parts if parts else ''}")
        entries = manager.lifecycle()
        steps = Counter(e.step for e in entries)
        lines.append(
            f"{_count(len(entries), 'lifecycle entry', 'lifecycle entries')}, "
            f"{_count(steps[Step.ITERATION_STARTED], 'attempt')}, "
            f"{_count(steps[Step.RETRY_SCHEDULED], 'retry', 'retries')} scheduled, "
            f"{_count(steps[Step.CONTINUED], 'continue')}, {steps[Step.REQUEUED]} requeued"
        )
        if manager.clock.simulated and entries:
            lines.append(f"last entry at t={entries[-1].time:g} s on the simulated clock")
        return "\n".join(lines)

    def summary_figure(self) -> Figure:
        """How the runs ended, per definition: stacked bars in the status colours."""
        return summary_figure(self._need_manager())

    def finish(self, *, show: bool = True) -> None:
        """Leave the static result: print the summary and show its figure (call
        from the main thread, after the runner is idle). ``summary()`` returns
        the same text."""
        self.update()
        if show:
            print(self.summary())
            _display(self.summary_figure())

    def __repr__(self) -> str:
        return f"Board({self.title!r}: the summary is printed when the runs finish)"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        return bundle


@drawn_in_look
def summary_figure(manager: TaskManager) -> Figure:
    """How the runs of ``manager`` ended: one stacked bar per definition (and
    one for all runs), a segment per status with its count written on it."""
    definitions = [d.id for d in manager.list_definitions()]
    rows = ["all runs", *definitions]
    per_row = [manager.count_runs()] + [
        manager.store.count_runs(RunFilter(definition_id=d)) for d in definitions
    ]
    fig = new_figure(9.0, 1.7 + 0.5 * len(rows))
    ax = fig.add_subplot()
    used: list[Status] = []
    for y, counts in enumerate(per_row):
        left = 0
        for status in _ORDER:
            n = counts.get(status, 0)
            if not n:
                continue
            if status not in used:
                used.append(status)
            (rect,) = ax.barh(y, n, left=left, height=0.6,
                              **status_style(status, linewidth=lw(1.0))).patches
            rect.set_gid(f"count:{rows[y]}:{status.value}")
            ax.text(left + n / 2, y, str(n), ha="center", va="center", fontsize=fs(9), color=INK,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.85,
                          "edgecolor": "none"})
            left += n
    ax.set_yticks(range(len(rows)), rows)
    ax.get_yticklabels()[0].set_fontweight("bold")
    ax.axhline(0.5, color=look().rule, linewidth=lw(0.8))  # all runs, then each definition
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("number of runs")
    ax.set_ylabel("task definition")
    total = sum(per_row[0].values())
    ax.set_title(f"How the runs ended ({total} run{'' if total == 1 else 's'})", loc="left")
    ax.xaxis.get_major_locator().set_params(integer=True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.legend(handles=[status_patch(s) for s in _ORDER if s in used], loc="outside right upper",
               fontsize=fs(8.5), frameon=False, title="status", title_fontsize=fs(8.5), handlelength=2.6,
               handleheight=1.4)
    return fig


def follow(runner: Runner, manager: TaskManager | None = None, **options: Any) -> Board:
    """Make a board, show it, follow ``runner`` until it is idle (see
    ``Board.follow``), print the summary; returns the board (assign it:
    ``board = follow(runner)``, or the cell shows the board a second time)."""
    board = Board(manager or runner.manager)
    board.follow(runner, manager, **options)
    return board


def _paced(step: Any, pace: float) -> Any:
    """``runner.step`` that waits ``pace`` seconds after each iteration it ran."""

    def paced(worker: str = "worker-1") -> Run | None:
        run = step(worker)
        if run is not None:
            time.sleep(pace)
        return run

    return paced


def _doing(run: Run) -> str:
    """What an active run is doing, in words: a running run held by nobody is
    between two attempts."""
    if run.status is Status.PENDING:
        return "pending, waiting for a worker"
    if run.worker is not None:
        return f"running on {run.worker}"
    return "running, waiting to retry" if run.retry_pending else "running, waiting to continue"


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 attempt``, ``2 attempts``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _display(obj: object) -> None:
    """``IPython.display.display`` when running under IPython; nothing otherwise
    (a script or a test has no notebook to show widgets in)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover
        return
    if get_ipython() is not None:
        display(obj)
