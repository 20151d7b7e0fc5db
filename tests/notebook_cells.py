"""Run a notebook's ``live-version`` cells outside Jupyter, for agreement tests.

A notebook that builds a concept live (an event bus, a runner, a context) tags
those code cells ``live-version``. The agreement tests run exactly those cells,
then run the same scenario on the notebook's version and on the library's, and
assert they agree: the notebook and the package cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TAG = "live-version"


def live_cells(notebook: str) -> list[str]:
    """The source of every code cell tagged ``live-version``, in order."""
    path = NOTEBOOKS / notebook
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    sources = [
        "".join(cell["source"]) for cell in cells
        if cell["cell_type"] == "code" and TAG in cell.get("metadata", {}).get("tags", [])
    ]
    if not sources:
        raise AssertionError(f"{notebook} has no code cell tagged {TAG!r}")
    return sources


def live_namespace(notebook: str) -> dict[str, Any]:
    """Execute the tagged cells in one fresh namespace and return it.
    IPython magics (lines starting with % or !) are not allowed in them."""
    namespace: dict[str, Any] = {"__name__": f"live_{Path(notebook).stem}"}
    for index, source in enumerate(live_cells(notebook)):
        for line in source.splitlines():
            if line.lstrip().startswith(("%", "!")):
                raise AssertionError(f"{notebook}: live-version cell {index} uses a magic: {line}")
        code = compile(source, f"{notebook}[live {index}]", "exec", dont_inherit=True)
        exec(code, namespace)  # noqa: S102
    return namespace
