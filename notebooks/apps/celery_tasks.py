"""The Celery side of notebook 10: one Celery app, the course's tasks on it.

Celery workers are separate processes: they cannot see the notebook's
variables, so everything they run is defined here, in a module they import.
Started (by the notebook, or by you in a terminal) with::

    celery -A apps.celery_tasks worker --concurrency=1 -n w1@%h

Two kinds of task live here:

* the course's task definitions (a welcome email, a newsletter sent in
  batches, a flaky API call, an import that fails, a slow count you can
  abort), *unchanged* teachtasks definitions, made Celery tasks by
  ``teachtasks.integrations.celery.CeleryBridge``;
* two plain Celery tasks (``slow-early-ack``, ``slow-late-ack``) that show
  what Celery's acknowledgement settings do when a worker dies.

Settings come from the environment, so the notebook and every worker agree:

* ``TEACHTASKS_REDIS_URL``: the broker and result backend (``redis://127.0.0.1:PORT/0``);
* ``TEACHTASKS_CELERY_DIR``: a folder for the runs database (``runs.db``, a
  ``SQLiteStore`` the workers write the lifecycle log to), the outbox of sent
  emails and the journal of the plain tasks;
* ``TEACHTASKS_CELERY_CONF``: extra Celery settings, as JSON (the traps use it).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from celery import Celery

from teachtasks import Context, Controller, RetryPolicy, SQLiteStore, task
from teachtasks.integrations.celery import JSON_ONLY, CeleryBridge

REDIS_URL = os.environ.get("TEACHTASKS_REDIS_URL", "redis://127.0.0.1:6379/0")
EXTRA_SETTINGS: dict[str, Any] = json.loads(os.environ.get("TEACHTASKS_CELERY_CONF", "{}"))


def private_folder(path: Path) -> Path:
    """``path``, made a folder only its owner can enter (0700) if it does not
    exist; an existing one must be ours and closed to others. Why: a shared
    ``/tmp`` folder another local user made first would let them read or
    change ``runs.db``."""
    path = Path(path)
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        info = path.lstat()
        if not path.is_dir() or path.is_symlink():
            raise RuntimeError(f"{path} is not a folder; set TEACHTASKS_CELERY_DIR to one") from None
        if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o077):
            raise RuntimeError(
                f"{path} belongs to another user or is open to others (mode "
                f"{info.st_mode & 0o777:o}); refusing to keep runs.db there: set "
                "TEACHTASKS_CELERY_DIR to a private folder (mkdir -m 700 ...)"
            ) from None
    return path


def default_folder() -> Path:
    """The folder every process agrees on when ``TEACHTASKS_CELERY_DIR`` is not
    set: one per user (``teachtasks-celery-<uid>`` in the temporary folder)."""
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    return Path(tempfile.gettempdir()) / f"teachtasks-celery-{user}"


def make_app(redis_url: str, **settings: Any) -> Celery:
    """A Celery app on one Redis: broker (the queue) and result backend (the
    states and results) both. JSON only; ``settings`` override the rest."""
    app = Celery("course", broker=redis_url, backend=redis_url)
    app.conf.update(
        **JSON_ONLY,
        task_track_started=True,             # show STARTED, not just PENDING, while it runs
        worker_prefetch_multiplier=1,        # a worker takes one message ahead, not four
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        result_expires=3600,
    )
    app.conf.update(settings)
    return app


class Outbox:
    """The ``mailer`` service: pretends to send an email by writing one JSON
    line to a file, so anyone can count what really went out."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, to: str, subject: str) -> None:
        time.sleep(0.05)  # talking to the mail server
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"to": to, "subject": subject}) + "\n")

    def sent(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]


WORKDIR = private_folder(Path(os.environ.get("TEACHTASKS_CELERY_DIR") or default_folder()))
app = make_app(REDIS_URL, **EXTRA_SETTINGS)
store = SQLiteStore(WORKDIR / "runs.db")
outbox = Outbox(WORKDIR / "outbox.jsonl")
bridge = CeleryBridge(app, store=store, services={"mailer": outbox})


# ---- the course's tasks, unchanged teachtasks definitions ---------------------------------
def _check_email(data: Any) -> None:
    if not isinstance(data, dict) or "@" not in str(data.get("email", "")):
        raise ValueError("the input needs an 'email' with an @ in it")


@task("send-welcome-email", events=("user.signed_up",), validate=_check_email)
def send_welcome_email_run(ctx: Context, ctl: Controller) -> Any:
    """Send one welcome email."""
    time.sleep(0.25)  # the slow part: templates, the mail server...
    ctx.services["mailer"].send(ctx.input["email"], "Welcome!")
    ctx.log.info(f"welcome email sent to {ctx.input['email']}")
    return ctl.response.done({"sent_to": ctx.input["email"]})


@task("send-newsletter", max_iterations=20)
def send_newsletter_run(ctx: Context, ctl: Controller) -> Any:
    """Send a newsletter in batches: one batch per iteration, then continue_."""
    recipients = ctx.input["recipients"]
    size = ctx.input.get("batch_size", 3)
    sent = ctx.state.get("sent", 0)
    for email in recipients[sent:sent + size]:
        ctx.services["mailer"].send(email, "Our newsletter")
        sent += 1
        ctx.state.set("sent", sent)  # where we got to: travels to the next iteration
        ctl.progress(sent, len(recipients), f"{sent} of {len(recipients)} sent")
        time.sleep(0.1)
    if sent < len(recipients):
        return ctl.response.continue_(delay=0.2)
    return ctl.response.done({"sent": sent, "iterations": ctx.iteration})


@task("call-flaky-api", retry=RetryPolicy(max_attempts=3, backoff=0.3, factor=2.0, jitter=0.0))
def call_flaky_api_run(ctx: Context, ctl: Controller) -> Any:
    """Call an API that fails the first ``fail_times`` tries."""
    if ctx.attempt <= ctx.input.get("fail_times", 0):
        raise ConnectionError(f"the API did not answer (try {ctx.attempt})")
    return ctl.response.done({"answer": 42, "tries": ctx.attempt})


@task("import-contacts")
def import_contacts_run(ctx: Context, ctl: Controller) -> Any:
    """Import contacts; a row without an email address is an error we know."""
    for number, row in enumerate(ctx.input["rows"], start=1):
        if "@" not in row:
            return ctl.response.error({"type": "BadRow",
                                       "message": f"row {number} has no email address"})
    return ctl.response.done({"imported": len(ctx.input["rows"])})


@task("count-slowly")
def count_slowly_run(ctx: Context, ctl: Controller) -> Any:
    """Count to ``to``, a tenth of a second per number, checking for an abort."""
    target = ctx.input["to"]
    for number in range(1, target + 1):
        if ctl.is_aborted():
            ctx.log.info(f"abort seen at {number}")
            return ctl.response.aborted()
        time.sleep(0.1)
        ctl.progress(number, target)
    return ctl.response.done({"counted_to": target})


send_welcome_email = bridge.register(send_welcome_email_run)
send_newsletter = bridge.register(send_newsletter_run)
call_flaky_api = bridge.register(call_flaky_api_run)
import_contacts = bridge.register(import_contacts_run)
count_slowly = bridge.register(count_slowly_run)


# ---- plain Celery tasks, for the traps -----------------------------------------------------
JOURNAL = WORKDIR / "journal.jsonl"


def _journal(task_name: str, key: str, event: str, hostname: str | None) -> None:
    with JOURNAL.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"task": task_name, "key": key, "event": event,
                              "worker": hostname, "pid": os.getpid()}) + "\n")


def read_journal(key: str | None = None) -> list[dict[str, Any]]:
    """The journal's lines (of one ``key``): who started and finished what."""
    if not JOURNAL.exists():
        return []
    lines = [json.loads(line) for line in JOURNAL.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if key is None or line["key"] == key]


@app.task(bind=True, name="slow-early-ack")
def slow_early_ack(self: Any, key: str, seconds: float) -> str:
    """Celery's default: the message is acknowledged (deleted) when the task starts."""
    _journal(self.name, key, "start", self.request.hostname)
    time.sleep(seconds)
    _journal(self.name, key, "finish", self.request.hostname)
    return "finished"


@app.task(bind=True, name="slow-late-ack", acks_late=True, reject_on_worker_lost=True)
def slow_late_ack(self: Any, key: str, seconds: float) -> str:
    """Acknowledged only when it ends, and given back to the queue if its worker dies."""
    _journal(self.name, key, "start", self.request.hostname)
    time.sleep(seconds)
    _journal(self.name, key, "finish", self.request.hostname)
    return "finished"
