"""Pictures of the lifecycle: timelines, the state chart, a live board, a replay.

Everything here is drawn from two sources only: the lifecycle log (a list of
``LifecycleEntry``, e.g. ``manager.lifecycle()``) and ``run.TRANSITIONS``. So
a picture shows what the engine did, never a second opinion about it.

``import teachtasks`` does not import this package (matplotlib and ipywidgets
are heavy); ``from teachtasks.viz import timeline`` does. The widgets
(``Board``, ``Replay``) import ipywidgets only when one is made.

* ``colors``: one look (colour, hatch, marker) per status for every picture
* ``timeline``: who ran what, when (``timeline``, ``run_timeline``, ``bars``)
* ``statechart``: the state diagram (``statechart``, ``transition_counts``)
* ``board``: a live board that follows a runner (``Board``, ``follow``)
* ``replay``: step through a recorded log (``Replay``, ``state_at``)
* ``throughput``: waiting, working, runs finished per second
* ``demo``: ready-made deterministic scenarios (``demo_manager``)
* ``projector``: a classroom look (larger text, thicker lines, darker greys)
"""

from .board import Board, follow, summary_figure
from .colors import (
    OKABE_ITO,
    STATUS_COLORS,
    STATUS_HATCHES,
    STATUS_MARKERS,
    STATUS_SYMBOLS,
    STEP_MARKERS,
    status_color,
    status_style,
)
from .demo import busy_manager, demo_manager
from .projector import Look, projector
from .replay import Replay, replay_figure, state_at, transition_at
from .statechart import edges, run_path, statechart, transition_counts
from .throughput import finished_per_second, run_times, throughput
from .timeline import Bar, bars, run_timeline, timeline

__all__ = [
    "OKABE_ITO", "STATUS_COLORS", "Look", "projector", "STATUS_HATCHES", "STATUS_MARKERS", "STATUS_SYMBOLS",
    "STEP_MARKERS", "Bar", "Board", "Replay", "bars", "busy_manager", "demo_manager", "edges",
    "finished_per_second", "follow", "replay_figure", "run_path", "run_times", "run_timeline",
    "state_at", "statechart", "status_color", "status_style", "summary_figure", "throughput",
    "timeline", "transition_at", "transition_counts",
]
