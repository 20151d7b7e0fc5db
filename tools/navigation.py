#!/usr/bin/env python3
"""Write the course map and the prev/next links from one list.

Why a script: the map in the README, the map in 00_start_here and the links at
the bottom of every notebook must agree, and hand-kept copies drift. Run
``python3 tools/navigation.py`` after adding or renaming a notebook;
``--check`` exits 1 when anything is out of date (a test runs that).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

#: (file stem, title, what the learner will do)
COURSE = [
    ("00_start_here", "Start here",
     "learn to run cells, restart a kernel, find exercises and solutions"),
    ("01_why_background_tasks", "Why background tasks exist",
     "measure a slow sign-up request on a real web app, then hand its slow part to the background"),
    ("02_events_not_cron", "Events, not cron",
     "build an event bus and compare it with polling on a timeline"),
    ("03_build_a_runner", "Build a runner",
     "build a queue, a worker, a pool and a graceful stop, then meet the library's runner"),
    ("04_the_context", "The context",
     "give a run its input, logs, progress, a state that survives, child runs"),
    ("05_the_controller", "The controller",
     "done, continue, error, aborted; time budgets, checkpoints, retries; the state chart"),
    ("06_lifecycle_visualized", "The lifecycle, visualized",
     "watch a live board, read a timeline, replay a log step by step"),
    ("07_when_things_go_wrong", "When things go wrong",
     "exceptions, retries, timeouts, aborts, a worker that dies, idempotency"),
    ("08_managing_tasks", "Managing tasks",
     "create, read, update, delete and list; logs; cleanup; persistence"),
    ("09_use_cases", "Use cases",
     "import and export, batch email, images, reports, an external API, cleanup"),
    ("10_scaling_out", "Scaling out", "the same ideas on Celery and Redis"),
    ("11_appendix_measuring", "Appendix: measuring the runner",
     "measure the runner's overhead against a thread pool, honestly, and see where the time goes"),
]

MAP_START, MAP_END = "<!-- map: written by tools/navigation.py -->", "<!-- /map -->"
NAV_TAG = "navigation"


def exists(stem: str) -> bool:
    return (NOTEBOOKS / f"{stem}.ipynb").exists()


def map_table(link_prefix: str) -> str:
    rows = ["| # | notebook | you will |", "|---|---|---|"]
    for stem, title, does in COURSE:
        name = f"[{title}]({link_prefix}{stem}.ipynb)" if exists(stem) else f"{title} (coming)"
        rows.append(f"| {stem[:2]} | {name} | {does} |")
    return "\n".join(rows)


def nav_text(index: int) -> str:
    parts = []
    if index > 0:
        stem, title, _ = COURSE[index - 1]
        parts.append(f"Previous: [{stem[:2]} {title}]({stem}.ipynb)")
    parts.append("[Contents](00_start_here.ipynb#The-course)")
    if index + 1 < len(COURSE):
        stem, title, _ = COURSE[index + 1]
        parts.append(f"**Next: [{stem[:2]} {title}]({stem}.ipynb)**" if exists(stem)
                     else f"Next: {stem[:2]} {title} (coming)")
    return " · ".join(parts)


def replace_map(text: str, table: str) -> str:
    pattern = re.compile(re.escape(MAP_START) + ".*?" + re.escape(MAP_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"no map markers {MAP_START} ... {MAP_END} found")
    return pattern.sub(lambda _: f"{MAP_START}\n{table}\n{MAP_END}", text)


def update_notebook(path: Path, index: int) -> str:
    """The notebook's JSON text with its map (00 only) and nav cell brought up to date."""
    original = path.read_text(encoding="utf-8")
    nb = json.loads(original)
    cells = nb["cells"]
    for cell in cells:
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and MAP_START in src:
            cell["source"] = replace_map(src, map_table("")).splitlines(keepends=True)
    nav = {"cell_type": "markdown", "id": f"nav-{index:02d}",
           "metadata": {"tags": [NAV_TAG]}, "source": [nav_text(index)]}
    cells[:] = [c for c in cells if NAV_TAG not in c.get("metadata", {}).get("tags", [])]
    cells.append(nav)
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = replace_map(text, map_table("notebooks/"))
    if new != text:
        stale.append(readme)
        if not check:
            readme.write_text(new, encoding="utf-8")
    for index, (stem, _, _) in enumerate(COURSE):
        path = NOTEBOOKS / f"{stem}.ipynb"
        if not path.exists():
            continue
        new = update_notebook(path, index)
        if new != path.read_text(encoding="utf-8"):
            stale.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    for path in stale:
        print(("out of date: " if check else "updated: ") + str(path.relative_to(ROOT)))
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
