"""The Redis store's keys, and how a run, an entry and a log line become Redis text.

Every key starts with the store's ``prefix`` (``teachtasks`` unless told),
so several stores, or other programs, can share one Redis database::

    {p}:run:<id>          hash   one run: a field per ``Run`` field (absent = None),
                                 plus ``ord`` (creation order) and ``version``
    {p}:order             string the creation counter (INCR)
    {p}:runs              zset   every run id, scored by ``ord``
    {p}:status:<status>   zset   run ids in that status, scored by ``ord``
    {p}:def:<definition>  zset   run ids of a definition, scored by ``ord``
    {p}:parent:<run id>   zset   child run ids, scored by ``ord``
    {p}:created           zset   run ids scored by ``created_at``
    {p}:due               zset   runs a worker may take, scored by ``due_at``
                                 (member ``<ord, 16 digits>:<id>``: ties go oldest first)
    {p}:leases            zset   runs a worker holds, scored by ``lease_expires_at``
    {p}:finished          zset   final runs, scored by ``finished_at`` (for cleanup)
    {p}:counts            hash   status -> how many runs are in it
    {p}:idem:<definition> hash   idempotency key -> run id (keys are per definition)
    {p}:entries:<id>      list   a run's lifecycle entries, in order
    {p}:entries           zset   every lifecycle entry, scored by ``seq``
    {p}:seq, {p}:logseq   string entry and log line counters
    {p}:logs:<id>         list   a run's log lines
    {p}:definitions       hash   definition id -> its ``DefinitionRecord`` as JSON

Values are text: strings as they are, numbers as ``repr`` (a float comes back
exactly), flags as ``0``/``1``, inputs, outputs, state and errors as JSON.
JSON only, never pickle. The values are checked by the same encoders as the
SQLite store's (``sqlite.encoding``), so both refuse the same values with the
same errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ...definition import DefinitionRecord
from ...run import LifecycleEntry, LogRecord, Run, Status, Step
from ..sqlite.encoding import FIELD_ENCODERS, RUN_COLUMNS, dumps, entry_params, run_from_params

FLOAT_FIELDS = frozenset({"created_at", "started_at", "finished_at", "updated_at", "due_at",
                          "lease_expires_at", "progress"})
INT_FIELDS = frozenset({"iterations", "attempt", "abort_requested", "retry_pending",
                        "requeues"})
_STATUSES = {s.value: s for s in Status}
_STEPS = {s.value: s for s in Step}


class Keys:
    """The names of a store's keys (see the module docstring)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.runs = f"{prefix}:runs"
        self.counts = f"{prefix}:counts"
        self.due = f"{prefix}:due"
        self.leases = f"{prefix}:leases"
        self.created = f"{prefix}:created"
        self.entries = f"{prefix}:entries"
        self.definitions = f"{prefix}:definitions"

    def run(self, run_id: str) -> str:
        return f"{self.prefix}:run:{run_id}"

    def status(self, status: Status | str) -> str:
        return f"{self.prefix}:status:{Status(status).value}"

    def definition(self, definition_id: str) -> str:
        return f"{self.prefix}:def:{definition_id}"

    def parent(self, parent_id: str) -> str:
        return f"{self.prefix}:parent:{parent_id}"

    def run_entries(self, run_id: str) -> str:
        return f"{self.prefix}:entries:{run_id}"

    def logs(self, run_id: str) -> str:
        return f"{self.prefix}:logs:{run_id}"


# ---- numbers and values as text ---------------------------------------------------------------
def num(value: float) -> str:
    """A float as text Redis and Python both read back exactly."""
    return repr(float(value))


def _text(value: Any) -> str:
    """An encoded column value (str, float, int) as hash text."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def encode_fields(fields: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Checked and encoded run fields: ``(to set, to delete)`` (None is an
    absent field). Raises the same errors as the SQLite store for bad values."""
    to_set: dict[str, str] = {}
    to_delete: list[str] = []
    for name, value in fields.items():
        encoded = FIELD_ENCODERS[name](value)
        if encoded is None:
            to_delete.append(name)
        else:
            to_set[name] = _text(encoded)
    return to_set, to_delete


def encode_run(run: Run) -> dict[str, str]:
    """Every field of a new run that is not None, checked and as text."""
    from ..sqlite.encoding import run_params

    return {name: _text(value) for name, value in zip(RUN_COLUMNS, run_params(run), strict=True)
            if value is not None}


def decode_run(fields: Mapping[str, str]) -> Run:
    """A ``Run`` from its hash (``HGETALL``)."""
    row: list[Any] = []
    for name in RUN_COLUMNS:
        value = fields.get(name)
        if value is not None:
            if name in FLOAT_FIELDS:
                value = float(value)
            elif name in INT_FIELDS:
                value = int(value)
        elif name in ("input", "output", "state"):
            value = "null" if name != "state" else "{}"
        row.append(value)
    return run_from_params(row)


def pairs(flat: list[str]) -> dict[str, str]:
    """``HGETALL`` as a Lua script returns it (a flat list) as a dict."""
    return dict(zip(flat[0::2], flat[1::2], strict=True))


# ---- lifecycle entries and log lines -------------------------------------------------------------
def encode_entry(entry: LifecycleEntry) -> str:
    """An entry as the tail of a JSON array: the script puts ``[<seq>,`` in
    front of it, so every entry is numbered by Redis as it is appended."""
    params = entry_params(entry)  # checked, as the SQLite store checks them
    head = json.dumps(list(params[:8]), ensure_ascii=False, allow_nan=False)
    return f"{head[1:-1]},{params[8]}]"


def decode_entry(text: str) -> LifecycleEntry:
    seq, run_id, definition_id, step, time, status, worker, attempt, iteration, detail = (
        json.loads(text))
    return LifecycleEntry(run_id, definition_id, _STEPS[step], time, _STATUSES[status],
                          worker=worker, attempt=attempt, iteration=iteration, detail=detail,
                          seq=seq)


def encode_log(record: LogRecord, message: str) -> str:
    """A log line as the tail of a JSON array (the script adds ``[<seq>,``)."""
    head = json.dumps([record.time, record.level, message, record.iteration],
                      ensure_ascii=False, allow_nan=False)
    return head[1:]


def decode_log(run_id: str, text: str) -> LogRecord:
    seq, time, level, message, iteration = json.loads(text)
    return LogRecord(run_id, time, level, message, iteration=iteration, seq=seq)


# ---- definitions ------------------------------------------------------------------------------------
def encode_definition(record: DefinitionRecord) -> str:
    from ..sqlite.encoding import number, text, whole

    return dumps({
        "id": text(record.id, "definition id"), "title": text(record.title, "title"),
        "description": text(record.description, "description"),
        "events": list(record.events),
        "max_iterations": whole(record.max_iterations, "max_iterations"),
        "budget_seconds": number(record.budget_seconds, "budget_seconds"),
        "retry": record.retry, "max_requeues": whole(record.max_requeues, "max_requeues"),
    }, "definition")


def decode_definition(text: str) -> DefinitionRecord:
    data = json.loads(text)
    return DefinitionRecord(
        id=data["id"], title=data["title"], description=data["description"],
        events=tuple(data["events"]), max_iterations=data["max_iterations"],
        budget_seconds=data["budget_seconds"], retry=data["retry"],
        max_requeues=data["max_requeues"],
    )
