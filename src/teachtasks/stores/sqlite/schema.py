"""The SQLite store's schema, and the migrations that bring an older file up to it.

``PRAGMA user_version`` holds the version of a file; ``MIGRATIONS[n]`` turns
a version-``n`` file into version ``n + 1``. ``connection.SQLiteFile.migrate``
applies the steps, all in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ...lifecycle import DEFAULT_MAX_REQUEUES
from ...run import Status

SCHEMA_VERSION = 2
#: Stamped into the file's header (``PRAGMA application_id``): "TTSK".
APPLICATION_ID = 0x5454534B


ACTIVE = f"('{Status.PENDING.value}', '{Status.RUNNING.value}')"
FINAL = f"('{Status.SUCCESS.value}', '{Status.FAILED.value}', '{Status.ABORTED.value}')"
#: A run a worker may take: nobody holds it and it is not final. The same text
#: is in the partial index ``runs_due`` and in the queries, so SQLite uses it.
CLAIMABLE = f"worker IS NULL AND status IN {ACTIVE}"

_SCHEMA_V1 = [
    """CREATE TABLE definitions (
        id TEXT PRIMARY KEY NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        events TEXT NOT NULL,
        max_iterations INTEGER NOT NULL,
        budget_seconds REAL NOT NULL,
        retry TEXT NOT NULL
    )""",
    # ord is the creation order (newest first = ord descending); AUTOINCREMENT
    # never reuses the number of a deleted run, like memory.py's counter.
    """CREATE TABLE runs (
        ord INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        definition_id TEXT NOT NULL,
        status TEXT NOT NULL,
        input TEXT NOT NULL,
        output TEXT NOT NULL,
        error TEXT,
        iterations INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        parent_id TEXT,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        updated_at REAL NOT NULL,
        due_at REAL NOT NULL,
        worker TEXT,
        lease_expires_at REAL,
        abort_requested INTEGER NOT NULL,
        retry_pending INTEGER NOT NULL,
        state TEXT NOT NULL,
        progress REAL,
        idempotency_key TEXT
    )""",
    # Each index costs a page write whenever a run enters or leaves it, so there
    # are few, and partial where most runs have nothing to index. runs_status
    # lists a status newest first and, with finished_at in it, lets cleanup find
    # old final runs without reading a row. requeue_expired uses it too (the
    # running runs are few).
    "CREATE INDEX runs_status ON runs (status, ord, finished_at)",
    "CREATE INDEX runs_definition ON runs (definition_id, ord)",
    "CREATE INDEX runs_parent ON runs (parent_id, ord) WHERE parent_id IS NOT NULL",
    "CREATE INDEX runs_created ON runs (created_at)",
    "CREATE UNIQUE INDEX runs_key ON runs (idempotency_key) WHERE idempotency_key IS NOT NULL",
    # the runs a worker may take, in the order it takes them
    f"CREATE INDEX runs_due ON runs (due_at, ord) WHERE {CLAIMABLE}",
    """CREATE TABLE entries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        definition_id TEXT NOT NULL,
        step TEXT NOT NULL,
        time REAL NOT NULL,
        status TEXT NOT NULL,
        worker TEXT,
        attempt INTEGER NOT NULL,
        iteration INTEGER NOT NULL,
        detail TEXT NOT NULL
    )""",
    "CREATE INDEX entries_run ON entries (run_id, seq)",
    """CREATE TABLE logs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL,
        time REAL NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL,
        iteration INTEGER NOT NULL
    )""",
    "CREATE INDEX logs_run ON logs (run_id, seq)",
    # How many runs are in each status, kept by triggers in the same transaction
    # as the change: count_runs() (which wait_idle() polls) reads five rows
    # instead of counting every run.
    """CREATE TABLE run_counts (
        status TEXT PRIMARY KEY NOT NULL,
        n INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TRIGGER runs_counted_insert AFTER INSERT ON runs BEGIN
        UPDATE run_counts SET n = n + 1 WHERE status = NEW.status;
    END""",
    """CREATE TRIGGER runs_counted_delete AFTER DELETE ON runs BEGIN
        UPDATE run_counts SET n = n - 1 WHERE status = OLD.status;
    END""",
    """CREATE TRIGGER runs_counted_update AFTER UPDATE OF status ON runs
    WHEN OLD.status IS NOT NEW.status BEGIN
        UPDATE run_counts SET n = n - 1 WHERE status = OLD.status;
        UPDATE run_counts SET n = n + 1 WHERE status = NEW.status;
    END""",
]


def _create_v1(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA_V1:
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO run_counts (status, n) VALUES (?, 0)", [(s.value,) for s in Status]
    )


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Version 2: a run keeps its traceback and how often it was requeued, a
    definition its ``max_requeues``, and an idempotency key is unique per
    definition (it was unique in the whole file)."""
    conn.execute("ALTER TABLE runs ADD COLUMN traceback TEXT")
    conn.execute("ALTER TABLE runs ADD COLUMN requeues INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        "ALTER TABLE definitions ADD COLUMN max_requeues INTEGER NOT NULL "
        f"DEFAULT {int(DEFAULT_MAX_REQUEUES)}"
    )
    conn.execute("DROP INDEX runs_key")
    conn.execute(
        "CREATE UNIQUE INDEX runs_key ON runs (definition_id, idempotency_key) "
        "WHERE idempotency_key IS NOT NULL"
    )


#: ``MIGRATIONS[n]`` turns a version-``n`` file into version ``n + 1``.
#: Version 0 is a new, empty file.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _create_v1, 1: _v1_to_v2}
