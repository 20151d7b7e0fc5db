"""The SQLite store: runs on disk, shared by threads and processes.

Why it exists: the memory store forgets everything when the process ends, and
only the threads of one process can share it. This store keeps runs, their
lifecycle log and their logs in one SQLite file, so a restart loses nothing
and several worker processes can work through the same runs. It follows
``memory.py`` method by method: same checks, same errors, same lifecycle
entries. Where memory.py holds a lock, this store holds a transaction.

How it stays correct with many workers:

* **One writer at a time.** Every change is one transaction opened with
  ``BEGIN IMMEDIATE``, which takes SQLite's write lock *before* reading. So
  ``claim`` reads "the next due run nobody holds" and marks it held with no
  other writer in between, in this process or any other: no run is ever held
  by two workers.
* **One connection per process.** The threads of a process share it, one at a
  time behind a lock, so they queue on that lock instead of sleeping in
  SQLite's busy handler (why not one per thread: see ``_connect``).
* **Readers do not wait for writers.** The file is in WAL mode: a process
  reads the last committed state while another process writes.
* **A lock held too long is an error, not a hang.** A writer waits at most
  ``busy_timeout`` seconds for another connection, then ``StoreError``.
* **JSON only.** Inputs, outputs, state, errors and details are stored as JSON
  text, never pickled; every value reaches SQL as a bound parameter.
* **A versioned schema.** ``PRAGMA user_version`` holds the schema version;
  ``migrate()`` brings an older file up step by step, in one transaction.

Durability: ``synchronous="normal"`` (the default) keeps every committed
change through a crash of the process (the case the course teaches: a worker
that dies); a power cut may lose the last few commits. ``"full"`` also
survives that, at the price of an fsync per commit.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import (
    DuplicateRunIdError,
    IllegalTransitionError,
    InvalidArgumentError,
    LeaseLostError,
    PayloadNotJSONError,
    RunNotFoundError,
    StoreError,
    UnknownDefinitionError,
)
from ..payload import check_json
from ..run import (
    UPDATABLE_FIELDS,
    LifecycleEntry,
    LogRecord,
    Run,
    Status,
    Step,
    check_transition,
)
from .base import MAX_PAGE, DefinitionRecord, RunFilter, Store

#: The schema this code writes. Bump it and add a step to ``MIGRATIONS``.
SCHEMA_VERSION = 1
#: Stamped into the file's header (``PRAGMA application_id``): "TTSK".
APPLICATION_ID = 0x5454534B

_SYNCHRONOUS = {"off": "OFF", "normal": "NORMAL", "full": "FULL"}
#: WAL pages between automatic checkpoints (SQLite's default is 1000). A
#: checkpoint copies the WAL into the file and fsyncs both while holding the
#: write lock; every 8000 pages (32 MB) instead of every 1000 made the
#: benchmark (benchmarks/sqlite_vs_huey.py) about a quarter faster.
_CHECKPOINT_PAGES = 8000
_WAL_LIMIT_BYTES = 32 * 1024 * 1024  # the WAL file is cut back to this after a checkpoint
_BIGGEST_OFFSET = 2**62  # SQLite integers are 64-bit; no table is this long

_ACTIVE = f"('{Status.PENDING.value}', '{Status.RUNNING.value}')"
_FINAL = f"('{Status.SUCCESS.value}', '{Status.FAILED.value}', '{Status.ABORTED.value}')"
#: A run a worker may take: nobody holds it and it is not final. The same text
#: is in the partial index ``runs_due`` and in the queries, so SQLite uses it.
_CLAIMABLE = f"worker IS NULL AND status IN {_ACTIVE}"

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
    f"CREATE INDEX runs_due ON runs (due_at, ord) WHERE {_CLAIMABLE}",
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


#: ``MIGRATIONS[n]`` turns a version-``n`` file into version ``n + 1``.
#: Version 0 is a new, empty file.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _create_v1}

# ---- encoding: Python values <-> SQLite columns -------------------------------------------
_RUN_COLUMNS = (
    "id", "definition_id", "status", "input", "output", "error", "iterations", "attempt",
    "parent_id", "created_at", "started_at", "finished_at", "updated_at", "due_at", "worker",
    "lease_expires_at", "abort_requested", "retry_pending", "state", "progress",
    "idempotency_key",
)
_RUN_SELECT = f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs"
_RUN_INSERT = (
    f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_RUN_COLUMNS))})"
)
_ENTRY_COLUMNS = (
    "seq", "run_id", "definition_id", "step", "time", "status", "worker", "attempt",
    "iteration", "detail",
)
_ENTRY_SELECT = f"SELECT {', '.join(_ENTRY_COLUMNS)} FROM entries"
_ENTRY_INSERT = (
    "INSERT INTO entries (run_id, definition_id, step, time, status, worker, attempt, "
    "iteration, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_LOG_SELECT = "SELECT run_id, time, level, message, iteration, seq FROM logs"
_DEFINITION_SELECT = (
    "SELECT id, title, description, events, max_iterations, budget_seconds, retry "
    "FROM definitions"
)

_STATUSES = {s.value: s for s in Status}
_encode_json = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
_parse_json = json.loads


def _decode_json(text: str) -> Any:
    """A fresh Python value from JSON text; the commonest texts skip the parser."""
    if text == "null":
        return None
    if text == "{}":
        return {}
    return _parse_json(text)


def _dumps(value: Any, where: str) -> str:
    """JSON text of ``value``, or ``PayloadNotJSONError`` naming what is wrong."""
    if value is None:  # the commonest values skip the encoder
        return "null"
    if type(value) is dict and not value:
        return "{}"
    try:
        return _encode_json(value)
    except (TypeError, ValueError, RecursionError):
        check_json(value, where)  # raises, naming the exact key
        raise PayloadNotJSONError(where, "cannot be stored as JSON") from None


def _text(value: Any, name: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string, not {type(value).__name__}")
    return value


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be a whole number, not {value!r}")
    if not -(2**63) <= value < 2**63:
        raise InvalidArgumentError(f"{name} is too large to store: {value!r}")
    return value


def _number(value: Any, name: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidArgumentError(f"{name} must be a number, not {value!r}")
    return float(value)


def _flag(value: Any, name: str) -> int:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, not {value!r}")
    return int(value)


def _status(value: Any) -> Status:
    try:
        return Status(value)
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise InvalidArgumentError(
            f"unknown status {value!r}; a status is one of: {names}"
        ) from None


def _error(value: Any, name: str = "error") -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"{name} must be a dict or None, not {type(value).__name__}")
    return _dumps(value, name)


#: How each field ``update`` may change goes into its column.
_FIELD_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "status": lambda v: _status(v).value,
    "input": lambda v: _dumps(v, "input"),
    "output": lambda v: _dumps(v, "output"),
    "error": _error,
    "iterations": lambda v: _whole(v, "iterations"),
    "attempt": lambda v: _whole(v, "attempt"),
    "started_at": lambda v: _number(v, "started_at", optional=True),
    "finished_at": lambda v: _number(v, "finished_at", optional=True),
    "due_at": lambda v: _number(v, "due_at"),
    "worker": lambda v: _text(v, "worker", optional=True),
    "lease_expires_at": lambda v: _number(v, "lease_expires_at", optional=True),
    "retry_pending": lambda v: _flag(v, "retry_pending"),
    "state": lambda v: _dumps(v, "state"),
    "progress": lambda v: _number(v, "progress", optional=True),
}
assert set(_FIELD_ENCODERS) == UPDATABLE_FIELDS
_JSON_FIELDS = frozenset({"input", "output", "state", "error"})


def _decoded(field: str, encoded: Any, value: Any) -> Any:
    """The value a returned ``Run`` holds for a field just written: JSON fields
    come back from their JSON text, so the caller's object is never shared."""
    if field in _JSON_FIELDS:
        return None if encoded is None else _decode_json(encoded)
    if field == "status":
        return Status(encoded)
    return value


def _run_params(run: Run) -> tuple[Any, ...]:
    return (
        _text(run.id, "run id"),
        _text(run.definition_id, "definition_id"),
        _status(run.status).value,
        _dumps(run.input, "input"),
        _dumps(run.output, "output"),
        _error(run.error),
        _whole(run.iterations, "iterations"),
        _whole(run.attempt, "attempt"),
        _text(run.parent_id, "parent_id", optional=True),
        _number(run.created_at, "created_at"),
        _number(run.started_at, "started_at", optional=True),
        _number(run.finished_at, "finished_at", optional=True),
        _number(run.updated_at, "updated_at"),
        _number(run.due_at, "due_at"),
        _text(run.worker, "worker", optional=True),
        _number(run.lease_expires_at, "lease_expires_at", optional=True),
        _flag(run.abort_requested, "abort_requested"),
        _flag(run.retry_pending, "retry_pending"),
        _dumps(run.state, "state"),
        _number(run.progress, "progress", optional=True),
        _text(run.idempotency_key, "idempotency_key", optional=True),
    )


def _run_from_params(p: Sequence[Any]) -> Run:
    """A ``Run`` from a row of ``_RUN_SELECT`` (or from ``_run_params``)."""
    error = p[5]
    return Run(
        id=p[0], definition_id=p[1], status=_STATUSES[p[2]], input=_decode_json(p[3]),
        output=_decode_json(p[4]), error=None if error is None else _decode_json(error),
        iterations=p[6], attempt=p[7], parent_id=p[8], created_at=p[9], started_at=p[10],
        finished_at=p[11], updated_at=p[12], due_at=p[13], worker=p[14],
        lease_expires_at=p[15], abort_requested=bool(p[16]), retry_pending=bool(p[17]),
        state=_decode_json(p[18]), progress=p[19], idempotency_key=p[20],
    )


def _entry_params(entry: LifecycleEntry) -> tuple[Any, ...]:
    if not isinstance(entry, LifecycleEntry):
        raise InvalidArgumentError(
            f"lifecycle entries must be LifecycleEntry, not {type(entry).__name__}"
        )
    try:
        step = Step(entry.step).value
    except ValueError:
        raise InvalidArgumentError(f"unknown lifecycle step {entry.step!r}") from None
    return (
        _text(entry.run_id, "entry run_id"),
        _text(entry.definition_id, "entry definition_id"),
        step,
        _number(entry.time, "entry time"),
        _status(entry.status).value,
        _text(entry.worker, "entry worker", optional=True),
        _whole(entry.attempt, "entry attempt"),
        _whole(entry.iteration, "entry iteration"),
        _dumps(entry.detail, "entry detail"),
    )


def _entry_from_row(row: Sequence[Any]) -> LifecycleEntry:
    return LifecycleEntry(
        run_id=row[1], definition_id=row[2], step=Step(row[3]), time=row[4],
        status=_STATUSES[row[5]], worker=row[6], attempt=row[7], iteration=row[8],
        detail=_decode_json(row[9]), seq=row[0],
    )


def _log_from_row(row: Sequence[Any]) -> LogRecord:
    return LogRecord(run_id=row[0], time=row[1], level=row[2], message=row[3],
                     iteration=row[4], seq=row[5])


def _definition_from_row(row: Sequence[Any]) -> DefinitionRecord:
    return DefinitionRecord(
        id=row[0], title=row[1], description=row[2], events=tuple(_decode_json(row[3])),
        max_iterations=row[4], budget_seconds=row[5], retry=_decode_json(row[6]),
    )


def _check_filter(where: object) -> RunFilter:
    if not isinstance(where, RunFilter):
        raise InvalidArgumentError(
            f"list_runs and count_runs take a RunFilter, not {type(where).__name__}"
        )
    # RunFilter checks itself when built; check again in case it was tampered with
    for name, low, high in (("limit", 1, MAX_PAGE), ("offset", 0, None)):
        value = getattr(where, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high
        ):
            raise InvalidArgumentError(f"{name} out of range: {value!r}")
    return where


def _filter_sql(where: RunFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.status is not None:
        clauses.append("status = ?")
        params.append(Status.parse(where.status).value)
    if where.definition_id is not None:
        clauses.append("definition_id = ?")
        params.append(where.definition_id)
    if where.parent_id is not None:
        clauses.append("parent_id = ?")
        params.append(where.parent_id)
    if where.created_after is not None:
        clauses.append("created_at >= ?")
        params.append(float(where.created_after))
    if where.created_before is not None:
        clauses.append("created_at < ?")
        params.append(float(where.created_before))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


#: The stores of this process, so that a forked child drops their connections.
_OPEN_STORES: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_OPEN_STORES):
        store._forget_parent_connection()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


class SQLiteStore(Store):
    """Runs, lifecycle entries and logs in one SQLite file.

    ``SQLiteStore("tasks.db")`` creates the file (and its folder must exist).
    Open the same file from as many threads and processes as you like; each
    ``claim`` hands a run to exactly one worker.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        synchronous: str = "normal",
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            raise InvalidArgumentError(
                f"path must be a file name or a Path, not {type(path).__name__}"
            )
        raw = os.fspath(path)
        if not isinstance(raw, str) or raw in ("", ":memory:") or raw.startswith("file:"):
            raise InvalidArgumentError(
                f"path must name a file on disk, not {raw!r} (for a store in memory use "
                "MemoryStore)"
            )
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float) or not (
            math.isfinite(busy_timeout) and 0 <= busy_timeout <= 3600
        ):
            raise InvalidArgumentError(
                f"busy_timeout must be a number of seconds from 0 to 3600, not {busy_timeout!r}"
            )
        if not isinstance(synchronous, str) or synchronous.lower() not in _SYNCHRONOUS:
            raise InvalidArgumentError(
                f"synchronous must be one of {sorted(_SYNCHRONOUS)}, not {synchronous!r}"
            )
        self.path = Path(raw).absolute()
        if not self.path.parent.is_dir():
            raise StoreError(
                f"cannot open {self.path}: the folder {self.path.parent} does not exist"
            )
        if self.path.is_dir():
            raise StoreError(f"cannot open {self.path}: it is a folder, not a file")
        self.busy_timeout = float(busy_timeout)
        self._synchronous = _SYNCHRONOUS[synchronous.lower()]
        #: one connection per process, used by one thread at a time (see _use)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        _OPEN_STORES.add(self)
        try:
            self._open_file()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # ---- the connection ----------------------------------------------------------------------
    # Why one connection per process behind a lock, rather than one per thread:
    # SQLite drops a connection's whole page cache whenever another connection
    # has written. With a connection per thread, the 4 workers of the benchmark
    # kept re-reading pages from the file: 55 pread() calls per run against 0.5
    # with one shared connection (strace, 3,000 runs), and 1,035 against 1,200
    # runs/s (median of 6, alternating). Every statement is short, so the lock
    # is held briefly; other processes are kept in order by SQLite's own file
    # locks and the busy timeout.
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._store_error(exc) from exc
        try:
            # constants of this module: a PRAGMA cannot take a bound parameter
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute(f"PRAGMA wal_autocheckpoint = {int(_CHECKPOINT_PAGES)}")
            conn.execute(f"PRAGMA journal_size_limit = {int(_WAL_LIMIT_BYTES)}")
        except sqlite3.Error as exc:
            conn.close()
            raise self._store_error(exc) from exc
        return conn

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The connection, for this thread alone during the block."""
        if not self._lock.acquire(timeout=self.busy_timeout):
            raise StoreError(
                f"another thread of this process used {self.path} for more than "
                f"{self.busy_timeout:g}s (busy_timeout)"
            )
        try:
            if self._closed:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
                raise StoreError(f"{self!r} is closed")
            if self._conn is None:
                self._conn = self._connect()
            yield self._conn
        finally:
            self._lock.release()

    def close(self) -> None:
        """Close the connection. Using the store afterwards raises StoreError."""
        self._closed = True
        _OPEN_STORES.discard(self)
        if self._lock.acquire(timeout=self.busy_timeout):
            try:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
            finally:
                self._lock.release()
        # else a thread is still using it: the next _use() sees _closed and closes it

    def _forget_parent_connection(self) -> None:
        """In a child process after ``fork()``: the connection (and the lock,
        which another thread may have held) belong to the parent. Start afresh."""
        self._lock, self._conn = threading.Lock(), None

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _store_error(self, exc: BaseException) -> StoreError:
        message = str(exc)
        if "locked" in message or "busy" in message:
            return StoreError(
                f"{self.path} is locked by another connection; gave up after waiting "
                f"{self.busy_timeout:g}s (busy_timeout)"
            )
        if "not a database" in message or "malformed" in message:
            return StoreError(f"{self.path} is not a SQLite database (or is damaged): {message}")
        if "unable to open" in message:
            return StoreError(f"cannot open {self.path}: {message}")
        return StoreError(f"SQLite failed on {self.path}: {message}")

    def _translate(self, exc: BaseException) -> BaseException:
        if isinstance(exc, sqlite3.Error):
            return self._store_error(exc)
        if isinstance(exc, UnicodeEncodeError):
            return InvalidArgumentError(
                f"a text value cannot be stored: it is not valid Unicode ({exc.reason})"
            )
        return exc

    @contextmanager
    def _write(self, *, transaction: bool = True) -> Iterator[sqlite3.Connection]:
        """A write. Unless it is one statement (atomic by itself), a
        ``BEGIN IMMEDIATE`` transaction: SQLite's write lock is taken before
        anything is read, and everything commits at the end of the block or
        rolls back on any error."""
        with self._use() as conn:
            try:
                if transaction:
                    conn.execute("BEGIN IMMEDIATE")
                yield conn
                if transaction:
                    conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:  # pragma: no cover - the file went away
                        pass
                translated = self._translate(exc)
                if translated is exc:
                    raise
                raise translated from exc

    @contextmanager
    def _read(self, *, snapshot: bool = False) -> Iterator[sqlite3.Connection]:
        """A read; ``snapshot`` wraps several statements in one read
        transaction, so they all see the same state of the file."""
        with self._use() as conn:
            try:
                if snapshot:
                    conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    if conn.in_transaction:
                        conn.execute("COMMIT")
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                raise self._translate(exc) from exc

    # ---- schema ------------------------------------------------------------------------------
    def _open_file(self) -> None:
        with self._read() as conn:
            version = self._check_header(conn)
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if version == SCHEMA_VERSION and mode == "wal":
                return
        if mode != "wal":
            with self._write(transaction=False) as conn:
                # needs no other connection open; retried by the busy timeout
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{self.path} cannot be switched to WAL mode (it says {mode!r})")
        self.migrate()

    def _check_header(self, conn: sqlite3.Connection) -> int:
        """The file's schema version; StoreError if the file is not ours."""
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise StoreError(
                f"{self.path} is a SQLite database of another program (application_id "
                f"{app_id:#x}), not a teachtasks store"
            )
        if app_id == 0 and version == 0:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if tables:
                raise StoreError(
                    f"{self.path} already holds tables of another program; "
                    "give SQLiteStore a file of its own"
                )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this teachtasks "
                f"understands ({SCHEMA_VERSION}); upgrade teachtasks"
            )
        return version

    def schema_version(self) -> int:
        """The schema version written in the file."""
        with self._read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, target: int | None = None) -> int:
        """Bring the file's schema up to ``target`` (default: this code's
        version), one ``MIGRATIONS`` step at a time, all in one transaction:
        either every step is applied or none. Returns the version now in the
        file. A file already at ``target`` is left exactly as it is."""
        if target is None:
            target = SCHEMA_VERSION
        if isinstance(target, bool) or not isinstance(target, int) or not (
            1 <= target <= SCHEMA_VERSION
        ):
            raise InvalidArgumentError(
                f"target must be a schema version from 1 to {SCHEMA_VERSION}, not {target!r}"
            )
        with self._read() as conn:
            if self._check_header(conn) == target:
                return target
        with self._write() as conn:
            version = self._check_header(conn)  # again: another process may have migrated
            if version > target:
                raise InvalidArgumentError(
                    f"{self.path} has schema version {version}; migrating down to {target} "
                    "is not supported"
                )
            while version < target:
                MIGRATIONS[version](conn)
                version += 1
                # ints from this module, not input: a PRAGMA cannot take a bound parameter
                conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute(f"PRAGMA application_id = {int(APPLICATION_ID)}")
            return version

    # ---- definitions --------------------------------------------------------------------------
    def put_definition(self, record: DefinitionRecord) -> None:
        if not isinstance(record, DefinitionRecord):
            raise InvalidArgumentError(
                f"put_definition takes a DefinitionRecord, not {type(record).__name__}"
            )
        params = (
            _text(record.id, "definition id"), _text(record.title, "title"),
            _text(record.description, "description"), _dumps(list(record.events), "events"),
            _whole(record.max_iterations, "max_iterations"),
            _number(record.budget_seconds, "budget_seconds"), _dumps(record.retry, "retry"),
        )
        with self._write(transaction=False) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO definitions (id, title, description, events, "
                "max_iterations, budget_seconds, retry) VALUES (?, ?, ?, ?, ?, ?, ?)",
                params,
            )

    def _definition_ids(self, conn: sqlite3.Connection) -> list[str]:
        return [row[0] for row in conn.execute("SELECT id FROM definitions ORDER BY id")]

    def get_definition(self, definition_id: str) -> DefinitionRecord:
        with self._read(snapshot=True) as conn:
            row = None
            if isinstance(definition_id, str):
                row = self._fetch_one(
                    conn, _DEFINITION_SELECT + " WHERE id = ?", (definition_id,)
                )
            if row is None:
                raise UnknownDefinitionError(definition_id, self._definition_ids(conn))
            return _definition_from_row(row)

    def list_definitions(self) -> list[DefinitionRecord]:
        with self._read() as conn:
            rows = conn.execute(_DEFINITION_SELECT + " ORDER BY id").fetchall()
        return [_definition_from_row(row) for row in rows]

    def delete_definition(self, definition_id: str) -> None:
        with self._write() as conn:
            deleted = 0
            if isinstance(definition_id, str):
                deleted = self._execute(
                    conn, "DELETE FROM definitions WHERE id = ?", (definition_id,)
                ).rowcount
            if not deleted:
                raise UnknownDefinitionError(definition_id, self._definition_ids(conn))

    # ---- helpers (inside a read or a transaction) ------------------------------------------------
    @staticmethod
    def _execute(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return conn.execute(sql, params)
        except UnicodeEncodeError as exc:
            raise InvalidArgumentError(
                f"a text value cannot be stored: it is not valid Unicode ({exc.reason})"
            ) from exc

    @staticmethod
    def _fetch_one(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Any:
        try:
            return conn.execute(sql, params).fetchone()
        except UnicodeEncodeError:
            return None  # a string SQLite cannot hold names no row

    def _get(self, conn: sqlite3.Connection, run_id: str) -> Run:
        row = None
        if isinstance(run_id, str):
            row = self._fetch_one(conn, _RUN_SELECT + " WHERE id = ?", (run_id,))
        if row is None:
            raise RunNotFoundError(run_id)
        return _run_from_params(row)

    def _exists(self, conn: sqlite3.Connection, run_id: str) -> bool:
        return isinstance(run_id, str) and self._fetch_one(
            conn, "SELECT 1 FROM runs WHERE id = ?", (run_id,)
        ) is not None

    @staticmethod
    def _append(conn: sqlite3.Connection, params: Sequence[tuple[Any, ...]]) -> None:
        if params:
            conn.executemany(_ENTRY_INSERT, params)

    # ---- runs ------------------------------------------------------------------------------
    def create_run(self, run: Run, entry: LifecycleEntry) -> tuple[Run, bool]:
        if not isinstance(run, Run):
            raise InvalidArgumentError(f"create_run takes a Run, not {type(run).__name__}")
        params = _run_params(run)
        entry_params = _entry_params(entry)
        with self._write() as conn:
            if run.idempotency_key is not None:
                row = self._fetch_one(
                    conn, _RUN_SELECT + " WHERE idempotency_key = ?", (run.idempotency_key,)
                )
                if row is not None:
                    return _run_from_params(row), False
            try:
                self._execute(conn, _RUN_INSERT, params)
            except sqlite3.IntegrityError:  # the UNIQUE id: checked by SQLite, not by a read
                raise DuplicateRunIdError(f"a run with id {run.id!r} already exists") from None
            self._append(conn, [entry_params])
        return _run_from_params(params), True

    def get_run(self, run_id: str) -> Run:
        with self._read() as conn:
            return self._get(conn, run_id)

    def list_runs(self, where: RunFilter) -> list[Run]:
        where = _check_filter(where)
        if where.offset >= _BIGGEST_OFFSET:
            return []
        sql, params = _filter_sql(where)
        with self._read() as conn:
            rows = self._execute(
                conn, f"{_RUN_SELECT}{sql} ORDER BY ord DESC LIMIT ? OFFSET ?",
                [*params, where.limit, where.offset],
            ).fetchall()
        return [_run_from_params(row) for row in rows]

    def count_runs(self, where: RunFilter | None = None) -> dict[Status, int]:
        if where is None:
            query, params = "SELECT status, n FROM run_counts", []
        else:
            sql, params = _filter_sql(_check_filter(where))
            query = f"SELECT status, count(*) FROM runs{sql} GROUP BY status"
        with self._read() as conn:
            rows = self._execute(conn, query, params).fetchall()
        counts = dict.fromkeys(Status, 0)
        for status, count in rows:
            counts[Status(status)] = count
        return counts

    def delete_run(self, run_id: str) -> None:
        with self._write() as conn:
            run = self._get(conn, run_id)
            if run.worker is not None:
                raise IllegalTransitionError(
                    run_id, run.status, "deleted",
                    f"worker {run.worker} is running it; abort it first",
                )
            conn.execute("DELETE FROM entries WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM logs WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def claim(self, worker: str, now: float, lease_seconds: float) -> Run | None:
        _text(worker, "worker")
        now = _number(now, "now")  # type: ignore[assignment]
        lease_seconds = _number(lease_seconds, "lease_seconds")  # type: ignore[assignment]
        with self._read() as conn:  # nothing due: answer without taking the write lock
            top = conn.execute(
                f"SELECT due_at FROM runs INDEXED BY runs_due WHERE {_CLAIMABLE} "
                "ORDER BY due_at, ord LIMIT 1"
            ).fetchone()
        if top is None or top[0] > now:
            return None
        with self._write() as conn:
            row = conn.execute(
                f"SELECT ord, {', '.join(_RUN_COLUMNS)} FROM runs INDEXED BY runs_due "
                f"WHERE {_CLAIMABLE} ORDER BY due_at, ord LIMIT 1"
            ).fetchone()
            if row is None or row[14] > now:  # another worker was quicker
                return None
            run = _run_from_params(row[1:])
            lease = now + lease_seconds
            if run.status is Status.PENDING:
                started = run.started_at or now
                conn.execute(
                    "UPDATE runs SET worker = ?, lease_expires_at = ?, updated_at = ?, "
                    "status = ?, started_at = ? WHERE ord = ?",
                    (worker, lease, now, Status.RUNNING.value, started, row[0]),
                )
                self._append(conn, [_entry_params(LifecycleEntry(
                    run.id, run.definition_id, Step.STARTED, now, Status.RUNNING,
                    worker=worker, attempt=run.attempt, iteration=run.iterations,
                ))])
                return replace(run, worker=worker, lease_expires_at=lease, updated_at=now,
                               status=Status.RUNNING, started_at=started)
            conn.execute(
                "UPDATE runs SET worker = ?, lease_expires_at = ?, updated_at = ? WHERE ord = ?",
                (worker, lease, now, row[0]),
            )
            return replace(run, worker=worker, lease_expires_at=lease, updated_at=now)

    def update(
        self,
        run_id: str,
        changes: Mapping[str, Any],
        entries: Sequence[LifecycleEntry] = (),
        *,
        worker: str | None = None,
        now: float,
    ) -> Run:
        if not isinstance(changes, Mapping):
            raise InvalidArgumentError(f"changes must be a mapping, not {type(changes).__name__}")
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise InvalidArgumentError(f"these run fields cannot be updated: {sorted(unknown)}")
        fields = sorted(changes)
        encoded = [_FIELD_ENCODERS[f](changes[f]) for f in fields]
        entry_params = [_entry_params(e) for e in entries]
        now = _number(now, "now")  # type: ignore[assignment]
        with self._write() as conn:
            run = self._get(conn, run_id)
            if worker is not None and run.worker != worker:
                raise LeaseLostError(
                    f"{worker} no longer holds run {run_id!r} (held by {run.worker or 'nobody'})"
                )
            if "status" in changes:
                check_transition(run_id, run.status, Status(encoded[fields.index("status")]))
            assignments = "".join(f"{f} = ?, " for f in fields)
            conn.execute(
                f"UPDATE runs SET {assignments}updated_at = ? WHERE id = ?",
                (*encoded, now, run_id),
            )
            self._append(conn, entry_params)
        return replace(run, updated_at=now, **{
            f: _decoded(f, e, changes[f]) for f, e in zip(fields, encoded, strict=True)
        })

    def heartbeat(self, run_id: str, worker: str, now: float, lease_seconds: float) -> bool:
        if not isinstance(run_id, str) or not isinstance(worker, str):
            return False
        now = _number(now, "now")  # type: ignore[assignment]
        lease = now + _number(lease_seconds, "lease_seconds")  # type: ignore[operator]
        with self._write(transaction=False) as conn:
            try:
                return conn.execute(
                    "UPDATE runs SET lease_expires_at = ? WHERE id = ? AND worker = ?",
                    (lease, run_id, worker),
                ).rowcount == 1
            except UnicodeEncodeError:  # text SQLite cannot hold names no run and no worker
                return False

    def request_abort(self, run_id: str, now: float) -> tuple[Run, bool]:
        now = _number(now, "now")  # type: ignore[assignment]
        with self._write() as conn:
            run = self._get(conn, run_id)
            if run.status.is_final:
                check_transition(run_id, run.status, Status.ABORTED)
            if run.worker is None:
                check_transition(run_id, run.status, Status.ABORTED)
                conn.execute(
                    "UPDATE runs SET status = ?, finished_at = ?, updated_at = ?, "
                    "abort_requested = 1, lease_expires_at = NULL WHERE id = ?",
                    (Status.ABORTED.value, now, now, run_id),
                )
                self._append(conn, [
                    _entry_params(LifecycleEntry(
                        run_id, run.definition_id, Step.ABORT_REQUESTED, now, run.status,
                        attempt=run.attempt, iteration=run.iterations,
                    )),
                    _entry_params(LifecycleEntry(
                        run_id, run.definition_id, Step.FINISHED, now, Status.ABORTED,
                        attempt=run.attempt, iteration=run.iterations,
                        detail={"reason": "aborted before a worker took it"},
                    )),
                ])
                return replace(
                    run, status=Status.ABORTED, finished_at=now, updated_at=now,
                    abort_requested=True, lease_expires_at=None,
                ), True
            if not run.abort_requested:
                conn.execute(
                    "UPDATE runs SET abort_requested = 1, updated_at = ? WHERE id = ?",
                    (now, run_id),
                )
                self._append(conn, [_entry_params(LifecycleEntry(
                    run_id, run.definition_id, Step.ABORT_REQUESTED, now, run.status,
                    worker=run.worker, attempt=run.attempt, iteration=run.iterations,
                ))])
                run = replace(run, abort_requested=True, updated_at=now)
            return run, False

    _EXPIRED = (
        f" INDEXED BY runs_status WHERE status = '{Status.RUNNING.value}' "
        "AND worker IS NOT NULL AND lease_expires_at < ? ORDER BY ord"
    )

    def requeue_expired(self, now: float) -> list[Run]:
        now = _number(now, "now")  # type: ignore[assignment]
        with self._read() as conn:  # usually none: answer without taking the write lock
            if conn.execute("SELECT 1 FROM runs" + self._EXPIRED, (now,)).fetchone() is None:
                return []
        requeued = []
        with self._write() as conn:
            for row in conn.execute(_RUN_SELECT + self._EXPIRED, (now,)).fetchall():
                run = _run_from_params(row)
                conn.execute(
                    "UPDATE runs SET status = ?, worker = NULL, lease_expires_at = NULL, "
                    "retry_pending = 1, due_at = ?, updated_at = ? WHERE id = ?",
                    (Status.PENDING.value, now, now, run.id),
                )
                self._append(conn, [_entry_params(LifecycleEntry(
                    run.id, run.definition_id, Step.REQUEUED, now, Status.PENDING,
                    worker=run.worker, attempt=run.attempt, iteration=run.iterations,
                    detail={"reason": "lease expired"},
                ))])
                requeued.append(replace(
                    run, status=Status.PENDING, worker=None, lease_expires_at=None,
                    retry_pending=True, due_at=now, updated_at=now,
                ))
        return requeued

    def next_due(self) -> float | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT due_at FROM runs INDEXED BY runs_due WHERE {_CLAIMABLE} "
                "ORDER BY due_at, ord LIMIT 1"
            ).fetchone()
        return None if row is None else row[0]

    def delete_finished_before(self, before: float) -> int:
        before = _number(before, "before")  # type: ignore[assignment]
        old = (
            f"SELECT id FROM runs INDEXED BY runs_status WHERE status IN {_FINAL} "
            "AND finished_at < ?"
        )
        with self._write() as conn:
            conn.execute(f"DELETE FROM entries WHERE run_id IN ({old})", (before,))
            conn.execute(f"DELETE FROM logs WHERE run_id IN ({old})", (before,))
            return conn.execute(
                f"DELETE FROM runs INDEXED BY runs_status WHERE status IN {_FINAL} "
                "AND finished_at < ?", (before,)
            ).rowcount

    # ---- lifecycle log and logs ------------------------------------------------------------------
    def append_entries(self, entries: Iterable[LifecycleEntry]) -> None:
        params = [_entry_params(e) for e in entries]
        if not params:
            return
        with self._write() as conn:
            self._append(conn, params)

    def list_entries(self, run_id: str | None = None) -> list[LifecycleEntry]:
        with self._read(snapshot=run_id is not None) as conn:
            if run_id is None:
                rows = conn.execute(_ENTRY_SELECT + " ORDER BY seq").fetchall()
            else:
                if not self._exists(conn, run_id):
                    raise RunNotFoundError(run_id)
                rows = conn.execute(
                    _ENTRY_SELECT + " WHERE run_id = ? ORDER BY seq", (run_id,)
                ).fetchall()
        return [_entry_from_row(row) for row in rows]

    def add_log(self, record: LogRecord) -> None:
        if not isinstance(record, LogRecord):
            raise InvalidArgumentError(f"add_log takes a LogRecord, not {type(record).__name__}")
        if not isinstance(record.run_id, str):
            raise RunNotFoundError(record.run_id)
        params = (
            _text(record.run_id, "run_id"), _number(record.time, "time"),
            _text(record.level, "level"), _text(record.message, "message"),
            _whole(record.iteration, "iteration"), record.run_id,
        )
        with self._write(transaction=False) as conn:
            # one statement: the run's existence is checked and the line added atomically
            added = self._execute(
                conn,
                "INSERT INTO logs (run_id, time, level, message, iteration) "
                "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)",
                params,
            ).rowcount
        if not added:
            raise RunNotFoundError(record.run_id)

    def list_logs(self, run_id: str) -> list[LogRecord]:
        with self._read(snapshot=True) as conn:
            if not self._exists(conn, run_id):
                raise RunNotFoundError(run_id)
            rows = conn.execute(_LOG_SELECT + " WHERE run_id = ? ORDER BY seq", (run_id,))
            rows = rows.fetchall()
        return [_log_from_row(row) for row in rows]
