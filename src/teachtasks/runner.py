"""The runner: takes pending runs and executes them, one iteration at a time.

It is the notebook-3 runner grown up. The loop of one worker is::

    while not stopping:
        run = store.claim(worker)          # the next due run, held by this worker,
        if run is None: wait for work      # its iteration already counted
        else: execute(run, worker)         # one iteration

``claim`` counts the iteration in the same atomic step that hands the run
over (the next iteration, or the next attempt of this one after a retry or a
lost worker: ``lifecycle.claim``), so a worker that dies right after it never
makes the next one run the wrong iteration. ``execute`` is the heart of the
whole library:

1. guard: an unknown definition fails the run; an abort that came while the
   run waited ends it before anything runs;
2. build the context and the controller and call ``definition.run``;
3. decide what the ending means (``decide``): done -> success, continue ->
   the next iteration later, error -> failed, aborted -> aborted; an
   exception is retried with backoff or fails the run (its traceback kept on
   ``run.traceback``); an iteration over its time budget fails; asking to
   continue past ``max_iterations`` fails;
4. apply it: the ``lifecycle`` step for that ending, one atomic store update;
5. fire the hook that fits (``on_done``, ``on_error``, ``on_abort``,
   ``on_max_iterations``).

Two ways to drive it:

* **threads**: ``start()`` a pool of worker threads (the concurrency limit is
  their number), ``wait_idle()``, ``stop()`` (in-flight iterations finish);
* **steps**: ``step()`` does one iteration in the calling thread, and
  ``run_until_idle()`` goes on until nothing is left. On a ``SimulatedClock``
  the pool is simulated (``simulation.py``): every worker runs this same
  worker loop in simulated time, only one at a time, always the one whose
  time is earliest, so a run never sees what another wrote "later"; the same
  scenario gives the same lifecycle log every time, and faults can be
  injected at chosen moments (``kill_worker``, ``pause_worker``).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import traceback as tb
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import lifecycle
from .checks import check_number
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
from .run import ACTIVE_STATUSES, Run, Status, Step
from .simulation import Fault, Simulation
from .stores.base import MAX_PAGE, RunFilter

#: Worker-level problems (a store that failed, a thread that died) are
#: reported here; a run's own failures are kept with the run instead.
log = logging.getLogger("teachtasks")

#: The longest lease a runner takes: a day. A worker that dies holding a run
#: must give it back some day; an infinite lease never would.
MAX_LEASE_SECONDS = 24 * 3600.0


def _error_dict(error: BaseException | Error) -> dict[str, str]:
    if isinstance(error, Error):
        return {"type": error.type, "message": error.message}
    return {"type": type(error).__name__, "message": str(error)}


def format_traceback(error: BaseException | None) -> str | None:
    """The formatted traceback of an exception a run raised (None for a
    response such as ``error(...)``, which has none). Kept on ``Run.traceback``."""
    if error is None or error.__traceback__ is None:
        return None
    return "".join(tb.format_exception(error))


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
    #: the formatted traceback behind ``error``, when an exception caused it
    traceback: str | None = None
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
        return Outcome(Step.FINISHED, Status.ABORTED, error=error, hook="on_abort", reason=reason,
                       traceback=format_traceback(failure))
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
                       error=_error_dict(failure), traceback=format_traceback(failure),
                       detail={"error": f"{type(failure).__name__}: {failure}", "delay": delay})
    return Outcome(Step.FINISHED, Status.FAILED, error=_error_dict(failure), hook="on_error",
                   traceback=format_traceback(failure))


def outcome_change(run: Run, worker: str | None, now: float, outcome: Outcome, *,
                   state: dict[str, JSON] | None = None) -> lifecycle.Change:
    """The lifecycle ``Change`` that carries ``outcome`` out on ``run``: the
    runner applies it to its store; the Celery bridge to the shared one."""
    if outcome.step is Step.FINISHED:
        return lifecycle.finish(run, worker, now, outcome.status, output=outcome.output,
                                error=outcome.error, traceback=outcome.traceback,
                                reason=outcome.reason, state=state)
    if outcome.step is Step.CONTINUED:
        return lifecycle.continued(run, worker, now, delay=outcome.delay, input=outcome.input,
                                   replace_input=outcome.replace_input, detail=outcome.detail,
                                   state=state)
    return lifecycle.retry_scheduled(run, worker, now, delay=outcome.delay, error=outcome.error,
                                     traceback=outcome.traceback, detail=outcome.detail,
                                     state=state)


_runners_in_this_process = itertools.count(1)


def _unique_suffix(manager: TaskManager) -> str:
    """Default worker names must be unique among everyone sharing a store,
    because a lease belongs to a worker's name. In memory, or on a simulated clock, only
    this runner uses the store: plain ``worker-1``. On a store other processes
    may share (``store.shared``: a SQLite file) with a real clock, the process id is added, and a
    number for every further runner in the same process: ``worker-1@4242``,
    ``worker-1@4242.2``."""
    if manager.clock.simulated or not manager.store.shared:
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
        if not isinstance(manager, TaskManager):
            raise InvalidArgumentError(
                f"Runner takes the TaskManager whose runs it executes, not {manager!r}"
            )
        check_number(workers, "workers", low=1, high=256, whole=True)
        check_number(lease_seconds, "lease_seconds", above=0, high=MAX_LEASE_SECONDS,
                     hint=" (a dead worker's runs come back after this many seconds)")
        check_number(poll_interval, "poll_interval", above=0, high=3600)
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
        #: worker threads inside ``_wake.wait``: a trigger notifies only when
        #: one is (the condition costs a lock and a call for nothing otherwise)
        self._idle = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._held: dict[str, str] = {}
        self._last_reap: float | None = None
        #: unexpected exceptions a worker thread met (and survived), for
        #: inspection; each is also logged on the ``teachtasks`` logger
        self.errors: list[BaseException] = []
        self._sim: Simulation | None = None
        self._faults: list[Fault] = []
        #: the faults the last ``run_until_idle`` applied (a picture marks them)
        self.faults: list[Fault] = []
        manager.on_new_run(self._on_new_run)

    # ---- one iteration ------------------------------------------------------------
    def execute(self, run: Run, worker: str) -> Run:
        """Execute one iteration of ``run``, which ``worker`` has just claimed
        (the claim counted the iteration: ``run.iterations`` and ``run.attempt``
        are this execution's). Returns the run as it stands afterwards."""
        manager, clock = self.manager, self.clock
        now = clock.now()
        definition = manager.find_definition(run.definition_id)
        try:
            if definition is None:
                return self._finish(run, worker, lifecycle.finish(
                    run, worker, now, Status.FAILED, error={
                        "type": "UnknownDefinitionError",
                        "message": f"no task definition with id {run.definition_id!r} in "
                                   "this process",
                    }), None, None)
            if run.abort_requested:
                return self._finish(run, worker, lifecycle.finish(
                    run, worker, now, Status.ABORTED,
                    reason="abort requested before the iteration started"), definition,
                    "on_abort")

            # build the context and the controller, and call run
            context = Context(run, store=self.store, clock=clock, services=manager.services,
                              worker=worker, trigger=manager.trigger, emit=manager.emit)
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
        change = outcome_change(run, worker, end, outcome)
        if outcome.step is Step.FINISHED:
            return self._finish(run, worker, change, definition, outcome.hook)
        return self.store.update(run.id, change.fields, change.entries, worker=worker, now=end)

    def _finish(self, run: Run, worker: str, change: lifecycle.Change,
                definition: TaskDefinition | None, hook: str | None) -> Run:
        now = change.entries[-1].time
        final = self.store.update(run.id, change.fields, change.entries, worker=worker, now=now)
        if definition is not None:
            hook = hook or {Status.SUCCESS: "on_done", Status.FAILED: "on_error",
                            Status.ABORTED: "on_abort"}[final.status]
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
            self._reap(now)

    def _reap(self, now: float) -> None:
        """Requeue the runs whose worker died; one lost too often has failed
        instead (``lifecycle.requeue``), and its ``on_error`` fires."""
        requeued = False
        for run in self.store.requeue_expired(now):
            if run.status is Status.FAILED:
                definition = self.manager.find_definition(run.definition_id)
                if definition is not None:
                    self.manager.fire_hook(definition, "on_error", run)
            else:
                requeued = True
        if requeued:
            self._notify()

    def _held_until(self) -> float | None:
        """When the earliest lease of a run some worker holds ends (None when
        no worker holds one): a run held by a worker that died, or by an
        iteration a KeyboardInterrupt stopped, comes back after it."""
        held = self.store.list_runs(RunFilter(status=Status.RUNNING, limit=MAX_PAGE))
        ends = [r.lease_expires_at for r in held
                if r.worker is not None and r.lease_expires_at is not None]
        return min(ends) if ends else None

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
        board uses it). On a ``SimulatedClock`` this simulates the whole pool.

        A run still held by a worker (one that died, or an iteration a
        ``KeyboardInterrupt`` stopped) is waited for: once its lease ends it
        is requeued and finished here (on a simulated clock the clock jumps
        past the lease). So it returns with nothing pending or running, or
        after ``max_steps`` iterations."""
        if self._threads:
            raise ConfigurationError("the worker threads are running; use wait_idle() instead")
        check_number(max_steps, "max_steps", low=0, whole=True)
        if self.clock.simulated:
            sim = self._sim = Simulation(self, self._faults)
            self._faults = []
            try:
                return sim.run(max_steps, on_step)
            finally:
                self._sim = None
                self.faults = sim.applied
        steps = 0
        while steps < max_steps:
            run = self.step(self.worker_names[0])
            if run is None:
                due = self.store.next_due()
                if due is None:
                    due = self._held_until()
                    if due is None:
                        break
                    self._reap(self.clock.now())
                self.clock.sleep(min(max(0.0, due - self.clock.now()), self.poll_interval))
                continue
            steps += 1
            if on_step is not None:
                on_step(run)
        return steps

    # ---- faults at chosen simulated moments --------------------------------------------
    def _fault(self, kind: str, worker: str, at: float, seconds: float = 0.0) -> Fault:
        if not self.clock.simulated:
            raise ConfigurationError(
                f"{kind}_worker() works on a SimulatedClock; on a real clock, kill or pause "
                "a real process (notebook 07 shows how)")
        if worker not in self.worker_names:
            raise InvalidArgumentError(
                f"no worker {worker!r} in this runner; its workers are {self.worker_names}")
        check_number(at, "at", low=0)
        fault = Fault(kind, worker, float(at), float(seconds))
        self._faults.append(fault)
        return fault

    def kill_worker(self, worker: str, *, at: float) -> Fault:
        """In the next ``run_until_idle``, ``worker`` dies at simulated time
        ``at`` as with SIGKILL: it runs no further line and writes nothing;
        its lease ends and the reaper requeues its run for another worker."""
        return self._fault("kill", worker, at)

    def pause_worker(self, worker: str, *, at: float, seconds: float) -> Fault:
        """In the next ``run_until_idle``, ``worker`` freezes at ``at`` for
        ``seconds`` (its lease renewals too), then goes on where it was.
        Frozen past its lease, its run is run again elsewhere meanwhile, and
        it still finishes its own iteration: why a task's body must be
        idempotent."""
        check_number(seconds, "seconds", above=0)
        return self._fault("pause", worker, at, seconds)

    # ---- thread mode -----------------------------------------------------------------------
    def _on_new_run(self, run: Run) -> None:
        self._notify()

    def _notify(self) -> None:
        """A run may be due now: wake a worker that waits for work (in a
        simulation, every one)."""
        sim = self._sim
        if sim is not None:
            sim.notify()
            return
        if self._idle:  # one int read: see _wait_for_work for why no wake-up is lost
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
            raise ConfigurationError(
                "this runner is already started (or a stop() with a timeout left an "
                "iteration running: call stop() again to wait for it)"
            )
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
        """One worker's loop: in a thread, or as a simulated worker."""
        while not self._stopping.is_set():
            try:
                run = self.step(worker)
                if run is None:
                    self._wait_for_work()
            except Exception as exc:  # a store that failed (a locked file, Redis gone): note it, go on
                self._note_error(worker, exc)
                self._rest(self.poll_interval)
                continue
            if run is not None:
                self._stepped(run)

    def _stepped(self, run: Run) -> None:
        """After an iteration: a run that goes on may be for another worker."""
        if run.status is Status.PENDING:
            self._notify()
        if self._sim is not None:
            self._sim.stepped(run)

    def _wait_for_work(self) -> None:
        """Wait until the next due run, a new run, or at most
        ``poll_interval``: other processes may add runs to a shared store.
        A simulated pool does not poll: nothing outside it adds runs, and
        every change that makes one due wakes it."""
        sim = self._sim
        if sim is not None:
            due, now = self.store.next_due(), self.clock.now()
            sim.wait(None if due is None or due <= now else due, for_work=True)
            return
        with self._wake:
            self._idle += 1
            try:
                # Look at the store only now that a trigger sees us waiting: a run
                # it created before is found here; one created after, it notifies.
                due, now = self.store.next_due(), self.clock.now()
                if not self._stopping.is_set() and (due is None or due > now):
                    timeout = self.poll_interval if due is None else min(
                        self.poll_interval, due - now)
                    self._wake.wait(timeout)
            finally:
                self._idle -= 1

    def _rest(self, seconds: float) -> bool:
        """Wait ``seconds`` (simulated ones in a simulation); True once stopping."""
        sim = self._sim
        if sim is None:
            return self._stopping.wait(seconds)
        sim.sleep(seconds)
        return self._stopping.is_set()

    def _workers_alive(self) -> bool:
        sim = self._sim
        if sim is not None:
            return sim.any_worker_alive()
        return any(t.is_alive() for t in self._threads if t.name != "housekeeper")

    def _note_error(self, where: str, exc: Exception) -> None:
        """A worker-level problem: kept in ``errors`` and logged on ``teachtasks``."""
        self.errors.append(exc)
        log.error("%s: %s: %s", where, type(exc).__name__, exc, exc_info=exc)

    def _housekeep(self) -> None:
        """Renew the leases of runs this runner's workers hold, and requeue
        runs whose worker died. After ``stop()`` it keeps renewing until the
        last iteration in flight has really ended, so that no other runner
        takes a run this one is still executing."""
        # a lease is renewed three times in its life; a thread also wakes at least
        # every second, to notice stop() soon (a simulated one needs not)
        interval = self.lease_seconds / 3 if self._sim is not None else min(
            self.lease_seconds / 3, 1.0)
        while True:
            stopping = self._rest(interval)
            if stopping and not self._workers_alive():
                return
            now = self.clock.now()
            try:
                for worker, run_id in list(self._held.items()):
                    self.store.heartbeat(run_id, worker, now, self.lease_seconds)
                if not stopping:
                    self._maybe_reap(now)
            except Exception as exc:  # the store failed: note it, try again next time
                self._note_error("housekeeper", exc)

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
            time.sleep(0.01)  # not on _wake: a trigger's notify is for a worker

    def stop(self, timeout: float | None = None) -> bool:
        """Stop taking new runs and wait for the iterations in flight to end.

        Returns True when every worker has stopped. With a ``timeout`` that
        runs out first it returns **False**: some iteration is still
        executing. Its lease is still renewed until it really ends (so no
        other runner takes that run meanwhile); call ``stop()`` again to wait
        for it, and until then ``running`` stays True and ``start()`` refuses."""
        if timeout is not None:
            check_number(timeout, "timeout", low=0)
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        deadline = None if timeout is None else self.clock.now() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(0.0, deadline - self.clock.now())
            thread.join(left)
        self._threads = [t for t in self._threads if t.is_alive()]
        if self._threads:
            busy = sorted(set(self._held))
            log.warning("stop(): %d iteration(s) still running on %s; their leases are kept "
                        "until they end", len(busy), ", ".join(busy) or "a worker")
            return False
        return True

    @property
    def running(self) -> bool:
        """True while a worker thread (or the housekeeper) is alive."""
        return bool(self._threads)

    def __enter__(self) -> Runner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
