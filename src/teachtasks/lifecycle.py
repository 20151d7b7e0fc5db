"""The lifecycle as data: what each step of a run's life changes, in one place.

Every step a run takes (claimed by a worker, an iteration starts, it
continues, a retry is scheduled, it finishes, someone asks it to abort, its
worker is lost and it is requeued) is a pure function here: from the run
record as it stands and the moment, to a ``Change``: the fields that change
and the lifecycle entries that record it. Nothing here reads a clock or
touches a store.

Why: the same rules used to be written three times (the memory store, the
SQLite store in SQL, and the runner and the Celery bridge), and the copies
drifted. Now a store only *applies* a ``Change``, atomically (one lock, or one
transaction), and the runner and the Celery bridge build theirs with the same
functions. RQ's ``job_lifecycle.py`` is the model: one step, one place,
shared by the worker and the registry cleanup.

``runner.decide`` is still the rulebook for how an iteration *ends* (done,
continue, error, exception, budget, max iterations); it returns an
``Outcome``, and ``after_iteration`` turns that outcome into a ``Change``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import IllegalTransitionError, InvalidArgumentError, LeaseLostError
from .payload import EMPTY, JSON
from .run import (
    UPDATABLE_FIELDS,
    LifecycleEntry,
    Run,
    Status,
    Step,
    check_transition,
    new_entry,
)

#: How many times a run may lose its worker (a lease that expired) and be
#: requeued before it fails for good: a run that kills its worker every time
#: must not come back forever. A definition can set its own ``max_requeues``.
DEFAULT_MAX_REQUEUES = 5

#: The error type of a run that lost its worker more than ``max_requeues`` times.
WORKER_LOST = "WorkerLostError"


@dataclass(frozen=True, slots=True)
class Change:
    """What one step does to one run: new field values and the lifecycle
    entries that record them. A store applies both in one atomic step."""

    fields: dict[str, Any] = field(default_factory=dict)
    entries: tuple[LifecycleEntry, ...] = ()

    @property
    def status(self) -> Status | None:
        """The new status, when the step changes it."""
        return self.fields.get("status")

    def __bool__(self) -> bool:
        return bool(self.fields or self.entries)


def _entry(run: Run, step: Step, now: float, status: Status, worker: str | None,
           detail: dict[str, JSON] | None = None, *, iteration: int | None = None,
           attempt: int | None = None) -> LifecycleEntry:
    return new_entry(
        run.id, run.definition_id, step, now, status, worker,
        run.attempt if attempt is None else attempt,
        run.iterations if iteration is None else iteration,
        detail or EMPTY,
    )


# ---- a worker takes a run --------------------------------------------------------------
def next_count(run: Run) -> tuple[int, int]:
    """The (iteration, attempt) the next execution of ``run`` is: a retry or
    a requeue repeats the current iteration with one more attempt, anything
    else starts the next iteration."""
    if run.retry_pending:
        return run.iterations, run.attempt + 1
    return run.iterations + 1, 1


def begin_iteration(run: Run, worker: str | None, now: float, *,
                    iteration: int | None = None, attempt: int | None = None) -> Change:
    """An iteration starts: it is counted (``next_count``, or the numbers a
    Celery message carries) and an ITERATION_STARTED entry written."""
    if iteration is None or attempt is None:
        iteration, attempt = next_count(run)
    return Change(
        {"iterations": iteration, "attempt": attempt, "retry_pending": False},
        (_entry(run, Step.ITERATION_STARTED, now, Status.RUNNING, worker,
                iteration=iteration, attempt=attempt),),
    )


def claim(run: Run, worker: str, now: float, lease_seconds: float) -> Change:
    """``worker`` takes ``run`` (pending, or running between iterations).

    A pending run becomes running (STARTED). The iteration is counted *in the
    same step*, so a worker that dies right after its claim leaves a run whose
    next execution is the same iteration's next attempt, never a repeat of the
    iteration before it nor one iteration too many. A run someone asked to
    abort is held but not counted: the runner ends it without running it."""
    fields: dict[str, Any] = {"worker": worker, "lease_expires_at": now + lease_seconds}
    entries: list[LifecycleEntry] = []
    if run.status is Status.PENDING:
        fields["status"] = Status.RUNNING
        if run.started_at is None:
            fields["started_at"] = now
        entries.append(_entry(run, Step.STARTED, now, Status.RUNNING, worker))
    if not run.abort_requested:
        begin = begin_iteration(run, worker, now)
        fields.update(begin.fields)
        entries.extend(begin.entries)
    return Change(fields, tuple(entries))


# ---- an iteration ends -------------------------------------------------------------------
def continued(run: Run, worker: str | None, now: float, *, delay: float = 0.0,
              input: JSON = None, replace_input: bool = False,  # noqa: A002
              detail: dict[str, JSON] | None = None, state: dict[str, JSON] | None = None,
              ) -> Change:
    """The iteration returned ``continue_``: the run waits, held by nobody,
    for its next iteration ``delay`` seconds from now."""
    fields: dict[str, Any] = {"worker": None, "lease_expires_at": None,
                              "due_at": now + delay, "retry_pending": False}
    if replace_input:
        fields["input"] = input
    if state is not None:
        fields["state"] = state
    return Change(fields, (_entry(run, Step.CONTINUED, now, Status.RUNNING, worker, detail),))


def retry_scheduled(run: Run, worker: str | None, now: float, *, delay: float,
                    error: dict[str, str] | None, traceback: str | None = None,
                    detail: dict[str, JSON] | None = None,
                    state: dict[str, JSON] | None = None) -> Change:
    """An exception the retry policy retries: the same iteration runs again
    ``delay`` seconds from now, as the next attempt."""
    fields: dict[str, Any] = {"worker": None, "lease_expires_at": None,
                              "due_at": now + delay, "retry_pending": True, "error": error,
                              "traceback": traceback}
    if state is not None:
        fields["state"] = state
    return Change(fields, (_entry(run, Step.RETRY_SCHEDULED, now, Status.RUNNING, worker,
                                  detail),))


def finish(run: Run, worker: str | None, now: float, status: Status, *,
           output: JSON = None, error: dict[str, str] | None = None,
           traceback: str | None = None, reason: str = "",
           state: dict[str, JSON] | None = None) -> Change:
    """The run ends in a final ``status``. Success keeps the output and clears
    any error of an earlier attempt; a failure keeps its error (and traceback)."""
    fields: dict[str, Any] = {"status": status, "finished_at": now, "worker": None,
                              "lease_expires_at": None, "retry_pending": False}
    detail: dict[str, JSON] = {}
    if status is Status.SUCCESS:
        fields.update(output=output, error=None, traceback=None, progress=1.0)
    if error is not None:
        fields["error"] = error
        fields["traceback"] = traceback
        detail["error"] = f"{error['type']}: {error['message']}"
    if reason:
        detail["reason"] = reason
    if state is not None:
        fields["state"] = state
    return Change(fields, (_entry(run, Step.FINISHED, now, status, worker, detail),))


def progress(run: Run, worker: str | None, now: float, fraction: float,
             detail: dict[str, JSON]) -> Change:
    """The run reported how far it got."""
    return Change({"progress": fraction},
                  (_entry(run, Step.PROGRESS, now, run.status, worker, detail),))


# ---- someone else acts on the run -------------------------------------------------------------
def request_abort(run: Run, now: float) -> tuple[Change, bool]:
    """Someone asks ``run`` to stop. Held by nobody (pending, or between
    iterations): aborted at once, ``(change, True)``. Held by a worker: marked,
    the worker sees ``is_aborted()``, ``(change, False)`` (empty if it was
    asked before). Final: ``IllegalTransitionError``."""
    check_transition(run.id, run.status, Status.ABORTED)
    if run.worker is None:
        return Change(
            {"status": Status.ABORTED, "finished_at": now, "abort_requested": True,
             "lease_expires_at": None},
            (_entry(run, Step.ABORT_REQUESTED, now, run.status, None),
             _entry(run, Step.FINISHED, now, Status.ABORTED, None,
                    {"reason": "aborted before a worker took it"})),
        ), True
    if run.abort_requested:
        return Change(), False
    return Change({"abort_requested": True},
                  (_entry(run, Step.ABORT_REQUESTED, now, run.status, run.worker),)), False


def is_expired(run: Run, now: float) -> bool:
    """Is ``run`` held by a worker whose lease ran out before ``now``?"""
    return (run.status is Status.RUNNING and run.worker is not None
            and run.lease_expires_at is not None and run.lease_expires_at < now)


def worker_lost_error(run: Run, max_requeues: int) -> dict[str, str]:
    lost = run.requeues + 1
    return {"type": WORKER_LOST, "message": (
        f"its worker was lost {lost} times (the lease expired each time; "
        f"max_requeues={max_requeues}); the run may be killing its worker: look at its "
        "logs, or raise max_requeues on the definition"
    )}


def requeue(run: Run, now: float, max_requeues: int = DEFAULT_MAX_REQUEUES) -> Change:
    """``run``'s worker died (its lease expired): back to pending, due now,
    the same iteration as its next attempt. After ``max_requeues`` requeues
    the next loss fails the run instead, with an error that says so."""
    if run.requeues >= max_requeues:
        error = worker_lost_error(run, max_requeues)
        change = finish(run, run.worker, now, Status.FAILED, error=error)
        return Change({**change.fields, "requeues": run.requeues + 1}, change.entries)
    return Change(
        {"status": Status.PENDING, "worker": None, "lease_expires_at": None,
         "retry_pending": True, "due_at": now, "requeues": run.requeues + 1},
        (_entry(run, Step.REQUEUED, now, Status.PENDING, run.worker,
                {"reason": "lease expired"}),),
    )


# ---- the one check of every update ------------------------------------------------------------
def check_update(run_id: str, status: Status, holder: str | None, fields: Mapping[str, Any],
                 worker: str | None = None) -> None:
    """What every store checks before it changes a run through ``Store.update``
    (the run's id, its status and the worker holding it are all it needs, so
    a store need not build a ``Run`` to ask): only ``UPDATABLE_FIELDS``; with
    ``worker``, the run must still be that worker's (``LeaseLostError``); a
    status change must be in the transition table; and a final run changes no
    more (``IllegalTransitionError``)."""
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise InvalidArgumentError(f"these run fields cannot be updated: {sorted(unknown)}")
    if worker is not None and holder != worker:
        raise LeaseLostError(
            f"{worker} no longer holds run {run_id!r} (held by {holder or 'nobody'})"
        )
    if "status" in fields:
        check_transition(run_id, status, Status.parse(fields["status"]))
    elif status.is_final:
        raise IllegalTransitionError(run_id, status, status, "it is final")
