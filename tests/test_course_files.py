"""The course's files keep the course's promises (see notebooks/AUTHORING.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_navigation_and_maps_are_up_to_date() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "navigation.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, "run python3 tools/navigation.py:\n" + result.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_saved_executed_and_checkable(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = "".join(nb["cells"][0]["source"])
    for heading in ("What you will learn", "What you need", "About how long"):
        assert heading in first, f"{path.name}: the first cell needs '{heading}'"
    assert any("Recap" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert all(c["execution_count"] is not None for c in code), "run it and save its outputs"
    counts = [c["execution_count"] for c in code]
    assert counts == sorted(counts), "executed top to bottom in one fresh kernel"
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{path.name} has saved errors"
    sources = ["".join(c["source"]) for c in code]
    assert not any("NBVAL_SKIP" in s for s in sources)
    ignored = sum("NBVAL_IGNORE_OUTPUT" in s for s in sources)
    assert ignored * 5 <= len(code), f"{ignored} of {len(code)} cells ignore their output"
    stderr = [o for c in code for o in c["outputs"]
              if o["output_type"] == "stream" and o["name"] == "stderr"]
    assert not stderr, f"{path.name} saved warnings or stderr: {stderr[:1]}"
