"""The Redis store across real processes: crashes, concurrent claims, a Redis restart.

Every worker is a real process running ``tests/redis_worker.py`` (where the
task definitions live), as it would be on another machine; the test only
seeds, kills and reads Redis. The session's Redis (``session_redis``) serves
every test but the restart, each test under a key prefix of its own; the
restart test starts its own ``redis-server`` with an append-only file. Every
process a test starts is stopped by its pid in a ``finally``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import session_redis

from teachtasks import RunFilter, Status, Step, TaskManager
from teachtasks.processes import (
    RedisServer,
    ask_to_stop,
    free_port,
    kill_now,
    kill_pid,
    start_process,
)
from teachtasks.stores.redis import RedisStore

WORKER = Path(__file__).with_name("redis_worker.py")
TIMEOUT = 120  # generous: only there so that a broken store fails instead of hanging

Start = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Start]:
    """Start worker processes; every one still alive at the end is killed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: object, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        out = open((cwd or tmp_path) / f"worker-{len(started)}.out", "wb")  # noqa: SIM115
        proc = start_process([sys.executable, str(WORKER), *map(str, args)], cwd=cwd,
                             stdout=out, stderr=subprocess.STDOUT)
        out.close()
        proc.output = Path(out.name)  # type: ignore[attr-defined]
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            kill_now(proc)


def finish(proc: subprocess.Popen[bytes]) -> None:
    """Wait for a worker to exit by itself and check that it succeeded."""
    code = proc.wait(timeout=TIMEOUT)
    assert code == 0, f"worker exited {code}: {proc.output.read_text()[-2000:]}"  # type: ignore[attr-defined]


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.005)


def log_lines(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines()]  # type: ignore[misc]


@pytest.fixture
def where() -> tuple[str, str]:
    """The session's Redis URL and a key prefix of this test's own."""
    return session_redis.url(), session_redis.new_prefix()


def check_recovered(url: str, prefix: str, exec_log: Path, count: int,
                    ) -> tuple[Counter[str], dict[str, list[Step]]]:
    """Every run final and successful, none lost or running; any run executed
    more than once went through a REQUEUED entry; each finished once."""
    with RedisStore(url, prefix=prefix) as store:
        runs = store.list_runs(RunFilter(limit=count + 1))
        assert len(runs) == count, "runs were lost"
        assert sorted(r.input["n"] for r in runs) == list(range(count))
        assert store.count_runs()[Status.SUCCESS] == count, store.count_runs()
        assert all(r.worker is None and r.lease_expires_at is None for r in runs)
        steps = {r.id: [e.step for e in store.list_entries(r.id)] for r in runs}
        logs = {r.id: [line.message for line in store.list_logs(r.id)] for r in runs}
    executions = Counter(run_id for run_id, _pid in log_lines(exec_log))
    assert set(executions) == set(steps), "a run finished without being executed"
    for run_id, times in executions.items():
        if times > 1:
            assert Step.REQUEUED in steps[run_id], f"{run_id} ran {times} times, never requeued"
        assert steps[run_id].count(Step.FINISHED) == 1, steps[run_id]
        assert steps[run_id].count(Step.ITERATION_STARTED) >= times, steps[run_id]
        assert logs[run_id] and set(logs[run_id]) == {logs[run_id][0]}  # "recorded n"
    return executions, steps


# ---- a worker SIGKILLed mid-iteration -----------------------------------------------------------
RUNS = 300


def test_a_worker_killed_mid_iteration_loses_nothing(
    tmp_path: Path, processes: Start, where: tuple[str, str]
) -> None:
    url, prefix = where
    exec_log, marker = tmp_path / "exec.log", tmp_path / "hung"
    finish(processes("seed", url, prefix, RUNS))
    first = processes("work", url, prefix, exec_log, "--hang-at", 120, "--marker", marker)
    wait_for(lambda: marker.exists() and marker.read_text() != "",
             "the first worker to reach the run it hangs in")
    kill_pid(first.pid)  # SIGKILL: no cleanup, no finally, leases left behind
    first.wait(timeout=TIMEOUT)
    hung = marker.read_text()
    with RedisStore(url, prefix=prefix) as store:
        held = store.get_run(hung)
        assert held.status is Status.RUNNING and held.worker is not None  # by a dead worker
        assert store.count_runs()[Status.SUCCESS] < RUNS

    finish(processes("work", url, prefix, exec_log))

    executions, steps = check_recovered(url, prefix, exec_log, RUNS)
    assert executions[hung] == 2 and Step.REQUEUED in steps[hung]  # once more, at most
    assert max(executions.values()) <= 2
    assert len({pid for _run, pid in log_lines(exec_log)}) == 2


def test_a_worker_killed_at_a_random_point_loses_nothing(
    tmp_path: Path, processes: Start, where: tuple[str, str]
) -> None:
    url, prefix = where
    exec_log = tmp_path / "exec.log"
    finish(processes("seed", url, prefix, RUNS))
    first = processes("work", url, prefix, exec_log)
    wait_for(lambda: len(log_lines(exec_log)) >= 150, "150 executions")
    kill_pid(first.pid)
    first.wait(timeout=TIMEOUT)

    finish(processes("work", url, prefix, exec_log))

    executions, _ = check_recovered(url, prefix, exec_log, RUNS)
    assert sum(executions.values()) >= RUNS
    assert max(executions.values()) <= 2  # a run the kill interrupted ran once more, at most


# ---- four processes claiming from one Redis ------------------------------------------------------
def test_four_processes_never_claim_the_same_run(
    tmp_path: Path, processes: Start, where: tuple[str, str]
) -> None:
    url, prefix = where
    claim_log, go = tmp_path / "claims.log", tmp_path / "go"
    count = 2000
    finish(processes("seed", url, prefix, count))
    ready = [tmp_path / f"ready-{i}" for i in range(4)]
    workers = [processes("claim", url, prefix, claim_log, r, go) for r in ready]
    wait_for(lambda: all(r.exists() for r in ready), "four workers to be ready")
    go.touch()  # all four start claiming at the same moment
    for worker in workers:
        finish(worker)

    claims = log_lines(claim_log)
    claimed = Counter(run_id for run_id, _pid in claims)
    assert len(claimed) == count and set(claimed.values()) == {1}, claimed.most_common(3)
    assert len({pid for _run, pid in claims}) >= 2, "the processes did not work side by side"
    by_pid = dict(claims)
    with RedisStore(url, prefix=prefix) as store:
        runs = store.list_runs(RunFilter(limit=count))
        assert {r.id for r in runs} == set(claimed)
        assert store.count_runs()[Status.SUCCESS] == count
        entries = store.list_entries()
    started = Counter(e.run_id for e in entries if e.step is Step.STARTED)
    finished = Counter(e.run_id for e in entries if e.step is Step.FINISHED)
    assert set(started.values()) == {1} and set(finished.values()) == {1}
    for entry in entries:
        if entry.step is Step.STARTED:
            assert entry.worker == f"pid{by_pid[entry.run_id]}"


# ---- TaskManager(RedisStore(url)) with Runners on several "machines" ------------------------------
def test_runners_in_three_processes_share_nothing_but_redis(
    tmp_path: Path, processes: Start, where: tuple[str, str]
) -> None:
    """The multi-machine shape without Celery: this process is the web app (it
    triggers, it never runs a task); three Runner processes, each in a folder
    of its own with no file in common, take the runs from Redis."""
    from redis_worker import pipeline  # the app knows its task definitions, as any app does

    url, prefix = where
    count = 150
    folders = [tmp_path / f"machine-{i}" for i in range(3)]
    machines = []
    for folder in folders:
        folder.mkdir()
        machines.append(processes("serve", url, prefix, folder / "exec.log", cwd=folder))
    with RedisStore(url, prefix=prefix) as store:
        app = TaskManager(store)
        app.register(pipeline)
        runs = [app.trigger("pipeline", {"n": n}) for n in range(count)]
        wait_for(lambda: app.count_runs()[Status.SUCCESS] == count, "every run to succeed")
        for machine in machines:
            ask_to_stop(machine)  # a polite stop: the runner finishes what it holds
        for machine in machines:
            finish(machine)
        finals = {run.id: app.get_run(run.id) for run in runs}
        lifecycles = {run.id: [e.step for e in app.lifecycle(run.id)] for run in runs}
        logs = {run.id: app.logs(run.id) for run in runs}
    executions = [line.split() for folder in folders
                  for line in (folder / "exec.log").read_text().splitlines()]
    done = Counter((run_id, int(iteration)) for run_id, iteration, _attempt, _pid in executions)
    assert set(done) == {(run.id, i) for run in runs for i in (1, 2, 3)}
    assert set(done.values()) == {1}  # every iteration executed once, in one place
    assert {attempt for _run, _it, attempt, _pid in executions} == {"1"}
    pids = {pid for *_rest, pid in executions}
    assert len(pids) >= 2, "one machine did all the work"
    assert pids <= {str(m.pid) for m in machines}
    for run in runs:
        final = finals[run.id]
        assert final.status is Status.SUCCESS and final.output["n"] == run.input["n"]
        ran_on = [pid for run_id, _it, _a, pid in sorted(
            executions, key=lambda e: int(e[1])) if run_id == run.id]
        assert [str(p) for p in final.output["pids"]] == ran_on  # the state went along
        assert lifecycles[run.id] == [
            Step.TRIGGERED, Step.STARTED, Step.ITERATION_STARTED, Step.CONTINUED,
            Step.ITERATION_STARTED, Step.CONTINUED, Step.ITERATION_STARTED, Step.FINISHED]
        assert [line.message for line in logs[run.id]] == [
            f"step {i} on {pid}" for i, pid in enumerate(ran_on, start=1)]


# ---- a Redis restart with an append-only file ------------------------------------------------------
class AppendOnlyRedis:
    """A ``redis-server`` of this test's own that logs every write to an
    append-only file in ``folder`` and fsyncs it before each reply."""

    def __init__(self, folder: Path) -> None:
        executable = RedisServer().executable
        if executable is None:
            pytest.skip("no redis-server here (only a stand-in, or your own Redis)")
        self.folder = folder
        self.port = free_port()
        self.command = [executable, "--port", str(self.port), "--bind", "127.0.0.1",
                        "--dir", str(folder), "--save", "", "--appendonly", "yes",
                        "--appendfsync", "always", "--protected-mode", "yes"]
        self.process: subprocess.Popen[bytes] | None = None

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = start_process(self.command, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def answers() -> bool:
            try:
                with redis.Redis(port=self.port, socket_timeout=0.5) as client:
                    return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, "redis-server answering PING")

    def crash(self) -> None:
        """SIGKILL: what a crash or an OOM kill does; nothing is flushed on the way out."""
        assert self.process is not None
        kill_pid(self.process.pid)
        self.process.wait(timeout=TIMEOUT)

    def stop(self) -> None:
        kill_now(self.process)


def test_a_redis_restart_with_appendonly_loses_no_finished_run(
    tmp_path: Path, processes: Start
) -> None:
    server = AppendOnlyRedis(tmp_path)
    exec_log, prefix = tmp_path / "exec.log", "restart"
    try:
        server.start()
        url = server.url()
        finish(processes("seed", url, prefix, RUNS))
        worker = processes("work", url, prefix, exec_log)
        wait_for(lambda: len(log_lines(exec_log)) >= 100, "100 executions")
        with RedisStore(url, prefix=prefix) as store:  # what Redis said was finished
            done = {r.id: store.list_entries(r.id) for r in store.list_runs(
                RunFilter(status=Status.SUCCESS, limit=RUNS))}
        assert done
        server.crash()  # with the worker still running: its calls fail until Redis is back
        server.start()
        with RedisStore(url, prefix=prefix) as store:
            for run_id, entries in done.items():
                assert store.get_run(run_id).status is Status.SUCCESS
                assert store.list_entries(run_id) == entries
        finish(worker)  # the same worker process carries on once Redis is back
        executions, _ = check_recovered(url, prefix, exec_log, RUNS)
        assert all(executions[run_id] == 1 for run_id in done)  # none of them ran again
    finally:
        server.stop()


# ---- what only a Redis store has ---------------------------------------------------------------
def _busy_store(url: str, prefix: str) -> tuple[RedisStore, TaskManager]:
    """A store after a bit of everything: continues, retries, aborts, failures."""
    from teachtasks import RetryPolicy, Runner, SimulatedClock, task

    store = RedisStore(url, prefix=prefix)
    tasks = TaskManager(store, clock=SimulatedClock())

    @task("mixed", max_iterations=3, retry=RetryPolicy(max_attempts=2, backoff=1, jitter=0))
    def mixed(ctx, ctl):  # noqa: ANN001, ANN202
        n = ctx.input["n"]
        if n % 5 == 0 and ctx.attempt == 1:
            raise ConnectionError("try again")
        if n % 7 == 0:
            return ctl.response.error("no")
        if ctx.iteration < 2:
            return ctl.response.continue_(delay=1)
        return ctl.response.done(n)

    tasks.register(mixed)
    runs = [tasks.trigger("mixed", {"n": n}, delay=n % 3) for n in range(40)]
    tasks.abort(runs[1].id)
    Runner(tasks, workers=3).run_until_idle()
    for n in range(40, 50):  # some left pending, one held by a worker
        tasks.trigger("mixed", {"n": n}, delay=100)
    store.claim("holder", tasks.clock.now() + 200, 30)
    return store, tasks


def test_the_indexes_always_agree_with_the_runs(where: tuple[str, str]) -> None:
    url, prefix = where
    store, tasks = _busy_store(url, prefix)
    client = redis.Redis.from_url(url, decode_responses=True)
    runs = store.list_runs(RunFilter(limit=100))
    assert len(runs) == 50
    for status in Status:
        ids = set(client.zrange(store.keys.status(status), 0, -1))
        assert ids == {r.id for r in runs if r.status is status}, status
        assert store.count_runs()[status] == len(ids)
    due = {m.split(":", 1)[1] for m in client.zrange(store.keys.due, 0, -1)}
    assert due == {r.id for r in runs if r.worker is None and not r.is_final}
    leases = dict(client.zrange(store.keys.leases, 0, -1, withscores=True))
    assert leases == {r.id: r.lease_expires_at for r in runs if r.worker is not None}
    finished = dict(client.zrange(f"{prefix}:finished", 0, -1, withscores=True))
    assert finished == {r.id: r.finished_at for r in runs if r.is_final}
    assert store.delete_finished_before(tasks.clock.now() + 1) == len(finished)
    left = store.list_runs(RunFilter(limit=100))
    assert {r.id for r in left} == {r.id for r in runs if not r.is_final}
    assert len(store.list_entries()) == sum(len(store.list_entries(r.id)) for r in left)
    assert not client.zrange(f"{prefix}:finished", 0, -1)
    store.close()


def test_nothing_scans_every_key(where: tuple[str, str]) -> None:
    url, prefix = where
    client = redis.Redis.from_url(url, decode_responses=True)
    client.config_resetstat()
    store, tasks = _busy_store(url, prefix)
    for where_ in (RunFilter(status="failed"), RunFilter(definition_id="mixed", limit=5),
                   RunFilter(created_after=0, created_before=1, status="success")):
        store.list_runs(where_)
        store.count_runs(where_)
    stats = client.info("commandstats")
    assert "cmdstat_evalsha" in stats and "cmdstat_zadd" in stats  # the counting works
    assert not {"cmdstat_keys", "cmdstat_scan", "cmdstat_hscan", "cmdstat_zscan"} & set(stats)
    store.close()


def test_scripts_a_restarted_redis_forgot_are_sent_again(where: tuple[str, str]) -> None:
    url, prefix = where
    store, tasks = _busy_store(url, prefix)
    redis.Redis.from_url(url).script_flush()  # what a restart does to loaded scripts
    run = tasks.trigger("mixed", {"n": 1})
    assert store.claim("w", tasks.clock.now() + 1000, 30) is not None
    assert store.get_run(run.id).status in (Status.PENDING, Status.RUNNING)
    store.close()


def test_a_redis_that_is_not_there_is_a_clear_error() -> None:
    from teachtasks import InvalidArgumentError, StoreError

    with pytest.raises(StoreError, match="cannot reach Redis .* is redis-server running"):
        RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(InvalidArgumentError, match="not a Redis URL"):
        RedisStore("http://example.com")
    with pytest.raises(InvalidArgumentError, match="prefix"):
        RedisStore(session_redis.url(), prefix="two words")
    with pytest.raises(InvalidArgumentError, match="a Redis URL .* or a redis.Redis client"):
        RedisStore(6379)  # type: ignore[arg-type]
