"""SQLiteStore keeps the store contract exactly as MemoryStore does.

Most tests run twice, once on each store (the ``store`` fixture), so the two
provably agree; the rest are about what only a file has: persistence, the
schema version, bad files, locks and bad input.
"""

from __future__ import annotations

import dataclasses
import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_contract import STORES

from teachtasks import (
    NO_RETRY,
    DefinitionRecord,
    IllegalTransitionError,
    InvalidArgumentError,
    LeaseLostError,
    LifecycleEntry,
    LogRecord,
    MemoryStore,
    PayloadNotJSONError,
    RetryPolicy,
    Run,
    RunFilter,
    Runner,
    RunNotFoundError,
    SimulatedClock,
    SQLiteStore,
    Status,
    Step,
    Store,
    StoreError,
    TaskManager,
    UnknownDefinitionError,
)
from teachtasks.stores import sqlite as sqlite_module
from teachtasks.stores.base import MAX_PAGE
from teachtasks.stores.sqlite import encoding as sqlite_encoding
from teachtasks.stores.sqlite import schema as sqlite_schema


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Every store of the contract (``store_contract.STORES``), one at a time."""
    made = STORES[request.param](tmp_path)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SQLiteStore]:
    made = SQLiteStore(tmp_path / "t.db")
    try:
        yield made
    finally:
        made.close()


def add(store: Store, run_id: str, *, t: float = 0.0, **fields: object) -> Run:
    """Create a pending run the way the manager does."""
    definition_id = str(fields.pop("definition_id", "job"))
    due_at = float(fields.pop("due_at", t))  # type: ignore[arg-type]
    run = Run(id=run_id, definition_id=definition_id, created_at=t, updated_at=t, due_at=due_at,
              **fields)  # type: ignore[arg-type]
    created, is_new = store.create_run(run, LifecycleEntry(
        run_id, run.definition_id, Step.TRIGGERED, t, Status.PENDING))
    assert is_new
    return created


def steps(store: Store, run_id: str) -> list[Step]:
    return [e.step for e in store.list_entries(run_id)]


def everything(store: Store) -> tuple[object, ...]:
    """All a store holds, to check that a refused call changed nothing."""
    runs = store.list_runs(RunFilter(limit=MAX_PAGE))
    return (runs, store.list_entries(), [store.list_logs(r.id) for r in runs],
            store.list_definitions(), store.count_runs())


# ---- runs: create and read ---------------------------------------------------------------------
def test_a_run_comes_back_exactly_as_created(store: Store) -> None:
    run = Run(
        id="run-1", definition_id="import", input={"rows": [1, 2.5, "x", None, True], "é": {}},
        output=None, error={"type": "ValueError", "message": "bad"}, iterations=2, attempt=1,
        parent_id="run-0", created_at=10.25, started_at=11.0, updated_at=12.0, due_at=13.5,
        state={"row": 500}, progress=0.5, idempotency_key="import:42", retry_pending=True,
    )
    created, is_new = store.create_run(run, LifecycleEntry(
        "run-1", "import", Step.TRIGGERED, 10.25, Status.PENDING, detail={"parent": "run-0"}))
    assert is_new and created == run
    assert store.get_run("run-1") == run
    [entry] = store.list_entries("run-1")
    assert (entry.step, entry.detail, entry.seq) == (Step.TRIGGERED, {"parent": "run-0"}, 1)


def test_the_store_hands_out_copies(store: Store) -> None:
    add(store, "run-1", input={"items": [1, 2]})
    copy = store.get_run("run-1")
    copy.input["items"].append(3)
    assert store.get_run("run-1").input == {"items": [1, 2]}


def test_a_duplicate_id_is_refused_and_nothing_is_written(store: Store) -> None:
    add(store, "run-1", input=1)
    before = everything(store)
    with pytest.raises(InvalidArgumentError, match="already exists"):
        add(store, "run-1", input=2)
    assert everything(store) == before


def test_an_idempotency_key_returns_the_first_run(store: Store) -> None:
    first = add(store, "run-1", idempotency_key="order-7", input="first")
    again = Run(id="run-2", definition_id="job", idempotency_key="order-7", input="second")
    run, is_new = store.create_run(again, LifecycleEntry("run-2", "job", Step.TRIGGERED, 1.0,
                                                         Status.PENDING))
    assert (run, is_new) == (first, False)
    assert [r.id for r in store.list_runs(RunFilter())] == ["run-1"]
    with pytest.raises(RunNotFoundError):
        store.get_run("run-2")
    assert len(store.list_entries()) == 1


def test_unknown_runs_raise_run_not_found(store: Store) -> None:
    for call in (
        lambda: store.get_run("nope"), lambda: store.delete_run("nope"),
        lambda: store.list_logs("nope"), lambda: store.list_entries("nope"),
        lambda: store.request_abort("nope", 1.0),
        lambda: store.update("nope", {"progress": 0.5}, now=1.0),
        lambda: store.add_log(LogRecord("nope", 1.0, "info", "hello")),
    ):
        with pytest.raises(RunNotFoundError):
            call()
    assert store.heartbeat("nope", "w", 1.0, 10.0) is False


# ---- claim, update, leases -----------------------------------------------------------------------
def test_claim_takes_the_earliest_due_then_the_oldest(store: Store) -> None:
    add(store, "late", due_at=5.0)
    add(store, "a", due_at=1.0)
    add(store, "b", due_at=1.0)
    assert store.next_due() == 1.0
    assert store.claim("w1", 0.5, 10.0) is None  # nothing due yet
    first = store.claim("w1", 6.0, 10.0)
    assert first is not None and first.id == "a"
    assert (first.status, first.worker, first.lease_expires_at, first.started_at) == (
        Status.RUNNING, "w1", 16.0, 6.0)
    assert [r.id for r in (store.claim("w2", 6.0, 10.0), store.claim("w3", 6.0, 10.0))] == [
        "b", "late"]
    assert store.claim("w4", 6.0, 10.0) is None  # all three are held
    assert store.next_due() is None
    # the claim counts the iteration in the same step (lifecycle.claim)
    assert steps(store, "a") == [Step.TRIGGERED, Step.STARTED, Step.ITERATION_STARTED]
    assert (first.iterations, first.attempt) == (1, 1)
    [_, started, _] = store.list_entries("a")
    assert (started.worker, started.status, started.time) == ("w1", Status.RUNNING, 6.0)


def test_a_run_between_iterations_is_claimed_again_without_a_new_start(store: Store) -> None:
    add(store, "run-1")
    store.claim("w1", 1.0, 10.0)
    store.update("run-1", {"worker": None, "lease_expires_at": None, "due_at": 3.0},
                 [LifecycleEntry("run-1", "job", Step.CONTINUED, 2.0, Status.RUNNING)],
                 worker="w1", now=2.0)
    assert store.next_due() == 3.0
    assert store.claim("w2", 2.5, 10.0) is None
    again = store.claim("w2", 3.0, 10.0)
    assert again is not None and (again.status, again.worker, again.started_at) == (
        Status.RUNNING, "w2", 1.0)
    assert (again.iterations, again.attempt) == (2, 1)
    assert steps(store, "run-1") == [Step.TRIGGERED, Step.STARTED, Step.ITERATION_STARTED,
                                     Step.CONTINUED, Step.ITERATION_STARTED]


def test_update_applies_changes_and_entries_at_once(store: Store) -> None:
    add(store, "run-1")
    store.claim("w1", 1.0, 10.0)
    done = store.update("run-1", {
        "status": Status.SUCCESS, "output": {"sent": 3}, "finished_at": 2.0, "worker": None,
        "lease_expires_at": None, "progress": 1.0,
    }, [LifecycleEntry("run-1", "job", Step.FINISHED, 2.0, Status.SUCCESS, worker="w1")],
        worker="w1", now=2.0)
    assert done == store.get_run("run-1")
    assert (done.status, done.output, done.updated_at, done.worker) == (
        Status.SUCCESS, {"sent": 3}, 2.0, None)
    assert steps(store, "run-1")[-1] is Step.FINISHED


def test_refused_updates_change_nothing(store: Store) -> None:
    add(store, "run-1")
    add(store, "waiting")
    store.claim("w1", 1.0, 10.0)
    before = everything(store)
    entry = [LifecycleEntry("run-1", "job", Step.PROGRESS, 2.0, Status.RUNNING)]
    with pytest.raises(InvalidArgumentError, match="cannot be updated"):
        store.update("run-1", {"id": "other"}, entry, now=2.0)
    with pytest.raises(InvalidArgumentError, match="cannot be updated"):
        store.update("run-1", {"abort_requested": False}, entry, now=2.0)
    with pytest.raises(LeaseLostError, match="w2 no longer holds"):
        store.update("run-1", {"progress": 0.5}, entry, worker="w2", now=2.0)
    with pytest.raises(IllegalTransitionError, match="does not allow"):
        store.update("waiting", {"status": Status.SUCCESS}, entry, now=2.0)
    assert everything(store) == before
    store.update("run-1", {"status": Status.FAILED, "worker": None}, now=3.0)
    before = everything(store)
    with pytest.raises(IllegalTransitionError, match="it is final"):
        store.update("run-1", {"status": Status.RUNNING}, entry, now=4.0)
    assert everything(store) == before


def test_heartbeat_extends_only_the_holders_lease(store: Store) -> None:
    add(store, "run-1")
    store.claim("w1", 1.0, 10.0)
    assert store.heartbeat("run-1", "w2", 5.0, 10.0) is False
    assert store.get_run("run-1").lease_expires_at == 11.0
    assert store.heartbeat("run-1", "w1", 5.0, 10.0) is True
    run = store.get_run("run-1")
    assert (run.lease_expires_at, run.updated_at) == (15.0, 1.0)


def test_expired_leases_are_requeued(store: Store) -> None:
    for run_id in ("dead", "alive", "waiting"):
        add(store, run_id)
    store.claim("w1", 1.0, 5.0)    # dead: lease until 6
    store.claim("w2", 1.0, 50.0)   # alive: lease until 51
    assert store.requeue_expired(6.0) == []  # not expired at exactly its end
    [back] = store.requeue_expired(7.0)
    assert back == store.get_run("dead")
    assert (back.status, back.worker, back.lease_expires_at, back.retry_pending, back.due_at) == (
        Status.PENDING, None, None, True, 7.0)
    requeued = store.list_entries("dead")[-1]
    assert (requeued.step, requeued.status, requeued.worker, requeued.detail) == (
        Step.REQUEUED, Status.PENDING, "w1", {"reason": "lease expired"})
    assert store.get_run("alive").worker == "w2"
    assert store.get_run("waiting").status is Status.PENDING
    # due_at orders the queue: "waiting" (due since 0) goes before "dead" (due again at 7)
    taken = [store.claim("w3", 8.0, 5.0), store.claim("w3", 8.0, 5.0)]
    assert [run.id for run in taken if run is not None] == ["waiting", "dead"]
    assert steps(store, "dead").count(Step.STARTED) == 2
    with pytest.raises(LeaseLostError):
        store.update("dead", {"progress": 1.0}, worker="w1", now=9.0)


def test_abort_pending_held_and_final(store: Store) -> None:
    add(store, "pending")
    run, now = store.request_abort("pending", 2.0)
    assert now and (run.status, run.finished_at, run.abort_requested) == (
        Status.ABORTED, 2.0, True)
    assert steps(store, "pending")[1:] == [Step.ABORT_REQUESTED, Step.FINISHED]
    assert store.list_entries("pending")[-1].detail == {
        "reason": "aborted before a worker took it"}

    add(store, "held")
    store.claim("w1", 3.0, 10.0)
    run, now = store.request_abort("held", 4.0)
    assert not now and run.abort_requested and run.status is Status.RUNNING
    store.request_abort("held", 5.0)  # asking twice logs it once
    assert steps(store, "held").count(Step.ABORT_REQUESTED) == 1

    before = everything(store)
    with pytest.raises(IllegalTransitionError, match="final"):
        store.request_abort("pending", 6.0)
    assert everything(store) == before


# ---- delete and cleanup --------------------------------------------------------------------------
def test_delete_run_takes_its_entries_and_logs(store: Store) -> None:
    add(store, "keep")
    add(store, "gone")
    store.add_log(LogRecord("gone", 1.0, "info", "bye"))
    store.add_log(LogRecord("keep", 1.0, "info", "hi"))
    store.delete_run("gone")
    with pytest.raises(RunNotFoundError):
        store.get_run("gone")
    assert {e.run_id for e in store.list_entries()} == {"keep"}
    assert [log.message for log in store.list_logs("keep")] == ["hi"]
    assert store.count_runs()[Status.PENDING] == 1


def test_a_held_run_cannot_be_deleted(store: Store) -> None:
    add(store, "run-1")
    store.claim("w1", 1.0, 10.0)
    before = everything(store)
    with pytest.raises(IllegalTransitionError, match="abort it first"):
        store.delete_run("run-1")
    assert everything(store) == before


def test_delete_finished_before(store: Store) -> None:
    for run_id in ("old-ok", "old-failed", "new-ok", "running", "pending"):
        add(store, run_id)
    for run_id, status, end in (("old-ok", Status.SUCCESS, 5.0),
                                ("old-failed", Status.FAILED, 9.0),
                                ("new-ok", Status.SUCCESS, 10.0)):
        store.claim("w", 1.0, 100.0)
        store.update(run_id, {"status": status, "finished_at": end, "worker": None}, now=end)
        store.add_log(LogRecord(run_id, end, "info", "done"))
    store.claim("w", 1.0, 100.0)
    assert store.get_run("running").worker == "w"
    assert store.delete_finished_before(10.0) == 2
    assert sorted(r.id for r in store.list_runs(RunFilter())) == ["new-ok", "pending", "running"]
    assert {e.run_id for e in store.list_entries()} == {"new-ok", "running", "pending"}
    assert store.count_runs()[Status.SUCCESS] == 1 and store.count_runs()[Status.FAILED] == 0
    assert store.delete_finished_before(10.0) == 0


def test_sequence_numbers_only_grow(store: Store) -> None:
    add(store, "a")
    add(store, "b")
    store.add_log(LogRecord("b", 1.0, "info", "one"))
    last_entry = store.list_entries()[-1].seq
    last_log = store.list_logs("b")[-1].seq
    store.delete_run("b")  # the newest entries and log lines go
    add(store, "c")
    store.add_log(LogRecord("c", 2.0, "info", "two"))
    assert store.list_entries("c")[0].seq > last_entry
    assert store.list_logs("c")[0].seq > last_log
    seqs = [e.seq for e in store.list_entries()]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


# ---- listing and counting ------------------------------------------------------------------------
@pytest.fixture
def many(store: Store) -> Store:
    """30 runs: created at t=0..29, three definitions, every fifth a child of run-00."""
    for i in range(30):
        add(store, f"run-{i:02}", t=float(i), definition_id=f"def-{i % 3}",
            parent_id="run-00" if i % 5 == 0 and i else None)
    for i in range(8):  # claimed in due order: run-00 .. run-07 finish, run-08 stays running
        run = store.claim("w", 100.0, 10.0)
        assert run is not None
        store.update(run.id, {"status": Status.FAILED if i % 2 else Status.SUCCESS,
                              "worker": None, "finished_at": 101.0}, now=101.0)
    store.claim("w", 100.0, 10.0)  # run-08 stays running
    return store


def ids(runs: list[Run]) -> list[str]:
    return [r.id for r in runs]


def test_list_runs_newest_first_with_pages(many: Store) -> None:
    everything_ = ids(many.list_runs(RunFilter(limit=100)))
    assert everything_ == [f"run-{i:02}" for i in range(29, -1, -1)]
    pages = [ids(many.list_runs(RunFilter(limit=7, offset=o))) for o in range(0, 35, 7)]
    assert sum(pages, []) == everything_
    assert many.list_runs(RunFilter(offset=30)) == []
    assert many.list_runs(RunFilter(offset=10**30)) == []  # far past the end, no overflow


@pytest.mark.parametrize(("where", "expected"), [
    (RunFilter(status="failed"), ["run-07", "run-05", "run-03", "run-01"]),
    (RunFilter(status=Status.RUNNING), ["run-08"]),
    (RunFilter(status="SUCCESS", limit=2), ["run-06", "run-04"]),
    (RunFilter(definition_id="def-1", limit=3), ["run-28", "run-25", "run-22"]),
    (RunFilter(parent_id="run-00"), ["run-25", "run-20", "run-15", "run-10", "run-05"]),
    (RunFilter(parent_id="run-00", status="failed"), ["run-05"]),
    (RunFilter(created_after=10, created_before=13), ["run-12", "run-11", "run-10"]),
    (RunFilter(created_after=27.5), ["run-29", "run-28"]),
    (RunFilter(created_before=1), ["run-00"]),
    (RunFilter(definition_id="nobody"), []),
    (RunFilter(definition_id="x' OR '1'='1"), []),
])
def test_list_runs_filters(many: Store, where: RunFilter, expected: list[str]) -> None:
    assert ids(many.list_runs(where)) == expected


def test_count_runs(many: Store) -> None:
    assert many.count_runs() == {Status.PENDING: 21, Status.RUNNING: 1, Status.SUCCESS: 4,
                                 Status.FAILED: 4, Status.ABORTED: 0}
    counts = many.count_runs(RunFilter(definition_id="def-0"))
    assert list(counts) == list(Status) and sum(counts.values()) == 10
    assert many.count_runs(RunFilter(status="failed", limit=1)) == {
        **dict.fromkeys(Status, 0), Status.FAILED: 4}


# ---- entries, logs, definitions ------------------------------------------------------------------
def test_entries_and_logs_in_order(store: Store) -> None:
    add(store, "a")
    add(store, "b")
    store.append_entries([
        LifecycleEntry("a", "job", Step.PROGRESS, 1.0, Status.PENDING, detail={"fraction": 0.5}),
        LifecycleEntry("b", "job", Step.HOOK_FAILED, 1.0, Status.PENDING, worker="w",
                       attempt=2, iteration=3, detail={"hook": "on_done", "error": "E: x"}),
    ])
    store.append_entries([])
    everyone = store.list_entries()
    assert [(e.run_id, e.step) for e in everyone] == [
        ("a", Step.TRIGGERED), ("b", Step.TRIGGERED), ("a", Step.PROGRESS),
        ("b", Step.HOOK_FAILED)]
    assert [e.seq for e in everyone] == [1, 2, 3, 4]
    assert store.list_entries("b")[-1] == LifecycleEntry(
        "b", "job", Step.HOOK_FAILED, 1.0, Status.PENDING, worker="w", attempt=2, iteration=3,
        detail={"hook": "on_done", "error": "E: x"}, seq=4)
    for i, level in enumerate(("info", "warning", "error")):
        store.add_log(LogRecord("a", float(i), level, f"line {i}", iteration=1))
    logs = store.list_logs("a")
    assert [(g.level, g.message, g.iteration) for g in logs] == [
        ("info", "line 0", 1), ("warning", "line 1", 1), ("error", "line 2", 1)]
    assert [g.seq for g in logs] == [1, 2, 3] and store.list_logs("b") == []


def test_definition_records(store: Store) -> None:
    record = DefinitionRecord(id="email", title="Send", description="d", events=("user.new",),
                              max_iterations=3, budget_seconds=2.5,
                              retry={"max_attempts": 3, "backoff": 1.0})
    store.put_definition(record)
    store.put_definition(DefinitionRecord(id="a-first"))
    assert store.get_definition("email") == record
    assert [d.id for d in store.list_definitions()] == ["a-first", "email"]
    store.put_definition(dataclasses.replace(record, title="Send it"))
    assert store.get_definition("email").title == "Send it"
    store.delete_definition("email")
    with pytest.raises(UnknownDefinitionError, match="a-first"):
        store.get_definition("email")
    with pytest.raises(UnknownDefinitionError):
        store.delete_definition("email")


# ---- the whole engine on both stores -------------------------------------------------------------
def scenario(store: Store) -> tuple[object, ...]:
    """Definitions, triggers, an idempotent trigger, an abort, delays, iterations,
    retries, failures and logs, on a simulated clock with a pool of three."""
    manager = TaskManager(store, clock=SimulatedClock())

    @manager.task("email", max_iterations=5, retry=RetryPolicy(max_attempts=2, jitter=0.0))
    def email(context, controller):  # noqa: ANN001
        context.log.info(f"sending {context.input}")
        context.state.set("seen", context.state.get("seen", 0) + 1)
        controller.progress(context.iteration, 3)
        if context.input == 3 and context.attempt == 1:
            raise ConnectionError("flaky")
        if context.input == 4:
            raise ValueError("always")
        if context.iteration < 3:
            return controller.response.continue_(context.input, delay=2)
        return controller.response.done({"sent": context.input})

    @manager.task("child", retry=NO_RETRY)
    def child(context, controller):  # noqa: ANN001
        return {"parent": context.run.parent_id}

    for i in range(6):
        manager.trigger("email", i, delay=i * 0.5)
    manager.trigger("email", 99, idempotency_key="k")
    manager.trigger("email", 98, idempotency_key="k")
    manager.trigger("child", parent_id="run-1")
    manager.abort("run-2")
    Runner(manager, workers=3).run_until_idle()
    runs = manager.list_runs()
    return ([str(e) for e in manager.lifecycle()], runs, manager.count_runs(),
            [manager.logs(r.id) for r in runs], store.list_definitions())


def test_the_same_scenario_gives_the_same_history_on_both_stores(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.db") as on_disk:
        history = scenario(on_disk)
    assert history == scenario(MemoryStore())
    lifecycle, runs, counts = history[0], history[1], history[2]
    assert counts == {Status.PENDING: 0, Status.RUNNING: 0, Status.SUCCESS: 6,
                      Status.FAILED: 1, Status.ABORTED: 1}
    assert any("retry scheduled" in line for line in lifecycle)  # type: ignore[union-attr]
    assert len(runs) == 8  # type: ignore[arg-type]


# ---- SQLite only: the file -----------------------------------------------------------------------
def test_everything_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with SQLiteStore(path) as first:
        history = scenario(first)
    with SQLiteStore(path) as second:
        runs = second.list_runs(RunFilter())
        assert runs == history[1]
        assert [second.list_logs(r.id) for r in runs] == history[3]
        assert second.list_definitions() == history[4]
        assert [str(e) for e in sorted(second.list_entries(), key=lambda e: (e.time, e.seq))] \
            == history[0]


def test_case11_a_new_file_is_readable_by_its_owner_only(db: SQLiteStore) -> None:
    add(db, "run-1")  # written: the WAL and its index exist too
    for path in (db.path, Path(f"{db.path}-wal"), Path(f"{db.path}-shm")):
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_the_file_is_wal_and_versioned(db: SQLiteStore) -> None:
    con = sqlite3.connect(db.path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA user_version").fetchone()[0] == sqlite_module.SCHEMA_VERSION
        assert con.execute("PRAGMA application_id").fetchone()[0] == sqlite_module.APPLICATION_ID
    finally:
        con.close()
    assert db.schema_version() == sqlite_module.SCHEMA_VERSION == 2


def dump(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_migrating_to_the_same_version_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with SQLiteStore(path) as store:
        scenario(store)
        before = dump(path)
        assert store.migrate() == 2
        assert store.migrate(2) == 2
    with SQLiteStore(path) as again:  # opening migrates too
        assert again.schema_version() == 2
    assert dump(path) == before
    assert any("INSERT INTO \"runs\"" in line for line in before)


def test_migrate_applies_each_step_once_in_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.db"
    with SQLiteStore(path) as store:
        add(store, "run-1", input={"kept": True})

    def to_v3(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE runs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")

    monkeypatch.setattr(sqlite_schema, "SCHEMA_VERSION", 3)
    monkeypatch.setitem(sqlite_schema.MIGRATIONS, 2, to_v3)
    with SQLiteStore(path) as newer:  # a later release opens the old file
        assert newer.schema_version() == 3
        assert newer.get_run("run-1").input == {"kept": True}
        assert newer.migrate() == 3
    assert any("priority" in line for line in dump(path))


def test_a_failing_migration_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.db"
    with SQLiteStore(path) as store:
        add(store, "run-1")
    before = dump(path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE runs ADD COLUMN half_done INTEGER")
        raise sqlite3.OperationalError("disk on fire")

    monkeypatch.setattr(sqlite_schema, "SCHEMA_VERSION", 3)
    monkeypatch.setitem(sqlite_schema.MIGRATIONS, 2, broken)
    with pytest.raises(StoreError, match="disk on fire"):
        SQLiteStore(path)
    assert dump(path) == before


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    SQLiteStore(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 7")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        SQLiteStore(path)


@pytest.mark.parametrize("target", [0, 3, -1, "1", 1.0, True])
def test_migrate_only_to_a_known_version(db: SQLiteStore, target: object) -> None:
    with pytest.raises(InvalidArgumentError, match="schema version"):
        db.migrate(target)  # type: ignore[arg-type]
    assert db.schema_version() == 2


def test_a_version_1_file_is_migrated_to_version_2_keeping_its_runs(tmp_path: Path) -> None:
    """A file written by the previous release: its runs survive, they gain a
    requeue count, and its idempotency keys become per definition."""
    path = tmp_path / "v1.db"
    con = sqlite3.connect(path, isolation_level=None)
    sqlite_schema.MIGRATIONS[0](con)
    con.execute("PRAGMA user_version = 1")
    con.execute(f"PRAGMA application_id = {sqlite_schema.APPLICATION_ID}")
    con.execute(
        "INSERT INTO runs (id, definition_id, status, input, output, error, iterations, "
        "attempt, created_at, updated_at, due_at, abort_requested, retry_pending, state, "
        "idempotency_key) VALUES ('run-1', 'charge', 'pending', '{\"n\":1}', 'null', NULL, 0, "
        "0, 1.0, 1.0, 1.0, 0, 0, '{}', 'order-7')"
    )
    con.close()
    with SQLiteStore(path) as store:
        assert store.schema_version() == 2
        run = store.get_run("run-1")
        assert (run.input, run.requeues, run.traceback) == ({"n": 1}, 0, None)
        other = Run(id="run-2", definition_id="receipt", idempotency_key="order-7")
        created, is_new = store.create_run(other, LifecycleEntry(
            "run-2", "receipt", Step.TRIGGERED, 2.0, Status.PENDING))
        assert is_new and created.id == "run-2"


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (name TEXT)")
    con.execute("INSERT INTO customers VALUES ('Ada')")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another program"):
        SQLiteStore(path)
    assert path.read_bytes() == before


# ---- SQLite only: bad input ----------------------------------------------------------------------
def test_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        SQLiteStore(tmp_path / "no" / "such" / "t.db")
    assert not (tmp_path / "no").exists()


def test_a_folder_instead_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="folder"):
        SQLiteStore(tmp_path)


@pytest.mark.parametrize("content", [b"hello, I am a text file\n" * 20, bytes(range(256)) * 8,
                                     b"SQLite format 3\x00" + b"\xff" * 84])
def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="not a SQLite database"):
        SQLiteStore(path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


@pytest.mark.parametrize("kwargs", [
    {"path": ":memory:"}, {"path": ""}, {"path": 42}, {"path": None},
    {"path": "file:x.db?mode=memory"}, {"busy_timeout": -1}, {"busy_timeout": float("nan")},
    {"busy_timeout": True}, {"busy_timeout": "5"}, {"synchronous": "sometimes"},
    {"synchronous": "OFF; DROP TABLE runs"},
])
def test_bad_constructor_arguments(tmp_path: Path, kwargs: dict[str, object]) -> None:
    arguments = {"path": tmp_path / "t.db", **kwargs}
    with pytest.raises(InvalidArgumentError):
        SQLiteStore(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("sneaky", [
    "run'; DROP TABLE runs; --", 'run"); DELETE FROM runs; --', "' OR '1'='1", "%", "_",
    "run-1\x00hidden", "ünïcødé ✓", "\\", "", " ",
])
def test_ids_full_of_quotes_and_sql_are_just_ids(db: SQLiteStore, sneaky: str) -> None:
    add(db, "run-1")
    with pytest.raises(RunNotFoundError):
        db.get_run(sneaky)
    add(db, sneaky, input={sneaky: sneaky}, definition_id=sneaky)
    assert db.get_run(sneaky).input == {sneaky: sneaky}
    assert ids(db.list_runs(RunFilter(definition_id=sneaky))) == [sneaky]
    assert db.count_runs()[Status.PENDING] == 2  # run-1 is still there, nothing dropped
    db.delete_run(sneaky)
    assert ids(db.list_runs(RunFilter())) == ["run-1"]


@pytest.mark.parametrize("bad_id", [123, None, ["run-1"], b"run-1", "\ud800"])
def test_ids_that_are_not_text(db: SQLiteStore, bad_id: object) -> None:
    add(db, "run-1")
    add(db, "123")
    with pytest.raises(RunNotFoundError):
        db.get_run(bad_id)  # type: ignore[arg-type]
    with pytest.raises(RunNotFoundError):
        db.list_logs(bad_id)  # type: ignore[arg-type]
    assert db.heartbeat(bad_id, "w", 1.0, 1.0) is False  # type: ignore[arg-type]


def test_a_run_that_cannot_be_stored_writes_nothing(db: SQLiteStore) -> None:
    before = everything(db)
    bad_runs = [
        Run(id="\ud800", definition_id="job"),                    # not valid Unicode
        Run(id="x", definition_id="job", input={"when": object()}),  # not JSON
        Run(id="x", definition_id="job", input=float("nan")),
        Run(id="x", definition_id="job", iterations="three"),     # type: ignore[arg-type]
        Run(id="x", definition_id="job", due_at=float("nan")),
        Run(id=7, definition_id="job"),                           # type: ignore[arg-type]
    ]
    for run in bad_runs:
        with pytest.raises((InvalidArgumentError, PayloadNotJSONError)):
            db.create_run(run, LifecycleEntry("x", "job", Step.TRIGGERED, 0.0, Status.PENDING))
    with pytest.raises(PayloadNotJSONError, match=r"input\['when'\] is a object"):
        db.create_run(bad_runs[1], LifecycleEntry("x", "job", Step.TRIGGERED, 0.0,
                                                  Status.PENDING))
    with pytest.raises(InvalidArgumentError):
        db.create_run("run-1", None)  # type: ignore[arg-type]
    assert everything(db) == before


def test_bad_updates_write_nothing(db: SQLiteStore) -> None:
    add(db, "run-1")
    db.claim("w", 1.0, 10.0)
    before = everything(db)
    for changes in ({"status": "done"}, {"iterations": 1.5}, {"output": {1, 2}},
                    {"retry_pending": "yes"}, {"worker": 3}, {"due_at": None},
                    {"state": {"k": float("inf")}}):
        with pytest.raises((InvalidArgumentError, PayloadNotJSONError)):
            db.update("run-1", changes, worker="w", now=2.0)
    with pytest.raises(InvalidArgumentError):
        db.update("run-1", {"progress": 0.5}, ["not an entry"], now=2.0)  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError):
        db.update("run-1", ["progress"], now=2.0)  # type: ignore[arg-type]
    assert everything(db) == before


def test_list_and_count_take_only_a_run_filter(db: SQLiteStore) -> None:
    add(db, "run-1")
    for where in ({"status": "failed"}, "status = 'failed'", None, 50):
        with pytest.raises(InvalidArgumentError, match="RunFilter"):
            db.list_runs(where)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="RunFilter"):
        db.count_runs({"status": "failed"})  # type: ignore[arg-type]


@pytest.mark.parametrize("fields", [
    {"limit": -1}, {"limit": 0}, {"limit": MAX_PAGE + 1}, {"limit": 10**20}, {"offset": -5},
    {"limit": 2.5}, {"limit": True}, {"status": "done"}, {"created_after": float("nan")},
    {"created_before": "yesterday"}, {"definition_id": 5},
])
def test_bad_filters_are_refused(db: SQLiteStore, fields: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        RunFilter(**fields)  # type: ignore[arg-type]
    # a filter changed after it was checked is checked again by the store
    tampered = RunFilter()
    for name, value in fields.items():
        object.__setattr__(tampered, name, value)
    if {"limit", "offset"} & set(fields):
        with pytest.raises(InvalidArgumentError):
            db.list_runs(tampered)


def test_a_lock_held_too_long_is_a_store_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = SQLiteStore(path, busy_timeout=0.2)
    add(store, "run-1")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
        other.execute("INSERT INTO definitions VALUES ('x', '', '', '[]', 1, 1.0, '{}', 5)")
        before = store.list_runs(RunFilter())  # readers still read (WAL)
        with pytest.raises(StoreError, match="locked"):
            add(store, "run-2")
        with pytest.raises(StoreError, match="locked"):
            store.claim("w", 1.0, 10.0)
        with pytest.raises(StoreError, match="locked"):
            store.add_log(LogRecord("run-1", 1.0, "info", "x"))
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert store.list_runs(RunFilter()) == before
    assert store.list_entries() == store.list_entries("run-1")
    add(store, "run-2")  # the lock is gone: writing works again
    assert store.claim("w", 1.0, 10.0) is not None
    store.close()


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.get_run("run-1")
    store.close()  # twice is fine


# ---- SQLite only: threads and the counters -------------------------------------------------------
def test_threads_never_claim_the_same_run(db: SQLiteStore) -> None:
    for i in range(300):
        add(db, f"run-{i:03}")
    claims: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            while (run := db.claim(name, 1.0, 60.0)) is not None:
                claims.append((run.id, name))
                db.update(run.id, {"status": Status.SUCCESS, "worker": None}, worker=name,
                          now=2.0)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert sorted(run_id for run_id, _ in claims) == [f"run-{i:03}" for i in range(300)]
    assert db.count_runs()[Status.SUCCESS] == 300


def test_status_counters_always_match_the_runs(db: SQLiteStore) -> None:
    rnd = random.Random(7)
    for i in range(200):
        add(db, f"run-{i}", t=float(i))
    now = 10.0
    for _ in range(600):
        now += 1.0
        action = rnd.random()
        if action < 0.4:
            run = db.claim("w", now, rnd.choice([0.5, 50.0]))
            if run is not None and rnd.random() < 0.7:
                status = rnd.choice([Status.SUCCESS, Status.FAILED])
                db.update(run.id, {"status": status, "worker": None, "finished_at": now},
                          now=now)
        elif action < 0.6:
            target = f"run-{rnd.randrange(200)}"
            try:
                db.request_abort(target, now)
            except (IllegalTransitionError, RunNotFoundError):
                pass
        elif action < 0.7:
            db.requeue_expired(now)
        elif action < 0.8:
            db.delete_finished_before(now - rnd.uniform(0, 100))
        else:
            add(db, f"new-{now}", t=now)
        counted = Counter(r.status for r in db.list_runs(RunFilter(limit=MAX_PAGE)))
        assert db.count_runs() == {s: counted.get(s, 0) for s in Status}


def test_the_hot_queries_use_their_indexes(db: SQLiteStore) -> None:
    """Listing by status, claiming and requeueing never read the whole table."""
    with db._read() as conn:
        def plan(sql: str, params: tuple[object, ...] = ()) -> str:
            return " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

        newest_failed = plan(sqlite_encoding.RUN_SELECT
                             + " WHERE status = ? ORDER BY ord DESC LIMIT 50", ("failed",))
        assert "USING INDEX runs_status" in newest_failed and "TEMP B-TREE" not in newest_failed
        claim = plan(f"SELECT due_at FROM runs INDEXED BY runs_due WHERE "
                     f"{sqlite_schema.CLAIMABLE} ORDER BY due_at, ord LIMIT 1")
        assert "runs_due" in claim and "TEMP B-TREE" not in claim
        expired = plan(sqlite_encoding.RUN_SELECT + SQLiteStore._EXPIRED, (1.0,))
        assert "runs_status (status=?)" in expired
