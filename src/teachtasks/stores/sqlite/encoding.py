"""Encoding for the SQLite store: Python values <-> SQLite columns.

JSON only: inputs, outputs, state, errors and details are stored as JSON
text, never pickled; every value reaches SQL as a bound parameter.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from ...definition import DefinitionRecord
from ...errors import InvalidArgumentError, PayloadNotJSONError
from ...payload import check_json
from ...run import UPDATABLE_FIELDS, LifecycleEntry, LogRecord, Run, Status, Step
from ..base import MAX_PAGE, RunFilter

RUN_COLUMNS = (
    "id", "definition_id", "status", "input", "output", "error", "iterations", "attempt",
    "parent_id", "created_at", "started_at", "finished_at", "updated_at", "due_at", "worker",
    "lease_expires_at", "abort_requested", "retry_pending", "state", "progress",
    "idempotency_key", "traceback", "requeues",
)
RUN_SELECT = f"SELECT {', '.join(RUN_COLUMNS)} FROM runs"
RUN_INSERT = (
    f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(RUN_COLUMNS))})"
)
ENTRY_COLUMNS = (
    "seq", "run_id", "definition_id", "step", "time", "status", "worker", "attempt",
    "iteration", "detail",
)
ENTRY_SELECT = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries"
ENTRY_INSERT = (
    "INSERT INTO entries (run_id, definition_id, step, time, status, worker, attempt, "
    "iteration, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
LOG_SELECT = "SELECT run_id, time, level, message, iteration, seq FROM logs"
DEFINITION_SELECT = (
    "SELECT id, title, description, events, max_iterations, budget_seconds, retry, "
    "max_requeues FROM definitions"
)

STATUSES = {s.value: s for s in Status}
_encode_json = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
_parse_json = json.loads


def decode_json(text: str) -> Any:
    """A fresh Python value from JSON text; the commonest texts skip the parser."""
    if text == "null":
        return None
    if text == "{}":
        return {}
    return _parse_json(text)


def dumps(value: Any, where: str) -> str:
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


def text(value: Any, name: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string, not {type(value).__name__}")
    return value


def whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be a whole number, not {value!r}")
    if not -(2**63) <= value < 2**63:
        raise InvalidArgumentError(f"{name} is too large to store: {value!r}")
    return value


def number(value: Any, name: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidArgumentError(f"{name} must be a number, not {value!r}")
    return float(value)


def flag(value: Any, name: str) -> int:
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be True or False, not {value!r}")
    return int(value)


def status(value: Any) -> Status:
    try:
        return Status(value)
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise InvalidArgumentError(
            f"unknown status {value!r}; a status is one of: {names}"
        ) from None


def error(value: Any, name: str = "error") -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"{name} must be a dict or None, not {type(value).__name__}")
    return dumps(value, name)


#: How each field ``update`` may change goes into its column.
FIELD_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "status": lambda v: status(v).value,
    "input": lambda v: dumps(v, "input"),
    "output": lambda v: dumps(v, "output"),
    "error": error,
    "iterations": lambda v: whole(v, "iterations"),
    "attempt": lambda v: whole(v, "attempt"),
    "started_at": lambda v: number(v, "started_at", optional=True),
    "finished_at": lambda v: number(v, "finished_at", optional=True),
    "due_at": lambda v: number(v, "due_at"),
    "worker": lambda v: text(v, "worker", optional=True),
    "lease_expires_at": lambda v: number(v, "lease_expires_at", optional=True),
    "retry_pending": lambda v: flag(v, "retry_pending"),
    "state": lambda v: dumps(v, "state"),
    "progress": lambda v: number(v, "progress", optional=True),
    "traceback": lambda v: text(v, "traceback", optional=True),
    # not updatable by callers, but lifecycle rules change them
    "requeues": lambda v: whole(v, "requeues"),
    "abort_requested": lambda v: flag(v, "abort_requested"),
}
assert UPDATABLE_FIELDS <= set(FIELD_ENCODERS)
JSON_FIELDS = frozenset({"input", "output", "state", "error"})


def decoded(field: str, encoded: Any, value: Any) -> Any:
    """The value a returned ``Run`` holds for a field just written: JSON fields
    come back from their JSON text, so the caller's object is never shared."""
    if field in JSON_FIELDS:
        return None if encoded is None else decode_json(encoded)
    if field == "status":
        return Status(encoded)
    return value


def run_params(run: Run) -> tuple[Any, ...]:
    return (
        text(run.id, "run id"),
        text(run.definition_id, "definition_id"),
        status(run.status).value,
        dumps(run.input, "input"),
        dumps(run.output, "output"),
        error(run.error),
        whole(run.iterations, "iterations"),
        whole(run.attempt, "attempt"),
        text(run.parent_id, "parent_id", optional=True),
        number(run.created_at, "created_at"),
        number(run.started_at, "started_at", optional=True),
        number(run.finished_at, "finished_at", optional=True),
        number(run.updated_at, "updated_at"),
        number(run.due_at, "due_at"),
        text(run.worker, "worker", optional=True),
        number(run.lease_expires_at, "lease_expires_at", optional=True),
        flag(run.abort_requested, "abort_requested"),
        flag(run.retry_pending, "retry_pending"),
        dumps(run.state, "state"),
        number(run.progress, "progress", optional=True),
        text(run.idempotency_key, "idempotency_key", optional=True),
        text(run.traceback, "traceback", optional=True),
        whole(run.requeues, "requeues"),
    )


def run_from_params(p: Sequence[Any]) -> Run:
    """A ``Run`` from a row of ``RUN_SELECT`` (or from ``run_params``)."""
    error = p[5]
    return Run(
        id=p[0], definition_id=p[1], status=STATUSES[p[2]], input=decode_json(p[3]),
        output=decode_json(p[4]), error=None if error is None else decode_json(error),
        iterations=p[6], attempt=p[7], parent_id=p[8], created_at=p[9], started_at=p[10],
        finished_at=p[11], updated_at=p[12], due_at=p[13], worker=p[14],
        lease_expires_at=p[15], abort_requested=bool(p[16]), retry_pending=bool(p[17]),
        state=decode_json(p[18]), progress=p[19], idempotency_key=p[20], traceback=p[21],
        requeues=p[22],
    )


def entry_params(entry: LifecycleEntry) -> tuple[Any, ...]:
    if not isinstance(entry, LifecycleEntry):
        raise InvalidArgumentError(
            f"lifecycle entries must be LifecycleEntry, not {type(entry).__name__}"
        )
    try:
        step = Step(entry.step).value
    except ValueError:
        raise InvalidArgumentError(f"unknown lifecycle step {entry.step!r}") from None
    return (
        text(entry.run_id, "entry run_id"),
        text(entry.definition_id, "entry definition_id"),
        step,
        number(entry.time, "entry time"),
        status(entry.status).value,
        text(entry.worker, "entry worker", optional=True),
        whole(entry.attempt, "entry attempt"),
        whole(entry.iteration, "entry iteration"),
        dumps(entry.detail, "entry detail"),
    )


def entry_from_row(row: Sequence[Any]) -> LifecycleEntry:
    return LifecycleEntry(
        run_id=row[1], definition_id=row[2], step=Step(row[3]), time=row[4],
        status=STATUSES[row[5]], worker=row[6], attempt=row[7], iteration=row[8],
        detail=decode_json(row[9]), seq=row[0],
    )


def log_from_row(row: Sequence[Any]) -> LogRecord:
    return LogRecord(run_id=row[0], time=row[1], level=row[2], message=row[3],
                     iteration=row[4], seq=row[5])


def definition_from_row(row: Sequence[Any]) -> DefinitionRecord:
    return DefinitionRecord(
        id=row[0], title=row[1], description=row[2], events=tuple(decode_json(row[3])),
        max_iterations=row[4], budget_seconds=row[5], retry=decode_json(row[6]),
        max_requeues=row[7],
    )


def check_filter(where: object) -> RunFilter:
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


def filter_sql(where: RunFilter) -> tuple[str, list[Any]]:
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

