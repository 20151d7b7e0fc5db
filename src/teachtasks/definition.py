"""Task definitions: what a task is, before anything runs.

A definition is the recipe; a run is one time the recipe is cooked. It says:
who it is (``id``, ``title``, ``description``), what to do (``run``, a function
given a context and a controller), how far it may go (``max_iterations``, a
time budget per iteration, a retry policy), which events start it, how to check
its input, and what to do at the big moments of a run's life (hooks).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .checks import MAX_DELAY_SECONDS, check_number
from .errors import (
    InputValidationError,
    InvalidDefinitionError,
    TeachtasksError,
    TriggerRefusedError,
)
from .lifecycle import DEFAULT_MAX_REQUEUES
from .payload import JSON, check_json
from .run import LifecycleEntry, Run, Step

ID_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
EVENT_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,199}$")

#: ``run(context, controller)``. Typed loosely on purpose: naming Context and
#: Controller here would make definitions depend on what runs them.
RunFunction = Callable[[Any, Any], Any]
RunHook = Callable[[Run], Any]
HOOK_NAMES = ("on_before_trigger", "on_done", "on_error", "on_abort", "on_max_iterations")


def check_id(value: object, what: str = "definition id") -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidDefinitionError(
            f"{what} {value!r} is not valid: start with a letter, then letters, digits, "
            "'_', '.' or '-', at most 100 characters (for example 'send-welcome-email')"
        )
    return value


def check_event_name(
    value: object, error: type[TeachtasksError] = InvalidDefinitionError
) -> str:
    """``value`` if it is a valid event name, else ``error`` (a definition's
    events: ``InvalidDefinitionError``; ``emit``: ``InvalidArgumentError``)."""
    if not isinstance(value, str) or not EVENT_PATTERN.match(value):
        raise error(
            f"event name {value!r} is not valid: start with a letter, then letters, digits, "
            "'_', '.', ':' or '-' (for example 'user.signed_up')"
        )
    return value


@dataclass(frozen=True, slots=True)
class DefinitionRecord:
    """The data part of a task definition (everything but its functions): what
    a store keeps, so management can list definitions and a store knows a
    definition's ``max_requeues`` when it requeues its runs."""

    id: str
    title: str = ""
    description: str = ""
    events: tuple[str, ...] = ()
    max_iterations: int = 10
    budget_seconds: float = 60.0
    retry: dict[str, JSON] = field(default_factory=dict)
    max_requeues: int = field(default=DEFAULT_MAX_REQUEUES, repr=False)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When an exception escapes ``run``, try the iteration again, up to
    ``max_attempts`` tries in all, waiting ``backoff * factor**(attempt-1)``
    seconds (at most ``max_backoff``), give or take ``jitter`` (a fraction), so
    that many failing runs do not all come back at the same instant.
    Only exceptions of the ``retry_on`` types are retried."""

    max_attempts: int = 1
    backoff: float = 1.0
    factor: float = 2.0
    max_backoff: float = 300.0
    jitter: float = 0.1
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def __post_init__(self) -> None:
        check_number(self.max_attempts, "retry max_attempts", low=1, high=1000, whole=True,
                     error=InvalidDefinitionError)
        for name in ("backoff", "factor", "max_backoff", "jitter"):
            check_number(getattr(self, name), f"retry {name}", low=0,
                         error=InvalidDefinitionError)
        if self.factor < 1:
            raise InvalidDefinitionError(f"retry factor must be at least 1, not {self.factor}")
        if self.jitter > 1:
            raise InvalidDefinitionError(f"retry jitter is a fraction 0..1, not {self.jitter}")
        retry_on = self.retry_on
        if isinstance(retry_on, type):
            retry_on = (retry_on,)
            object.__setattr__(self, "retry_on", retry_on)
        if not all(isinstance(t, type) and issubclass(t, BaseException) for t in retry_on):
            raise InvalidDefinitionError("retry_on must be exception classes")

    def should_retry(self, error: BaseException, attempt: int) -> bool:
        return attempt < self.max_attempts and isinstance(error, self.retry_on)

    def delay(self, attempt: int, seed: str = "") -> float:
        """Seconds to wait after failed try number ``attempt``. The jitter is
        drawn from a generator seeded with ``seed`` (the run id), so a
        simulated scenario repeats exactly."""
        base = min(self.max_backoff, self.backoff * self.factor ** (attempt - 1))
        if self.jitter:
            spread = random.Random(f"{seed}:{attempt}").uniform(-self.jitter, self.jitter)
            base *= 1 + spread
        return round(max(0.0, base), 6)

    def describe(self) -> dict[str, JSON]:
        return {
            "max_attempts": self.max_attempts, "backoff": self.backoff, "factor": self.factor,
            "max_backoff": self.max_backoff, "jitter": self.jitter,
            "retry_on": [t.__name__ for t in self.retry_on],
        }


NO_RETRY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class TaskDefinition:
    """A task the runner knows how to run. Build one directly, or with
    ``@manager.task(...)`` / ``@task(...)``."""

    id: str
    run: RunFunction
    title: str = ""
    description: str = ""
    max_iterations: int = 10
    #: seconds one iteration may take (a serverless function's time limit in the
    #: real product); ``controller.is_close_to_timeout()`` measures against it
    budget_seconds: float = 60.0
    retry: RetryPolicy = NO_RETRY
    events: tuple[str, ...] = ()
    #: how many times a run may lose its worker (lease expired) and be requeued;
    #: one more loss fails it with a WorkerLostError (and ``on_error`` fires)
    max_requeues: int = field(default=DEFAULT_MAX_REQUEUES, repr=False)
    #: called with the input at trigger time; raise (ValueError, TypeError, ...)
    #: to reject it
    validate: Callable[[JSON], Any] | None = None
    on_before_trigger: Callable[[JSON], Any] | None = None
    on_done: RunHook | None = None
    on_error: RunHook | None = None
    on_abort: RunHook | None = None
    on_max_iterations: RunHook | None = None

    def __post_init__(self) -> None:
        check_id(self.id)
        if not callable(self.run):
            raise InvalidDefinitionError(f"definition {self.id!r}: run must be a function")
        if not isinstance(self.title, str) or not isinstance(self.description, str):
            raise InvalidDefinitionError(f"definition {self.id!r}: title and description are text")
        if not self.title:
            object.__setattr__(self, "title", self.id.replace("-", " ").replace("_", " "))
        check_number(self.max_iterations, f"definition {self.id!r}: max_iterations", low=1,
                     high=100_000, whole=True, error=InvalidDefinitionError)
        check_number(self.budget_seconds, f"definition {self.id!r}: budget_seconds", above=0,
                     error=InvalidDefinitionError)
        check_number(self.max_requeues, f"definition {self.id!r}: max_requeues", low=0,
                     high=1000, whole=True, error=InvalidDefinitionError)
        if not isinstance(self.retry, RetryPolicy):
            raise InvalidDefinitionError(f"definition {self.id!r}: retry must be a RetryPolicy")
        events = self.events
        if isinstance(events, str):
            events = (events,)
        elif not isinstance(events, tuple | list):
            raise InvalidDefinitionError(
                f"definition {self.id!r}: events must be an event name or a list of them "
                f"(for example events=['user.signed_up']), not {events!r}"
            )
        events = tuple(events)
        object.__setattr__(self, "events", tuple(check_event_name(e) for e in events))
        for name in ("validate", *HOOK_NAMES):
            hook = getattr(self, name)
            if hook is not None and not callable(hook):
                raise InvalidDefinitionError(f"definition {self.id!r}: {name} must be a function")

    def admit(self, input: JSON, *, delay: float = 0.0) -> JSON:  # noqa: A002
        """The checks every trigger makes before anything is written or sent, in
        one place for ``TaskManager.trigger`` and the Celery bridge: the delay
        is a number of seconds in range, the input is JSON (a checked copy is
        returned), ``validate`` accepts it, ``on_before_trigger`` does not refuse."""
        check_number(delay, "delay", low=0, high=MAX_DELAY_SECONDS,
                     hint=" (seconds before a worker may take the run)")
        checked = check_json(input, "input")
        if self.validate is not None:
            try:
                self.validate(checked)
            except Exception as exc:
                raise InputValidationError(f"input rejected by {self.id!r}: {exc}") from exc
        if self.on_before_trigger is not None:
            try:
                verdict = self.on_before_trigger(checked)
            except Exception as exc:
                raise TriggerRefusedError(f"on_before_trigger of {self.id!r} refused: {exc}") from exc
            if verdict is False:
                raise TriggerRefusedError(f"on_before_trigger of {self.id!r} returned False")
        return checked

    def call_hook(self, name: str, run: Run, now: float) -> LifecycleEntry | None:
        """Call hook ``name`` (if set) with the run. A hook must never break
        the run it reports on: if it raises, the error comes back as a
        HOOK_FAILED lifecycle entry for the caller to record."""
        if name not in HOOK_NAMES[1:]:
            raise InvalidDefinitionError(f"no run hook called {name!r}")
        hook = getattr(self, name)
        if hook is None:
            return None
        try:
            hook(run)
        except Exception as exc:
            return LifecycleEntry(
                run.id, run.definition_id, Step.HOOK_FAILED, now, run.status,
                worker=run.worker, attempt=run.attempt, iteration=run.iterations,
                detail={"hook": name, "error": f"{type(exc).__name__}: {exc}"},
            )
        return None

    def record(self) -> DefinitionRecord:
        """The data part, for a store."""
        return DefinitionRecord(
            id=self.id, title=self.title, description=self.description, events=self.events,
            max_iterations=self.max_iterations, budget_seconds=float(self.budget_seconds),
            retry=self.retry.describe(), max_requeues=self.max_requeues,
        )


def task(
    id: str,  # noqa: A002 - the concept's own name
    *,
    title: str = "",
    description: str = "",
    events: tuple[str, ...] | list[str] | str = (),
    max_iterations: int = 10,
    budget_seconds: float = 60.0,
    retry: RetryPolicy = NO_RETRY,
    max_requeues: int = DEFAULT_MAX_REQUEUES,
    **hooks: Any,
) -> Callable[[RunFunction], TaskDefinition]:
    """Decorator: turn a ``run(context, controller)`` function into a definition.

    The docstring of the function becomes the description when none is given.
    ``hooks`` are ``validate``, ``on_before_trigger``, ``on_done``,
    ``on_error``, ``on_abort`` and ``on_max_iterations``; any other name is
    refused at once (a typo must not pass in silence).
    """
    unknown = sorted(set(hooks) - {"validate", *HOOK_NAMES})
    if unknown:
        known = ["title", "description", "events", "max_iterations", "budget_seconds",
                 "retry", "max_requeues", "validate", *HOOK_NAMES]
        raise InvalidDefinitionError(
            f"task {id!r}: unknown option(s) {', '.join(unknown)}; the options are: "
            f"{', '.join(known)}"
        )

    def make(fn: RunFunction) -> TaskDefinition:
        return TaskDefinition(
            id=id, run=fn, title=title, description=description or (fn.__doc__ or "").strip(),
            events=events,  # type: ignore[arg-type]  # checked (and made a tuple) there
            max_iterations=max_iterations, budget_seconds=budget_seconds, retry=retry,
            max_requeues=max_requeues, **hooks,
        )

    return make
