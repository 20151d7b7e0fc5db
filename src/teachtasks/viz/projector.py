"""Projector mode: the same pictures, readable from the back of a classroom.

Why a mode and not new defaults: the notebooks' saved figures (and the
``<Figure size WxH with N Axes>`` line nbval compares) must not change, and on
a laptop screen the default look is the right one. A projector is different:
it washes out light greys, and text of 8 points inside a bar is unreadable
from ten metres. So the teacher switches the mode on, and every picture of
``teachtasks.viz`` drawn while it is on gets:

* a figure 1.25 times as large (so it fills a projected notebook's width),
* text and markers 1.5 times as large (so, relative to the figure, a fifth
  larger),
* lines 1.8 times as thick,
* darker greys (grid lines, waiting time) and faded parts of the state chart
  (the arrows a run did not take) dark enough to see.

A live board (``Board``, ``follow``) made while the mode is on gets larger
tiles, bars and log text too; ``follow(runner, pace=0.3)`` slows it down.

Two ways to use it, like matplotlib's own style switches::

    viz.projector()            # on from here (viz.projector(False): off again)
    with viz.projector():      # on inside the block only
        viz.statechart(log)

Each drawing function reads the look once, when it starts: a figure is drawn
in one look, never half in each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import matplotlib as mpl


@dataclass(frozen=True, slots=True)
class Look:
    """How large and how dark a picture is drawn. ``DEFAULT`` is the look of
    every saved notebook figure; ``PROJECTOR`` the classroom one."""

    name: str
    size: float = 1.0  # figure width and height
    font: float = 1.0  # text and marker sizes (points)
    line: float = 1.0  # line widths
    grid: str = "#dddddd"  # grid lines behind bars
    rule: str = "#999999"  # a separating rule, a missing value's text
    wait: str = "#BBBBBB"  # time a run spends waiting (no status of its own)
    faded_line: float = 0.3  # alpha of a state-chart arrow that is not on the path
    faded_text: float = 0.45  # alpha of its label
    faded_box: float = 0.4  # alpha of a status box that is not on the path
    faded_name: float = 0.5  # alpha of that box's name


DEFAULT = Look("default")
PROJECTOR = Look("projector", size=1.25, font=1.5, line=1.8, grid="#aaaaaa", rule="#555555",
                 wait="#8C8C8C", faded_line=0.7, faded_text=0.8, faded_box=0.7,
                 faded_name=0.85)

_current: list[Look] = [DEFAULT]


def look() -> Look:
    """The look pictures are drawn in now."""
    return _current[0]


class projector:  # noqa: N801  (used like a function: viz.projector())
    """Switch projector mode on (``projector()``) or off (``projector(False)``).
    Used in a ``with`` block, the look before it comes back at the end."""

    def __init__(self, on: bool = True) -> None:
        self._before = _current[0]
        _current[0] = PROJECTOR if on else DEFAULT

    def __enter__(self) -> Look:
        return _current[0]

    def __exit__(self, *exc: object) -> None:
        _current[0] = self._before

    def __repr__(self) -> str:
        return f"projector mode {'on' if _current[0] is PROJECTOR else 'off'}"


def fs(points: float) -> float:
    """A text or marker size in the current look."""
    return points * _current[0].font


def lw(width: float) -> float:
    """A line width in the current look."""
    return width * _current[0].line


F = TypeVar("F", bound=Callable[..., Any])


def drawn_in_look(function: F) -> F:
    """Draw a figure function's texts, ticks and lines in the current look.

    Explicit sizes in the drawing code go through ``fs`` and ``lw``; what
    matplotlib sizes by itself (titles, axis labels, tick labels, default
    lines) comes from its settings, which are scaled here for the duration of
    the call. In the default look the function runs untouched."""

    @wraps(function)
    def drawn(*args: Any, **kwargs: Any) -> Any:
        current = _current[0]
        if current is DEFAULT:
            return function(*args, **kwargs)
        base = mpl.rcParamsDefault
        settings = {
            "font.size": base["font.size"] * current.font,
            "lines.linewidth": base["lines.linewidth"] * current.line,
            "patch.linewidth": base["patch.linewidth"] * current.line,
            "axes.linewidth": base["axes.linewidth"] * current.line,
            "hatch.linewidth": base["hatch.linewidth"] * 1.5,
            "xtick.major.width": base["xtick.major.width"] * current.line,
            "ytick.major.width": base["ytick.major.width"] * current.line,
        }
        with mpl.rc_context(settings):
            fig = function(*args, **kwargs)
            # ticks matplotlib makes later (at draw time) must get the size too
            for ax in getattr(fig, "axes", []):
                for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
                    if type(axis.get_major_formatter()).__name__ != "FixedFormatter":
                        ax.tick_params(axis=name, labelsize=settings["font.size"])
        return fig

    return drawn  # type: ignore[return-value]
