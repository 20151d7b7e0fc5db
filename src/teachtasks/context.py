"""The context: what a run knows of its world.

A run is handed a context with everything it may look at or use, and nothing
else: its own run record and input, a ``state`` that survives between
iterations (where a long job writes down how far it got), a ``log`` that
belongs to this run alone, ways to start child tasks and emit events, the
application's services (a mailer, a database), and the clock.

Why not just use globals? Because the run may execute in another thread,
another process, or tomorrow after a restart. Whatever it needs must come
through the context, where the runner can give it the right thing each time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .checks import safe_text
from .errors import InvalidArgumentError
from .payload import JSON, check_json, copy_json
from .run import LogRecord, Run

if TYPE_CHECKING:
    from .clock import Clock
    from .stores.base import Store

log = logging.getLogger("teachtasks")

#: ``trigger(definition_id, input, *, parent_id, delay)`` and
#: ``emit(event, payload, *, parent_id)``: how a context starts child runs
#: (a manager's methods, or the Celery bridge's).
TriggerFunction = Callable[..., Run]
EmitFunction = Callable[..., list[Run]]


class RunState(Mapping[str, JSON]):
    """A small dict saved with the run: ``state.set("row", 500)`` is written to
    the store at once, so the next iteration (or another worker, after a
    crash) reads it back with ``state.get("row", 0)``."""

    def __init__(self, run: Run, store: Store, clock: Clock, worker: str | None) -> None:
        self._run_id = run.id
        self._store = store
        self._clock = clock
        self._worker = worker
        self._data: dict[str, JSON] = copy_json(run.state) or {}

    def __getitem__(self, key: str) -> JSON:
        return copy_json(self._data[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def set(self, key: str, value: JSON) -> None:
        self.update({key: value})

    def update(self, values: Mapping[str, JSON]) -> None:  # type: ignore[override]
        if not isinstance(values, Mapping):
            raise InvalidArgumentError(
                f"state.update takes a dict of names to values, not {type(values).__name__} "
                "(for one value use state.set(name, value))"
            )
        checked = check_json(dict(values), "state")
        data = {**self._data, **checked}
        self._store.update(self._run_id, {"state": data}, worker=self._worker,
                           now=self._clock.now())
        self._data = data

    def __repr__(self) -> str:
        return f"RunState({self._data!r})"


class RunLogger:
    """``context.log.info("sent 3 of 10")``: lines kept with the run, read back
    with ``manager.logs(run_id)``."""

    def __init__(self, run: Run, store: Store, clock: Clock) -> None:
        self._run = run
        self._store = store
        self._clock = clock

    def write(self, level: str, message: object) -> None:
        """Keep one line. Text a store cannot hold as it is (a lone surrogate,
        what a file name that is not UTF-8 becomes) is kept escaped; a line
        that cannot be kept at all is reported on the ``teachtasks`` logger,
        and never fails the run."""
        try:
            self._store.add_log(LogRecord(
                self._run.id, self._clock.now(), level, safe_text(str(message)),
                iteration=self._run.iterations,
            ))
        except Exception as exc:
            log.warning("run %s: a log line was not kept: %s: %s", self._run.id,
                        type(exc).__name__, exc)

    def debug(self, message: object) -> None:
        self.write("debug", message)

    def info(self, message: object) -> None:
        self.write("info", message)

    def warning(self, message: object) -> None:
        self.write("warning", message)

    def error(self, message: object) -> None:
        self.write("error", message)


class Context:
    """Everything one iteration of one run may see and use."""

    def __init__(
        self,
        run: Run,
        *,
        store: Store,
        clock: Clock,
        trigger: TriggerFunction,
        emit: EmitFunction,
        services: Mapping[str, Any] | None = None,
        worker: str | None = None,
    ) -> None:
        self.run = run
        self.worker = worker
        self._trigger = trigger
        self._emit = emit
        self._input = copy_json(run.input)
        self.clock = clock
        self._store = store
        self._state: RunState | None = None
        self._log: RunLogger | None = None
        # a read-only view of the application's services (not a copy: one per
        # iteration would cost for nothing)
        self.services: Mapping[str, Any] = MappingProxyType(
            services if isinstance(services, dict) else dict(services or {}))

    @property
    def state(self) -> RunState:
        """The run's saved state (``RunState``), made on first use: most
        iterations never touch it."""
        if self._state is None:
            self._state = RunState(self.run, self._store, self.clock, self.worker)
        return self._state

    @property
    def log(self) -> RunLogger:
        """The run's log (``RunLogger``), made on first use."""
        if self._log is None:
            self._log = RunLogger(self.run, self._store, self.clock)
        return self._log

    @property
    def input(self) -> JSON:
        """This iteration's input: the run's own copy, made once per iteration,
        so changing it changes nothing in the store (return ``continue_`` with
        a new input to pass something to the next iteration)."""
        return self._input

    @property
    def iteration(self) -> int:
        return self.run.iterations

    @property
    def attempt(self) -> int:
        return self.run.attempt

    def now(self) -> float:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        """Wait (or, on a simulated clock, let simulated time pass). Tasks in
        the course call this to stand in for slow work: sending an email,
        calling an API."""
        self.clock.sleep(seconds)

    def trigger(self, definition_id: str, input: JSON = None, *, delay: float = 0.0) -> Run:  # noqa: A002
        """Start a child run; its ``parent_id`` is this run's id."""
        return self._trigger(definition_id, input, parent_id=self.run.id, delay=delay)

    def emit(self, event: str, payload: JSON = None) -> list[Run]:
        """Emit an event; the runs it creates are this run's children."""
        return self._emit(event, payload, parent_id=self.run.id)
