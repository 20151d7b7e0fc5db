"""The sign-up app of notebook 01, as a module a separate Python process can run.

Its welcome email is a FastAPI background task, and the fake mailer writes
every email it "sends" as one line in a file (the ``OUTBOX`` environment
variable names it), so the notebook can see which emails really went out,
even after this process is gone. Started by the notebook with::

    python -m uvicorn apps.signup_app:app --host 127.0.0.1 --port <free port>
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi import BackgroundTasks, FastAPI
from pydantic import BaseModel

OUTBOX = Path(os.environ.get("OUTBOX", "outbox.txt"))
EMAIL_SECONDS = float(os.environ.get("EMAIL_SECONDS", "0.5"))

app = FastAPI(title="sign-up (FastAPI background tasks)")


class SignUp(BaseModel):
    email: str


def send_welcome_email(email: str) -> None:
    """Pretend to talk to a mail server for a while, then record the email."""
    time.sleep(EMAIL_SECONDS)
    with OUTBOX.open("a") as outbox:
        outbox.write(f"welcome email sent to {email}\n")


@app.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}


@app.post("/signup")
def signup(body: SignUp, background_tasks: BackgroundTasks) -> dict[str, bool]:
    background_tasks.add_task(send_welcome_email, body.email)
    return {"ok": True}
