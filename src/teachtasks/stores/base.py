"""The contract every store keeps: where runs, lifecycle entries and logs live.

Why a contract: the runner and the manager never know whether runs sit in a
dict in this process or in a SQLite file shared with other processes. Every
method here is atomic (one lock, or one transaction) and thread-safe, and every
status change is checked against ``run.TRANSITIONS`` inside that atomic step,
so two workers can never both start the same run and a final run can never
move again.

A store keeps data only. Task definitions hold code (their ``run`` function),
so the manager keeps them; the store keeps a ``DefinitionRecord`` of each, the
part that is plain data, so management can list and describe them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..checks import check_number
from ..definition import DefinitionRecord
from ..errors import InvalidArgumentError
from ..run import LifecycleEntry, LogRecord, Run, Status

MAX_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs ``list_runs`` returns, newest first. Checked when built."""

    status: Status | None = None
    definition_id: str | None = None
    parent_id: str | None = None
    created_after: float | None = None
    created_before: float | None = None
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.status is not None:
            object.__setattr__(self, "status", Status.parse(self.status))
        for name in ("definition_id", "parent_id"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise InvalidArgumentError(f"{name} must be a string, not {type(value).__name__}")
        for name in ("created_after", "created_before"):
            value = getattr(self, name)
            if value is not None:
                check_number(value, name, hint=" (seconds on the manager's clock)")
        check_number(self.limit, "limit", low=1, high=MAX_PAGE, whole=True)
        check_number(self.offset, "offset", low=0, whole=True)

    def matches(self, run: Run) -> bool:
        return (
            (self.status is None or run.status == self.status)
            and (self.definition_id is None or run.definition_id == self.definition_id)
            and (self.parent_id is None or run.parent_id == self.parent_id)
            and (self.created_after is None or run.created_at >= self.created_after)
            and (self.created_before is None or run.created_at < self.created_before)
        )


class Store(ABC):
    """Where runs live. Every method is atomic and safe to call from any thread.

    The lifecycle rules themselves live in ``teachtasks.lifecycle``; a store
    reads the run, asks the rule for its ``Change`` and applies it atomically.
    """

    #: True when other processes may use the same runs at once (a file, a
    #: server). A runner then makes its default worker names unique.
    shared: bool = False

    # ---- definitions (data part only) -------------------------------------
    @abstractmethod
    def put_definition(self, record: DefinitionRecord) -> None:
        """Insert or replace the record of a definition."""

    @abstractmethod
    def get_definition(self, definition_id: str) -> DefinitionRecord:
        """The record, or ``UnknownDefinitionError``."""

    @abstractmethod
    def list_definitions(self) -> list[DefinitionRecord]:
        """Every record, sorted by id."""

    @abstractmethod
    def delete_definition(self, definition_id: str) -> None:
        """Remove the record, or ``UnknownDefinitionError``."""

    # ---- runs --------------------------------------------------------------
    @abstractmethod
    def create_run(self, run: Run, entry: LifecycleEntry) -> tuple[Run, bool]:
        """Insert ``run`` and its TRIGGERED entry. With an ``idempotency_key``
        already used, insert nothing and return ``(existing_run, False)``."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run:
        """The run, or ``RunNotFoundError``."""

    @abstractmethod
    def list_runs(self, where: RunFilter) -> list[Run]:
        """Runs matching ``where``, newest first (by creation), one page."""

    @abstractmethod
    def count_runs(self, where: RunFilter | None = None) -> dict[Status, int]:
        """How many runs are in each status (every status present, zeros too)."""

    @abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Delete a run with its entries and logs, or ``RunNotFoundError``.
        Refused with ``IllegalTransitionError`` while a worker holds it."""

    def abort_requested(self, run_id: str) -> bool:
        """Has someone asked this run to stop? (``RunNotFoundError`` if there is
        no such run.) Asked often, so stores answer it without a full copy."""
        return self.get_run(run_id).abort_requested

    @abstractmethod
    def claim(self, worker: str, now: float, lease_seconds: float) -> Run | None:
        """Atomically take the next due run nobody holds (pending, or running
        between iterations), oldest due first, and apply ``lifecycle.claim``:
        a pending run becomes running (STARTED) and the iteration is counted
        (ITERATION_STARTED) in the same step. Returns None when nothing is due."""

    @abstractmethod
    def update(
        self,
        run_id: str,
        changes: Mapping[str, Any],
        entries: Sequence[LifecycleEntry] = (),
        *,
        worker: str | None = None,
        now: float,
    ) -> Run:
        """Apply ``changes`` (only ``run.UPDATABLE_FIELDS``) and append ``entries``
        in one atomic step, after ``lifecycle.check_update``: a status change
        is checked against the transition table, a final run changes no more
        (``IllegalTransitionError``), and with ``worker`` given the run must
        still be held by that worker, or ``LeaseLostError`` is raised. A
        refused update changes nothing."""

    @abstractmethod
    def heartbeat(self, run_id: str, worker: str, now: float, lease_seconds: float) -> bool:
        """Extend the lease of a run ``worker`` still holds; False if it lost it."""

    @abstractmethod
    def request_abort(self, run_id: str, now: float) -> tuple[Run, bool]:
        """Abort a run. Pending, or running but held by nobody (between
        iterations): aborted at once, returns ``(run, True)``. Held by a worker:
        marked ``abort_requested`` with an ABORT_REQUESTED entry, returns
        ``(run, False)``. Final: ``IllegalTransitionError``, nothing changes."""

    @abstractmethod
    def requeue_expired(self, now: float) -> list[Run]:
        """Running runs whose lease expired go back to pending (their worker
        died), each with a REQUEUED entry (``lifecycle.requeue``); one that
        was requeued its definition's ``max_requeues`` times fails instead.
        Returns them as they are now."""

    @abstractmethod
    def next_due(self) -> float | None:
        """The earliest ``due_at`` of a run nobody holds and that is not final."""

    @abstractmethod
    def delete_finished_before(self, before: float) -> int:
        """Delete final runs finished before ``before`` (with their entries and
        logs); returns how many."""

    # ---- lifecycle log and run logs -----------------------------------------
    @abstractmethod
    def append_entries(self, entries: Iterable[LifecycleEntry]) -> None:
        """Append entries (the store numbers them)."""

    @abstractmethod
    def list_entries(self, run_id: str | None = None) -> list[LifecycleEntry]:
        """Lifecycle entries in the order appended, of one run or of all."""

    @abstractmethod
    def add_log(self, record: LogRecord) -> None:
        """Append one line of a run's log."""

    @abstractmethod
    def list_logs(self, run_id: str) -> list[LogRecord]:
        """A run's log lines in order, or ``RunNotFoundError``."""

    def close(self) -> None:  # noqa: B027 - optional for stores with nothing to release
        """Release files and connections. The memory store has none."""
