"""Events: something happened; whoever cares reacts.

"Event-driven" means work starts because something happened ("a user signed
up"), not because a timer went off and someone checked. The code that makes
the event happen does not know who listens: it calls ``emit(name, payload)``,
and every handler subscribed to that name is called. One event can fan out to
many handlers. The task manager subscribes one handler per (event, task
definition) pair, and that handler triggers a run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .definition import check_event_name
from .errors import InvalidArgumentError
from .payload import JSON, check_json

Handler = Callable[[str, JSON], Any]


class EventBus:
    """A name -> handlers table. Thread-safe; handlers run in the emitter's
    thread, in the order they subscribed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[str, list[Handler]] = {}

    def subscribe(self, event: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler(event, payload)`` on every ``emit(event, ...)``.
        Returns a function that unsubscribes it."""
        check_event_name(event)
        if not callable(handler):
            raise TypeError("handler must be callable")
        with self._lock:
            self._handlers.setdefault(event, []).append(handler)

        def unsubscribe() -> None:
            with self._lock:
                handlers = self._handlers.get(event, [])
                if handler in handlers:
                    handlers.remove(handler)

        return unsubscribe

    def listeners(self, event: str) -> list[Handler]:
        with self._lock:
            return list(self._handlers.get(event, ()))

    def events(self) -> list[str]:
        """Event names with at least one listener."""
        with self._lock:
            return sorted(name for name, handlers in self._handlers.items() if handlers)

    def emit(self, event: str, payload: JSON = None) -> list[Any]:
        """Call every handler of ``event`` with a private copy of ``payload``;
        returns what each returned. The payload must be JSON."""
        check_event_name(event, InvalidArgumentError)
        payload = check_json(payload, f"payload of event {event!r}")
        return [handler(event, check_json(payload, "payload")) for handler in self.listeners(event)]
