"""Checks for notebook 04, "The context".

* 04.1 ``log_and_progress(ctx, ctl)``: one log line and one progress report per item.
* 04.2 ``import_folder_task(ctx, ctl)``: a parent run that triggers one child per file.
* 04.3 ``remind_all(ctx, ctl)``: a run that uses the mailer the manager hands it in
  ``ctx.services``.

Every check runs the learner's function the way the course does: in a fresh
``TaskManager`` and ``Runner`` on a ``SimulatedClock``, then reads the run's
record, its log and its lifecycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import NotSolved, exercise


def run_task(
    run_function: Any,
    input: Any = None,  # noqa: A002
    *,
    services: Mapping[str, Any] | None = None,
    define: Callable[[Any], None] | None = None,
    clock: Any = None,
    **options: Any,
) -> tuple[Any, Any]:
    """Register ``run_function`` as the task ``"exercise"`` in a fresh manager on
    a simulated clock (``clock``, or a new ``SimulatedClock``), trigger it with
    ``input``, run until idle, and return ``(manager, final run)``.
    ``define(manager)`` may register helper tasks; ``options`` go to the
    definition (``budget_seconds``, ``retry``...)."""
    from .. import Runner, SimulatedClock, TaskDefinition, TaskManager

    if not callable(run_function):
        raise NotSolved("write a function: def name(ctx, ctl): ...")
    tasks = TaskManager(clock=clock if clock is not None else SimulatedClock(),
                        services=services)
    if define is not None:
        define(tasks)
    tasks.register(TaskDefinition("exercise", run_function, **options))
    run = tasks.trigger("exercise", input)
    Runner(tasks, workers=1).run_until_idle(max_steps=10_000)
    return tasks, tasks.get_run(run.id)


def expect_success(run: Any) -> None:
    """Raise NotImplementedError for an untouched stub, NotSolved for any other
    way the run did not succeed."""
    if run.error and run.error.get("type") == "NotImplementedError":
        raise NotImplementedError
    if run.status.value != "success":
        detail = f" ({run.error['type']}: {run.error['message']})" if run.error else ""
        raise NotSolved(f"the run ended {run.status.value}{detail}, not success")


# ---- 04.1 one log line and one progress report per item -------------------------------


@exercise("04.1", solution="log_and_progress")
def check_log_and_progress(log_and_progress: Any) -> str:
    from ..run import Step

    for items in (["a.csv", "b.csv", "c.csv", "d.csv"], ["x", "y"]):
        tasks, run = run_task(log_and_progress, {"items": items})
        expect_success(run)
        n = len(items)
        lines = [line.message for line in tasks.logs(run.id)]
        want = [f"processed {item}" for item in items]
        if len(lines) != n:
            raise NotSolved(f"with {n} items the run wrote {len(lines)} log line(s); "
                            f"expected one per item: {want}")
        if lines != want:
            raise NotSolved(f"the log lines were {lines}; expected {want}")
        took = run.finished_at - run.started_at
        if took != n:
            raise NotSolved(f"{n} items should take {n} simulated seconds (ctx.sleep(1) "
                            f"for each), the run took {took:g}")
        reports = [e.detail for e in tasks.lifecycle(run.id) if e.step is Step.PROGRESS]
        if len(reports) != n:
            raise NotSolved(f"with {n} items the run reported progress {len(reports)} "
                            "time(s); call ctl.progress(done, total) once per item")
        fractions = [r["fraction"] for r in reports]
        wanted = [round(done / n, 6) for done in range(1, n + 1)]
        if fractions != wanted:
            raise NotSolved(f"the progress reported was {fractions}; expected {wanted}: "
                            "ctl.progress(done, total) after each item, done counting from 1")
        if run.output != {"count": n}:
            raise NotSolved(f"the output was {run.output!r}; expected {{'count': {n}}}")
    return "one line and one progress report per item, one second each"


# ---- 04.2 one child run per file -----------------------------------------------------------


def _define_import_file(tasks: Any) -> None:
    @tasks.task("import-file")
    def import_file(ctx: Any, ctl: Any) -> Any:
        ctx.sleep(1)
        ctx.log.info(f"imported {ctx.input['file']}")
        return ctl.response.done({"file": ctx.input["file"]})


@exercise("04.2", solution="import_folder_task")
def check_import_folder_task(import_folder_task: Any) -> str:
    for files in (["a.csv", "b.csv", "c.csv"], ["report.xlsx", "photos.zip"]):
        tasks, run = run_task(import_folder_task, {"files": files}, define=_define_import_file)
        expect_success(run)
        children = list(reversed(tasks.children(run.id)))  # oldest first
        if len(children) != len(files):
            raise NotSolved(f"with {len(files)} files the run started {len(children)} child "
                            "run(s); trigger one per file with ctx.trigger(...)")
        kinds = sorted({child.definition_id for child in children})
        if kinds != ["import-file"]:
            raise NotSolved(f"the children ran {kinds}; trigger the task 'import-file'")
        inputs = [child.input for child in children]
        want = [{"file": name} for name in files]
        if inputs != want:
            raise NotSolved(f"the children's inputs were {inputs}; expected {want}, in order")
        failed = [child.id for child in children if child.status.value != "success"]
        if failed:
            raise NotSolved(f"children {failed} did not succeed")
        ids = [child.id for child in children]
        if run.output != {"children": ids}:
            raise NotSolved(f"the output was {run.output!r}; expected {{'children': {ids}}} "
                            "(ctx.trigger returns the child run: take its .id)")
    return "one child per file, each linked to its parent by parent_id"


# ---- 04.3 the mailer from ctx.services -----------------------------------------------------


class RecordingMailer:
    """A fake mailer that remembers every ``send(to, text)``."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, Any]] = []

    def send(self, to: Any, text: Any) -> None:
        self.sent.append((to, text))


@exercise("04.3", solution="remind_all")
def check_remind_all(remind_all: Any) -> str:
    cases = ((["ann", "ben", "cid"], "Meeting at 3"), (["dan"], "Your order has shipped"))
    for people, text in cases:
        mailer = RecordingMailer()
        _, run = run_task(remind_all, {"to": people, "text": text},
                          services={"mailer": mailer})
        expect_success(run)
        want = [(person, text) for person in people]
        if not mailer.sent:
            raise NotSolved("the mailer in ctx.services received nothing; send with "
                            "ctx.services['mailer'].send(to, text)")
        if mailer.sent != want:
            raise NotSolved(f"the mailer received {mailer.sent}; expected {want}")
        if run.output != {"sent": len(people)}:
            raise NotSolved(f"the output was {run.output!r}; expected {{'sent': {len(people)}}}")
    return "every reminder went through the mailer the manager handed in"


__all__ = ["RecordingMailer", "check_import_folder_task", "check_log_and_progress",
           "check_remind_all", "expect_success", "run_task"]
