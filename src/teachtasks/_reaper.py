"""The reaper: kills a parent's children once the parent is gone (see ``processes``).

Started by ``teachtasks.processes`` with a pipe as its standard input. Each
line is ``add PID`` or ``forget PID``. When the pipe breaks, because the
parent exited or was killed (a notebook kernel restarted or crashed), every
PID still added is killed with what it started: its process group on Linux
and macOS, its process tree on Windows. Standard library only, so it starts
in a few milliseconds and needs nothing the parent might have lost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys


def kill_tree(pid: int) -> None:
    if os.name == "nt":
        subprocess.call(["taskkill", "/F", "/T", "/PID", str(pid)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # its group: a worker and its pool
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def main() -> int:
    if os.name != "nt":
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl+C meant for the notebook
    pids: list[int] = []
    for line in sys.stdin.buffer:  # ends when the parent's end of the pipe closes
        word, _, value = line.decode(errors="replace").strip().partition(" ")
        if not value.isdigit():
            continue
        if word == "add":
            pids.append(int(value))
        elif word == "forget" and int(value) in pids:
            pids.remove(int(value))
    for pid in pids:
        kill_tree(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
