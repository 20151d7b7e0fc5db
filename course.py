#!/usr/bin/env python3
"""The course's one entry point: set up, open, test, execute.

Why a Python script and not a Makefile: the only things a learner's machine is
promised are Python 3.11 and pip. This file uses the standard library alone, so
it runs before anything is installed.

    python3 course.py open        # create .venv when missing (requirements.txt), open JupyterLab
    python3 course.py test        # add requirements-test.txt, run every test and nbval over every notebook
    python3 course.py execute     # run every notebook headless and save its outputs
    python3 course.py site        # write the course as a static website into _site/
    python3 course.py wheelhouse  # download every wheel into wheelhouse/ for an offline classroom

On Windows type ``py course.py ...`` (or ``py -3.12 course.py ...``). The
environment is re-installed only when a requirements file or pyproject.toml
changes. See docs/SETUP.md for each platform.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
WINDOWS = os.name == "nt"
BIN = VENV / ("Scripts" if WINDOWS else "bin")
PY = BIN / ("python.exe" if WINDOWS else "python")
NOTEBOOKS = ROOT / "notebooks"
WHEELHOUSE = ROOT / "wheelhouse"
SETUP_PAGE = "docs/SETUP.md"
#: Each environment: the file pip installs, the files it depends on, the stamp that says it is done.
ENVIRONMENTS = {
    "learner": ("requirements.txt", ("requirements.txt", "pyproject.toml"), VENV / ".installed-from"),
    "test": ("requirements-test.txt", ("requirements.txt", "requirements-test.txt", "pyproject.toml"),
             VENV / ".installed-test"),
}
SUPPORTED_PYTHONS = ((3, 11), (3, 12), (3, 13))
#: How to run this script again, as the learner types it.
ME = "py course.py" if WINDOWS else "python3 course.py"


def say(message: str) -> None:
    print(f"[course] {message}", flush=True)


def run(cmd: list[str | Path], **kwargs) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kwargs)


def wanted_stamp(kind: str) -> str:
    digest = hashlib.sha256()
    for name in ENVIRONMENTS[kind][1]:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def check_platform() -> None:
    """Stop early, with what to do instead, where the course cannot install."""
    version = sys.version_info[:2]
    if version < SUPPORTED_PYTHONS[0]:
        sys.exit(f"The course needs Python 3.11 to 3.13; this is Python {version[0]}.{version[1]}.\n"
                 "Install Python 3.12 (python.org, or your package manager), then run\n"
                 f"    {'py -3.12 course.py open' if WINDOWS else 'python3.12 course.py open'}\n"
                 f"(the set-up page, {SETUP_PAGE}, has the steps for each system).")
    if version > SUPPORTED_PYTHONS[-1]:
        say(f"Python {version[0]}.{version[1]} is newer than the course has been checked on "
            "(3.11 to 3.13). Going on; if the set-up fails, install Python 3.12 and run "
            f"{'py -3.12 course.py open' if WINDOWS else 'python3.12 course.py open'}.")
    machine = platform.machine().lower()
    if WINDOWS and machine not in ("amd64", "x86_64"):
        say(f"Windows on {machine} is not checked (some packages may need a compiler); "
            "if the set-up fails, use WSL 2 (see " + SETUP_PAGE + ").")


def ensure_env(kind: str = "learner") -> None:
    """Create .venv and install what ``kind`` needs into it, unless already done.

    The learner's environment is requirements.txt; the tests add
    requirements-test.txt on top. With a ``wheelhouse/`` folder beside this
    file (a teacher's USB stick, ``course.py wheelhouse``), nothing is
    downloaded: pip installs from that folder only."""
    check_platform()
    if kind == "test":
        ensure_env("learner")
    wanted, _, stamp = ENVIRONMENTS[kind]
    if not PY.exists():
        say("creating the environment in .venv (once)")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    if stamp.exists() and stamp.read_text() == wanted_stamp(kind):
        return
    offline = kind == "learner" and WHEELHOUSE.is_dir()  # the tests' tools are not on the stick
    source = ["--no-index", "--find-links", str(WHEELHOUSE)] if offline else []
    where = f"from {WHEELHOUSE.name}/ (no download)" if source else "(a few minutes the first time)"
    say(f"installing {wanted} into .venv {where}")
    code = run([PY, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "on",
                *source, "-r", wanted])
    if code != 0:
        sys.exit(f"pip could not install {wanted} (exit {code}); its messages are above.\n"
                 f"What usually helps, in order (details in {SETUP_PAGE}, 'When pip fails'):\n"
                 "  1. check the internet connection (a proxy? then set HTTPS_PROXY) and run this again;\n"
                 f"  2. use Python 3.12: {'py -3.12 course.py open' if WINDOWS else 'python3.12 course.py open'};\n"
                 f"  3. ask your teacher for the course's wheelhouse folder, put it beside course.py, run {ME} open.")
    stamp.write_text(wanted_stamp(kind))


def notebook_paths() -> list[Path]:
    return sorted(p for p in NOTEBOOKS.glob("[0-9]*.ipynb"))


def cmd_open(args: list[str]) -> int:
    """Set up, then become JupyterLab: stopping or killing this command stops it."""
    ensure_env("learner")
    extra = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    cmd = [str(BIN / "jupyter"), "lab", "--ip=127.0.0.1", f"--notebook-dir={NOTEBOOKS}", *extra, *args]
    say("opening JupyterLab; stop it with Ctrl+C")
    sys.stdout.flush()
    if not WINDOWS:
        # This process turns into JupyterLab (same pid): an IDE's stop button, a closed
        # terminal or a kill reaches JupyterLab itself, and nothing is left serving.
        os.chdir(ROOT)
        os.execv(cmd[0], cmd)
    # Windows has no exec: JupyterLab is a child, killed with its kernels by the reaper
    # (teachtasks._reaper) when this process ends, however it ends.
    reaper = subprocess.Popen([str(PY), "-m", "teachtasks._reaper"], stdin=subprocess.PIPE, cwd=ROOT)
    lab = subprocess.Popen(cmd, cwd=ROOT)
    reaper.stdin.write(f"add {lab.pid}\n".encode())
    reaper.stdin.flush()
    try:
        return lab.wait()
    except KeyboardInterrupt:
        return lab.wait()


def cmd_test(args: list[str]) -> int:
    ensure_env("test")
    pytest = [PY, "-m", "pytest", "-p", "no:cacheprovider"]
    say("ruff: style and lint")
    code = run([PY, "-m", "ruff", "check", "src", "tests", "benchmarks", "tools", "course.py"])
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
    ensure_env("learner")
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
    ensure_env("learner")
    say("writing the course as a static website (tools/build_site.py)")
    return run([PY, ROOT / "tools" / "build_site.py", *args])


def cmd_wheelhouse(args: list[str]) -> int:
    """Fill wheelhouse/ with every wheel a learner's machine needs, for offline set-up
    (tools/check_wheels.py download; --help for its options)."""
    check_platform()
    if not any(a.startswith("--pair") for a in args):
        tag = f"{sys.version_info[0]}.{sys.version_info[1]}-" + {
            "win32": "windows-amd64", "darwin": f"macos-{'arm64' if platform.machine() == 'arm64' else 'x86_64'}",
        }.get(sys.platform, f"linux-{platform.machine()}")
        args = [*args, "--pair", tag]
        say(f"downloading the wheels for this machine ({tag}); for another, add --pair PYTHON-PLATFORM")
    return run([sys.executable, ROOT / "tools" / "check_wheels.py", "download", "--dest", WHEELHOUSE, *args])


COMMANDS = {"open": cmd_open, "test": cmd_test, "execute": cmd_execute, "site": cmd_site,
            "wheelhouse": cmd_wheelhouse}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
