"""Checks for notebook 10, "Scaling out".

* 10.1 ``celery_names()``: for each teachtasks idea, the Celery name that does its job.
* 10.2 ``safe_settings(longest_task_seconds)``: the Celery settings that keep
  a task from being lost when its worker dies, and from running twice
  because the visibility timeout was too short.

Neither check needs Redis or a worker: they read the learner's answer, and
10.2 looks every setting name up in Celery's own table of settings.
"""

from __future__ import annotations

import re
from typing import Any

from . import NotSolved, exercise

# ---- 10.1 celery_names ---------------------------------------------------------------

#: the question (a teachtasks idea) -> the Celery names accepted as its answer
CELERY_NAMES: dict[str, set[str]] = {
    "trigger a run": {"apply_async", "delay", "send_task"},
    "read a run's status": {"state", "asyncresult.state", "status", "asyncresult.status"},
    "report progress": {"update_state"},
    "retry after an exception": {"retry"},
    "stop a run that has not started": {"revoke", "control.revoke"},
    "the run's id, inside the task": {"request.id"},
    "the runner's pool of workers": {"worker", "celery worker"},
}

_HINTS = {
    "trigger a run": "the Task method that sends a message (with options such as countdown)",
    "read a run's status": "the attribute of AsyncResult that says PENDING, STARTED, SUCCESS...",
    "report progress": "the Task method the bridge calls with state='PROGRESS'",
    "retry after an exception": "the Task method that sends the same task again with a countdown",
    "stop a run that has not started": "the control command that tells every worker to drop it",
    "the run's id, inside the task": "a bound task's self.<something>.id",
    "the runner's pool of workers": "the command you start with celery -A ... <this>",
}

_PREFIXES = ("celery.", "self.", "app.control.", "app.", "task.", "result.", "res.", "r.")


def _normalise(answer: object) -> str:
    text = str(answer).strip().lower().replace("`", "")
    text = re.sub(r"\([^)]*\)", "", text)  # AsyncResult(id).state -> asyncresult.state
    text = text.strip(" .")
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if text.startswith(prefix) and text != prefix.rstrip("."):
                text, changed = text[len(prefix):], True
    return text


@exercise("10.1", solution="celery_names")
def check_celery_names(celery_names: Any) -> str:
    if not callable(celery_names):
        raise NotSolved("celery_names must be a function: def celery_names(): return {...}")
    answer = celery_names()
    if not isinstance(answer, dict):
        raise NotSolved(f"celery_names() should return a dict, not {type(answer).__name__}")
    missing = [q for q in CELERY_NAMES if q not in answer]
    if missing:
        raise NotSolved(f"the dict has no answer for {missing[0]!r} (its keys are the "
                        f"questions: {', '.join(repr(q) for q in CELERY_NAMES)})")
    for question, accepted in CELERY_NAMES.items():
        given = answer[question]
        if not isinstance(given, str) or not given.strip():
            raise NotSolved(f"the answer for {question!r} should be a Celery name, as text")
        if _normalise(given) not in accepted:
            raise NotSolved(f"for {question!r} you wrote {given!r}; hint: {_HINTS[question]} "
                            "(see the mapping table)")
    return f"all {len(CELERY_NAMES)} ideas matched to their Celery names"


# ---- 10.2 safe_settings ---------------------------------------------------------------


@exercise("10.2", solution="safe_settings")
def check_safe_settings(safe_settings: Any) -> str:
    from celery.app.defaults import DEFAULTS  # Celery's table of every setting it knows

    if not callable(safe_settings):
        raise NotSolved("safe_settings must be a function: def safe_settings(longest_task_seconds): ...")
    for longest in (10, 600, 7200):
        settings = safe_settings(longest)
        if not isinstance(settings, dict):
            raise NotSolved(f"safe_settings({longest}) should return a dict of Celery settings, "
                            f"not {type(settings).__name__}")
        unknown = sorted(str(k) for k in settings if k not in DEFAULTS)
        if unknown:
            raise NotSolved(f"{unknown[0]!r} is not a Celery setting name (Celery 5 names are "
                            "lowercase, like 'task_acks_late')")
        if settings.get("task_acks_late") is not True:
            raise NotSolved("a message acknowledged when the task *starts* is lost if the worker "
                            "dies mid-task: acknowledge it when the task ends "
                            "(task_acks_late = True)")
        if settings.get("task_reject_on_worker_lost") is not True:
            raise NotSolved("with late acks alone, Celery still acknowledges the message when the "
                            "process running the task is killed: set "
                            "task_reject_on_worker_lost = True to give it back to the queue")
        options = settings.get("broker_transport_options")
        if not isinstance(options, dict) or "visibility_timeout" not in options:
            raise NotSolved("Redis gives an unacknowledged message to another worker after the "
                            "visibility timeout: set broker_transport_options = "
                            "{'visibility_timeout': ...}")
        timeout = options["visibility_timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise NotSolved(f"visibility_timeout should be a number of seconds, not {timeout!r}")
        if timeout <= longest:
            raise NotSolved(f"for tasks of up to {longest} s, a visibility timeout of {timeout} s "
                            "hands a task still running to a second worker: make it longer than "
                            "the longest task (and the longest countdown)")
        for name in ("task_serializer", "result_serializer"):
            if settings.get(name) != "json":
                raise NotSolved(f"JSON only, as everywhere in the course: {name} = 'json'")
        if settings.get("accept_content") != ["json"]:
            raise NotSolved("a worker should accept JSON messages only: accept_content = ['json']")
    return ("late acks, rejected when the worker is lost, a visibility timeout longer than "
            "the longest task, and JSON only")
