"""How the viz package makes a figure.

Why not ``pyplot``: pyplot keeps every figure in a global list, and in
JupyterLab it shows each one again at the end of the cell, so a function that
also returns its figure shows it twice. We build a plain ``Figure`` instead: it
is shown once (as the cell's value, or with ``display(fig)``), it is freed
when nobody holds it any more, and it can be drawn from any thread.
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.transforms import Bbox

from .projector import look, lw

#: Pictures are saved and shown at 100 dots per inch: small files, sharp enough.
DPI = 100


def new_figure(width: float, height: float, **kwargs: Any) -> Figure:
    """A figure ``width`` x ``height`` inches with constrained layout (labels and
    legends never overlap the plot), ready to show in a notebook."""
    _show_figures_in_ipython()
    scale = look().size  # 1 unless projector mode is on
    return Figure(figsize=(width * scale, height * scale), dpi=DPI, layout="constrained", **kwargs)


def style_time_axis(ax: Axes, title: str, ylabel: str,
                    xlabel: str = "time (seconds on the clock)") -> None:
    """The look every time chart shares: the clock's seconds along x, light
    vertical grid lines behind the bars, a left-aligned title, no box."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left")
    ax.grid(axis="x", color=look().grid, linewidth=lw(0.6), zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def figure_of(ax: Axes) -> Figure:
    """The top-level figure an axes belongs to (an axes may live in a subfigure)."""
    fig = ax.figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    assert isinstance(fig, Figure)
    return fig


def _show_figures_in_ipython() -> None:
    """Make IPython show a ``Figure`` as a PNG even if pyplot was never imported
    (it is pyplot's inline backend that usually teaches IPython how). A
    formatter the user already has is left alone."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is optional
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters.get("image/png")
    if formatter is None:
        return
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        from IPython.core.pylabtools import print_figure

        formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches=None))


def label_points(
    ax: Axes,
    points: list[tuple[float, float]],
    texts: list[str],
    *,
    fontsize: float | None = None,
    offsets: tuple[tuple[float, float], ...] = ((5, 4), (5, -11), (-5, 4), (-5, -11)),
) -> int:
    """Name points on a plot without letting two names overlap: each name tries
    a few places around its point (offsets in points) and takes the first that
    touches no name already written; a point with no free place stays unnamed.
    Measured after layout. Returns how many names were written (``fontsize``:
    7.5 points in the current look)."""
    if not points:
        return 0
    if fontsize is None:
        fontsize = 7.5 * look().font
    fig = figure_of(ax)
    fig.draw_without_rendering()
    frame = ax.get_window_extent()
    placed = []
    taken = [ax.get_legend().get_window_extent()] if ax.get_legend() is not None else []
    for x, y in points:  # the points themselves stay visible
        px, py = ax.transData.transform((x, y))
        taken.append(Bbox.from_extents(px - 4, py - 4, px + 4, py + 4))
    for (x, y), text in zip(points, texts, strict=True):
        for dx, dy in offsets:
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points",
                                ha="left" if dx >= 0 else "right", fontsize=fontsize,
                                color="#222222", annotation_clip=True)
            label.set_in_layout(False)
            box = label.get_window_extent()
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 \
                and box.y1 <= frame.y1
            if inside and not any(box.overlaps(other) for other in placed + taken):
                placed.append(box)
                break
            label.remove()
    return len(placed)
