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

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .payload import JSON, check_json, copy_json
from .run import LogRecord, Run

if TYPE_CHECKING:
    from .clock import Clock
    from .manager import TaskManager
    from .stores.base import Store



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
        self._store.add_log(LogRecord(
            self._run.id, self._clock.now(), level, str(message), iteration=self._run.iterations,
        ))

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
        manager: TaskManager,
        worker: str | None = None,
    ) -> None:
        self.run = run
        self.worker = worker
        self._manager = manager
        self._input = copy_json(run.input)
        store, clock = manager.store, manager.clock
        self.clock = clock
        self.state = RunState(run, store, clock, worker)
        self.log = RunLogger(run, store, clock)
        self.services: Mapping[str, Any] = MappingProxyType(manager.services)

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
        return self._manager.trigger(definition_id, input, parent_id=self.run.id, delay=delay)

    def emit(self, event: str, payload: JSON = None) -> list[Run]:
        """Emit an event; the runs it creates are this run's children."""
        return self._manager.emit(event, payload, parent_id=self.run.id)
