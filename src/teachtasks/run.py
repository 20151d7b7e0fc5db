"""A run: one triggered execution of a task definition, and its lifecycle.

Three things live here because they are one idea:

* ``Status`` and the single ``TRANSITIONS`` table that says which status may
  follow which. Every status change in every store goes through
  ``check_transition``; the state chart is drawn from the same table, so the
  picture can never disagree with the code.
* ``Run``, the record a store keeps: what was asked (input), what happened
  (status, output, error, iterations, attempts) and where it stands (which
  worker holds it, until when, when it is due next).
* ``LifecycleEntry``, one line of the lifecycle log: every step a run takes is
  appended with the clock's time, the worker, the attempt and the iteration.
  Every picture in the course is drawn from this log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .errors import IllegalTransitionError, InvalidArgumentError
from .payload import EMPTY, JSON


class Status(StrEnum):
    """Where a run is in its life. ``pending`` waits for a worker, ``running``
    is being worked on (or waits between iterations), the other three are final."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    ABORTED = "aborted"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES

    @classmethod
    def parse(cls, value: object) -> Status:
        """``Status`` from a ``Status`` or its name; a clear error otherwise."""
        if isinstance(value, Status):
            return value
        try:
            return cls(str(value).lower()) if isinstance(value, str) else cls(value)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise InvalidArgumentError(
                f"unknown status {value!r}; a status is one of: {names}"
            ) from None


FINAL_STATUSES = frozenset({Status.SUCCESS, Status.FAILED, Status.ABORTED})
ACTIVE_STATUSES = frozenset({Status.PENDING, Status.RUNNING})

#: The one table of legal status changes. ``running -> pending`` is the
#: requeue of a run whose worker died (its lease expired). Nothing leaves a
#: final status.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.RUNNING, Status.ABORTED}),
    Status.RUNNING: frozenset({Status.SUCCESS, Status.FAILED, Status.ABORTED, Status.PENDING}),
    Status.SUCCESS: frozenset(),
    Status.FAILED: frozenset(),
    Status.ABORTED: frozenset(),
}


def can_transition(old: Status, new: Status) -> bool:
    return new in TRANSITIONS[old]


def check_transition(run_id: str, old: Status, new: Status) -> None:
    """Raise ``IllegalTransitionError`` unless ``old -> new`` is in ``TRANSITIONS``.
    Staying in a status is allowed, except in a final one: a final run is done
    with for good."""
    if old == new and not old.is_final:
        return
    if not can_transition(old, new):
        why = "it is final" if old.is_final else "the transition table does not allow it"
        raise IllegalTransitionError(run_id, old, new, why)


@dataclass(frozen=True, slots=True)
class Run:
    """One run, as a store holds it. Stores hand out copies: changing one changes
    nothing; changes go through the manager and the runner."""

    id: str
    definition_id: str
    status: Status = Status.PENDING
    input: JSON = None
    output: JSON = None
    #: ``{"type": ..., "message": ...}`` of the last error, or None
    error: dict[str, str] | None = None
    #: iterations started so far (the current one included)
    iterations: int = 0
    #: attempt number within the current iteration (retries and requeues add one)
    attempt: int = 0
    parent_id: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = 0.0
    #: not picked up before this time (a delay, a retry backoff)
    due_at: float = 0.0
    #: the worker holding the run right now, and until when its lease lasts
    worker: str | None = None
    lease_expires_at: float | None = None
    abort_requested: bool = False
    #: True when the next execution repeats the current iteration (a retry or a
    #: requeue) rather than starting the next one
    retry_pending: bool = False
    #: what ``context.state`` saved: survives between iterations
    state: dict[str, JSON] = field(default_factory=dict)
    #: 0.0 .. 1.0 as the run last reported it, or None
    progress: float | None = None
    idempotency_key: str | None = None
    #: the formatted traceback of the exception behind ``error``, or None. Kept
    #: apart from ``error`` (and out of the repr) so printing a run stays short.
    traceback: str | None = field(default=None, repr=False)
    #: how many times the run lost its worker and was requeued
    requeues: int = field(default=0, repr=False)

    @property
    def is_final(self) -> bool:
        return self.status.is_final


#: Fields a store lets the runner change with ``Store.update``. ``status`` is
#: checked against ``TRANSITIONS``; ``abort_requested`` is changed only by
#: ``Store.request_abort`` so a runner's write can never erase an abort.
UPDATABLE_FIELDS = frozenset({
    "status", "input", "output", "error", "iterations", "attempt", "started_at",
    "finished_at", "due_at", "worker", "lease_expires_at", "retry_pending", "state",
    "progress", "traceback",
})


class Step(StrEnum):
    """The kinds of lifecycle entry."""

    TRIGGERED = "triggered"
    STARTED = "started"
    ITERATION_STARTED = "iteration started"
    PROGRESS = "progress"
    CONTINUED = "continued"
    RETRY_SCHEDULED = "retry scheduled"
    ABORT_REQUESTED = "abort requested"
    REQUEUED = "requeued"
    HOOK_FAILED = "hook failed"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class LifecycleEntry:
    """One step of one run. ``status`` is the run's status right after the step.
    ``seq`` orders entries as the store appended them; sort by ``(time, seq)``
    to read them in the clock's order."""

    run_id: str
    definition_id: str
    step: Step
    time: float
    status: Status
    worker: str | None = None
    attempt: int = 0
    iteration: int = 0
    detail: dict[str, JSON] = field(default_factory=lambda: EMPTY)
    seq: int = 0

    def __str__(self) -> str:
        where = f" on {self.worker}" if self.worker else ""
        it = f" it={self.iteration} try={self.attempt}" if self.iteration else ""
        extra = ""
        if self.detail:
            extra = " " + ", ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"t={self.time:8.3f}  {self.run_id:<8} {self.step.value:<17} -> {self.status.value}{where}{it}{extra}"


_NEW = object.__new__
(_E_RUN, _E_DEFINITION, _E_STEP, _E_TIME, _E_STATUS, _E_WORKER, _E_ATTEMPT, _E_ITERATION,
 _E_DETAIL, _E_SEQ) = (LifecycleEntry.__dict__[name].__set__ for name in (
    "run_id", "definition_id", "step", "time", "status", "worker", "attempt", "iteration",
    "detail", "seq"))


def new_entry(run_id: str, definition_id: str, step: Step, time: float, status: Status,
              worker: str | None, attempt: int, iteration: int,
              detail: dict[str, JSON]) -> LifecycleEntry:
    """``LifecycleEntry(...)`` with every field but ``seq`` given, in half the
    time: it fills the slots directly instead of going through the frozen
    ``__init__``. The lifecycle rules build four entries for every run."""
    entry = _NEW(LifecycleEntry)
    _E_RUN(entry, run_id)
    _E_DEFINITION(entry, definition_id)
    _E_STEP(entry, step)
    _E_TIME(entry, time)
    _E_STATUS(entry, status)
    _E_WORKER(entry, worker)
    _E_ATTEMPT(entry, attempt)
    _E_ITERATION(entry, iteration)
    _E_DETAIL(entry, detail)
    _E_SEQ(entry, 0)
    return entry


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One line a run wrote with ``context.log``."""

    run_id: str
    time: float
    level: str
    message: str
    iteration: int = 0
    seq: int = 0

    def __str__(self) -> str:
        return f"t={self.time:8.3f} [{self.level}] {self.message}"
