"""The SQLite store's file: one connection per process, transactions, the schema version.

* **One writer at a time.** Every change is one transaction opened with
  ``BEGIN IMMEDIATE``, which takes SQLite's write lock *before* reading.
* **One connection per process**, shared by its threads one at a time behind
  a lock (why not one per thread: see ``_connect``).
* **A lock held too long is an error, not a hang**: ``StoreError`` after
  ``busy_timeout`` seconds.
* **Private by default**: a new file is created readable and writable by its
  owner only (0600); SQLite gives its ``-wal`` and ``-shm`` files the same mode.
* **A versioned schema**: ``migrate()`` applies ``schema.MIGRATIONS`` step by
  step, in one transaction.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...checks import check_number
from ...errors import InvalidArgumentError, StoreError
from . import schema

_SYNCHRONOUS = {"off": "OFF", "normal": "NORMAL", "full": "FULL"}
#: WAL pages between automatic checkpoints (SQLite's default is 1000). A
#: checkpoint copies the WAL into the file and fsyncs both while holding the
#: write lock; every 8000 pages (32 MB) instead of every 1000 made the
#: benchmark (benchmarks/sqlite_vs_huey.py) about a quarter faster.
_CHECKPOINT_PAGES = 8000
_WAL_LIMIT_BYTES = 32 * 1024 * 1024  # the WAL file is cut back to this after a checkpoint

#: The stores of this process, so that a forked child drops their connections.
_OPEN_STORES: weakref.WeakSet[SQLiteFile] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_OPEN_STORES):
        store._forget_parent_connection()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


class SQLiteFile:
    """One teachtasks SQLite file, opened (and migrated) once: the connection,
    reads, write transactions and the schema version. ``SQLiteStore`` adds the
    runs on top."""

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
        if "\0" in raw:
            raise InvalidArgumentError(
                f"path {raw!r} holds a NUL character, which no file name can; check how it "
                "was built"
            )
        check_number(busy_timeout, "busy_timeout", low=0, high=3600,
                     hint=" (seconds to wait for another connection's lock)")
        if not isinstance(synchronous, str) or synchronous.lower() not in _SYNCHRONOUS:
            raise InvalidArgumentError(
                f"synchronous must be one of {sorted(_SYNCHRONOUS)}, not {synchronous!r}"
            )
        try:
            self.path = Path(raw).absolute()
        except (ValueError, OSError) as exc:
            raise InvalidArgumentError(f"path {raw!r} is not a usable file name: {exc}") from None
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
            self._create_private()
            self._open_file()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    def _create_private(self) -> None:
        """Create a new file readable by its owner only (0600), before SQLite
        does with the default mode: a run's input may hold an email address."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return  # an existing file keeps the mode its owner gave it
        except OSError as exc:
            raise StoreError(f"cannot create {self.path}: {exc}") from exc
        os.close(fd)

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

    def __enter__(self) -> SQLiteFile:
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
            if version == schema.SCHEMA_VERSION and mode == "wal":
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
        if app_id not in (0, schema.APPLICATION_ID):
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
        if version > schema.SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this teachtasks "
                f"understands ({schema.SCHEMA_VERSION}); upgrade teachtasks"
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
            target = schema.SCHEMA_VERSION
        check_number(target, "target schema version", low=1, high=schema.SCHEMA_VERSION,
                     whole=True)
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
                schema.MIGRATIONS[version](conn)
                version += 1
                # ints from this module, not input: a PRAGMA cannot take a bound parameter
                conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute(f"PRAGMA application_id = {int(schema.APPLICATION_ID)}")
            return version

