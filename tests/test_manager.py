"""The management API, and at least 15 bad inputs that each raise a named
error and leave the store exactly as it was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from conftest import snapshot

from teachtasks import (
    DefinitionInUseError,
    DuplicateDefinitionError,
    IllegalTransitionError,
    InputValidationError,
    InvalidArgumentError,
    InvalidDefinitionError,
    PayloadNotJSONError,
    Runner,
    RunNotFoundError,
    SimulatedClock,
    Status,
    Step,
    TaskDefinition,
    TaskManager,
    TriggerRefusedError,
    UnknownDefinitionError,
)


def make() -> TaskManager:
    tasks = TaskManager(clock=SimulatedClock())

    def needs_email(payload: object) -> None:
        if not isinstance(payload, dict) or "@" not in str(payload.get("email", "")):
            raise ValueError("input needs an 'email' with an @")

    @tasks.task("welcome", events=["user.signed_up"], validate=needs_email)
    def welcome(ctx, ctl):  # noqa: ANN001, ANN202
        ctx.sleep(1)
        return ctl.response.done({"to": ctx.input["email"]})

    @tasks.task("audit", events=["user.signed_up", "user.deleted"])
    def audit(ctx, ctl):  # noqa: ANN001, ANN202
        return None

    @tasks.task("guarded", on_before_trigger=lambda payload: payload != "no")
    def guarded(ctx, ctl):  # noqa: ANN001, ANN202
        return None

    return tasks


def test_trigger_returns_a_pending_run_at_once() -> None:
    tasks = make()
    run = tasks.trigger("welcome", {"email": "ada@example.com"})
    assert run.status is Status.PENDING and run.id == "run-1" and run.input == {"email": "ada@example.com"}
    assert [e.step for e in tasks.lifecycle(run.id)] == [Step.TRIGGERED]
    assert tasks.get_run(run.id) == run


def test_emit_creates_one_run_per_listening_definition() -> None:
    tasks = make()
    runs = tasks.emit("user.signed_up", {"email": "ada@example.com"})
    assert [r.definition_id for r in runs] == ["welcome", "audit"]
    assert [r.definition_id for r in tasks.emit("user.deleted", {"id": 3})] == ["audit"]
    assert tasks.emit("nobody.listens", {}) == []


def test_emit_records_a_refusal_and_still_starts_the_others() -> None:
    tasks = make()
    runs = tasks.emit("user.signed_up", {"name": "no email"})
    assert [r.definition_id for r in runs] == ["audit"]
    assert tasks.refusals[-1].definition_id == "welcome"
    assert "email" in tasks.refusals[-1].reason


def test_idempotency_key_returns_the_same_run() -> None:
    tasks = make()
    first = tasks.trigger("audit", {"n": 1}, idempotency_key="order-42")
    again = tasks.trigger("audit", {"n": 2}, idempotency_key="order-42")
    assert again.id == first.id and again.input == {"n": 1}
    assert len(tasks.list_runs()) == 1


def test_list_filter_and_pages() -> None:
    tasks = make()
    for i in range(5):
        tasks.trigger("audit", {"i": i})
    parent = tasks.trigger("audit", {"i": "parent"})
    child = tasks.trigger("guarded", None, parent_id=parent.id)
    assert [r.input["i"] for r in tasks.list_runs(definition_id="audit", limit=2)] == ["parent", 4]
    assert [r.input["i"] for r in tasks.list_runs(definition_id="audit", limit=2, offset=2)] == [3, 2]
    assert tasks.children(parent.id) == [child]
    assert tasks.list_runs(status="success") == []
    assert len(tasks.list_runs(status=Status.PENDING)) == 7
    assert tasks.count_runs()[Status.PENDING] == 7


def test_abort_pending_is_immediate_and_fires_on_abort() -> None:
    seen = []
    tasks = make()
    tasks.update_definition("audit", on_abort=lambda run: seen.append(run.status))
    run = tasks.trigger("audit")
    aborted = tasks.abort(run.id)
    assert aborted.status is Status.ABORTED and seen == [Status.ABORTED]
    assert [e.step for e in tasks.lifecycle(run.id)][-2:] == [Step.ABORT_REQUESTED, Step.FINISHED]
    Runner(tasks).run_until_idle()
    assert tasks.get_run(run.id).status is Status.ABORTED  # the runner never ran it


def test_retrigger_and_cleanup() -> None:
    tasks = make()

    @tasks.task("boom")
    def boom(ctx, ctl):  # noqa: ANN001, ANN202
        raise RuntimeError("disk full")

    failed = tasks.trigger("boom", {"file": "a.csv"})
    ok = tasks.trigger("audit")
    Runner(tasks).run_until_idle()
    assert tasks.get_run(failed.id).status is Status.FAILED
    again = tasks.retrigger(failed.id)
    assert again.id != failed.id and again.input == {"file": "a.csv"}
    with pytest.raises(InvalidArgumentError, match="only failed or aborted"):
        tasks.retrigger(ok.id)
    tasks.clock.advance(100)
    assert tasks.cleanup(older_than=50) == 2  # failed + ok; the new pending one stays
    assert [r.id for r in tasks.list_runs()] == [again.id]
    with pytest.raises(RunNotFoundError):
        tasks.logs(failed.id)


def test_definition_crud() -> None:
    tasks = make()
    assert [d.id for d in tasks.list_definitions()] == ["audit", "guarded", "welcome"]
    updated = tasks.update_definition("audit", title="Audit trail", events=("user.deleted",))
    assert updated.title == "Audit trail"
    assert tasks.store.get_definition("audit").title == "Audit trail"
    assert [r.definition_id for r in tasks.emit("user.signed_up", {"email": "a@b"})] == ["welcome"]
    run = tasks.trigger("guarded")
    with pytest.raises(DefinitionInUseError):
        tasks.delete_definition("guarded")
    tasks.abort(run.id)
    tasks.delete_definition("guarded")
    with pytest.raises(UnknownDefinitionError):
        tasks.get_definition("guarded")


def noop(ctx, ctl):  # noqa: ANN001, ANN201
    return None


BAD_CALLS: list[tuple[str, Callable[[TaskManager], object], type[Exception], str]] = [
    ("unknown definition", lambda t: t.trigger("nope"), UnknownDefinitionError, "Known definitions"),
    ("duplicate id", lambda t: t.register(TaskDefinition("audit", noop)), DuplicateDefinitionError,
     "already exists"),
    ("bad id", lambda t: t.task("9lives")(noop), InvalidDefinitionError, "not valid"),
    ("input not JSON", lambda t: t.trigger("audit", {"at": dt.datetime(2024, 1, 1)}),
     PayloadNotJSONError, r"input\['at'\] is a datetime"),
    ("event payload not JSON", lambda t: t.emit("user.deleted", {"ids": {1, 2}}),
     PayloadNotJSONError, "is a set"),
    ("input fails validation", lambda t: t.trigger("welcome", {"email": "nope"}),
     InputValidationError, "needs an 'email'"),
    ("trigger refused", lambda t: t.trigger("guarded", "no"), TriggerRefusedError, "returned False"),
    ("negative delay", lambda t: t.trigger("audit", delay=-1), InvalidArgumentError, "delay"),
    ("unknown parent", lambda t: t.trigger("audit", parent_id="run-999"), RunNotFoundError,
     "run-999"),
    ("empty idempotency key", lambda t: t.trigger("audit", idempotency_key=""),
     InvalidArgumentError, "idempotency_key"),
    ("get unknown run", lambda t: t.get_run("run-404"), RunNotFoundError, "no run with id"),
    ("abort unknown run", lambda t: t.abort("run-404"), RunNotFoundError, "no run with id"),
    ("abort finished run", lambda t: t.abort("run-2"), IllegalTransitionError, "it is final"),
    ("negative limit", lambda t: t.list_runs(limit=-1), InvalidArgumentError, "limit"),
    ("huge limit", lambda t: t.list_runs(limit=10**9), InvalidArgumentError, "at most"),
    ("negative offset", lambda t: t.list_runs(offset=-5), InvalidArgumentError, "offset"),
    ("unknown status filter", lambda t: t.list_runs(status="done"), InvalidArgumentError,
     "unknown status"),
    ("update unknown field", lambda t: t.update_definition("audit", colour="red"),
     InvalidArgumentError, "unknown definition fields"),
    ("update to bad limit", lambda t: t.update_definition("audit", max_iterations=-3),
     InvalidDefinitionError, "max_iterations"),
    ("change an id", lambda t: t.update_definition("audit", id="other"), InvalidArgumentError,
     "cannot change"),
    ("delete unknown definition", lambda t: t.delete_definition("nope"), UnknownDefinitionError,
     "nope"),
    ("delete unknown run", lambda t: t.delete_run("run-404"), RunNotFoundError, "run-404"),
    ("negative cleanup age", lambda t: t.cleanup(-1), InvalidArgumentError, "older_than"),
    ("retrigger a successful run", lambda t: t.retrigger("run-1"), InvalidArgumentError,
     "only failed or aborted"),
]


@pytest.mark.parametrize(("name", "call", "error", "message"), BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_bad_input_raises_a_clear_error_and_changes_nothing(
    name: str, call: Callable[[TaskManager], object], error: type[Exception], message: str
) -> None:
    tasks = make()
    tasks.trigger("audit", {"n": 1})  # run-1, stays pending
    tasks.trigger("guarded", "yes")  # run-2, will finish
    Runner(tasks).step()  # runs run-1 ... (oldest first)
    Runner(tasks).step()
    tasks.trigger("audit", {"n": 3})  # run-3 pending
    before = snapshot(tasks)
    with pytest.raises(error, match=message):
        call(tasks)
    assert snapshot(tasks) == before


def test_a_random_id_drawn_twice_is_drawn_again() -> None:
    from teachtasks import RealClock

    drawn = iter(["run-same", "run-same", "run-other"])
    tasks = TaskManager(clock=RealClock(), ids=lambda: next(drawn))
    tasks._ids_may_collide = False  # as with random ids: no look-up before the insert
    tasks.task("noop")(noop)
    first = tasks.trigger("noop", {"n": 1})
    second = tasks.trigger("noop", {"n": 2})
    assert (first.id, second.id) == ("run-same", "run-other")
    assert [e.run_id for e in tasks.lifecycle()] == ["run-same", "run-other"]
