"""Replay: step through a recorded lifecycle log, one entry at a time.

Why: a live board goes by too fast to think about, and a timeline shows
everything at once. A replay lets a learner stop at any step and ask "what
just happened, and where is every run now?". At step ``k`` the first ``k``
entries of the log have happened: the state chart lights up the transition
the ``k``-th entry made, and every run is shown in the status it had then.

``state_at(entries, k)`` is that state as plain data (run id -> status), so
exercises and tests can check it without a widget.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from ..run import LifecycleEntry, Status, Step
from ..simulation import Fault
from ._figure import new_figure
from ._log import in_clock_order, since_first
from .colors import INK, STATUS_COLORS, STATUS_HATCHES
from .projector import drawn_in_look, fs, look, lw
from .statechart import HIGHLIGHT, statechart

#: A transition as the replay lights it up: ``(None, pending)`` is a run being
#: born; ``(running, running)`` is the loop (continue or retry).
Transition = tuple[Status | None, Status]


def state_at(entries: Iterable[LifecycleEntry], k: int) -> dict[str, Status]:
    """Each run's status after the first ``k`` entries of the log (in the
    clock's order), runs in the order they first appear. ``k`` is clamped to
    ``0 .. len(entries)``: step 0 is before anything happened."""
    log = in_clock_order(entries)
    k = max(0, min(k, len(log)))
    state: dict[str, Status] = {}
    for entry in log[:k]:
        state[entry.run_id] = entry.status
    return state


def transition_at(entries: Sequence[LifecycleEntry], k: int) -> Transition | None:
    """The transition the ``k``-th entry (1-based) made, or None if it changed
    nothing a state chart shows (progress, a new iteration starting)."""
    log = in_clock_order(entries)
    if not 1 <= k <= len(log):
        return None
    entry = log[k - 1]
    before = state_at(log, k - 1).get(entry.run_id)
    if entry.step is Step.TRIGGERED:
        return (None, entry.status)
    if before is not None and before != entry.status:
        return (before, entry.status)
    if entry.step in (Step.CONTINUED, Step.RETRY_SCHEDULED):
        return (Status.RUNNING, Status.RUNNING)
    return None


def _grid(n: int) -> tuple[int, int]:
    """Columns and rows of the run tiles: ten across for a few runs, a wider
    grid (about four times as wide as tall) for many."""
    n = max(n, 1)
    cols = min(n, 10 if n <= 40 else math.ceil(math.sqrt(n * 4)))
    return cols, math.ceil(n / cols)


def _draw_runs(ax: Axes, state: dict[str, Status], all_runs: list[str], lit: str | None) -> None:
    """One tile per run, in its status's colour and hatch; runs not yet
    triggered are empty outlines; the run the current step is about has a
    thick blue border."""
    cols, rows = _grid(len(all_runs))
    ax.set_xlim(-0.05, cols + 0.05)
    ax.set_ylim(rows + 0.05, -0.05)
    ax.set_aspect("equal")
    ax.set_axis_off()
    show_ids = cols * rows <= 60
    for i, run_id in enumerate(all_runs):
        r, c = divmod(i, cols)
        status = state.get(run_id)
        kwargs: dict[str, Any] = {"facecolor": "white", "edgecolor": "#bbbbbb",
                                  "linestyle": ":"}
        if status is not None:
            kwargs = {"facecolor": STATUS_COLORS[status], "hatch": STATUS_HATCHES[status],
                      "hatchcolor": (0, 0, 0, 0.35), "edgecolor": INK}
        if run_id == lit:
            kwargs.update(edgecolor=HIGHLIGHT, linewidth=lw(3.0), linestyle="-")
        ax.add_patch(FancyBboxPatch((c + 0.06, r + 0.12), 0.88, 0.76,
                                    boxstyle="round,pad=0,rounding_size=0.12",
                                    gid=f"run:{run_id}", **kwargs))
        if show_ids:
            ax.text(c + 0.5, r + 0.5, run_id if status is None else f"{run_id}\n{status.value}",
                    ha="center", va="center", fontsize=fs(8.5), color=INK if status else look().rule,
                    bbox=None if status is None else {
                        "boxstyle": "round,pad=0.1", "facecolor": "white", "alpha": 0.8,
                        "edgecolor": "none"})


def caption(entries: Sequence[LifecycleEntry], k: int, faults: Sequence[Fault] = ()) -> str:
    """One line saying what step ``k`` was, in words (a wall clock's times
    counted from the first entry), and which ``faults`` (a simulated runner's
    ``runner.faults``) had struck by then: the log cannot say it, a dead or
    frozen worker writes nothing."""
    log, _ = since_first(entries)
    if k <= 0:
        return f"step 0 of {len(log)}: nothing has happened yet"
    k = min(k, len(log))
    e = log[k - 1]
    where = f" on {e.worker}" if e.worker else ""
    struck = [fault_words(f) for f in faults if f.at <= e.time]
    after = f"  [{'; '.join(struck)}]" if struck else ""
    return (f"step {k} of {len(log)}: t={e.time:g}s  {e.run_id} ({e.definition_id}) "
            f"{e.step.value}{where} -> {e.status.value}{after}")


def fault_words(fault: Fault) -> str:
    """A fault in words: "worker-1 killed at t=3" or "worker-1 paused at t=1 for 60 s"."""
    if fault.kind == "pause":
        return f"{fault.worker} paused at t={fault.at:g} for {fault.seconds:g} s"
    return f"{fault.worker} killed at t={fault.at:g}"


@drawn_in_look
def replay_figure(entries: Iterable[LifecycleEntry], k: int,
                  faults: Sequence[Fault] = ()) -> Figure:
    """The replay at step ``k``, as one figure: the state chart (with the number
    of runs in each status, and the ``k``-th entry's transition lit up) above
    every run's status."""
    log = in_clock_order(entries)
    k = max(0, min(k, len(log)))
    state = state_at(log, k)
    all_runs = list(dict.fromkeys(e.run_id for e in log))
    current = transition_at(log, k)
    cols, rows = _grid(len(all_runs))
    tiles_height = 0.5 + rows * 9.6 / cols
    fig = new_figure(10.0, 4.8 + tiles_height)
    top, bottom = fig.subfigures(2, 1, height_ratios=[4.8, tiles_height])
    counts = Counter(state.values())
    chart_ax = top.add_subplot()
    statechart(None, chart_ax, current=current,
               node_counts={s: counts.get(s, 0) for s in Status},
               title=f"Replay, {caption(log, k, faults)}")
    chart_ax.title.set_fontsize(10)
    runs_ax = bottom.add_subplot()
    lit = log[k - 1].run_id if k else None
    _draw_runs(runs_ax, state, all_runs, lit)
    runs_ax.set_title(f"every run as of step {k} (dotted: not triggered yet; blue border: "
                      "the run this step is about)", loc="left", fontsize=fs(9))
    return fig


class Replay:
    """A slider with Play / Prev / Next buttons over a recorded lifecycle log.

    ``Replay(manager.lifecycle())`` as the last line of a cell shows it. Each
    step renders ``replay_figure(entries, k)`` to a PNG in an ``Image`` widget;
    a saved notebook keeps a plain-text line (and, in HTML exports, the PNG of
    the step it was left at)."""

    def __init__(self, entries: Iterable[LifecycleEntry], *, step: int = 0,
                 interval_ms: int = 700, faults: Sequence[Fault] = ()) -> None:
        import ipywidgets as w

        self.entries = in_clock_order(entries)
        self.faults = list(faults)
        n = len(self.entries)
        self._cache: dict[int, bytes] = {}
        self.slider = w.IntSlider(value=max(0, min(step, n)), min=0, max=n, description="step",
                                  continuous_update=False, layout=w.Layout(width="420px"))
        self.play = w.Play(value=self.slider.value, min=0, max=n, step=1, interval=interval_ms,
                           description="Play")
        w.link((self.play, "value"), (self.slider, "value"))
        self.prev_button = w.Button(description="\u25c0 Prev", layout=w.Layout(width="80px"))
        self.next_button = w.Button(description="Next \u25b6", layout=w.Layout(width="80px"))
        self.prev_button.on_click(lambda _: self.go(self.slider.value - 1))
        self.next_button.on_click(lambda _: self.go(self.slider.value + 1))
        self.caption = w.HTML()
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.slider.observe(lambda change: self._render(change["new"]), names="value")
        self.widget = w.VBox([
            w.HBox([self.play, self.prev_button, self.slider, self.next_button]),
            self.caption, self.image,
        ])
        self._render(self.slider.value)

    @property
    def step(self) -> int:
        return int(self.slider.value)

    def go(self, k: int) -> None:
        """Show step ``k`` (clamped to the log)."""
        self.slider.value = max(0, min(k, len(self.entries)))

    def state(self) -> dict[str, Status]:
        """Each run's status at the step shown."""
        return state_at(self.entries, self.step)

    def png(self, k: int | None = None) -> bytes:
        """The PNG of step ``k`` (default: the step shown)."""
        k = self.step if k is None else k
        if k not in self._cache:
            buffer = io.BytesIO()
            replay_figure(self.entries, k, self.faults).savefig(buffer, format="png")
            self._cache[k] = buffer.getvalue()
        return self._cache[k]

    def _render(self, k: int) -> None:
        self.caption.value = f"<code>{html.escape(caption(self.entries, k, self.faults))}</code>"
        self.image.value = self.png(k)

    def __repr__(self) -> str:
        return (f"Replay of {len(self.entries)} lifecycle entries "
                f"({caption(self.entries, self.step, self.faults)})")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        bundle["image/png"] = base64.b64encode(self.png()).decode("ascii")
        return bundle
