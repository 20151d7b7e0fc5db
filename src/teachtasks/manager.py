"""Management: the API an application uses to define, trigger, watch and stop tasks.

The ``TaskManager`` is the front desk. Your web endpoint calls
``manager.trigger("send-welcome-email", {"email": ...})`` or
``manager.emit("user.signed_up", {...})`` and returns at once; a ``Runner``
somewhere else does the work. Everything else a person or a program needs to
manage tasks is here too: read and list runs, abort one, read its logs and its
lifecycle, re-trigger a failed one, clean up old ones, and create, read,
update and delete task definitions.

Every input is checked before anything is written: an unknown definition, a
payload that is not JSON, a bad limit or an illegal abort raises a named error
and leaves the store exactly as it was.
"""

from __future__ import annotations

import contextvars
import dataclasses
import inspect
import itertools
import os
import random
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .checks import check_number, check_text
from .clock import Clock, RealClock
from .definition import TaskDefinition, task
from .errors import (
    DefinitionInUseError,
    DuplicateDefinitionError,
    DuplicateRunIdError,
    InputValidationError,
    InvalidArgumentError,
    InvalidDefinitionError,
    RunNotFoundError,
    TeachtasksError,
    TriggerRefusedError,
    UnknownDefinitionError,
)
from .events import EventBus
from .payload import EMPTY, JSON
from .run import ACTIVE_STATUSES, LifecycleEntry, LogRecord, Run, Status, Step, new_entry
from .stores.base import RunFilter, Store
from .stores.memory import MemoryStore

_emitting_parent: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "teachtasks_emitting_parent", default=None
)


def random_ids() -> Callable[[], str]:
    """Run ids for a real clock, unique across threads and processes: 48
    random bits from a generator seeded from the system's randomness once per
    process (and again after a fork), which is many times cheaper than asking
    the system for every id. Two runs could still draw the same id (about one
    chance in 550 among a million runs): the store refuses the second
    (``DuplicateRunIdError``, nothing written) and ``trigger`` draws again."""
    state: dict[str, Any] = {"pid": None, "random": None}

    def new_id() -> str:
        if state["pid"] != os.getpid():
            state["pid"], state["random"] = os.getpid(), random.Random(os.urandom(32))
        return f"run-{state['random'].getrandbits(48):012x}"

    return new_id


def sequential_ids(prefix: str = "run-") -> Callable[[], str]:
    """``run-1``, ``run-2``, ...: readable and repeatable, for simulations."""
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter)}"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A definition that listened to an event but refused to start a run for it."""

    event: str
    definition_id: str
    reason: str


class TaskManager:
    """Definitions, triggers, events and the management API over one store."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        clock: Clock | None = None,
        services: Mapping[str, Any] | None = None,
        ids: Callable[[], str] | None = None,
    ) -> None:
        if store is not None and not isinstance(store, Store):
            hint = (f" (for a file, pass SQLiteStore({store!r}))"
                    if isinstance(store, str | os.PathLike) else "")
            raise InvalidArgumentError(
                f"store must be a teachtasks Store such as MemoryStore() or "
                f"SQLiteStore('runs.db'), not {type(store).__name__} {store!r}{hint}"
            )
        if clock is not None and not (
            callable(getattr(clock, "now", None)) and callable(getattr(clock, "sleep", None))
            and isinstance(getattr(clock, "simulated", None), bool)
        ):
            raise InvalidArgumentError(
                f"clock must be a Clock such as RealClock() or SimulatedClock(), not "
                f"{type(clock).__name__} {clock!r}"
            )
        if services is not None and not isinstance(services, Mapping):
            raise InvalidArgumentError(
                f"services must be a dict of names to objects, not {type(services).__name__}"
            )
        if ids is not None and not callable(ids):
            raise InvalidArgumentError(f"ids must be a function that returns run ids, not {ids!r}")
        self.store: Store = store if store is not None else MemoryStore()
        self.clock: Clock = clock if clock is not None else RealClock()
        self.services: dict[str, Any] = dict(services or {})
        self.bus = EventBus()
        self._ids = ids or (sequential_ids() if self.clock.simulated else random_ids())
        # random ids (uuid4) do not collide; any other may (a sequence that
        # restarts on a store that already holds run-1), so those are checked
        self._ids_may_collide = ids is not None or self.clock.simulated
        self._lock = threading.RLock()
        self._definitions: dict[str, TaskDefinition] = {}
        self._unsubscribe: dict[str, list[Callable[[], None]]] = {}
        self._new_run_listeners: list[tuple[weakref.ref[Any] | None, Callable[..., None]]] = []
        #: definitions that refused an emitted event, newest last
        self.refusals: list[Refusal] = []

    # ---- definitions ---------------------------------------------------------------
    def register(self, definition: TaskDefinition) -> TaskDefinition:
        """Make a definition known (and subscribe it to its events)."""
        if not isinstance(definition, TaskDefinition):
            raise InvalidDefinitionError(
                f"register() takes a TaskDefinition, not {type(definition).__name__}"
            )
        with self._lock:
            if definition.id in self._definitions:
                raise DuplicateDefinitionError(definition.id)
            self._definitions[definition.id] = definition
            self.store.put_definition(definition.record())
            self._subscribe(definition)
        return definition

    def task(self, id: str, **options: Any) -> Callable[..., TaskDefinition]:  # noqa: A002
        """Decorator: define a task and register it here in one go."""
        make = task(id, **options)
        return lambda fn: self.register(make(fn))

    def _subscribe(self, definition: TaskDefinition) -> None:
        handles = []
        for event in definition.events:
            def handler(name: str, payload: JSON, _id: str = definition.id) -> Run | None:
                try:
                    return self.trigger(_id, payload, parent_id=_emitting_parent.get())
                except (TriggerRefusedError, InputValidationError) as exc:
                    self.refusals.append(Refusal(name, _id, str(exc)))
                    return None

            handles.append(self.bus.subscribe(event, handler))
        self._unsubscribe[definition.id] = handles

    def find_definition(self, definition_id: str) -> TaskDefinition | None:
        """The definition, or None when this process does not know it. (No
        lock: a runner asks for every iteration, and one dict read is atomic.)"""
        return self._definitions.get(definition_id)

    def get_definition(self, definition_id: str) -> TaskDefinition:
        try:
            return self._definitions[definition_id]  # one dict read: atomic, no lock
        except (KeyError, TypeError):
            raise UnknownDefinitionError(definition_id, list(self._definitions)) from None

    def list_definitions(self) -> list[TaskDefinition]:
        with self._lock:
            return [self._definitions[k] for k in sorted(self._definitions)]

    def update_definition(self, definition_id: str, **changes: Any) -> TaskDefinition:
        """Change fields of a definition (title, description, events, limits,
        retry, hooks, run). Runs already created keep running; they use the new
        definition from their next iteration on."""
        if "id" in changes:
            raise InvalidArgumentError("a definition's id cannot change; create a new one")
        fields = {f.name for f in dataclasses.fields(TaskDefinition)}
        unknown = set(changes) - fields
        if unknown:
            raise InvalidArgumentError(
                f"unknown definition fields {sorted(unknown)}; known: {sorted(fields - {'id'})}"
            )
        with self._lock:
            old = self.get_definition(definition_id)
            new = dataclasses.replace(old, **changes)  # validated by __post_init__
            for unsubscribe in self._unsubscribe.pop(definition_id, []):
                unsubscribe()
            self._definitions[definition_id] = new
            self.store.put_definition(new.record())
            self._subscribe(new)
            return new

    def delete_definition(self, definition_id: str) -> None:
        """Forget a definition. Refused while it has pending or running runs
        (abort them first); its finished runs stay for the record."""
        with self._lock:
            self.get_definition(definition_id)
            counts = self.store.count_runs(RunFilter(definition_id=definition_id))
            active = sum(counts[s] for s in ACTIVE_STATUSES)
            if active:
                raise DefinitionInUseError(
                    f"definition {definition_id!r} still has {active} pending or running "
                    "run(s); abort them or let them finish first"
                )
            for unsubscribe in self._unsubscribe.pop(definition_id, []):
                unsubscribe()
            del self._definitions[definition_id]
            self.store.delete_definition(definition_id)

    # ---- triggering ------------------------------------------------------------------------
    def on_new_run(self, listener: Callable[[Run], None]) -> None:
        """Call ``listener(run)`` after every run is created (a runner uses it to
        wake an idle worker). Bound methods are held weakly, so a runner that
        is thrown away does not stay alive (or get called) because of this."""
        if inspect.ismethod(listener):
            # (a weak reference to the object, its plain function): cheaper to
            # call on every trigger than a WeakMethod
            self._new_run_listeners.append((weakref.ref(listener.__self__), listener.__func__))
        else:
            self._new_run_listeners.append((None, listener))

    def trigger(
        self,
        definition_id: str,
        input: JSON = None,  # noqa: A002
        *,
        parent_id: str | None = None,
        delay: float = 0.0,
        idempotency_key: str | None = None,
    ) -> Run:
        """Create a pending run of ``definition_id`` and return it at once.

        ``delay`` (seconds) holds it back; ``parent_id`` makes it a child run;
        the same ``idempotency_key`` twice *for the same definition* returns
        the first run instead of a duplicate (a key is scoped to its definition:
        "order-7" of ``charge-card`` and "order-7" of ``send-receipt`` are two
        runs). Raises before writing anything if the definition is unknown,
        the input is not JSON or fails validation, or ``on_before_trigger``
        refuses."""
        definition = self.get_definition(definition_id)
        if idempotency_key is not None:
            if not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key) <= 200:
                raise InvalidArgumentError(
                    "idempotency_key must be a string of 1 to 200 characters")
            check_text(idempotency_key, "idempotency_key")
        if parent_id is not None:
            check_text(parent_id, "parent_id")
            self.store.get_run(parent_id)  # RunNotFoundError if there is no such parent
        checked = definition.admit(input, delay=delay)  # checks the delay too
        now = self.clock.now()
        run_id = self._new_id()
        run = Run(
            id=run_id, definition_id=definition_id, input=checked, parent_id=parent_id,
            created_at=now, updated_at=now, due_at=now + delay, idempotency_key=idempotency_key,
        )
        detail: dict[str, JSON] = {}
        if delay:
            detail["delay"] = delay
        if parent_id:
            detail["parent"] = parent_id
        entry = new_entry(run_id, definition_id, Step.TRIGGERED, now, Status.PENDING, None, 0, 0,
                          detail or EMPTY)
        for _ in range(3):
            try:
                created, is_new = self.store.create_run(run, entry)
                break
            except DuplicateRunIdError:  # a random id drawn twice: draw again
                run_id = self._new_id()
                run = dataclasses.replace(run, id=run_id)
                entry = dataclasses.replace(entry, run_id=run_id)
        else:
            raise TeachtasksError("three run ids in a row were taken; check the id generator")
        if is_new:
            for owner, function in tuple(self._new_run_listeners):
                if owner is None:
                    function(created)
                elif (obj := owner()) is not None:  # its runner is still there
                    function(obj, created)
        return created

    def _new_id(self) -> str:
        if not self._ids_may_collide:
            return self._ids()
        for _ in range(1000):
            candidate = self._ids()
            try:
                self.store.get_run(candidate)
            except RunNotFoundError:
                return candidate
        raise TeachtasksError("could not find a free run id after 1000 tries")

    def emit(self, event: str, payload: JSON = None, *, parent_id: str | None = None) -> list[Run]:
        """Emit an event: one run for each definition listening to it, in the
        order they were registered. A definition whose validation or
        ``on_before_trigger`` refuses gets no run (see ``refusals``)."""
        token = _emitting_parent.set(parent_id)
        try:
            results = self.bus.emit(event, payload)
        finally:
            _emitting_parent.reset(token)
        return [r for r in results if isinstance(r, Run)]

    # ---- reading -------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        return self.store.get_run(run_id)

    def list_runs(
        self,
        *,
        status: Status | str | None = None,
        definition_id: str | None = None,
        parent_id: str | None = None,
        created_after: float | None = None,
        created_before: float | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Run]:
        """Runs, newest first, filtered and paged."""
        return self.store.list_runs(RunFilter(
            status=status, definition_id=definition_id, parent_id=parent_id,  # type: ignore[arg-type]
            created_after=created_after, created_before=created_before,
            limit=limit, offset=offset,
        ))

    def children(self, run_id: str) -> list[Run]:
        self.store.get_run(run_id)
        return self.list_runs(parent_id=run_id, limit=10_000)

    def count_runs(self) -> dict[Status, int]:
        return self.store.count_runs()

    def logs(self, run_id: str) -> list[LogRecord]:
        return self.store.list_logs(run_id)

    def lifecycle(self, run_id: str | None = None) -> list[LifecycleEntry]:
        """The lifecycle log (one run's, or everyone's) in the clock's order."""
        return sorted(self.store.list_entries(run_id), key=lambda e: (e.time, e.seq))

    # ---- changing runs -------------------------------------------------------------------------
    def abort(self, run_id: str) -> Run:
        """Ask a run to stop. A pending run (or one waiting between iterations)
        is aborted at once; a run a worker is executing is asked to stop and
        sees ``controller.is_aborted()``. A final run cannot be aborted."""
        run, aborted_now = self.store.request_abort(run_id, self.clock.now())
        if aborted_now:
            definition = self.find_definition(run.definition_id)
            if definition is not None:
                self.fire_hook(definition, "on_abort", run)
        return run

    def retrigger(self, run_id: str) -> Run:
        """A new run of a failed or aborted run's definition, with its input."""
        old = self.store.get_run(run_id)
        if old.status not in (Status.FAILED, Status.ABORTED):
            raise InvalidArgumentError(
                f"only failed or aborted runs can be re-triggered; {run_id!r} is {old.status.value}"
            )
        return self.trigger(old.definition_id, old.input, parent_id=old.parent_id)

    def delete_run(self, run_id: str) -> None:
        self.store.delete_run(run_id)

    def cleanup(self, older_than: float) -> int:
        """Delete final runs (and their logs) that finished more than
        ``older_than`` seconds ago; returns how many."""
        check_number(older_than, "older_than", low=0, hint=" (seconds)")
        return self.store.delete_finished_before(self.clock.now() - older_than)

    # ---- hooks ------------------------------------------------------------------------------------
    def fire_hook(self, definition: TaskDefinition, name: str, run: Run) -> None:
        """Call a definition's hook; a hook that raises is recorded as a
        HOOK_FAILED entry and never changes the run."""
        entry = definition.call_hook(name, run, self.clock.now())
        if entry is not None:
            self.store.append_entries([entry])
