"""A learner's progress: which exercises their own code has passed.

Why a file: a learner works over days, restarts kernels and closes notebooks.
Each check that passes writes its exercise id into a small JSON file beside
the notebooks (git ignores it), so ``progress()`` can show, at any time, the
whole course solved or not. A teacher can ask a learner to paste that table.

The file is ``notebooks/.teachtasks-progress.json`` when the course's
``notebooks`` folder is found next to the package's source (the usual
``python3 course.py`` set-up), else ``.teachtasks-progress.json`` in the
current folder. The environment variable ``TEACHTASKS_PROGRESS`` overrides the
path: the test suite points it at a temporary file, so running the tests never
marks anything solved in the learner's own file.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

ENV_VAR = "TEACHTASKS_PROGRESS"
FILE_NAME = ".teachtasks-progress.json"


def progress_path() -> Path:
    """Where passing checks are remembered (see the module's docstring)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    notebooks = Path(__file__).resolve().parents[3] / "notebooks"
    if notebooks.is_dir():
        return notebooks / FILE_NAME
    return Path.cwd() / FILE_NAME


def solved() -> dict[str, str]:
    """Exercise id -> when it was first solved (UTC, ISO format). A missing or
    damaged file means nothing solved yet: progress is a convenience, never a
    reason for a check to fail."""
    try:
        data = json.loads(progress_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = data.get("solved", {}) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in entries.items()} if isinstance(entries, dict) else {}


def remember(exercise_id: str) -> None:
    """Record that ``exercise_id`` passed (the first time only). A file that
    cannot be written (read-only folder) is silently skipped."""
    entries = solved()
    if exercise_id in entries:
        return
    entries[exercise_id] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = progress_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"solved": dict(sorted(entries.items()))}, indent=1),
                       encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass


def progress_table(exercise_ids: list[str]) -> str:
    """One line per exercise, grouped by notebook: ``03  [x] 03.1  [ ] 03.2``."""
    done = solved()
    by_notebook: dict[str, list[str]] = {}
    for exercise_id in sorted(exercise_ids):
        by_notebook.setdefault(exercise_id.split(".")[0], []).append(exercise_id)
    lines = []
    for notebook, ids in by_notebook.items():
        marks = "  ".join(f"[{'x' if i in done else ' '}] {i}" for i in ids)
        lines.append(f"notebook {notebook}:  {marks}")
    count = sum(1 for i in exercise_ids if i in done)
    lines.append(f"solved {count} of {len(exercise_ids)} exercises")
    return "\n".join(lines)
