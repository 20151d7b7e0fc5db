"""One look per status, for every picture of the course.

Why one module: a learner who has seen "failed" drawn in vermillion with a
cross-hatch in notebook 5 should recognise it at a glance in notebook 7. Every
figure in ``teachtasks.viz`` takes its colours, hatches and markers from here,
and nowhere else.

Why these colours: they are from the Okabe-Ito palette, chosen so that people
with the common kinds of colour blindness can still tell them apart. Colour is
never the only cue: each status also has a hatch (the pattern inside a bar)
and a marker (the shape of a point), so a printout in grey still reads.
"""

from __future__ import annotations

from typing import Any

from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..run import Status, Step
from .projector import fs, lw

#: The eight Okabe-Ito colours (Okabe & Ito, "Color Universal Design", 2002).
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: The colour of each status: waiting is orange, working is sky blue, done
#: well is green, failed is vermillion, aborted is purple.
STATUS_COLORS: dict[Status, str] = {
    Status.PENDING: OKABE_ITO["orange"],
    Status.RUNNING: OKABE_ITO["sky blue"],
    Status.SUCCESS: OKABE_ITO["bluish green"],
    Status.FAILED: OKABE_ITO["vermillion"],
    Status.ABORTED: OKABE_ITO["reddish purple"],
}

#: The pattern inside a bar or box of each status. Success, the common case,
#: stays plain so that the exceptions stand out.
STATUS_HATCHES: dict[Status, str] = {
    Status.PENDING: "..",
    Status.RUNNING: "//",
    Status.SUCCESS: "",
    Status.FAILED: "xx",
    Status.ABORTED: "--",
}

#: The marker of each status (a point on a scatter plot, the end of a run).
#: pending: an empty slot; running: "play"; success: a star; failed: a cross;
#: aborted: "stop".
STATUS_MARKERS: dict[Status, str] = {
    Status.PENDING: "o",
    Status.RUNNING: ">",
    Status.SUCCESS: "*",
    Status.FAILED: "X",
    Status.ABORTED: "s",
}

#: Markers for the steps a timeline points at (they are events, not statuses,
#: so they are drawn in black over the bars).
STEP_MARKERS: dict[Step, str] = {
    Step.TRIGGERED: "v",
    Step.CONTINUED: "$\u00bb$",  # », go on with the next iteration
    Step.RETRY_SCHEDULED: "$\u21ba$",  # ↺, try this iteration again
    Step.ABORT_REQUESTED: "$\u2715$",  # ✕, someone asked it to stop
    Step.REQUEUED: "$\u2020$",  # †, its worker died; the lease expired
}

#: Words for the step markers, used in legends.
STEP_LABELS: dict[Step, str] = {
    Step.TRIGGERED: "triggered",
    Step.CONTINUED: "continue_ (next iteration)",
    Step.RETRY_SCHEDULED: "retry scheduled (exception)",
    Step.ABORT_REQUESTED: "abort requested",
    Step.REQUEUED: "requeued (lease expired)",
}

#: Time a run spends waiting (in the queue, for a retry's backoff or a
#: continue's delay) is not a status of its own: a neutral grey.
WAIT_COLOR = "#BBBBBB"
#: Lines, text and step markers.
INK = "#222222"


def status_color(status: Status | str) -> str:
    """The colour of a status (a ``Status`` or its name)."""
    return STATUS_COLORS[Status.parse(status)]


def status_style(status: Status | str, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for a matplotlib patch (``barh``, ``Rectangle``...) drawn
    in a status's look: its colour and hatch, with a dark hatch line so the
    pattern shows in grey too."""
    status = Status.parse(status)
    style: dict[str, Any] = {
        "facecolor": STATUS_COLORS[status],
        "hatch": STATUS_HATCHES[status],
        "hatchcolor": (0.0, 0.0, 0.0, 0.45),
        "edgecolor": "white",
        "linewidth": lw(0.8),
    }
    style.update(overrides)
    return style


def status_patch(status: Status | str, label: str | None = None) -> Patch:
    """A legend entry showing a status's colour and hatch."""
    status = Status.parse(status)
    return Patch(label=label or status.value, **status_style(status, edgecolor=INK,
                                                             linewidth=lw(0.6)))


def status_handles(statuses: list[Status] | None = None) -> list[Patch]:
    """Legend entries for ``statuses`` (every status by default)."""
    return [status_patch(s) for s in (statuses if statuses is not None else list(Status))]


def status_marker_handle(status: Status | str, label: str | None = None) -> Line2D:
    """A legend entry showing a status's marker in its colour."""
    status = Status.parse(status)
    size = fs(12 if status is Status.SUCCESS else 9)  # a star looks small beside a square
    return Line2D([], [], linestyle="", marker=STATUS_MARKERS[status], markersize=size,
                  markerfacecolor=STATUS_COLORS[status], markeredgecolor=INK,
                  markeredgewidth=0.6, label=label or status.value)


def step_handle(step: Step, label: str | None = None) -> Line2D:
    """A legend entry showing a step's marker."""
    return Line2D([], [], linestyle="", marker=STEP_MARKERS[step], markersize=fs(9),
                  color=INK, label=label or STEP_LABELS[step])


#: The status markers as text, for HTML and plain-text displays (the board).
STATUS_SYMBOLS: dict[Status, str] = {
    Status.PENDING: "\u25cb",  # ○
    Status.RUNNING: "\u25b6",  # ▶
    Status.SUCCESS: "\u2605",  # ★
    Status.FAILED: "\u2716",  # ✖
    Status.ABORTED: "\u25a0",  # ■
}

_LINE = "rgba(0,0,0,0.35)"
#: The hatches as CSS backgrounds, so an HTML widget shows the same pattern.
_CSS_HATCHES: dict[str, str] = {
    "": "",
    "//": f"repeating-linear-gradient(135deg, {_LINE} 0 1.5px, transparent 1.5px 7px)",
    "xx": (f"repeating-linear-gradient(45deg, {_LINE} 0 1.5px, transparent 1.5px 7px), "
           f"repeating-linear-gradient(135deg, {_LINE} 0 1.5px, transparent 1.5px 7px)"),
    "--": f"repeating-linear-gradient(0deg, {_LINE} 0 1.5px, transparent 1.5px 6px)",
    "..": f"radial-gradient({_LINE} 1.3px, transparent 1.6px) 0 0 / 6px 6px",
}


def css_background(status: Status | str) -> str:
    """A CSS ``background`` value with a status's colour and hatch."""
    status = Status.parse(status)
    pattern = _CSS_HATCHES.get(STATUS_HATCHES[status], "")
    color = STATUS_COLORS[status]
    return f"{pattern}, {color}" if pattern else color
