"""The SQLite store itself: runs, lifecycle entries and logs in one file.

It follows ``memory.py`` method by method: each lifecycle step is read,
decided by ``teachtasks.lifecycle`` and applied in one ``BEGIN IMMEDIATE``
transaction (where memory.py holds a lock), so ``claim`` reads "the next due
run nobody holds" and marks it held with no other writer in between, in this
process or any other: no run is ever held by two workers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ... import lifecycle
from ...checks import safe_text
from ...definition import DefinitionRecord
from ...errors import (
    DuplicateRunIdError,
    IllegalTransitionError,
    InvalidArgumentError,
    RunNotFoundError,
    UnknownDefinitionError,
)
from ...run import LifecycleEntry, LogRecord, Run, Status
from ..base import RunFilter, Store
from .connection import SQLiteFile
from .encoding import (
    DEFINITION_SELECT,
    ENTRY_INSERT,
    ENTRY_SELECT,
    FIELD_ENCODERS,
    LOG_SELECT,
    RUN_COLUMNS,
    RUN_INSERT,
    RUN_SELECT,
    check_filter,
    decoded,
    definition_from_row,
    dumps,
    entry_from_row,
    entry_params,
    filter_sql,
    log_from_row,
    number,
    run_from_params,
    run_params,
    text,
    whole,
)
from .schema import CLAIMABLE, FINAL

_BIGGEST_OFFSET = 2**62  # SQLite integers are 64-bit; no table is this long


class SQLiteStore(SQLiteFile, Store):
    """Runs, lifecycle entries and logs in one SQLite file.

    ``SQLiteStore("tasks.db")`` creates the file (and its folder must exist),
    readable by its owner only. Open the same file from as many threads and
    processes as you like; each ``claim`` hands a run to exactly one worker.
    """

    shared = True

    # ---- definitions --------------------------------------------------------------------------
    def put_definition(self, record: DefinitionRecord) -> None:
        if not isinstance(record, DefinitionRecord):
            raise InvalidArgumentError(
                f"put_definition takes a DefinitionRecord, not {type(record).__name__}"
            )
        params = (
            text(record.id, "definition id"), text(record.title, "title"),
            text(record.description, "description"), dumps(list(record.events), "events"),
            whole(record.max_iterations, "max_iterations"),
            number(record.budget_seconds, "budget_seconds"), dumps(record.retry, "retry"),
            whole(record.max_requeues, "max_requeues"),
        )
        with self._write(transaction=False) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO definitions (id, title, description, events, "
                "max_iterations, budget_seconds, retry, max_requeues) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )

    def _definition_ids(self, conn: sqlite3.Connection) -> list[str]:
        return [row[0] for row in conn.execute("SELECT id FROM definitions ORDER BY id")]

    def get_definition(self, definition_id: str) -> DefinitionRecord:
        with self._read(snapshot=True) as conn:
            row = None
            if isinstance(definition_id, str):
                row = self._fetch_one(
                    conn, DEFINITION_SELECT + " WHERE id = ?", (definition_id,)
                )
            if row is None:
                raise UnknownDefinitionError(definition_id, self._definition_ids(conn))
            return definition_from_row(row)

    def list_definitions(self) -> list[DefinitionRecord]:
        with self._read() as conn:
            rows = conn.execute(DEFINITION_SELECT + " ORDER BY id").fetchall()
        return [definition_from_row(row) for row in rows]

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
            row = self._fetch_one(conn, RUN_SELECT + " WHERE id = ?", (run_id,))
        if row is None:
            raise RunNotFoundError(run_id)
        return run_from_params(row)

    def _exists(self, conn: sqlite3.Connection, run_id: str) -> bool:
        return isinstance(run_id, str) and self._fetch_one(
            conn, "SELECT 1 FROM runs WHERE id = ?", (run_id,)
        ) is not None

    @staticmethod
    def _append(conn: sqlite3.Connection, params: Sequence[tuple[Any, ...]]) -> None:
        if params:
            conn.executemany(ENTRY_INSERT, params)

    # ---- runs ------------------------------------------------------------------------------
    def create_run(self, run: Run, entry: LifecycleEntry) -> tuple[Run, bool]:
        if not isinstance(run, Run):
            raise InvalidArgumentError(f"create_run takes a Run, not {type(run).__name__}")
        params = run_params(run)
        entry_row = entry_params(entry)
        with self._write() as conn:
            if run.idempotency_key is not None:
                row = self._fetch_one(
                    conn, RUN_SELECT + " WHERE definition_id = ? AND idempotency_key = ?",
                    (run.definition_id, run.idempotency_key),
                )
                if row is not None:
                    return run_from_params(row), False
            try:
                self._execute(conn, RUN_INSERT, params)
            except sqlite3.IntegrityError:  # the UNIQUE id: checked by SQLite, not by a read
                raise DuplicateRunIdError(f"a run with id {run.id!r} already exists") from None
            self._append(conn, [entry_row])
        return run_from_params(params), True

    def get_run(self, run_id: str) -> Run:
        with self._read() as conn:
            return self._get(conn, run_id)

    def list_runs(self, where: RunFilter) -> list[Run]:
        where = check_filter(where)
        if where.offset >= _BIGGEST_OFFSET:
            return []
        sql, params = filter_sql(where)
        with self._read() as conn:
            rows = self._execute(
                conn, f"{RUN_SELECT}{sql} ORDER BY ord DESC LIMIT ? OFFSET ?",
                [*params, where.limit, where.offset],
            ).fetchall()
        return [run_from_params(row) for row in rows]

    def count_runs(self, where: RunFilter | None = None) -> dict[Status, int]:
        if where is None:
            query, params = "SELECT status, n FROM run_counts", []
        else:
            sql, params = filter_sql(check_filter(where))
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

    def _apply(self, conn: sqlite3.Connection, run: Run, change: lifecycle.Change,
               now: float) -> Run:
        """Write a lifecycle ``Change`` to ``run``'s row and append its entries
        (inside the caller's transaction); returns the run as it is now."""
        names = sorted(change.fields)
        encoded = [FIELD_ENCODERS[name](change.fields[name]) for name in names]
        entries = [entry_params(e) for e in change.entries]
        assignments = "".join(f"{name} = ?, " for name in names)
        self._execute(conn, f"UPDATE runs SET {assignments}updated_at = ? WHERE id = ?",
                      (*encoded, now, run.id))
        self._append(conn, entries)
        return replace(run, updated_at=now, **{
            name: decoded(name, e, change.fields[name])
            for name, e in zip(names, encoded, strict=True)
        })

    def claim(self, worker: str, now: float, lease_seconds: float) -> Run | None:
        text(worker, "worker")
        now = number(now, "now")  # type: ignore[assignment]
        lease_seconds = number(lease_seconds, "lease_seconds")  # type: ignore[assignment]
        with self._read() as conn:  # nothing due: answer without taking the write lock
            top = conn.execute(
                f"SELECT due_at FROM runs INDEXED BY runs_due WHERE {CLAIMABLE} "
                "ORDER BY due_at, ord LIMIT 1"
            ).fetchone()
        if top is None or top[0] > now:
            return None
        with self._write() as conn:
            row = conn.execute(
                f"SELECT {', '.join(RUN_COLUMNS)} FROM runs INDEXED BY runs_due "
                f"WHERE {CLAIMABLE} ORDER BY due_at, ord LIMIT 1"
            ).fetchone()
            if row is None or row[13] > now:  # another worker was quicker
                return None
            run = run_from_params(row)
            return self._apply(conn, run, lifecycle.claim(run, worker, now, lease_seconds), now)

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
        now = number(now, "now")  # type: ignore[assignment]
        with self._write() as conn:
            run = self._get(conn, run_id)
            lifecycle.check_update(run.id, run.status, run.worker, changes, worker)
            return self._apply(conn, run, lifecycle.Change(dict(changes), tuple(entries)), now)

    def heartbeat(self, run_id: str, worker: str, now: float, lease_seconds: float) -> bool:
        if not isinstance(run_id, str) or not isinstance(worker, str):
            return False
        now = number(now, "now")  # type: ignore[assignment]
        lease = now + number(lease_seconds, "lease_seconds")  # type: ignore[operator]
        with self._write(transaction=False) as conn:
            try:
                return conn.execute(
                    "UPDATE runs SET lease_expires_at = ? WHERE id = ? AND worker = ?",
                    (lease, run_id, worker),
                ).rowcount == 1
            except UnicodeEncodeError:  # text SQLite cannot hold names no run and no worker
                return False

    def request_abort(self, run_id: str, now: float) -> tuple[Run, bool]:
        now = number(now, "now")  # type: ignore[assignment]
        with self._write() as conn:
            run = self._get(conn, run_id)
            change, aborted_now = lifecycle.request_abort(run, now)
            if change:
                run = self._apply(conn, run, change, now)
            return run, aborted_now

    _EXPIRED = (
        f" INDEXED BY runs_status WHERE status = '{Status.RUNNING.value}' "
        "AND worker IS NOT NULL AND lease_expires_at < ? ORDER BY ord"
    )

    def requeue_expired(self, now: float) -> list[Run]:
        now = number(now, "now")  # type: ignore[assignment]
        with self._read() as conn:  # usually none: answer without taking the write lock
            if conn.execute("SELECT 1 FROM runs" + self._EXPIRED, (now,)).fetchone() is None:
                return []
        requeued = []
        with self._write() as conn:
            caps = dict(conn.execute("SELECT id, max_requeues FROM definitions").fetchall())
            for row in conn.execute(RUN_SELECT + self._EXPIRED, (now,)).fetchall():
                run = run_from_params(row)
                cap = caps.get(run.definition_id, lifecycle.DEFAULT_MAX_REQUEUES)
                requeued.append(self._apply(conn, run, lifecycle.requeue(run, now, cap), now))
        return requeued

    def next_due(self) -> float | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT due_at FROM runs INDEXED BY runs_due WHERE {CLAIMABLE} "
                "ORDER BY due_at, ord LIMIT 1"
            ).fetchone()
        return None if row is None else row[0]

    def delete_finished_before(self, before: float) -> int:
        before = number(before, "before")  # type: ignore[assignment]
        old = (
            f"SELECT id FROM runs INDEXED BY runs_status WHERE status IN {FINAL} "
            "AND finished_at < ?"
        )
        with self._write() as conn:
            conn.execute(f"DELETE FROM entries WHERE run_id IN ({old})", (before,))
            conn.execute(f"DELETE FROM logs WHERE run_id IN ({old})", (before,))
            return conn.execute(
                f"DELETE FROM runs INDEXED BY runs_status WHERE status IN {FINAL} "
                "AND finished_at < ?", (before,)
            ).rowcount

    # ---- lifecycle log and logs ------------------------------------------------------------------
    def append_entries(self, entries: Iterable[LifecycleEntry]) -> None:
        params = [entry_params(e) for e in entries]
        if not params:
            return
        with self._write() as conn:
            self._append(conn, params)

    def list_entries(self, run_id: str | None = None) -> list[LifecycleEntry]:
        with self._read(snapshot=run_id is not None) as conn:
            if run_id is None:
                rows = conn.execute(ENTRY_SELECT + " ORDER BY seq").fetchall()
            else:
                if not self._exists(conn, run_id):
                    raise RunNotFoundError(run_id)
                rows = conn.execute(
                    ENTRY_SELECT + " WHERE run_id = ? ORDER BY seq", (run_id,)
                ).fetchall()
        return [entry_from_row(row) for row in rows]

    def add_log(self, record: LogRecord) -> None:
        if not isinstance(record, LogRecord):
            raise InvalidArgumentError(f"add_log takes a LogRecord, not {type(record).__name__}")
        if not isinstance(record.run_id, str):
            raise RunNotFoundError(record.run_id)
        message = text(record.message, "message")
        params = (
            text(record.run_id, "run_id"), number(record.time, "time"),
            text(record.level, "level"), safe_text(message),  # type: ignore[arg-type]
            whole(record.iteration, "iteration"), record.run_id,
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
            rows = conn.execute(LOG_SELECT + " WHERE run_id = ? ORDER BY seq", (run_id,))
            rows = rows.fetchall()
        return [log_from_row(row) for row in rows]
