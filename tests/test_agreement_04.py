"""Notebook 04 builds a context live; the library has ``teachtasks.Context``.
The same run functions, run by the notebook's tiny runner and by the library's
``Runner``, must write the same log lines at the same simulated times, save
the same state, report the same progress and start the same children."""

from __future__ import annotations

from typing import Any

import pytest
from notebook_cells import live_namespace

from teachtasks import RetryPolicy, Runner, SimulatedClock, TaskManager

NOTEBOOK = "04_the_context.ipynb"


@pytest.fixture
def live() -> dict[str, Any]:
    """The notebook's live version, with a fresh store and clock."""
    ns = live_namespace(NOTEBOOK)
    ns["runs"].clear()
    ns["clock"] = SimulatedClock()
    return ns


def library(**services: Any) -> TaskManager:
    return TaskManager(clock=SimulatedClock(), services=services)


def import_rows(ctx: Any, report: Any) -> Any:
    """Logs, sleeps, keeps a running total in the state, reports progress, and
    changes its own copy of the input (which must not leak into the run)."""
    rows = list(ctx.input["rows"])
    for done, row in enumerate(rows, start=1):
        ctx.sleep(0.5)
        ctx.log.info(f"imported {row} at t={ctx.now():g}")
        ctx.state.set("total", ctx.state.get("total", 0) + len(row))
        report(done, len(rows))
    ctx.input["rows"].append("not saved")
    return {"rows": len(rows), "total": ctx.state.get("total")}


def test_the_context_itself_is_built_live(live: dict[str, Any]) -> None:
    ctx_class = live["Context"]
    for name in ("now", "sleep", "progress", "trigger"):
        assert callable(getattr(ctx_class, name)), name
    run_id = live["start_run"]("nothing", {"a": [1]})
    ctx = ctx_class(live["runs"][run_id])
    assert ctx.run_id == run_id
    assert ctx.input == {"a": [1]}
    ctx.input["a"].append(2)
    assert live["runs"][run_id]["input"] == {"a": [1]}, "the context's input must be a copy"


def test_same_logs_state_progress_and_output(live: dict[str, Any]) -> None:
    rows = {"rows": ["apple", "banana", "cherry", "damson"]}

    live["TASKS"]["import-rows"] = lambda ctx: import_rows(ctx, ctx.progress)
    mine = live["start_run"]("import-rows", rows)
    live["execute"](mine)
    record = live["runs"][mine]

    tasks = library()
    tasks.task("import-rows")(lambda ctx, ctl: import_rows(ctx, ctl.progress))
    theirs = tasks.trigger("import-rows", rows)
    Runner(tasks).run_until_idle()
    final = tasks.get_run(theirs.id)

    assert record["logs"] == [(line.time, line.message) for line in tasks.logs(theirs.id)]
    assert record["logs"][-1] == (2.0, "imported damson at t=2")
    assert record["state"] == final.state == {"total": 23}
    assert record["progress"] == final.progress == 1.0
    assert record["output"] == final.output == {"rows": 4, "total": 23}
    assert record["input"] == final.input == rows
    assert record["status"] == final.status.value == "success"


def test_progress_reports_agree(live: dict[str, Any]) -> None:
    heard: list[tuple[int, int]] = []
    live["progress_listeners"].append(lambda run_id, done, total: heard.append((done, total)))
    live["TASKS"]["import-rows"] = lambda ctx: import_rows(ctx, ctx.progress)
    live["execute"](live["start_run"]("import-rows", {"rows": ["a", "b", "c"]}))

    tasks = library()
    tasks.task("import-rows")(lambda ctx, ctl: import_rows(ctx, ctl.progress))
    run = tasks.trigger("import-rows", {"rows": ["a", "b", "c"]})
    Runner(tasks).run_until_idle()
    reported = [(e.detail["done"], e.detail["total"]) for e in tasks.lifecycle(run.id)
                if e.step.value == "progress"]
    assert heard == reported == [(1, 3), (2, 3), (3, 3)]


class FlakyServer:
    """Fails once, on the given call."""

    def __init__(self, fail_on: int) -> None:
        self.fail_on, self.calls, self.outbox = fail_on, 0, []

    def send(self, to: str) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise ConnectionError("the mail server hung up")
        self.outbox.append(to)


def send_batch(ctx: Any, server: FlakyServer) -> Any:
    recipients = ctx.input["to"]
    for i in range(ctx.state.get("next", 0), len(recipients)):
        server.send(recipients[i])
        ctx.state.set("next", i + 1)
    return {"sent": len(recipients)}


def test_state_survives_a_second_iteration(live: dict[str, Any]) -> None:
    """The notebook runs the batch twice by hand; the library retries it. Both
    pick up at the checkpoint, so nobody gets an email twice."""
    people = {"to": ["ann", "ben", "cid", "dan", "eve"]}

    mine_server = FlakyServer(fail_on=4)
    live["TASKS"]["send-batch"] = lambda ctx: send_batch(ctx, mine_server)
    mine = live["start_run"]("send-batch", people)
    with pytest.raises(ConnectionError):
        live["execute"](mine)
    assert live["runs"][mine]["state"] == {"next": 3}
    live["execute"](mine)

    their_server = FlakyServer(fail_on=4)
    tasks = library()
    tasks.task("send-batch", retry=RetryPolicy(max_attempts=2, backoff=0, jitter=0))(
        lambda ctx, ctl: send_batch(ctx, their_server))
    theirs = tasks.trigger("send-batch", people)
    Runner(tasks).run_until_idle()
    final = tasks.get_run(theirs.id)

    assert mine_server.outbox == their_server.outbox == people["to"]
    assert live["runs"][mine]["state"] == final.state == {"next": 5}
    assert live["runs"][mine]["output"] == final.output
    assert final.attempt == 2


def test_children_agree(live: dict[str, Any]) -> None:
    files = ["a.csv", "b.csv", "c.csv"]

    def folder(ctx: Any) -> Any:
        ids = [ctx.trigger("import-file", {"file": name}) for name in files]
        ctx.log.info(f"started {len(ids)} children")
        return {"files": len(files)}

    def one_file(ctx: Any) -> Any:
        ctx.sleep(1)
        ctx.log.info(f"imported {ctx.input['file']}")
        return {"file": ctx.input["file"]}

    live["TASKS"].update({"import-folder": folder, "import-file": one_file})
    parent = live["start_run"]("import-folder", {})
    live["run_all"]()
    mine = [live["runs"][child] for child in live["children_of"](parent)]

    tasks = library()
    tasks.task("import-folder")(lambda ctx, ctl: folder(ctx))
    tasks.task("import-file")(lambda ctx, ctl: one_file(ctx))
    run = tasks.trigger("import-folder")
    Runner(tasks, workers=1).run_until_idle()
    theirs = list(reversed(tasks.children(run.id)))  # oldest first, as the notebook's

    assert [c["input"] for c in mine] == [c.input for c in theirs] == [
        {"file": f} for f in files]
    assert [c["output"] for c in mine] == [c.output for c in theirs]
    assert {c["parent_id"] for c in mine} == {parent}
    assert {c.parent_id for c in theirs} == {run.id}
    assert [c["status"] for c in mine] == [c.status.value for c in theirs] == ["success"] * 3
    assert [m for _, m in live["runs"][parent]["logs"]] == [
        line.message for line in tasks.logs(run.id)]
    # one worker: the children run one after the other, on both
    assert [c["logs"] for c in mine] == [
        [(line.time, line.message) for line in tasks.logs(c.id)] for c in theirs]
