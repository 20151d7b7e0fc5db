"""A real SMTP server on 127.0.0.1 for notebook 09, and a mailbox that records
what it receives.

SMTP (Simple Mail Transfer Protocol) is how programs hand email to a mail
server. This one is ``aiosmtpd``'s, the same server library many projects use
in their tests. It runs in its own thread on a free port and delivers nothing
anywhere: every message it accepts is kept in ``Mailbox.messages``, so the
notebook can check that each recipient got exactly one. Use it as::

    with LocalMailServer() as server:        # started on 127.0.0.1, a free port
        ...smtplib.SMTP(server.host, server.port)...
        server.mailbox.messages              # what arrived
                                             # stopped when the block ends

``Mailbox(busy_once={"bob@example.com"})`` answers "451 mailbox busy, try
again later" the first time that address is given, and accepts it the next
time: a temporary failure, like a real mail server under load.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    """One message as the server accepted it."""

    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str


class Mailbox:
    """An aiosmtpd *handler*: aiosmtpd calls ``handle_RCPT`` for each recipient
    and ``handle_DATA`` once the message's text has arrived."""

    def __init__(self, busy_once: set[str] | None = None) -> None:
        self.messages: list[Received] = []
        self.refused: list[str] = []
        self._busy_once = set(busy_once or ())
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        with self._lock:
            if address in self._busy_once:
                self._busy_once.discard(address)
                self.refused.append(address)
                return "451 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        body = message.get_payload(decode=True) or b""
        with self._lock:
            self.messages.append(Received(
                sender=envelope.mail_from, recipients=tuple(envelope.rcpt_tos),
                subject=str(message["Subject"]), body=body.decode("utf-8").strip(),
            ))
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the system picks it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class LocalMailServer:
    """An SMTP server in a thread on ``host``:``port``; ``stop()`` ends the thread."""

    def __init__(self, mailbox: Mailbox | None = None, host: str = "127.0.0.1") -> None:
        self.mailbox = mailbox if mailbox is not None else Mailbox()
        self.host = host
        self.port = free_port(host)
        self._controller = Controller(self.mailbox, hostname=host, port=self.port)
        self.running = False

    def start(self) -> LocalMailServer:
        self._controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self._controller.stop()
            self.running = False

    def __enter__(self) -> LocalMailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalMailServer(smtp://{self.host}:{self.port}, {state})"
