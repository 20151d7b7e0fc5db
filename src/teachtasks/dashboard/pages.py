"""What each page shows, read from a ``TaskManager`` through its public API only.

Kept apart from the routes so that the reading (keyset pages, counts, the
timeline picture, re-triggering a run whose code is elsewhere) can be tested
and explained without HTTP.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import math
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import (
    DuplicateRunIdError,
    IllegalTransitionError,
    InvalidArgumentError,
    RunNotFoundError,
    TeachtasksError,
    UnknownDefinitionError,
)
from ..manager import TaskManager, random_ids
from ..run import LifecycleEntry, Run, Status, Step
from ..stores.base import DefinitionRecord, RunFilter

PAGE_SIZE = 50
STATUSES = [s.value for s in Status]


# ---- how values look ------------------------------------------------------------------------
def when(seconds: float | None) -> str:
    """A clock time for people: a date for a real clock (seconds since 1970),
    ``t=12.500 s`` for a simulated one (which starts at zero)."""
    if seconds is None:
        return ""
    if seconds > 1e9:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    return f"t={seconds:.3f} s"


def pretty(value: Any) -> str:
    """JSON as people read it: indented, with non-ASCII characters as they are."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def run_row(run: Run) -> dict[str, Any]:
    """The fields of a run the list shows (and the live refresh sends as JSON)."""
    return {
        "id": run.id, "definition_id": run.definition_id, "status": run.status.value,
        "parent_id": run.parent_id, "created": when(run.created_at), "updated": when(run.updated_at),
        "iterations": run.iterations, "attempt": run.attempt, "worker": run.worker,
        "abort_requested": run.abort_requested,
        "progress": None if run.progress is None else round(run.progress, 3),
    }


# ---- the list: filters and keyset pages ---------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """The list's filters, from the query string. Empty means "any"."""

    status: str | None = None
    definition_id: str | None = None
    parent_id: str | None = None

    @classmethod
    def parse(cls, query: dict[str, str]) -> Filters:
        status = query.get("status") or None
        if status is not None:
            status = Status.parse(status).value  # InvalidArgumentError names the statuses
        return cls(status, query.get("definition") or None, query.get("parent") or None)

    def query(self, **extra: str) -> dict[str, str]:
        items = {"status": self.status, "definition": self.definition_id, "parent": self.parent_id}
        return {k: v for k, v in {**items, **extra}.items() if v}

    def where(self, **more: Any) -> dict[str, Any]:
        return {"status": self.status, "definition_id": self.definition_id,
                "parent_id": self.parent_id, **more}


def cursor_of(run: Run) -> str:
    """Where a page ends: the last run's creation time and id, ``<time>:<id>``."""
    return f"{run.created_at!r}:{run.id}"


def parse_cursor(text: str) -> tuple[float, str]:
    when_, sep, run_id = text.partition(":")
    try:
        value = float(when_)
    except ValueError:
        value = math.nan
    if not sep or not run_id or not math.isfinite(value):
        raise InvalidArgumentError(f"not a page cursor: {text!r} (expected <created time>:<run id>)")
    return value, run_id


def runs_after(manager: TaskManager, filters: Filters, cursor: str | None,
               limit: int = PAGE_SIZE) -> list[Run]:
    """Up to ``limit + 1`` runs, newest first, that come after ``cursor``.

    Why a cursor and not an offset: with ``offset=50`` the second page moves by
    one run every time a new run arrives, so a reader sees a run twice or never.
    A cursor names the last run shown (its creation time and id); the next page
    is what the store lists after that run among those created no later than
    it, so new runs never push it. Runs created at the same instant (a
    simulated clock) are told apart by the id: the page goes on right after it.
    If that run was deleted meanwhile, the page goes on with the runs created
    strictly before its time."""
    if cursor is None:
        return manager.list_runs(**filters.where(limit=limit + 1))
    created, run_id = parse_cursor(cursor)
    up_to = math.nextafter(created, math.inf)  # created_before is strict: this means <= created
    chunk, offset = max(2 * limit + 2, 200), 0
    while True:
        got = manager.list_runs(**filters.where(created_before=up_to, limit=chunk, offset=offset))
        for i, run in enumerate(got):
            if run.id == run_id:
                rest = got[i + 1 :]
                if len(rest) <= limit and len(got) == chunk:
                    rest += manager.list_runs(**filters.where(
                        created_before=up_to, limit=limit + 1 - len(rest), offset=offset + chunk))
                return rest[: limit + 1]
        if len(got) < chunk or got[-1].created_at < created:  # gone: it was deleted
            return manager.list_runs(**filters.where(created_before=created, limit=limit + 1))
        offset += chunk


@dataclass
class RunsPage:
    filters: Filters
    runs: list[Run]
    counts: dict[str, int]
    total: int
    cursor: str | None
    next_cursor: str | None
    definitions: list[str]
    millis: float = 0.0

    def json(self) -> dict[str, Any]:
        return {"counts": self.counts, "total": self.total, "runs": [run_row(r) for r in self.runs],
                "next_cursor": self.next_cursor}


def runs_page(manager: TaskManager, query: dict[str, str], limit: int = PAGE_SIZE) -> RunsPage:
    """The runs page: one keyset page and the counts by status of the filter
    without its status (so every status button shows what it would list)."""
    start = time.perf_counter()
    filters = Filters.parse(query)
    cursor = query.get("before") or None
    runs = runs_after(manager, filters, cursor, limit)
    more = len(runs) > limit
    runs = runs[:limit]
    if filters.definition_id is None and filters.parent_id is None:
        counts = manager.count_runs()  # the store keeps these: no counting
    else:
        counts = manager.store.count_runs(RunFilter(definition_id=filters.definition_id,
                                                    parent_id=filters.parent_id))
    by_status = {s.value: counts.get(s, 0) for s in Status}
    total = by_status[filters.status] if filters.status else sum(by_status.values())
    definitions = sorted({d.id for d in manager.store.list_definitions()}
                         | {d.id for d in manager.list_definitions()})
    return RunsPage(filters, runs, by_status, total, cursor,
                    cursor_of(runs[-1]) if more and runs else None, definitions,
                    (time.perf_counter() - start) * 1000)


# ---- one run -------------------------------------------------------------------------------------
def timeline_png(entries: list[LifecycleEntry]) -> str | None:
    """The run's timeline (``viz.run_timeline``) as a ``data:`` URL, or None
    when it has no entries. Drawn without pyplot, so any thread may draw."""
    if not entries:
        return None
    from matplotlib.ticker import MaxNLocator

    from ..viz import run_timeline  # matplotlib is heavy: only the run page needs it

    # a real clock counts from 1970: draw seconds since the run was triggered
    start = entries[0].time if entries[0].time > 1e9 else 0.0
    shifted = [dataclasses.replace(e, time=e.time - start) for e in entries]
    with warnings.catch_warnings():  # one entry (a run just triggered) spans no time
        warnings.filterwarnings("ignore", "Attempting to set identical", UserWarning)
        fig = run_timeline(shifted, title="This run's life: waiting (grey) and working (coloured)",
                           width=8.0)
    if start:
        fig.axes[0].set_xlabel("seconds since the run was triggered")
    fig.axes[0].xaxis.set_major_locator(MaxNLocator(nbins=5))  # short runs: few, readable ticks
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def run_detail(manager: TaskManager, run_id: str, *, picture: bool = True) -> dict[str, Any]:
    run = manager.get_run(run_id)  # RunNotFoundError: the route answers 404
    entries = manager.lifecycle(run_id)
    children = manager.list_runs(parent_id=run_id, limit=PAGE_SIZE)
    error = dict(run.error) if run.error else None
    return {
        "run": run, "row": run_row(run), "input": pretty(run.input), "output": pretty(run.output),
        "state": pretty(run.state), "error": error, "traceback": (error or {}).get("traceback"),
        "logs": manager.logs(run_id), "entries": entries, "children": children,
        "timeline": timeline_png(entries) if picture else None,
        "code_here": manager.find_definition(run.definition_id) is not None,
        "due": when(run.due_at), "started": when(run.started_at), "finished": when(run.finished_at),
        "lease": when(run.lease_expires_at),
    }


# ---- the definitions ---------------------------------------------------------------------------
def definitions(manager: TaskManager) -> list[dict[str, Any]]:
    """Every definition the store has a record of (and any this process knows
    only in code), with its settings and its runs by status."""
    records = {r.id: r for r in manager.store.list_definitions()}
    for definition in manager.list_definitions():
        records.setdefault(definition.id, definition.record())
    out = []
    for record in sorted(records.values(), key=lambda r: r.id):
        counts = manager.store.count_runs(RunFilter(definition_id=record.id))
        out.append({"record": record, "counts": {s.value: counts.get(s, 0) for s in Status},
                    "total": sum(counts.values()),
                    "retry": [(k, json.dumps(v)) for k, v in sorted(record.retry.items())],
                    "code_here": manager.find_definition(record.id) is not None})
    return out


# ---- actions -----------------------------------------------------------------------------------
def retrigger(manager: TaskManager, run_id: str) -> Run:
    """``manager.retrigger`` when this process has the definition's code. When it
    has not (a dashboard over a SQLite file alone), a new pending run is written
    to the store from the stored definition record, exactly as ``trigger``
    writes one; a runner that has the code picks it up."""
    old = manager.get_run(run_id)
    if manager.find_definition(old.definition_id) is not None:
        return manager.retrigger(run_id)
    if old.status not in (Status.FAILED, Status.ABORTED):
        raise InvalidArgumentError(
            f"only failed or aborted runs can be re-triggered; {run_id!r} is {old.status.value}")
    record: DefinitionRecord = manager.store.get_definition(old.definition_id)
    if old.parent_id is not None:
        manager.get_run(old.parent_id)
    now = manager.clock.now()
    new_id = random_ids()
    detail: dict[str, Any] = {"parent": old.parent_id} if old.parent_id else {}
    for _ in range(3):
        run = Run(id=new_id(), definition_id=record.id, input=old.input, parent_id=old.parent_id,
                  created_at=now, updated_at=now, due_at=now)
        entry = LifecycleEntry(run.id, record.id, Step.TRIGGERED, now, Status.PENDING, detail=detail)
        try:
            return manager.store.create_run(run, entry)[0]
        except DuplicateRunIdError:
            continue
    raise TeachtasksError("three run ids in a row were taken")


def plain_words(action: str, exc: TeachtasksError, run: Run | None) -> str:
    """Why an action was refused, in a sentence an operator reads at a glance."""
    status = run.status.value if run is not None else "unknown"
    if isinstance(exc, RunNotFoundError):
        if run is not None and exc.run_id != run.id:
            return (f"Not done: this run's parent {exc.run_id} no longer exists, and a new run "
                    "needs its parent.")
        return "There is no such run any more: someone deleted it, or cleanup removed it."
    if action == "abort" and isinstance(exc, IllegalTransitionError):
        return (f"Not aborted: the run already finished ({status}). A finished run never "
                "changes again, so there is nothing left to stop.")
    if action == "delete" and isinstance(exc, IllegalTransitionError):
        holder = f" ({run.worker})" if run is not None and run.worker else ""
        return (f"Not deleted: a worker{holder} is running it right now. Abort it first, "
                "and delete it once it has stopped.")
    if action == "retrigger" and isinstance(exc, UnknownDefinitionError):
        return ("Not re-triggered: the store has no record of this run's definition any more, "
                "so there is nothing to start a new run of.")
    if action == "retrigger" and isinstance(exc, InvalidArgumentError):
        return (f"Not re-triggered: only failed or aborted runs can be re-triggered, and this "
                f"one is {status}.")
    return f"The {action} was refused."


ACTIONS = {
    "abort": ("Abort", "Ask this run to stop. A pending run (or one waiting between iterations) "
              "is aborted at once; a run a worker is executing is asked to stop and stops at "
              "its next check."),
    "retrigger": ("Re-trigger", "Start a new pending run of the same definition with the same "
                  "input. The old run stays as it is."),
    "delete": ("Delete", "Remove this run with its lifecycle entries and its logs. This cannot "
               "be undone."),
}

#: what the page says after an action that worked (by key, never free text)
NOTICES = {
    "aborted": "Aborted.",
    "abort-requested": "Abort requested: the worker running it stops at its next check "
                       "(this page follows it).",
    "retriggered": "Re-triggered: this is the new run.",
    "retriggered-elsewhere": "Re-triggered: this new run waits in the store, pending. This "
                             "process does not have the definition's code; a runner that has it "
                             "will pick the run up.",
    "deleted": "Deleted.",
}

