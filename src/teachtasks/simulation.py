"""A pool of workers in simulated time: a discrete-event scheduler.

Why it exists: a picture is only worth teaching from if real concurrency
could have produced it. On a ``SimulatedClock`` each simulated worker is a
real thread running the runner's *own* worker loop (``Runner._work``, the
same code as in thread mode), and the housekeeper that renews leases runs
its own loop too. But only one of them runs at a time: every place where
simulated time passes or a worker waits (``ctx.sleep``, ``clock.sleep``,
waiting for work) hands control back here, and the scheduler always resumes
the one whose simulated time is earliest (ties: the lowest worker number,
the housekeeper last). So whatever a run reads at time t is exactly what
was written before t, the same scenario gives the same lifecycle log byte
for byte, and no real time passes.

Faults at chosen moments (``Runner.kill_worker``, ``Runner.pause_worker``)
act between two steps of the workers:

* **kill** at t: the worker vanishes as with SIGKILL. Its thread is never
  resumed, so it runs no further line and writes nothing; nobody renews its
  lease, which ends, and the reaper requeues its run.
* **pause** at t for s seconds: the worker (its whole process, lease
  renewals included) is frozen, as a laptop lid closing or a long garbage
  collection. Paused past its lease, its run is requeued and run again
  elsewhere, and when it wakes it finishes its iteration anyway: the classic
  double execution, reproducibly.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .run import Status

if TYPE_CHECKING:
    from .clock import SimulatedClock
    from .stores.base import Store

log = logging.getLogger("teachtasks")

#: how long a halted simulation waits (real seconds) for the worker that is
#: running to reach its next wait, before leaving it (Ctrl+C in a cell)
HALT_GRACE_SECONDS = 2.0


class _Halted(BaseException):
    """Raised inside a simulated worker to end its thread: the simulation is
    over. A BaseException, so no ``except Exception`` in a task catches it."""


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault injected at a simulated moment: ``kind`` is ``"kill"`` or ``"pause"``."""

    kind: str
    worker: str
    at: float
    seconds: float = 0.0


class _Pool(Protocol):
    """What the simulation needs of a ``Runner`` (named here, not imported:
    the runner imports this module)."""

    clock: Any
    store: Store
    worker_names: list[str]
    _stopping: threading.Event
    _held: dict[str, str]

    def _work(self, worker: str) -> None: ...
    def _housekeep(self) -> None: ...


class _Actor:
    """One simulated thread: a worker or the housekeeper."""

    __slots__ = ("name", "order", "gate", "seq", "wake", "for_work", "alive", "done", "halt",
                 "is_worker", "paused_until", "thread")

    def __init__(self, name: str, order: int, is_worker: bool) -> None:
        self.name = name
        self.order = order
        self.is_worker = is_worker
        self.gate = threading.Lock()  # held while the actor may not run
        self.gate.acquire()
        self.seq = 0           # bumped on every new wake-up; older heap items are stale
        self.wake: float | None = None  # when it is due to run again (None: not scheduled)
        self.for_work = False  # waiting until work comes (``notify`` wakes it)
        self.alive = True      # False once killed
        self.done = False      # its loop has ended
        self.halt = False      # resumed only to end
        self.paused_until: float | None = None
        self.thread: threading.Thread | None = None


class Simulation:
    """Runs a ``Runner``'s workers and housekeeper on its ``SimulatedClock``.

    ``Runner.run_until_idle`` makes one per call; ``run()`` returns the number
    of iterations executed once nothing is pending or running (or after
    ``max_steps`` iterations: then the workers stop claiming, and the
    iterations in flight end first)."""

    #: wake-ups in a row at one simulated moment without an iteration ending
    #: before the simulation calls itself stuck (instead of looping forever)
    MAX_IDLE_RESUMES = 100_000

    def __init__(self, runner: _Pool, faults: list[Fault]) -> None:
        self.runner = runner
        self.clock: SimulatedClock = runner.clock  # type: ignore[assignment]
        self.steps = 0
        self.max_steps = 0
        self.on_step: Callable[[Any], Any] | None = None
        self._heap: list[tuple[float, int, int, _Actor]] = []
        self._main = threading.Lock()  # released by an actor when it hands control back
        self._main.acquire()
        self._local = threading.local()
        self._error: BaseException | None = None
        self._faults = sorted(faults, key=lambda f: f.at)
        self._actors = {name: _Actor(name, i, True) for i, name in enumerate(runner.worker_names)}
        self._house = _Actor("housekeeper", len(self._actors), False)
        self._end = self.clock.now()
        self._held_when_paused: dict[str, str | None] = {}
        self._running: _Actor | None = None
        #: the faults that took effect, in order (the pictures mark them)
        self.applied: list[Fault] = []

    # ---- called from the simulated threads ---------------------------------------------
    def _me(self) -> _Actor | None:
        return getattr(self._local, "actor", None)

    def is_actor(self) -> bool:
        """True in a simulated worker or the housekeeper (their sleeps hand control back)."""
        return self._me() is not None

    def sleep(self, seconds: float) -> float:
        """Let ``seconds`` of simulated time pass for the calling worker."""
        self.wait(round(self.clock.now() + max(0.0, seconds), 9), for_work=False)
        return self.clock.now()

    def _schedule(self, actor: _Actor, when: float) -> None:
        actor.seq += 1
        actor.wake = when
        heapq.heappush(self._heap, (when, actor.order, actor.seq, actor))

    def wait(self, until: float | None, *, for_work: bool) -> None:
        """Hand control back until the moment ``until`` (None: no limit), or,
        ``for_work``, until ``notify()`` says a run may be due. A worker waiting
        for a due run passes its due time exactly (never rounded below it: the
        claim that follows must find the run due)."""
        actor = self._me()
        assert actor is not None, "only a simulated thread waits in the simulation"
        if until is None:
            actor.seq += 1
            actor.wake = None
        else:
            self._schedule(actor, max(until, self.clock.now()))
        actor.for_work = for_work
        self._main.release()
        actor.gate.acquire()
        if actor.halt:
            raise _Halted

    def notify(self) -> None:
        """A run may have become due now: wake every worker waiting for work."""
        now = self.clock.now()
        for actor in self._actors.values():
            if actor.for_work and actor.alive and not actor.done and actor.paused_until is None:
                actor.for_work = False
                self._schedule(actor, now)

    def stepped(self, run: Any) -> None:
        """A worker finished an iteration: count it, show it, maybe stop claiming."""
        self.steps += 1
        if self.on_step is not None:
            self.on_step(run)
        if self.steps >= self.max_steps:
            self.runner._stopping.set()

    def any_worker_alive(self) -> bool:
        return any(a.alive and not a.done for a in self._actors.values())

    # ---- the scheduler (the caller's thread) ---------------------------------------------
    def _start(self, actor: _Actor, target: Callable[[], Any]) -> None:
        def body() -> None:
            self._local.actor = actor
            actor.gate.acquire()
            try:
                if not actor.halt:
                    target()
            except _Halted:
                pass
            except BaseException as exc:  # a KeyboardInterrupt in a task: stop, raise it
                self._error = exc
            finally:
                actor.done = True
                actor.wake = None
                self._main.release()

        actor.thread = threading.Thread(target=body, name=f"sim-{actor.name}", daemon=True)
        actor.thread.start()

    def _resume(self, actor: _Actor, timeout: float = -1) -> bool:
        actor.wake = None
        self._running = actor
        actor.gate.release()
        handed_back = self._main.acquire(timeout=timeout)
        if handed_back:
            self._running = None
        return handed_back

    def _next(self) -> _Actor | None:
        """The actor to resume next (stale heap items dropped), not yet popped."""
        heap = self._heap
        while heap:
            _, _, seq, actor = heap[0]
            if seq == actor.seq and actor.alive and not actor.done:
                return actor
            heapq.heappop(heap)
        return None

    def _finished(self) -> bool:
        """Nothing left for the workers: none is due to wake, and no run is
        held (a run held by a killed worker comes back once its lease ends,
        so the housekeeper goes on until then)."""
        if any(a.wake is not None and a.alive and not a.done for a in self._actors.values()):
            return False
        if self.runner._stopping.is_set() or not self.any_worker_alive():
            return True
        counts = self.runner.store.count_runs()
        if counts[Status.RUNNING] == 0:
            if counts[Status.PENDING]:
                log.warning("simulation: %d pending run(s) no worker could claim",
                            counts[Status.PENDING])
            return True
        return False

    def _ring(self, until: float) -> None:
        """Ring the clock's alarms and apply the faults due at or before ``until``."""
        alarms = self.clock._alarms
        while True:
            alarm_at = alarms[0][0] if alarms else None
            fault_at = self._faults[0].at if self._faults else None
            if alarm_at is not None and alarm_at <= until and (
                    fault_at is None or alarm_at <= fault_at):
                when, function = alarms.pop(0)
                self._set(when)
                function()
                self.notify()
            elif fault_at is not None and fault_at <= until:
                fault = self._faults.pop(0)
                self._set(fault.at)
                self._apply(fault)
            else:
                return

    def _set(self, when: float) -> None:
        when = max(when, self._end)  # simulated time never goes back
        self.clock.set(when)
        self._end = when

    def _apply(self, fault: Fault) -> None:
        actor = self._actors.get(fault.worker)
        if actor is None or not actor.alive or actor.done:
            return
        self.applied.append(fault)
        held = self.runner._held
        if fault.kind == "kill":
            actor.alive = False  # never resumed again: no further line, no write
            actor.seq += 1
            actor.wake = None
            held.pop(actor.name, None)  # nobody renews its lease any more
            return
        # pause: frozen until at + seconds (or its own wake-up, if that is later),
        # its lease renewals too
        until = round(fault.at + fault.seconds, 9)
        wake = until if actor.wake is None else max(actor.wake, until)
        actor.for_work = False
        actor.paused_until = until
        self._held_when_paused[actor.name] = held.pop(actor.name, None)
        self._schedule(actor, wake)

    def _unpause(self, actor: _Actor) -> None:
        """A paused worker wakes: its lease renewals go on if the run is still its own."""
        actor.paused_until = None
        run_id = self._held_when_paused.pop(actor.name, None)
        if run_id is None:
            return
        run = self.runner.store.get_run(run_id)
        if run.status is Status.RUNNING and run.worker == actor.name:
            self.runner._held[actor.name] = run_id

    def run(self, max_steps: int, on_step: Callable[[Any], Any] | None) -> int:
        """Simulate the pool until nothing is left (see the module docstring)."""
        runner, clock = self.runner, self.clock
        self.max_steps, self.on_step = max_steps, on_step
        if max_steps == 0:
            return 0
        runner._stopping.clear()
        clock._simulation = self
        now = clock.now()
        idle_resumes, last_steps = 0, 0
        try:
            for actor in self._actors.values():
                self._start(actor, lambda name=actor.name: runner._work(name))
                self._schedule(actor, now)
            self._start(self._house, runner._housekeep)
            self._schedule(self._house, now)
            while True:
                actor = self._next()
                if actor is None or self._finished():
                    break
                self._ring(self._heap[0][0])
                actor = self._next()  # a fault or an alarm may have changed who is next
                if actor is None:
                    continue
                when = heapq.heappop(self._heap)[0]
                if when > self._end or self.steps != last_steps:
                    idle_resumes, last_steps = 0, self.steps
                idle_resumes += 1
                if idle_resumes > self.MAX_IDLE_RESUMES:
                    raise RuntimeError(
                        f"simulation stuck at t={when}: {idle_resumes} wake-ups and no "
                        "iteration and no time passing (a bug in teachtasks: please report it)")
                self._set(when)
                if actor.paused_until is not None and when >= actor.paused_until:
                    self._unpause(actor)
                self._resume(actor)
                if self._error is not None:
                    raise self._error
        except BaseException:
            self._halt_running()
            raise
        finally:
            self._shutdown()
        return self.steps

    def _halt_running(self) -> None:
        """Ctrl+C (or a task's KeyboardInterrupt): give the worker that runs a
        moment to reach its next wait, then every thread is ended."""
        for actor in self._all():
            actor.halt = True
        if self._error is None and self._running is not None:
            if self._main.acquire(timeout=HALT_GRACE_SECONDS):
                self._running = None

    def _all(self) -> list[_Actor]:
        return [*self._actors.values(), self._house]

    def _shutdown(self) -> None:
        """End every thread still waiting; a killed worker's stays parked (it
        must never run another line). The clock stays at the latest moment
        the simulation reached."""
        self.runner._stopping.set()
        try:
            for actor in self._all():
                if actor.alive and not actor.done and actor.thread is not None:
                    actor.halt = True
                    self._resume(actor, timeout=HALT_GRACE_SECONDS)
        finally:
            self.clock._simulation = None
            self.clock.set(self._end)
            self.runner._stopping.clear()
