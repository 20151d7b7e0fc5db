"""Notebook 05 builds the four responses and a loop that obeys them; the library
has ``ctl.response`` and ``Runner``. For the same run function, both must end
in the same status after the same number of iterations, with the same output,
the same kind of error, and (for the checkpointing batch and the abort) the
same emails sent at the same simulated times."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
from notebook_cells import live_namespace

from teachtasks import Runner, SimulatedClock, TaskManager
from teachtasks.exercises.nb05 import ClockMailer, ClockWithAlarms

NOTEBOOK = "05_the_controller.ipynb"


@pytest.fixture(scope="module")
def live() -> dict[str, Any]:
    # live_namespace() compiles the cells without dont_inherit=True, so they
    # inherit notebook_cells.py's `from __future__ import annotations`; then
    # @dataclass looks the cells' module up in sys.modules to read the (now
    # string) annotations. Give it a module to find.
    name = "live_" + NOTEBOOK.removesuffix(".ipynb")
    sys.modules.setdefault(name, types.ModuleType(name))
    return live_namespace(NOTEBOOK)


def live_run(live: dict[str, Any], run_function: Any, input: Any = None,  # noqa: A002
             *, clock: Any = None, **limits: Any) -> dict[str, Any]:
    """Run ``run_function`` to the end on the notebook's loop."""
    live["clock"] = clock if clock is not None else SimulatedClock()
    run = live["new_run"]({} if input is None else input)
    return live["run_to_end"](run, run_function, **limits)


def library_run(run_function: Any, input: Any = None, *, clock: Any = None,  # noqa: A002
                services: dict[str, Any] | None = None, **limits: Any) -> tuple[Any, Any]:
    tasks = TaskManager(clock=clock if clock is not None else SimulatedClock(),
                        services=services)
    tasks.task("t", **limits)(run_function)
    run = tasks.trigger("t", {} if input is None else input)
    Runner(tasks).run_until_idle()
    return tasks, tasks.get_run(run.id)


def error_text(run: Any) -> str | None:
    """The library's error in the notebook's words: "Type: message", or just
    the message for an ``error()`` the run answered itself."""
    if run.error is None:
        return None
    if run.error["type"] == "Error":
        return run.error["message"]
    return f"{run.error['type']}: {run.error['message']}"


def finishes(ctx: Any, ctl: Any) -> Any:
    return ctl.response.done({"rows": 3})


def needs_three_goes(ctx: Any, ctl: Any) -> Any:
    if ctx.iteration < 3:
        return ctl.response.continue_()
    return ctl.response.done({"iterations": ctx.iteration})


def counts_down(ctx: Any, ctl: Any) -> Any:
    if ctx.input["n"] > 0:
        return ctl.response.continue_({"n": ctx.input["n"] - 1})
    return ctl.response.done({"at": ctx.iteration})


def remembers(ctx: Any, ctl: Any) -> Any:
    ctx.state.set("seen", [*ctx.state.get("seen", []), ctx.iteration])
    if ctx.iteration < 4:
        return ctl.response.continue_()
    return ctl.response.done(ctx.state.get("seen"))


def knows_it_failed(ctx: Any, ctl: Any) -> Any:
    return ctl.response.error("the file is not a CSV")


def was_asked_to_stop(ctx: Any, ctl: Any) -> Any:
    return ctl.response.aborted()


def never_finishes(ctx: Any, ctl: Any) -> Any:
    return ctl.response.continue_()


def returns_plainly(ctx: Any, ctl: Any) -> Any:
    return {"plain": True}


def raises(ctx: Any, ctl: Any) -> Any:
    raise ValueError("boom")


@pytest.mark.parametrize("run_function", [
    finishes, needs_three_goes, counts_down, remembers, knows_it_failed, was_asked_to_stop,
    never_finishes, returns_plainly, raises,
], ids=lambda f: f.__name__)
def test_every_response_kind_agrees(live: dict[str, Any], run_function: Any) -> None:
    start = {"n": 3}
    mine = live_run(live, run_function, start, max_iterations=5)
    _, theirs = library_run(run_function, start, max_iterations=5)
    assert mine["status"] == theirs.status.value
    assert mine["iterations"] == theirs.iterations
    assert mine["output"] == theirs.output
    assert mine["error"] == error_text(theirs)
    assert dict(mine["state"]) == theirs.state


def test_the_responses_are_the_notebooks_classes(live: dict[str, Any]) -> None:
    responses = live["Responses"]()
    assert responses.done({"x": 1}) == live["Done"]({"x": 1})
    assert isinstance(responses.continue_(), live["Continue"])
    assert responses.error("why").message == "why"
    assert isinstance(responses.aborted(), live["Aborted"])


READERS = [f"reader-{n:03d}@example.com" for n in range(1, 101)]


def send_all(ctx: Any, ctl: Any) -> Any:
    for to in ctx.input["to"]:
        ctx.services["mailer"].send(to)
    return ctl.response.done({"sent": len(ctx.input["to"])})


def send_in_pieces(ctx: Any, ctl: Any) -> Any:
    to = ctx.input["to"]
    start = ctx.state.get("next", 0)
    for i in range(start, len(to)):
        if ctl.is_close_to_timeout():
            ctx.state.set("next", i)
            return ctl.response.continue_()
        ctx.services["mailer"].send(to[i])
    return ctl.response.done({"sent": len(to)})


def test_a_batch_over_its_budget_fails_on_both(live: dict[str, Any]) -> None:
    clock = SimulatedClock()
    mine = live_run(live, send_all, {"to": READERS}, clock=clock, budget_seconds=30,
                    services={"mailer": ClockMailer(clock)})
    clock = SimulatedClock()
    _, theirs = library_run(send_all, {"to": READERS}, clock=clock, budget_seconds=30,
                            services={"mailer": ClockMailer(clock)})
    assert mine["status"] == theirs.status.value == "failed"
    assert mine["iterations"] == theirs.iterations == 1
    assert theirs.error["type"] == "TimeBudgetExceededError"
    assert mine["error"].startswith(
        "TimeBudgetExceededError: iteration 1 took 100s, over its 30s budget")


def test_the_checkpointing_batch_agrees(live: dict[str, Any]) -> None:
    clock = SimulatedClock()
    mine_mailer = ClockMailer(clock)
    mine = live_run(live, send_in_pieces, {"to": READERS}, clock=clock, budget_seconds=30,
                    services={"mailer": mine_mailer})
    clock = SimulatedClock()
    their_mailer = ClockMailer(clock)
    tasks, theirs = library_run(send_in_pieces, {"to": READERS}, clock=clock,
                                budget_seconds=30, services={"mailer": their_mailer})
    assert mine["status"] == theirs.status.value == "success"
    assert mine["iterations"] == theirs.iterations == 5
    assert dict(mine["state"]) == theirs.state == {"next": 96}
    assert mine["output"] == theirs.output == {"sent": 100}
    assert mine_mailer.sent == their_mailer.sent          # same emails, same times
    assert [to for _, to in their_mailer.sent] == READERS  # each exactly once, in order
    continued = [e.time for e in tasks.lifecycle(theirs.id) if e.step.value == "continued"]
    assert continued == [24.0, 48.0, 72.0, 96.0]


def send_checking(ctx: Any, ctl: Any) -> Any:
    to, start = ctx.input["to"], ctx.state.get("next", 0)
    for i in range(start, min(start + 10, len(to))):
        if ctl.is_aborted():
            return ctl.response.aborted()
        ctx.services["mailer"].send(to[i])
        ctx.state.set("next", i + 1)
    return ctl.response.continue_() if ctx.state["next"] < len(to) else ctl.response.done()


def send_not_checking(ctx: Any, ctl: Any) -> Any:
    to, start = ctx.input["to"], ctx.state.get("next", 0)
    for i in range(start, min(start + 10, len(to))):
        ctx.services["mailer"].send(to[i])
        ctx.state.set("next", i + 1)
    return ctl.response.continue_() if ctx.state["next"] < len(to) else ctl.response.done()


@pytest.mark.parametrize("cancel_at", [None, 5, 13])
@pytest.mark.parametrize("run_function", [send_checking, send_not_checking],
                         ids=lambda f: f.__name__)
def test_abort_agrees(live: dict[str, Any], run_function: Any, cancel_at: int | None) -> None:
    clock = ClockWithAlarms()
    mine_mailer = ClockMailer(clock)
    live["clock"] = clock
    mine = live["new_run"]({"to": READERS[:20]})
    if cancel_at is not None:
        clock.at(cancel_at, lambda: live["abort"](mine))
    live["run_to_end"](mine, run_function, services={"mailer": mine_mailer})
    mine_end = clock.now()

    clock = ClockWithAlarms()
    their_mailer = ClockMailer(clock)
    tasks = TaskManager(clock=clock, services={"mailer": their_mailer})
    tasks.task("send-20")(run_function)
    run = tasks.trigger("send-20", {"to": READERS[:20]})
    if cancel_at is not None:
        clock.at(cancel_at, lambda: tasks.abort(run.id))
    Runner(tasks).run_until_idle()
    theirs = tasks.get_run(run.id)

    assert mine["status"] == theirs.status.value
    assert mine["iterations"] == theirs.iterations
    assert mine_end == theirs.finished_at
    assert mine_mailer.sent == their_mailer.sent
    # (status, finished at, emails sent): the run that checks stops at once; the
    # one that does not is stopped when its iteration ends, unless that
    # iteration finishes the job: done() wins, the work is done
    expected = {
        (send_checking, None): ("success", 20, 20), (send_not_checking, None): ("success", 20, 20),
        (send_checking, 5): ("aborted", 5, 5), (send_not_checking, 5): ("aborted", 10, 10),
        (send_checking, 13): ("aborted", 13, 13), (send_not_checking, 13): ("success", 20, 20),
    }[(run_function, cancel_at)]
    assert (theirs.status.value, theirs.finished_at, len(their_mailer.sent)) == expected
