"""The state chart: every status a run can be in, and every way between them.

Why it is drawn from ``teachtasks.run.TRANSITIONS``: the store refuses any
status change that table does not list, so a chart drawn from the same table
can never disagree with the code. Add a transition to the table and it
appears here (with its two statuses' names as its label until someone writes
a better one in ``CAUSES``).

The chart can also tell a story: ``statechart(entries)`` writes on each arrow
how many times it happened in a lifecycle log, and on each status how many
runs are in it; ``highlight_run`` lights up one run's path, and ``current``
one transition (the replay uses it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch

from ..run import TRANSITIONS, LifecycleEntry, Status, Step
from ._figure import figure_of, new_figure
from ._log import by_run
from .colors import INK, OKABE_ITO, STATUS_COLORS, STATUS_HATCHES
from .projector import drawn_in_look, fs, look, lw

#: What makes each transition happen, in words a learner knows from the course.
CAUSES: dict[tuple[Status, Status], str] = {
    (Status.PENDING, Status.RUNNING): "claimed by a worker",
    (Status.PENDING, Status.ABORTED): "abort() while it waits",
    (Status.RUNNING, Status.SUCCESS): "done(output)",
    (Status.RUNNING, Status.FAILED): "error(), or an exception\nwith no retry left",
    (Status.RUNNING, Status.ABORTED): "aborted(), or stopped\nafter an abort request",
    (Status.RUNNING, Status.PENDING): "lease expired (its worker\ndied): requeued",
}
#: The arrow into ``pending`` from nowhere: a run is born pending.
BIRTH_CAUSE = "triggered"
#: The loop on ``running``: not a change of status, but the engine's busiest path.
LOOP_CAUSE = "continue_ or retry:\nnext iteration, still running"

#: The colour that lights up the current transition (Okabe-Ito blue: no status uses it).
HIGHLIGHT = OKABE_ITO["blue"]


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a status sits on the chart (data units; the axes keep x and y equal)."""

    x: float
    y: float


_BOX_W, _BOX_H = 1.7, 0.75
_PLACES: dict[Status, _Place] = {
    Status.PENDING: _Place(0.8, 2.0),
    Status.RUNNING: _Place(4.6, 2.0),
    Status.SUCCESS: _Place(9.3, 4.0),
    Status.FAILED: _Place(9.3, 2.0),
    Status.ABORTED: _Place(9.3, 0.0),
}
_BIRTH = _Place(-1.5, 2.0)


@dataclass(frozen=True, slots=True)
class _Arrow:
    """How a known transition is drawn: its connection style, and where its
    label goes: ``along`` the arrow (at ``at``, a fraction of the way, on the
    left (+1) or right (-1) of its direction), or at a fixed point ``xy``."""

    style: str = "arc3,rad=0"
    along: int = 0
    at: float = 0.5
    xy: tuple[float, float] | None = None


#: Hand-placed arrows for the known transitions. An unknown transition gets a
#: slightly bent arrow with its label alongside.
_ARROWS: dict[tuple[Status, Status], _Arrow] = {
    (Status.PENDING, Status.RUNNING): _Arrow(along=1),
    (Status.RUNNING, Status.PENDING): _Arrow("arc3,rad=-0.45", xy=(2.7, 0.72)),
    (Status.PENDING, Status.ABORTED): _Arrow("angle,angleA=-90,angleB=180,rad=0.3",
                                             xy=(3.0, 0.0)),
    (Status.RUNNING, Status.SUCCESS): _Arrow(along=1, at=0.55),
    (Status.RUNNING, Status.FAILED): _Arrow(along=1, at=0.5),
    (Status.RUNNING, Status.ABORTED): _Arrow(along=-1, at=0.55),
}
_DEFAULT_ARROW = _Arrow("arc3,rad=0.15", along=1)


def edges() -> list[tuple[Status, Status, str]]:
    """Every transition of ``TRANSITIONS`` with the words for its cause, in the
    order of the ``Status`` enum. This is exactly what the chart draws."""
    return [
        (old, new, CAUSES.get((old, new), f"{old.value} -> {new.value}"))
        for old in Status for new in sorted(TRANSITIONS[old], key=list(Status).index)
    ]


def transition_counts(entries: Iterable[LifecycleEntry]) -> dict[tuple[Status, Status], int]:
    """How many times each status change happened in the log: for each run,
    its consecutive entries' ``status`` compared pairwise. Every transition of
    ``TRANSITIONS`` is in the result (0 if it never happened); a change the
    table does not allow would be counted too, so nothing is hidden."""
    counts: Counter[tuple[Status, Status]] = Counter()
    for run_entries in by_run(entries).values():
        for before, after in zip(run_entries, run_entries[1:], strict=False):
            if before.status != after.status:
                counts[(before.status, after.status)] += 1
    result = {(old, new): 0 for old, new, _ in edges()}
    result.update(counts)
    return result


def run_path(entries: Iterable[LifecycleEntry], run_id: str) -> list[tuple[Status, Status]]:
    """The status changes of one run, in order."""
    mine = by_run(entries).get(run_id, [])
    return [(a.status, b.status) for a, b in zip(mine, mine[1:], strict=False)
            if a.status != b.status]


def _place(status: Status) -> _Place:
    if status in _PLACES:
        return _PLACES[status]
    extra = [s for s in Status if s not in _PLACES]
    return _Place(-1.0 + 2.4 * extra.index(status), -1.0)


def _label(ax: Axes, x: float, y: float, text: str, *, ha: str = "center", va: str = "center",
           rotation: float = 0.0, lit: bool = False, faded: bool = False,
           gid: str | None = None) -> None:
    ax.text(x, y, text, ha=ha, va=va, rotation=rotation, rotation_mode="anchor", fontsize=fs(8.5),
            zorder=6, gid=gid, color=HIGHLIGHT if lit else INK, alpha=look().faded_text if faded else 1.0,
            fontweight="bold" if lit else "normal", linespacing=1.15,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
                  "alpha": 0.8})


def _along(a: _Place, b: _Place, at: float, side: int) -> tuple[float, float, float, str]:
    """Where a label goes beside the straight arrow ``a -> b``: its anchor point,
    its rotation (kept upright) and its vertical alignment."""
    dx, dy = b.x - a.x, b.y - a.y
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    nx, ny = -uy * side, ux * side  # the side of the arrow the label goes on
    angle = math.degrees(math.atan2(dy, dx))
    if angle > 90 or angle < -90:
        angle -= 180 if angle > 0 else -180
    up_x, up_y = -math.sin(math.radians(angle)), math.cos(math.radians(angle))
    va = "bottom" if nx * up_x + ny * up_y > 0 else "top"
    gap = 0.1
    return a.x + dx * at + nx * gap, a.y + dy * at + ny * gap, angle, va


@drawn_in_look
def statechart(
    entries: Iterable[LifecycleEntry] | None = None,
    ax: Axes | None = None,
    *,
    highlight_run: str | None = None,
    current: tuple[Status | None, Status] | None = None,
    node_counts: Mapping[Status, int] | None = None,
    title: str | None = None,
    show_loop: bool = True,
) -> Figure:
    """Draw the state chart from ``TRANSITIONS``: a box per status (final ones
    with a double border), an arrow per transition labelled with its cause.

    With ``entries`` (a lifecycle log) each arrow also says how many times it
    happened and each box how many runs ended up there (``node_counts``
    overrides those numbers). ``highlight_run`` lights up that run's path and
    fades the rest; ``current`` lights up one transition (``(None, pending)``
    is the arrow a run is born on, ``(running, running)`` the loop). Each arrow
    carries ``gid`` ``"transition:<old>-><new>"`` (the birth arrow
    ``"transition:start->pending"``) and each box ``"status:<name>"``."""
    log = list(entries) if entries is not None else None
    counts = transition_counts(log) if log is not None else None
    if node_counts is None and log is not None:
        finals = Counter(run[-1].status for run in by_run(log).values())
        node_counts = {s: finals.get(s, 0) for s in Status}
    path = run_path(log, highlight_run) if (log is not None and highlight_run) else []
    on_path = set(path)
    loops = 0
    if log is not None:
        loops = sum(1 for e in log if e.step in (Step.CONTINUED, Step.RETRY_SCHEDULED)
                    and (highlight_run is None or e.run_id == highlight_run))

    if ax is None:
        fig = new_figure(10.0, 4.8)
        ax = fig.add_subplot()
    else:
        fig = figure_of(ax)
    ax.set_aspect("equal")
    ax.set_axis_off()
    extra = [s for s in Status if s not in _PLACES]
    ax.set_xlim(-2.3, 10.3)
    # larger text (projector mode) needs room under the chart for the legend
    room = 0.0 if look().font == 1.0 else 0.9
    ax.set_ylim((-1.9 if extra else -0.55) - room, 4.55)
    if title is None:
        title = "The life of a run: every status, and what moves a run between them"
        if highlight_run:
            title += f"\n(the path of {highlight_run} is drawn bold)"
    ax.set_title(title, loc="left")

    # the boxes
    boxes: dict[Status, FancyBboxPatch] = {}
    for status in Status:
        p = _place(status)
        fade = bool(highlight_run) and status not in {s for pair in path for s in pair}
        box = FancyBboxPatch(
            (p.x - _BOX_W / 2, p.y - _BOX_H / 2), _BOX_W, _BOX_H,
            boxstyle="round,pad=0,rounding_size=0.18", facecolor=STATUS_COLORS[status],
            hatch=STATUS_HATCHES[status], hatchcolor=(0, 0, 0, 0.35), edgecolor=INK,
            linewidth=lw(1.2), alpha=look().faded_box if fade else 1.0, zorder=3, gid=f"status:{status.value}",
        )
        ax.add_patch(box)
        boxes[status] = box
        if status.is_final:  # a second border: nothing leaves a final status
            ax.add_patch(FancyBboxPatch(
                (p.x - _BOX_W / 2 - 0.07, p.y - _BOX_H / 2 - 0.07), _BOX_W + 0.14,
                _BOX_H + 0.14, boxstyle="round,pad=0,rounding_size=0.22", facecolor="none",
                edgecolor=INK, linewidth=lw(1.0), alpha=look().faded_box if fade else 1.0, zorder=3,
            ))
        text = status.value
        if node_counts is not None:
            n = node_counts.get(status, 0)
            text += f"\n{n} run" + ("" if n == 1 else "s")
        ax.text(p.x, p.y, text, ha="center", va="center", fontsize=fs(10), fontweight="bold",
                color=INK, zorder=5, alpha=look().faded_name if fade else 1.0,
                bbox={"boxstyle": "round,pad=0.18", "facecolor": "white", "edgecolor": "none",
                      "alpha": 0.85})

    def arrow(a: tuple[float, float] | FancyBboxPatch, b: FancyBboxPatch, style: str, *,
              lit: bool, faded: bool, gid: str) -> None:
        kwargs = {"patchB": b, "shrinkA": 0, "shrinkB": 6}
        if isinstance(a, FancyBboxPatch):
            posa = (a.get_x() + a.get_width() / 2, a.get_y() + a.get_height() / 2)
            kwargs.update(patchA=a, shrinkA=6)
        else:
            posa = a
        posb = (b.get_x() + b.get_width() / 2, b.get_y() + b.get_height() / 2)
        ax.add_patch(FancyArrowPatch(
            posa, posb, connectionstyle=style, arrowstyle="-|>", mutation_scale=fs(16),
            color=HIGHLIGHT if lit else INK, linewidth=lw(3.2 if lit else 1.4),
            alpha=look().faded_line if faded else 1.0, zorder=4 if lit else 2, gid=gid, **kwargs,
        ))

    # the arrow into pending: how every run starts
    ax.add_patch(Circle((_BIRTH.x, _BIRTH.y), 0.16, color=INK, zorder=3))
    born = f"{BIRTH_CAUSE}\n(trigger / emit)"
    if log is not None and not highlight_run:
        n = sum(1 for e in log if e.step is Step.TRIGGERED)
        born += f"\n{n} time" + ("" if n == 1 else "s")
    lit = current == (None, Status.PENDING) or bool(path)
    arrow((_BIRTH.x + 0.16, _BIRTH.y), boxes[Status.PENDING], "arc3,rad=0", lit=lit,
          faded=bool(highlight_run) and not path, gid="transition:start->pending")
    _label(ax, (_BIRTH.x + _PLACES[Status.PENDING].x - _BOX_W / 2) / 2, _BIRTH.y + 0.52,
           born, lit=lit)

    # one arrow per transition in the table
    for old, new, cause in edges():
        how = _ARROWS.get((old, new), _DEFAULT_ARROW)
        lit = current == (old, new) or (old, new) in on_path
        faded = bool(highlight_run) and (old, new) not in on_path and current != (old, new)
        gid = f"transition:{old.value}->{new.value}"
        arrow(boxes[old], boxes[new], how.style, lit=lit, faded=faded, gid=gid)
        text = cause
        if counts is not None and not highlight_run:
            n = counts.get((old, new), 0)
            text += f"\n{n} time" + ("" if n == 1 else "s")
        if path and (old, new) in on_path:
            order = [i + 1 for i, pair in enumerate(path) if pair == (old, new)]
            text = ("steps " if len(order) > 1 else "step ") + ", ".join(map(str, order)) + \
                ":\n" + text
        if how.xy is not None:
            _label(ax, *how.xy, text, lit=lit, faded=faded, gid=f"label:{gid}")
        else:
            x, y, angle, va = _along(_place(old), _place(new), how.at, how.along or 1)
            _label(ax, x, y, text, va=va, rotation=angle, lit=lit, faded=faded,
                   gid=f"label:{gid}")

    if show_loop:
        run_box = _PLACES[Status.RUNNING]
        top = run_box.y + _BOX_H / 2
        lit = current == (Status.RUNNING, Status.RUNNING) or bool(highlight_run and loops)
        faded = bool(highlight_run) and not loops
        ax.add_patch(FancyArrowPatch(
            (run_box.x - 0.35, top), (run_box.x + 0.35, top), connectionstyle="arc3,rad=-1.3",
            arrowstyle="-|>", mutation_scale=fs(14), color=HIGHLIGHT if lit else INK,
            linewidth=lw(2.6 if lit else 1.1), linestyle="--", shrinkA=1, shrinkB=1, zorder=2,
            alpha=look().faded_line if faded else 1.0, gid="loop:running",
        ))
        text = LOOP_CAUSE
        if log is not None and (loops or not highlight_run):
            text += f"\n{loops} time" + ("" if loops == 1 else "s")
        _label(ax, run_box.x, top + 0.62 * look().font ** 0.7 + (0.12 if log is not None else 0), text,
               lit=lit, faded=faded)

    handles: list[Patch | Line2D] = [
        Patch(facecolor="white", edgecolor=INK, label="double border: a final status"),
        Line2D([], [], color=INK, linestyle="--", label="dashed: no change of status"),
    ]
    if current is not None or highlight_run:
        handles.append(Line2D([], [], color=HIGHLIGHT, linewidth=lw(3.2),
                              label="bold blue: " + ("this step" if current else "its path")))
    ax.legend(handles=handles, loc="lower left", fontsize=fs(8), frameon=False,
              bbox_to_anchor=(0.0, 0.0))
    return fig
