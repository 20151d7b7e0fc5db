"""The controller: how a run steers itself.

A run's ``run(context, controller)`` function ends by returning one of four
responses, built with ``controller.response``:

* ``done(output)``: finished, here is the result            -> success
* ``continue_(input, delay)``: not finished; run me again    -> next iteration
  (with this input, after this delay), and keep my state
* ``error(err)``: I failed and know why                      -> failed
* ``aborted()``: I saw the abort request and stopped         -> aborted

While it works, a run asks the controller: ``is_aborted()`` (did someone ask
me to stop?), ``is_close_to_timeout()`` and ``remaining_seconds()`` (how much
of this iteration's time budget is left?), and reports ``progress(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import lifecycle
from .checks import MAX_DELAY_SECONDS, check_number
from .errors import InvalidArgumentError
from .payload import JSON, check_json
from .run import Run

if TYPE_CHECKING:
    from .clock import Clock
    from .stores.base import Store


@dataclass(frozen=True, slots=True)
class Done:
    output: JSON = None


@dataclass(frozen=True, slots=True)
class Continue:
    input: JSON = None
    delay: float = 0.0
    #: False when ``continue_()`` was called without an input: keep the old one
    replace_input: bool = True


@dataclass(frozen=True, slots=True)
class Error:
    type: str
    message: str


@dataclass(frozen=True, slots=True)
class Aborted:
    pass


Response = Done | Continue | Error | Aborted

_UNSET: Any = object()


class ResponseFactory:
    """``controller.response``: the four ways an iteration can end."""

    def done(self, output: JSON = None) -> Done:
        return Done(check_json(output, "output"))

    def continue_(self, input: JSON = _UNSET, delay: float = 0.0) -> Continue:  # noqa: A002
        check_number(delay, "continue_ delay", low=0, high=MAX_DELAY_SECONDS,
                     hint=" (seconds until the next iteration)")
        if input is _UNSET:
            return Continue(None, float(delay), replace_input=False)
        return Continue(check_json(input, "continue_ input"), float(delay))

    def error(self, error: BaseException | str | dict[str, str]) -> Error:
        if isinstance(error, BaseException):
            return Error(type(error).__name__, str(error))
        if isinstance(error, Mapping):
            return Error(str(error.get("type", "Error")), str(error.get("message", "")))
        if isinstance(error, str):
            return Error("Error", error)
        raise InvalidArgumentError(
            f"response.error takes an exception, a message or a dict with 'type' and "
            f"'message', not {type(error).__name__} {error!r}"
        )

    def aborted(self) -> Aborted:
        return Aborted()


RESPONSES = ResponseFactory()


class Controller:
    """Handed to each iteration with the context. Cheap to build."""

    #: what ``is_close_to_timeout()`` means by close, as a share of the budget
    DEFAULT_MARGIN = 0.2

    def __init__(
        self,
        run: Run,
        *,
        store: Store,
        clock: Clock,
        worker: str | None,
        budget_seconds: float,
        started_at: float,
        lease_seconds: float = 30.0,
    ) -> None:
        self._run = run
        self._store = store
        self._clock = clock
        self._worker = worker
        self.budget_seconds = float(budget_seconds)
        self.started_at = started_at
        self._lease_seconds = lease_seconds
        self.response = RESPONSES

    def _keep_lease(self) -> None:
        if self._worker is not None:
            self._store.heartbeat(self._run.id, self._worker, self._clock.now(), self._lease_seconds)

    def is_aborted(self) -> bool:
        """Has someone asked this run to stop? Check it between pieces of work."""
        self._keep_lease()
        return self._store.abort_requested(self._run.id)

    def elapsed_seconds(self) -> float:
        return self._clock.now() - self.started_at

    def remaining_seconds(self) -> float:
        """Seconds left of this iteration's time budget (negative once over)."""
        return round(self.budget_seconds - self.elapsed_seconds(), 9)

    def is_close_to_timeout(self, margin: float | None = None) -> bool:
        """True when less than ``margin`` seconds (default: a fifth of the
        budget) are left. Time to save your place and return ``continue_``."""
        if margin is None:
            margin = self.budget_seconds * self.DEFAULT_MARGIN
        return self.remaining_seconds() <= margin

    def progress(self, done: float, total: float | None = None, message: str = "") -> float:
        """Report progress: ``progress(0.5)`` or ``progress(3, 10, "3 of 10 emails")``.
        Returns the fraction stored (0..1)."""
        check_number(done, "progress done", low=0)
        if total is not None:
            check_number(total, "progress total", low=0)
        if total is not None and total == 0:
            raise InvalidArgumentError("progress total must be more than 0")
        fraction = min(1.0, done / total) if total else min(1.0, float(done))
        fraction = round(fraction, 6)
        detail: dict[str, JSON] = {"fraction": fraction}
        if total is not None:
            detail.update(done=done, total=total)
        if message:
            detail["message"] = str(message)
        now = self._clock.now()
        change = lifecycle.progress(self._run, self._worker, now, fraction, detail)
        self._store.update(self._run.id, change.fields, change.entries,
                           worker=self._worker, now=now)
        self._keep_lease()
        return fraction
