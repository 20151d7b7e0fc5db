"""The in-memory store: a few dicts behind one lock.

Why it exists: it is the quickest way to run the engine (the notebooks and most
tests use it), and it is the model the SQLite store follows. Everything is lost
when the process ends; that is the lesson notebook 8 answers with SQLite.

Due runs wait in a heap ordered by (due time, creation order), so a worker
finds the next one without scanning every run. Heap items are never removed
when a run changes; a stale item is skipped when it reaches the top.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..errors import (
    IllegalTransitionError,
    InvalidArgumentError,
    LeaseLostError,
    RunNotFoundError,
    UnknownDefinitionError,
)
from ..payload import copy_json
from ..run import (
    ACTIVE_STATUSES,
    UPDATABLE_FIELDS,
    LifecycleEntry,
    LogRecord,
    Run,
    Status,
    Step,
    check_transition,
)
from .base import DefinitionRecord, RunFilter, Store


def _snapshot(run: Run) -> Run:
    """A copy nobody can use to change the store's own record."""
    return replace(
        run,
        input=copy_json(run.input),
        output=copy_json(run.output),
        state=copy_json(run.state),
        error=dict(run.error) if run.error else None,
    )


class MemoryStore(Store):
    """Runs, lifecycle entries and logs in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._definitions: dict[str, DefinitionRecord] = {}
        self._runs: dict[str, Run] = {}
        self._order: dict[str, int] = {}
        self._next_order = 0
        self._by_key: dict[str, str] = {}
        self._due: list[tuple[float, int, str]] = []
        self._entries: list[LifecycleEntry] = []
        self._entries_by_run: dict[str, list[LifecycleEntry]] = {}
        self._logs: dict[str, list[LogRecord]] = {}
        self._seq = 0
        self._log_seq = 0

    # ---- definitions --------------------------------------------------------
    def put_definition(self, record: DefinitionRecord) -> None:
        with self._lock:
            self._definitions[record.id] = record

    def get_definition(self, definition_id: str) -> DefinitionRecord:
        with self._lock:
            try:
                return self._definitions[definition_id]
            except KeyError:
                raise UnknownDefinitionError(definition_id, list(self._definitions)) from None

    def list_definitions(self) -> list[DefinitionRecord]:
        with self._lock:
            return [self._definitions[k] for k in sorted(self._definitions)]

    def delete_definition(self, definition_id: str) -> None:
        with self._lock:
            if definition_id not in self._definitions:
                raise UnknownDefinitionError(definition_id, list(self._definitions))
            del self._definitions[definition_id]

    # ---- helpers (call with the lock held) ------------------------------------
    def _get(self, run_id: str) -> Run:
        try:
            return self._runs[run_id]
        except (KeyError, TypeError):
            raise RunNotFoundError(run_id) from None

    def _append(self, entries: Iterable[LifecycleEntry]) -> None:
        for entry in entries:
            self._seq += 1
            numbered = replace(entry, seq=self._seq)
            self._entries.append(numbered)
            self._entries_by_run.setdefault(entry.run_id, []).append(numbered)

    def _offer(self, run: Run) -> None:
        """Put a run on the due heap if a worker may take it."""
        if run.worker is None and run.status in ACTIVE_STATUSES:
            heapq.heappush(self._due, (run.due_at, self._order[run.id], run.id))

    def _top_due(self) -> tuple[float, int, str] | None:
        while self._due:
            due_at, order, run_id = self._due[0]
            run = self._runs.get(run_id)
            if (
                run is not None and run.worker is None and run.status in ACTIVE_STATUSES
                and run.due_at == due_at
            ):
                return self._due[0]
            heapq.heappop(self._due)
        return None

    # ---- runs -------------------------------------------------------------------
    def create_run(self, run: Run, entry: LifecycleEntry) -> tuple[Run, bool]:
        with self._lock:
            if run.idempotency_key is not None and run.idempotency_key in self._by_key:
                return _snapshot(self._runs[self._by_key[run.idempotency_key]]), False
            if run.id in self._runs:
                raise InvalidArgumentError(f"a run with id {run.id!r} already exists")
            self._runs[run.id] = run
            self._order[run.id] = self._next_order
            self._next_order += 1
            if run.idempotency_key is not None:
                self._by_key[run.idempotency_key] = run.id
            self._append([entry])
            self._offer(run)
            return _snapshot(run), True

    def get_run(self, run_id: str) -> Run:
        with self._lock:
            return _snapshot(self._get(run_id))

    def list_runs(self, where: RunFilter) -> list[Run]:
        with self._lock:
            newest_first = sorted(self._runs.values(), key=lambda r: -self._order[r.id])
            matching = [r for r in newest_first if where.matches(r)]
            page = matching[where.offset : where.offset + where.limit]
            return [_snapshot(r) for r in page]

    def count_runs(self, where: RunFilter | None = None) -> dict[Status, int]:
        with self._lock:
            counts = dict.fromkeys(Status, 0)
            for run in self._runs.values():
                if where is None or where.matches(run):
                    counts[run.status] += 1
            return counts

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            run = self._get(run_id)
            if run.worker is not None:
                raise IllegalTransitionError(
                    run_id, run.status, "deleted", f"worker {run.worker} is running it; abort it first"
                )
            self._forget([run])

    def _forget(self, runs: list[Run]) -> None:
        """Remove runs with their entries and logs (lock held)."""
        for run in runs:
            del self._runs[run.id]
            self._order.pop(run.id, None)
            if run.idempotency_key is not None:
                self._by_key.pop(run.idempotency_key, None)
            self._entries_by_run.pop(run.id, None)
            self._logs.pop(run.id, None)
        gone = {run.id for run in runs}
        if gone:
            self._entries = [e for e in self._entries if e.run_id not in gone]

    def claim(self, worker: str, now: float, lease_seconds: float) -> Run | None:
        with self._lock:
            top = self._top_due()
            if top is None or top[0] > now:
                return None
            heapq.heappop(self._due)
            run = self._runs[top[2]]
            changes: dict[str, Any] = {"worker": worker, "lease_expires_at": now + lease_seconds}
            if run.status is Status.PENDING:
                changes.update(status=Status.RUNNING, started_at=run.started_at or now)
            claimed = replace(run, updated_at=now, **changes)
            self._runs[run.id] = claimed
            if run.status is Status.PENDING:
                self._append([LifecycleEntry(
                    run.id, run.definition_id, Step.STARTED, now, Status.RUNNING,
                    worker=worker, attempt=run.attempt, iteration=run.iterations,
                )])
            return _snapshot(claimed)

    def update(
        self,
        run_id: str,
        changes: Mapping[str, Any],
        entries: Sequence[LifecycleEntry] = (),
        *,
        worker: str | None = None,
        now: float,
    ) -> Run:
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise InvalidArgumentError(f"these run fields cannot be updated: {sorted(unknown)}")
        with self._lock:
            run = self._get(run_id)
            if worker is not None and run.worker != worker:
                raise LeaseLostError(
                    f"{worker} no longer holds run {run_id!r} (held by {run.worker or 'nobody'})"
                )
            if "status" in changes:
                check_transition(run_id, run.status, Status(changes["status"]))
            updated = replace(run, updated_at=now, **changes)
            self._runs[run_id] = updated
            self._append(entries)
            if "worker" in changes or "due_at" in changes or "status" in changes:
                self._offer(updated)
            return _snapshot(updated)

    def heartbeat(self, run_id: str, worker: str, now: float, lease_seconds: float) -> bool:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.worker != worker:
                return False
            self._runs[run_id] = replace(run, lease_expires_at=now + lease_seconds)
            return True

    def request_abort(self, run_id: str, now: float) -> tuple[Run, bool]:
        with self._lock:
            run = self._get(run_id)
            check_transition(run_id, run.status, Status.ABORTED)
            if run.worker is None:
                aborted = replace(
                    run, status=Status.ABORTED, finished_at=now, updated_at=now,
                    abort_requested=True, lease_expires_at=None,
                )
                self._runs[run_id] = aborted
                self._append([
                    LifecycleEntry(run_id, run.definition_id, Step.ABORT_REQUESTED, now,
                                   run.status, attempt=run.attempt, iteration=run.iterations),
                    LifecycleEntry(run_id, run.definition_id, Step.FINISHED, now,
                                   Status.ABORTED, attempt=run.attempt, iteration=run.iterations,
                                   detail={"reason": "aborted before a worker took it"}),
                ])
                return _snapshot(aborted), True
            if not run.abort_requested:
                run = replace(run, abort_requested=True, updated_at=now)
                self._runs[run_id] = run
                self._append([LifecycleEntry(
                    run_id, run.definition_id, Step.ABORT_REQUESTED, now, run.status,
                    worker=run.worker, attempt=run.attempt, iteration=run.iterations,
                )])
            return _snapshot(run), False

    def requeue_expired(self, now: float) -> list[Run]:
        with self._lock:
            requeued = []
            for run in list(self._runs.values()):
                if (
                    run.status is Status.RUNNING and run.worker is not None
                    and run.lease_expires_at is not None and run.lease_expires_at < now
                ):
                    back = replace(
                        run, status=Status.PENDING, worker=None, lease_expires_at=None,
                        retry_pending=True, due_at=now, updated_at=now,
                    )
                    self._runs[run.id] = back
                    self._append([LifecycleEntry(
                        run.id, run.definition_id, Step.REQUEUED, now, Status.PENDING,
                        worker=run.worker, attempt=run.attempt, iteration=run.iterations,
                        detail={"reason": "lease expired"},
                    )])
                    self._offer(back)
                    requeued.append(_snapshot(back))
            return requeued

    def next_due(self) -> float | None:
        with self._lock:
            top = self._top_due()
            return None if top is None else top[0]

    def delete_finished_before(self, before: float) -> int:
        with self._lock:
            old = [
                r for r in self._runs.values()
                if r.status.is_final and r.finished_at is not None and r.finished_at < before
            ]
            self._forget(old)
            return len(old)

    # ---- lifecycle log and logs ------------------------------------------------------
    def append_entries(self, entries: Iterable[LifecycleEntry]) -> None:
        with self._lock:
            self._append(entries)

    def list_entries(self, run_id: str | None = None) -> list[LifecycleEntry]:
        with self._lock:
            if run_id is None:
                return list(self._entries)
            self._get(run_id)
            return list(self._entries_by_run.get(run_id, ()))

    def add_log(self, record: LogRecord) -> None:
        with self._lock:
            self._get(record.run_id)
            self._log_seq += 1
            self._logs.setdefault(record.run_id, []).append(replace(record, seq=self._log_seq))

    def list_logs(self, run_id: str) -> list[LogRecord]:
        with self._lock:
            self._get(run_id)
            return list(self._logs.get(run_id, ()))
