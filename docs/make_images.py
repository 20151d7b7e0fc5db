"""Render the reference pictures of ``teachtasks.viz`` into ``docs/images/``.

Why: every picture of the course must be looked at by a person before it is
trusted (overlapping labels, unreadable legends, colours that do not tell
statuses apart are invisible to tests). This script draws each one from the
deterministic demo scenarios, so the same files come out every time, and
checks that each stays small.

    .venv/bin/python docs/make_images.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

from teachtasks.run import Step  # noqa: E402
from teachtasks.viz import (  # noqa: E402
    busy_manager,
    demo_manager,
    projector,
    replay_figure,
    run_timeline,
    statechart,
    summary_figure,
    throughput,
    timeline,
)

IMAGES = Path(__file__).resolve().parent / "images"
MAX_BYTES = 200_000


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    demo = demo_manager()
    log = demo.lifecycle()
    busy = busy_manager().lifecycle()
    requeue_step = next(i + 1 for i, e in enumerate(log) if e.step is Step.REQUEUED)

    figures = {
        "timeline.png": timeline(log),
        "run_timeline.png": run_timeline(log),
        "statechart.png": statechart(log),
        "statechart_plain.png": statechart(),  # no counts: the cheat sheet's
        "statechart_run.png": statechart(log, highlight_run="run-1"),
        "board_summary.png": summary_figure(demo),
        "replay_step.png": replay_figure(log, requeue_step),
        "throughput.png": throughput(log),
        "timeline_200.png": timeline(busy),
        "run_timeline_200.png": run_timeline(busy),
        "throughput_200.png": throughput(busy),
    }
    with projector():  # the classroom look, beside the default one
        figures["statechart_projector.png"] = statechart(log)
        figures["statechart_run_projector.png"] = statechart(log, highlight_run="run-1")
        figures["timeline_projector.png"] = timeline(log)
    too_big = []
    for name, fig in figures.items():
        path = IMAGES / name
        fig.savefig(path)
        size = path.stat().st_size
        print(f"{path.relative_to(IMAGES.parent.parent)}  {size / 1000:6.1f} kB")
        if size > MAX_BYTES:
            too_big.append(name)
    side_by_side("statechart_run.png", "statechart_run_projector.png", "projector_side_by_side.png")
    if too_big:
        print(f"over {MAX_BYTES // 1000} kB: {', '.join(too_big)}", file=sys.stderr)
        return 1
    return 0


def side_by_side(left: str, right: str, name: str) -> None:
    """The default look and projector mode in one picture, each at its own size
    (for the closing note: the same chart, as a laptop and as a projector shows it)."""
    from PIL import Image

    a, b = Image.open(IMAGES / left), Image.open(IMAGES / right)
    both = Image.new("RGB", (a.width + b.width + 20, max(a.height, b.height)), "white")
    both.paste(a, (0, (both.height - a.height) // 2))
    both.paste(b, (a.width + 20, 0))
    both.save(IMAGES / name, optimize=True)
    print(f"docs/images/{name}  {(IMAGES / name).stat().st_size / 1000:6.1f} kB")


if __name__ == "__main__":
    sys.exit(main())
