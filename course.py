#!/usr/bin/env python3
"""The course's one entry point: set up, open, test, execute.

Why a Python script and not a Makefile: the only things a learner's machine is
promised are Python 3.11 and pip. This file uses the standard library alone, so
it runs before anything is installed.

    python3 course.py open      # create .venv when missing, open JupyterLab
    python3 course.py test      # every test: library tests and nbval over every notebook
    python3 course.py execute   # run every notebook headless and save its outputs
    python3 course.py site      # write the course as a static website into _site/

The environment is re-installed only when requirements.txt or pyproject.toml change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-from"
NOTEBOOKS = ROOT / "notebooks"


def say(message: str) -> None:
    print(f"[course] {message}", flush=True)


def run(cmd: list[str | Path], **kwargs) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kwargs)


def wanted_stamp() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_env() -> None:
    """Create .venv and install requirements.txt into it, unless already done."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script is what tells users
        sys.exit("teachtasks needs Python 3.11 or newer; run this script with python3.11")
    if not PY.exists():
        say("creating the environment in .venv (once)")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == wanted_stamp():
        return
    say("installing requirements.txt into .venv (a minute or two the first time)")
    code = run([PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "-r", "requirements.txt"])
    if code != 0:
        sys.exit(f"pip install failed (exit {code}); see the messages above")
    STAMP.write_text(wanted_stamp())


def notebook_paths() -> list[Path]:
    return sorted(p for p in NOTEBOOKS.glob("[0-9]*.ipynb"))


def cmd_open(args: list[str]) -> int:
    ensure_env()
    extra = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    say("opening JupyterLab; stop it with Ctrl+C")
    return run([BIN / "jupyter", "lab", "--ip=127.0.0.1", f"--notebook-dir={NOTEBOOKS}", *extra, *args])


def cmd_test(args: list[str]) -> int:
    ensure_env()
    pytest = [PY, "-m", "pytest", "-p", "no:cacheprovider"]
    say("ruff: style and lint")
    code = run([PY, "-m", "ruff", "check", "src", "tests", "benchmarks", "course.py"])
    if code != 0:
        return code
    say("library tests and nbval over every notebook")
    return run([
        *pytest, "tests", *notebook_paths(),
        "--nbval", "--nbval-current-env",
        "--nbval-sanitize-with", "tests/sanitize.cfg",
        "--nbval-cell-timeout", "120",
        "--doctest-glob=README.md", "README.md",
        *args,
    ])


def cmd_execute(args: list[str]) -> int:
    """Run every notebook top to bottom in a fresh kernel and save its outputs."""
    ensure_env()
    paths = [Path(a) for a in args] or notebook_paths()
    for path in paths:
        say(f"executing {path.name}")
        code = run([BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute",
                    "--inplace", "--ExecutePreprocessor.timeout=300", path])
        if code != 0:
            return code
    return 0


def cmd_site(args: list[str]) -> int:
    """Write the course as a static website into _site/ (tools/build_site.py; --help for its options)."""
    ensure_env()
    say("writing the course as a static website (tools/build_site.py)")
    return run([PY, ROOT / "tools" / "build_site.py", *args])


COMMANDS = {"open": cmd_open, "test": cmd_test, "execute": cmd_execute, "site": cmd_site}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
