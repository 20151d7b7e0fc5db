"""Ready-made scenarios on a simulated clock, for pictures, notebooks and tests.

Why: a picture of the lifecycle is only worth looking at if the log has
something in it, and a saved notebook only stays true if the log is the same
every time. ``demo_manager()`` builds a small world where every kind of step
happens once or twice, on a ``SimulatedClock``, so it repeats to the last
digit; ``busy_manager()`` builds a big one (200 runs) to check that pictures
stay readable.

What ``demo_manager()`` contains (run ids are given in trigger order):

* ``run-1`` resize-image: worker-9 takes it and dies mid-run (simulated with an
  exception the runner does not catch, as a power cut would not be caught);
  its lease expires, the pool's housekeeping requeues it, another worker
  finishes it;
* ``run-2`` .. ``run-7`` send-email: successes; one fails once and succeeds on
  the retry; one fails three times and fails for good; one answers
  ``error()`` (a mailbox that does not exist);
* ``run-8`` import-rows: too long for one iteration's time budget; it saves a
  checkpoint with ``context.state`` and returns ``continue_()``, three times;
* ``run-9`` build-report: asked to abort while it runs (it calls
  ``tasks.abort`` on itself), notices ``is_aborted()`` and returns ``aborted()``;
* ``run-10`` send-email: triggered with a delay, aborted while still pending.
"""

from __future__ import annotations

import random

from ..clock import SimulatedClock
from ..context import Context
from ..controller import Controller, Response
from ..definition import RetryPolicy
from ..manager import TaskManager
from ..runner import Runner


class WorkerCrashed(BaseException):
    """Stands in for a worker process that dies in the middle of a run (a power
    cut, the machine is killed). It derives from ``BaseException`` so that the
    runner, which catches ``Exception``, does not catch it: the run is left
    held by a worker that will never come back, exactly as after a real crash."""


def _define(tasks: TaskManager) -> None:
    """The four task definitions of the demo."""

    @tasks.task("send-email", retry=RetryPolicy(max_attempts=3, backoff=1.0))
    def send_email(ctx: Context, ctl: Controller) -> Response:
        """Send one email. Input: n, and optionally fail_times or bounce."""
        data = ctx.input if isinstance(ctx.input, dict) else {}
        ctx.sleep(1.0 + 0.25 * (int(data.get("n", 0)) % 3))  # talking to the mail server
        if ctx.attempt <= int(data.get("fail_times", 0)):
            raise ConnectionError("the mail server did not answer")
        if data.get("bounce"):
            return ctl.response.error("mailbox does not exist")
        ctx.log.info(f"sent email {data.get('n')}")
        return ctl.response.done({"sent": True})

    @tasks.task("import-rows", budget_seconds=4.0, max_iterations=10)
    def import_rows(ctx: Context, ctl: Controller) -> Response:
        """Import ``total`` rows, 0.5 s each, in as many iterations as it takes."""
        total = int(ctx.input["total"]) if isinstance(ctx.input, dict) else 10
        row = int(ctx.state.get("row", 0))  # type: ignore[arg-type]
        while row < total:
            if ctl.is_close_to_timeout():
                ctx.state.set("row", row)  # the checkpoint: where the next iteration starts
                ctx.log.info(f"time budget nearly used up at row {row}; continuing")
                return ctl.response.continue_()
            ctx.sleep(0.5)
            row += 1
            ctl.progress(row, total, f"{row} of {total} rows")
        return ctl.response.done({"rows": total})

    @tasks.task("build-report")
    def build_report(ctx: Context, ctl: Controller) -> Response:
        """Build a report in four parts; checks for an abort between parts."""
        data = ctx.input if isinstance(ctx.input, dict) else {}
        for part in range(1, 5):
            ctx.sleep(1.0)
            ctl.progress(part, 4, f"part {part} of 4")
            if part == data.get("abort_after"):
                tasks.abort(ctx.run.id)  # as if a user pressed "cancel" right now
            if ctl.is_aborted():
                ctx.log.warning(f"abort requested; stopping after part {part}")
                return ctl.response.aborted()
        return ctl.response.done({"pages": 4})

    @tasks.task("resize-image", budget_seconds=10.0)
    def resize_image(ctx: Context, ctl: Controller) -> Response:
        """Resize an image; the worker named in ``crash_on`` dies halfway."""
        data = ctx.input if isinstance(ctx.input, dict) else {}
        ctx.sleep(0.5)
        ctl.progress(0.5, message="half resized")
        if ctx.worker == data.get("crash_on"):
            raise WorkerCrashed(f"{ctx.worker} lost power")
        ctx.sleep(1.0)
        return ctl.response.done({"size": [800, 600]})


def demo_manager(*, workers: int = 3) -> TaskManager:
    """A ``TaskManager`` on a ``SimulatedClock`` whose lifecycle log has
    successes, retries, an error, a continue with checkpoint, an abort of a
    pending and of a running run, and a requeue after an expired lease (see the
    module's docstring). Every run is final when it returns; the same call
    gives the same log every time."""
    clock = SimulatedClock()
    tasks = TaskManager(clock=clock)
    _define(tasks)

    # t=0: everything is triggered
    tasks.trigger("resize-image", {"image": "cat.png", "crash_on": "worker-9"})
    emails: list[dict[str, object]] = [
        {"n": 0}, {"n": 1}, {"n": 2, "fail_times": 1}, {"n": 3}, {"n": 4, "fail_times": 3},
        {"n": 5, "bounce": True},
    ]
    for email in emails:
        tasks.trigger("send-email", email)
    tasks.trigger("import-rows", {"total": 16})
    tasks.trigger("build-report", {"abort_after": 2})
    late = tasks.trigger("send-email", {"n": 6}, delay=5.0)

    # worker-9 comes up first, takes run-1 and dies halfway through it
    lonely = Runner(tasks, workers=1, lease_seconds=2.0)
    try:
        lonely.step("worker-9")
    except WorkerCrashed:
        pass

    # the user changes their mind about the delayed email: it is still pending
    tasks.abort(late.id)

    # the pool starts; its housekeeping requeues run-1 once worker-9's lease has expired
    pool = Runner(tasks, workers=workers, lease_seconds=4.0)
    pool.run_until_idle()
    while tasks.list_runs(status="running", limit=1):
        # the pool ran out of work before the lease expired: requeue by hand
        clock.advance(2.5)
        tasks.store.requeue_expired(clock.now())
        pool.run_until_idle()
    return tasks


def busy_manager(*, runs: int = 200, workers: int = 8, waves: int = 8, seed: int = 7) -> TaskManager:
    """A ``TaskManager`` on a ``SimulatedClock`` after a planner run triggered
    ``runs`` jobs in ``waves`` waves, four seconds apart (it triggers a wave,
    then ``continue_(delay=4)``), and ``workers`` workers worked through them:
    most succeed, some retry, a few fail or take two iterations. For checking
    that pictures stay readable with many runs. Deterministic for a ``seed``."""
    clock = SimulatedClock()
    tasks = TaskManager(clock=clock)

    @tasks.task("job", retry=RetryPolicy(max_attempts=2, backoff=0.5), budget_seconds=3.0)
    def job(ctx: Context, ctl: Controller) -> Response:
        """One unit of work; its input says how long it takes and how it goes."""
        data = ctx.input if isinstance(ctx.input, dict) else {}
        ctx.sleep(float(data["seconds"]))  # type: ignore[arg-type]
        if ctx.attempt <= int(data.get("fail_times", 0)):  # type: ignore[arg-type]
            raise TimeoutError("the API timed out")
        if int(data.get("parts", 1)) > ctx.iteration:  # type: ignore[arg-type]
            return ctl.response.continue_()
        return ctl.response.done(None)

    @tasks.task("plan-waves", max_iterations=1000)
    def plan(ctx: Context, ctl: Controller) -> Response:
        """Trigger one wave of jobs per iteration, four seconds apart."""
        wave = ctx.iteration - 1
        rng = random.Random(f"{seed}:{wave}")
        size = runs // waves + (1 if wave < runs % waves else 0)
        for _ in range(size):
            roll = rng.random()
            spec: dict[str, object] = {"seconds": round(rng.uniform(0.3, 2.0), 2)}
            if roll < 0.06:
                spec["fail_times"] = 2  # fails for good
            elif roll < 0.18:
                spec["fail_times"] = 1  # fails once, then the retry works
            elif roll < 0.26:
                spec["parts"] = 2  # needs two iterations
            ctx.trigger("job", spec)
        ctx.sleep(0.1)
        if wave + 1 < waves:
            return ctl.response.continue_(delay=4.0)
        return ctl.response.done({"waves": waves})

    tasks.trigger("plan-waves")
    Runner(tasks, workers=workers).run_until_idle()
    return tasks
