"""The in-memory store: a few dicts behind one lock.

Why it exists: it is the quickest way to run the engine (the notebooks and most
tests use it), and it is the model the SQLite store follows. Everything is lost
when the process ends; that is the lesson notebook 8 answers with SQLite.

Due runs wait in a heap ordered by (due time, creation order), so a worker
finds the next one without scanning every run. Heap items are never removed
when a run changes; a stale item is skipped when it reaches the top.

Inside, each run is a ``_Record`` (one slot per ``Run`` field) changed in
place; callers only ever get frozen ``Run`` snapshots with their own copies
of input, output and state. (Building a new frozen ``Run`` for every change
was most of the runner's cost; a dict per run was most of its memory.)
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

from .. import lifecycle
from ..checks import safe_text
from ..errors import (
    DuplicateRunIdError,
    IllegalTransitionError,
    RunNotFoundError,
    UnknownDefinitionError,
)
from ..locks import PoliteLock
from ..payload import EMPTY, copy_json
from ..run import ACTIVE_STATUSES, LifecycleEntry, LogRecord, Run, Status
from .base import DefinitionRecord, RunFilter, Store

_FIELDS = tuple(f.name for f in fields(Run))


class _Record:
    """A run as this store holds it: mutable, with one slot per ``Run`` field
    and its place in trigger order (``order``). Slots, not a dict: 100,000
    finished runs take a fifth of the memory."""

    __slots__ = (*_FIELDS, "order")


def _compile(name: str, params: str, body: list[str], **names: Any) -> Any:
    """A function written out field by field (the stores call these for every
    step of every run: twice as fast as a loop over the fields)."""
    namespace: dict[str, Any] = {"new": object.__new__, "Run": Run, "Record": _Record,
                                 "copy_json": copy_json, "EMPTY": EMPTY, **names}
    for i, field_name in enumerate(_FIELDS):
        namespace[f"set{i}"] = Run.__dict__[field_name].__set__
    # compiled as part of this file, so a profile names them memory.py:_snapshot ...
    source = "\n".join([f"def {name}({params}):", *body])
    exec(compile(source, __file__, "exec"), namespace)  # noqa: S102
    return namespace[name]


_COPIED = {"input", "output", "state"}

#: ``_record(run, order)``: a new record from a ``Run``
_record = _compile("_record", "run, order", [
    "    rec = new(Record)",
    *(f"    rec.{n} = run.{n} or EMPTY" if n == "state" else f"    rec.{n} = run.{n}"
      for n in _FIELDS),
    "    rec.order = order",
    "    return rec",
])

#: ``_view(rec)``: the record as a ``Run`` for a lifecycle rule to read (no
#: copies: the rules never change what they are given, and the view never leaves)
_view = _compile("_view", "rec", [
    "    run = new(Run)",
    *(f"    set{i}(run, rec.{n})" for i, n in enumerate(_FIELDS)),
    "    return run",
])

#: ``_snapshot(rec)``: a frozen copy nobody can use to change the store's own record
_snapshot = _compile("_snapshot", "rec", [
    "    run = new(Run)",
    *(f"    set{i}(run, copy_json(rec.{n}))" if n in _COPIED
      else f"    set{i}(run, None if rec.{n} is None else dict(rec.{n}))" if n == "error"
      else f"    set{i}(run, rec.{n})" for i, n in enumerate(_FIELDS)),
    "    return run",
])


def _matches(where: RunFilter, rec: _Record) -> bool:
    """``RunFilter.matches`` on a record, without building a snapshot."""
    return (
        (where.status is None or rec.status == where.status)
        and (where.definition_id is None or rec.definition_id == where.definition_id)
        and (where.parent_id is None or rec.parent_id == where.parent_id)
        and (where.created_after is None or rec.created_at >= where.created_after)
        and (where.created_before is None or rec.created_at < where.created_before)
    )


class MemoryStore(Store):
    """Runs, lifecycle entries and logs in this process's memory."""

    def __init__(self) -> None:
        # polite: a thread that finds it taken sleeps and retries (locks.py)
        self._lock = PoliteLock(reentrant=True)
        self._definitions: dict[str, DefinitionRecord] = {}
        self._runs: dict[str, _Record] = {}
        self._counts: dict[Status, int] = dict.fromkeys(Status, 0)
        self._next_order = 0
        #: (definition id, idempotency key) -> run id: a key is scoped to its definition
        self._by_key: dict[tuple[str, str], str] = {}
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
    def _get(self, run_id: str) -> _Record:
        try:
            return self._runs[run_id]
        except (KeyError, TypeError):
            raise RunNotFoundError(run_id) from None

    def _append(self, entries: Iterable[LifecycleEntry]) -> None:
        for entry in entries:
            self._seq += 1
            # the entry was just built for this call and is not shared yet:
            # numbering it in place is safe and much cheaper than a copy
            object.__setattr__(entry, "seq", self._seq)
            self._entries.append(entry)
            self._entries_by_run.setdefault(entry.run_id, []).append(entry)

    def _offer(self, rec: _Record) -> None:
        """Put a run on the due heap if a worker may take it."""
        if rec.worker is None and rec.status in ACTIVE_STATUSES:
            heapq.heappush(self._due, (rec.due_at, rec.order, rec.id))

    def _top_due(self) -> tuple[float, int, str] | None:
        while self._due:
            due_at, order, run_id = self._due[0]
            rec = self._runs.get(run_id)
            if (
                rec is not None and rec.worker is None and rec.status in ACTIVE_STATUSES
                and rec.due_at == due_at
            ):
                return self._due[0]
            heapq.heappop(self._due)
        return None

    def _set_status(self, rec: _Record, status: Status) -> None:
        self._counts[rec.status] -= 1
        self._counts[status] += 1
        rec.status = status

    # ---- runs -------------------------------------------------------------------
    def create_run(self, run: Run, entry: LifecycleEntry) -> tuple[Run, bool]:
        with self._lock:
            key = None if run.idempotency_key is None else (
                run.definition_id, run.idempotency_key)
            if key is not None and key in self._by_key:
                return _snapshot(self._runs[self._by_key[key]]), False
            if run.id in self._runs:
                raise DuplicateRunIdError(f"a run with id {run.id!r} already exists")
            rec = _record(run, self._next_order)
            self._next_order += 1
            self._runs[run.id] = rec
            self._counts[run.status] += 1
            if key is not None:
                self._by_key[key] = run.id
            self._append([entry])
            self._offer(rec)
            return _snapshot(rec), True

    def get_run(self, run_id: str) -> Run:
        with self._lock:
            return _snapshot(self._get(run_id))

    def abort_requested(self, run_id: str) -> bool:
        # No lock: one dict read is atomic, and the flag only ever goes from
        # False to True, so a reader can never see a state that was not true.
        return bool(self._get(run_id).abort_requested)

    def list_runs(self, where: RunFilter) -> list[Run]:
        with self._lock:
            newest_first = sorted(self._runs.values(), key=lambda r: -r.order)
            matching = [r for r in newest_first if _matches(where, r)]
            page = matching[where.offset : where.offset + where.limit]
            return [_snapshot(r) for r in page]

    def count_runs(self, where: RunFilter | None = None) -> dict[Status, int]:
        with self._lock:
            if where is None:
                return dict(self._counts)
            counts = dict.fromkeys(Status, 0)
            for rec in self._runs.values():
                if _matches(where, rec):
                    counts[rec.status] += 1
            return counts

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            rec = self._get(run_id)
            if rec.worker is not None:
                raise IllegalTransitionError(
                    run_id, rec.status, "deleted",
                    f"worker {rec.worker} is running it; abort it first",
                )
            self._forget([rec])

    def _forget(self, recs: list[_Record]) -> None:
        """Remove runs with their entries and logs (lock held)."""
        for rec in recs:
            run_id = rec.id
            del self._runs[run_id]
            self._counts[rec.status] -= 1
            if rec.idempotency_key is not None:
                self._by_key.pop((rec.definition_id, rec.idempotency_key), None)
            self._entries_by_run.pop(run_id, None)
            self._logs.pop(run_id, None)
        gone = {rec.id for rec in recs}
        if gone:
            self._entries = [e for e in self._entries if e.run_id not in gone]

    def _apply(self, rec: _Record, change: lifecycle.Change, now: float) -> None:
        """Apply a lifecycle ``Change`` to a record (lock held)."""
        fields = change.fields
        for name, value in fields.items():
            if name == "status":
                self._set_status(rec, Status(value))
            else:
                setattr(rec, name, value)
        rec.updated_at = now
        self._append(change.entries)
        if "worker" in fields or "due_at" in fields or "status" in fields:
            self._offer(rec)

    def claim(self, worker: str, now: float, lease_seconds: float) -> Run | None:
        with self._lock:
            top = self._top_due()
            if top is None or top[0] > now:
                return None
            heapq.heappop(self._due)
            rec = self._runs[top[2]]
            self._apply(rec, lifecycle.claim(_view(rec), worker, now, lease_seconds), now)
            return _snapshot(rec)

    def update(
        self,
        run_id: str,
        changes: Mapping[str, Any],
        entries: Sequence[LifecycleEntry] = (),
        *,
        worker: str | None = None,
        now: float,
    ) -> Run:
        with self._lock:
            rec = self._get(run_id)
            lifecycle.check_update(run_id, rec.status, rec.worker, changes, worker)
            self._apply(rec, lifecycle.Change(dict(changes), tuple(entries)), now)
            return _snapshot(rec)

    def heartbeat(self, run_id: str, worker: str, now: float, lease_seconds: float) -> bool:
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is None or rec.worker != worker:
                return False
            rec.lease_expires_at = now + lease_seconds
            return True

    def request_abort(self, run_id: str, now: float) -> tuple[Run, bool]:
        with self._lock:
            rec = self._get(run_id)
            change, aborted_now = lifecycle.request_abort(_view(rec), now)
            if change:
                self._apply(rec, change, now)
            return _snapshot(rec), aborted_now

    def requeue_expired(self, now: float) -> list[Run]:
        with self._lock:
            requeued = []
            for rec in list(self._runs.values()):
                if rec.worker is None or rec.status is not Status.RUNNING:
                    continue
                run = _view(rec)
                if lifecycle.is_expired(run, now):
                    record = self._definitions.get(rec.definition_id)
                    cap = lifecycle.DEFAULT_MAX_REQUEUES if record is None else record.max_requeues
                    self._apply(rec, lifecycle.requeue(run, now, cap), now)
                    requeued.append(_snapshot(rec))
            return requeued

    def next_due(self) -> float | None:
        with self._lock:
            top = self._top_due()
            return None if top is None else top[0]

    def delete_finished_before(self, before: float) -> int:
        with self._lock:
            old = [
                rec for rec in self._runs.values()
                if rec.status.is_final and rec.finished_at is not None
                and rec.finished_at < before
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
            if isinstance(record.message, str):  # text every store can hold
                object.__setattr__(record, "message", safe_text(record.message))
            self._log_seq += 1
            object.__setattr__(record, "seq", self._log_seq)  # fresh, not shared yet
            self._logs.setdefault(record.run_id, []).append(record)

    def list_logs(self, run_id: str) -> list[LogRecord]:
        with self._lock:
            self._get(run_id)
            return list(self._logs.get(run_id, ()))
