"""The runner: takes pending runs and executes them, one iteration at a time.

It is the notebook-3 runner grown up. The loop of one worker is::

    while not stopping:
        run = store.claim(worker)          # the next due run, held by this worker
        if run is None: wait for work
        else: execute(run, worker)         # one iteration

and ``execute`` is the heart of the whole library:

1. guard: an unknown definition fails the run; an abort that came while the
   run waited ends it before anything runs;
2. count: the next iteration (or the next attempt of this one, after a retry);
3. build the context and the controller and call ``definition.run``;
4. apply the response: done -> success, continue -> the next iteration
   later, error -> failed, aborted -> aborted; an exception is retried with
   backoff or fails the run; an iteration over its time budget fails; asking
   to continue past ``max_iterations`` fails;
5. fire the hook that fits (``on_done``, ``on_error``, ``on_abort``,
   ``on_max_iterations``).

Two ways to drive it:

* **threads**: ``start()`` a pool of worker threads (the concurrency limit is
  their number), ``wait_idle()``, ``stop()`` (in-flight iterations finish);
* **steps**: ``step()`` does one iteration in the calling thread, and
  ``run_until_idle()`` steps until nothing is left. On a ``SimulatedClock``
  the pool is simulated: each worker has its own point in time, every
  iteration runs whole on one worker, and the same scenario gives the same
  lifecycle log every time.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .context import Context
from .controller import RESPONSES, Aborted, Continue, Controller, Done, Error, Response
from .definition import TaskDefinition
from .errors import (
    ConfigurationError,
    InvalidArgumentError,
    LeaseLostError,
    MaxIterationsError,
    TimeBudgetExceededError,
)
from .manager import TaskManager
from .payload import JSON
from .run import ACTIVE_STATUSES, LifecycleEntry, Run, Status, Step
from .stores.memory import MemoryStore


def _error_dict(error: BaseException | Error) -> dict[str, str]:
    if isinstance(error, Error):
        return {"type": error.type, "message": error.message}
    return {"type": type(error).__name__, "message": str(error)}


def call_run(
    definition: TaskDefinition, context: Context, controller: Controller
) -> tuple[Response | None, Exception | None]:
    """Call the definition's ``run`` and say how the iteration ended: a
    response (a plain return value means ``done(value)``), or the exception
    it raised. A lost lease is not the run's failure: it goes up to the runner."""
    try:
        result = definition.run(context, controller)
        if isinstance(result, Done | Continue | Error | Aborted):
            return result, None
        return RESPONSES.done(result), None
    except LeaseLostError:
        raise
    except Exception as exc:
        return None, exc


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one iteration's ending means for its run. ``step`` is FINISHED
    (``status`` is then final), CONTINUED or RETRY_SCHEDULED (the run goes on
    after ``delay`` seconds)."""

    step: Step
    status: Status
    output: JSON = None
    error: dict[str, str] | None = None
    delay: float = 0.0
    input: JSON = None
    replace_input: bool = False
    hook: str | None = None
    reason: str = ""
    detail: dict[str, JSON] = field(default_factory=dict)


def decide(
    definition: TaskDefinition,
    *,
    run_id: str,
    iteration: int,
    attempt: int,
    response: Response | None,
    failure: BaseException | None,
    elapsed: float,
    abort_requested: bool,
) -> Outcome:
    """The runner's rules, in one place and free of any store: given how an
    iteration ended (a response, or an exception), what happens to the run.
    ``Runner`` carries the outcome out on a store; the Celery bridge carries
    the same outcome out with Celery messages."""
    if failure is None and elapsed > definition.budget_seconds and not isinstance(
        response, Aborted
    ):
        response, failure = None, TimeBudgetExceededError(
            f"iteration {iteration} took {elapsed:g}s, over its "
            f"{definition.budget_seconds:g}s budget; check controller.is_close_to_timeout() "
            "and return continue_ in time"
        )
    if isinstance(response, Done):
        return Outcome(Step.FINISHED, Status.SUCCESS, output=response.output, hook="on_done")
    if isinstance(response, Aborted) or abort_requested:
        # an error that came with the abort is kept on the run, not lost
        error = _error_dict(failure) if failure is not None else (
            _error_dict(response) if isinstance(response, Error) else None)
        reason = "the run returned aborted()" if isinstance(response, Aborted) \
            else "abort requested"
        return Outcome(Step.FINISHED, Status.ABORTED, error=error, hook="on_abort", reason=reason)
    if isinstance(response, Continue):
        if iteration >= definition.max_iterations:
            error = MaxIterationsError(
                f"asked to continue after iteration {iteration} of "
                f"max_iterations={definition.max_iterations}"
            )
            return Outcome(Step.FINISHED, Status.FAILED, error=_error_dict(error),
                           hook="on_max_iterations")
        return Outcome(Step.CONTINUED, Status.RUNNING, delay=response.delay,
                       input=response.input, replace_input=response.replace_input,
                       detail={"delay": response.delay} if response.delay else {})
    if isinstance(response, Error):
        return Outcome(Step.FINISHED, Status.FAILED, error=_error_dict(response), hook="on_error")
    assert failure is not None
    if definition.retry.should_retry(failure, attempt):
        delay = definition.retry.delay(attempt, seed=run_id)
        return Outcome(Step.RETRY_SCHEDULED, Status.RUNNING, delay=delay,
                       error=_error_dict(failure),
                       detail={"error": f"{type(failure).__name__}: {failure}", "delay": delay})
    return Outcome(Step.FINISHED, Status.FAILED, error=_error_dict(failure), hook="on_error")


_runners_in_this_process = itertools.count(1)


def _unique_suffix(manager: TaskManager) -> str:
    """Default worker names must be unique among everyone sharing a store,
    because a lease belongs to a worker's name. In memory, or on a simulated clock, only
    this runner uses the store: plain ``worker-1``. On a store other processes
    may share (a SQLite file) with a real clock, the process id is added, and a
    number for every further runner in the same process: ``worker-1@4242``,
    ``worker-1@4242.2``."""
    if manager.clock.simulated or isinstance(manager.store, MemoryStore):
        return ""
    number = next(_runners_in_this_process)
    return f"@{os.getpid()}" + (f".{number}" if number > 1 else "")


class Runner:
    """A pool of workers that executes the runs of one ``TaskManager``."""

    def __init__(
        self,
        manager: TaskManager,
        *,
        workers: int = 4,
        lease_seconds: float = 30.0,
        poll_interval: float = 0.05,
        name: str | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
            raise InvalidArgumentError(f"workers must be a whole number from 1 to 256, not {workers!r}")
        for what, value in (("lease_seconds", lease_seconds), ("poll_interval", poll_interval)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InvalidArgumentError(f"{what} must be a positive number, not {value!r}")
        self.manager = manager
        self.store = manager.store
        self.clock = manager.clock
        self.workers = workers
        if name is None:  # our own names: made unique where the store is shared
            name, suffix = "worker", _unique_suffix(manager)
        elif isinstance(name, str) and name and "@" not in name:
            suffix = ""  # names you choose are yours to keep unique
        else:
            raise InvalidArgumentError(f"name must be a non-empty string without '@', not {name!r}")
        self.worker_names = [f"{name}-{i}{suffix}" for i in range(1, workers + 1)]
        self.lease_seconds = float(lease_seconds)
        self.poll_interval = float(poll_interval)
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._held: dict[str, str] = {}
        self._last_reap: float | None = None
        #: unexpected errors a worker thread met (and survived), for inspection
        self.errors: list[str] = []
        manager.on_new_run(self._on_new_run)

    # ---- one iteration ------------------------------------------------------------
    def execute(self, run: Run, worker: str) -> Run:
        """Execute one iteration of ``run``, which ``worker`` has just claimed.
        Returns the run as it stands afterwards."""
        manager, clock = self.manager, self.clock
        now = clock.now()
        definition = manager.find_definition(run.definition_id)
        try:
            if definition is None:
                return self._finish(run, worker, Status.FAILED, now, error={
                    "type": "UnknownDefinitionError",
                    "message": f"no task definition with id {run.definition_id!r} in this process",
                })
            if run.abort_requested:
                return self._finish(run, worker, Status.ABORTED, now, definition=definition,
                                    reason="abort requested before the iteration started")

            # count: a retry repeats this iteration, anything else starts the next one
            if run.retry_pending:
                iteration, attempt = run.iterations, run.attempt + 1
            else:
                iteration, attempt = run.iterations + 1, 1
            run = self.store.update(run.id, {
                "iterations": iteration, "attempt": attempt, "retry_pending": False,
            }, [LifecycleEntry(run.id, run.definition_id, Step.ITERATION_STARTED, now,
                               Status.RUNNING, worker=worker, attempt=attempt,
                               iteration=iteration)], worker=worker, now=now)

            # build the context and the controller, and call run
            context = Context(run, manager=manager, worker=worker)
            controller = Controller(
                run, store=self.store, clock=clock, worker=worker,
                budget_seconds=definition.budget_seconds, started_at=now,
                lease_seconds=self.lease_seconds,
            )
            response, failure = call_run(definition, context, controller)
            return self._apply(run, worker, definition, response, failure, started=now)
        except LeaseLostError:
            # Our lease expired while we worked and another worker took the run
            # over: what we did no longer counts, and the run is theirs now.
            return self.store.get_run(run.id)

    def _apply(
        self,
        run: Run,
        worker: str,
        definition: TaskDefinition,
        response: Response | None,
        failure: BaseException | None,
        *,
        started: float,
    ) -> Run:
        end = self.clock.now()
        outcome = decide(
            definition, run_id=run.id, iteration=run.iterations, attempt=run.attempt,
            response=response, failure=failure, elapsed=end - started,
            abort_requested=self.store.abort_requested(run.id),
        )
        if outcome.step is Step.FINISHED:
            return self._finish(run, worker, outcome.status, end, definition=definition,
                                output=outcome.output, error=outcome.error,
                                reason=outcome.reason, hook=outcome.hook)
        changes: dict[str, Any] = {
            "worker": None, "lease_expires_at": None, "due_at": end + outcome.delay,
            "retry_pending": outcome.step is Step.RETRY_SCHEDULED,
        }
        if outcome.error is not None:
            changes["error"] = outcome.error
        if outcome.replace_input:
            changes["input"] = outcome.input
        return self._release(run, worker, changes, outcome.step, end, outcome.detail)

    def _release(
        self, run: Run, worker: str, changes: dict[str, Any], step: Step, now: float,
        detail: dict[str, JSON],
    ) -> Run:
        entry = LifecycleEntry(run.id, run.definition_id, step, now, Status.RUNNING,
                               worker=worker, attempt=run.attempt, iteration=run.iterations,
                               detail=detail)
        return self.store.update(run.id, changes, [entry], worker=worker, now=now)

    def _finish(
        self,
        run: Run,
        worker: str,
        status: Status,
        now: float,
        *,
        definition: TaskDefinition | None = None,
        output: JSON = None,
        error: dict[str, str] | None = None,
        reason: str = "",
        hook: str | None = None,
    ) -> Run:
        changes: dict[str, Any] = {
            "status": status, "finished_at": now, "worker": None, "lease_expires_at": None,
            "retry_pending": False,
        }
        detail: dict[str, JSON] = {}
        if status is Status.SUCCESS:
            changes.update(output=output, error=None, progress=1.0)
        if error is not None:
            changes["error"] = error
            detail["error"] = f"{error['type']}: {error['message']}"
        if reason:
            detail["reason"] = reason
        entry = LifecycleEntry(run.id, run.definition_id, Step.FINISHED, now, status,
                               worker=worker, attempt=run.attempt, iteration=run.iterations,
                               detail=detail)
        final = self.store.update(run.id, changes, [entry], worker=worker, now=now)
        if definition is not None:
            hook = hook or {Status.SUCCESS: "on_done", Status.FAILED: "on_error",
                            Status.ABORTED: "on_abort"}[status]
            self.manager.fire_hook(definition, hook, final)
        return final

    # ---- step mode -----------------------------------------------------------------------
    def _maybe_reap(self, now: float) -> None:
        """Return runs whose worker died (lease expired) to pending, at most a
        few times per lease period."""
        if self._last_reap is None or now - self._last_reap >= self.lease_seconds / 4 or (
            now < self._last_reap
        ):
            self._last_reap = now
            self.store.requeue_expired(now)

    def step(self, worker: str = "worker-1") -> Run | None:
        """Claim the next due run and execute one iteration of it, in this
        thread. Returns the run afterwards, or None when nothing is due."""
        now = self.clock.now()
        self._maybe_reap(now)
        run = self.store.claim(worker, now, self.lease_seconds)
        if run is None:
            return None
        # one dict write each way: atomic, so no lock (the housekeeper copies
        # the dict in one step too)
        self._held[worker] = run.id
        try:
            return self.execute(run, worker)
        finally:
            self._held.pop(worker, None)

    def run_until_idle(
        self, *, max_steps: int = 1_000_000, on_step: Callable[[Run], Any] | None = None
    ) -> int:
        """Step until no run is pending or running; returns the number of
        iterations executed. ``on_step(run)`` is called after each one (a live
        board uses it). On a ``SimulatedClock`` this simulates the whole pool."""
        if self._threads:
            raise ConfigurationError("the worker threads are running; use wait_idle() instead")
        if self.clock.simulated:
            return self._simulate(max_steps, on_step)
        steps = 0
        while steps < max_steps:
            run = self.step(self.worker_names[0])
            if run is None:
                due = self.store.next_due()
                if due is None:
                    break
                self.clock.sleep(min(max(0.0, due - self.clock.now()), self.poll_interval))
                continue
            steps += 1
            if on_step is not None:
                on_step(run)
        return steps

    def _simulate(self, max_steps: int, on_step: Callable[[Run], Any] | None) -> int:
        clock = self.clock
        assert hasattr(clock, "set")
        free_at = dict.fromkeys(self.worker_names, clock.now())
        end = clock.now()
        steps = 0
        while steps < max_steps:
            worker = min(self.worker_names, key=lambda w: free_at[w])  # ties: lowest number
            clock.set(free_at[worker])
            run = self.step(worker)
            if run is None:
                due = self.store.next_due()
                if due is None:
                    break
                # nothing due for this worker yet: it idles until the next due run
                free_at[worker] = max(due, free_at[worker] + 1e-9)
                continue
            steps += 1
            free_at[worker] = clock.now()
            end = max(end, clock.now())
            if on_step is not None:
                on_step(run)
        clock.set(end)
        return steps

    # ---- thread mode -----------------------------------------------------------------------
    def _on_new_run(self, run: Run) -> None:
        with self._wake:
            self._wake.notify()

    def start(self) -> Runner:
        """Start the worker threads (and a housekeeper that renews leases and
        requeues runs whose worker died)."""
        if self.clock.simulated:
            raise ConfigurationError(
                "worker threads need a RealClock; a SimulatedClock runs in step mode: "
                "call run_until_idle() instead of start()"
            )
        if self._threads:
            raise ConfigurationError("this runner is already started")
        self._stopping.clear()
        for name in self.worker_names:
            thread = threading.Thread(target=self._work, args=(name,), name=name, daemon=True)
            self._threads.append(thread)
        house = threading.Thread(target=self._housekeep, name="housekeeper", daemon=True)
        self._threads.append(house)
        for thread in self._threads:
            thread.start()
        return self

    def _work(self, worker: str) -> None:
        while not self._stopping.is_set():
            try:
                run = self.step(worker)
            except Exception as exc:  # a store that failed (a locked file): note it, go on
                self.errors.append(f"{worker}: {type(exc).__name__}: {exc}")
                self._stopping.wait(self.poll_interval)
                continue
            if run is not None:
                continue
            due = self.store.next_due()
            timeout = self.poll_interval
            if due is not None:
                timeout = min(timeout, max(0.0, due - self.clock.now()))
            with self._wake:
                if not self._stopping.is_set():
                    self._wake.wait(timeout)

    def _housekeep(self) -> None:
        interval = self.lease_seconds / 3
        while not self._stopping.wait(min(interval, 1.0)):
            now = self.clock.now()
            held = list(self._held.items())
            for worker, run_id in held:
                self.store.heartbeat(run_id, worker, now, self.lease_seconds)
            self._maybe_reap(now)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no run is pending or running; False if ``timeout`` ran out."""
        if not self._threads:
            raise ConfigurationError("start() the runner first, or use run_until_idle()")
        deadline = None if timeout is None else self.clock.now() + timeout
        while True:
            counts = self.store.count_runs()
            if not any(counts[s] for s in ACTIVE_STATUSES):
                return True
            if deadline is not None and self.clock.now() >= deadline:
                return False
            with self._wake:
                self._wake.wait(0.01)

    def stop(self, timeout: float | None = None) -> None:
        """Stop taking new runs; iterations in flight finish first."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    @property
    def running(self) -> bool:
        return bool(self._threads)

    def __enter__(self) -> Runner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
