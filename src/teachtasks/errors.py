"""Every way teachtasks can refuse or fail, each with its own name.

Why one class per failure: a caller (or a learner reading a traceback) should be
able to tell "that run does not exist" from "that run is still pending" from
"you may not abort a finished run" by the exception's name alone, and catch
exactly the one it means. All of them derive from ``TeachtasksError``; the ones
that are plainly bad arguments also derive from ``ValueError`` or ``LookupError``
so ordinary Python code catches them the way it expects.
"""

from __future__ import annotations


class TeachtasksError(Exception):
    """Base class of every error teachtasks raises on purpose."""


class InvalidDefinitionError(TeachtasksError, ValueError):
    """A task definition was built with a bad id, limit, hook or policy."""


class UnknownDefinitionError(TeachtasksError, LookupError):
    """No task definition has this id."""

    def __init__(self, definition_id: str, known: list[str] | None = None) -> None:
        hint = f" Known definitions: {', '.join(sorted(known))}." if known else ""
        super().__init__(f"no task definition with id {definition_id!r}.{hint}")
        self.definition_id = definition_id


class DuplicateDefinitionError(TeachtasksError, ValueError):
    """A task definition with this id is already registered."""

    def __init__(self, definition_id: str) -> None:
        super().__init__(
            f"a task definition with id {definition_id!r} already exists; "
            "use update_definition() to change it or pick another id"
        )
        self.definition_id = definition_id


class DefinitionInUseError(TeachtasksError):
    """A definition cannot be deleted while it still has unfinished runs."""


class RunNotFoundError(TeachtasksError, LookupError):
    """No run has this id. Never used to mean "pending" or "not started yet"."""

    def __init__(self, run_id: object) -> None:
        super().__init__(f"no run with id {run_id!r}")
        self.run_id = run_id


class IllegalTransitionError(TeachtasksError):
    """A run was asked to move between two statuses the transition table forbids."""

    def __init__(self, run_id: str, old: object, new: object, why: str = "") -> None:
        old_s = getattr(old, "value", old)
        new_s = getattr(new, "value", new)
        reason = f": {why}" if why else ""
        super().__init__(f"run {run_id!r} cannot go from {old_s!r} to {new_s!r}{reason}")
        self.run_id, self.old, self.new = run_id, old, new


class PayloadNotJSONError(TeachtasksError, TypeError):
    """An input, output, state or event payload holds something JSON cannot store."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where} {message}")
        self.where = where


class InputValidationError(TeachtasksError, ValueError):
    """A definition's own input validation rejected the input of a trigger."""


class TriggerRefusedError(TeachtasksError):
    """A definition's ``on_before_trigger`` hook refused to create the run."""


class InvalidArgumentError(TeachtasksError, ValueError):
    """An argument is out of range or of the wrong kind (a negative limit, an unknown status)."""


class DuplicateRunIdError(InvalidArgumentError):
    """A store already holds a run with this id (nothing was written)."""


class LeaseLostError(TeachtasksError):
    """A worker tried to change a run it no longer holds (its lease expired and
    another worker took the run over)."""


class ConfigurationError(TeachtasksError):
    """Parts that cannot work together, such as worker threads on a simulated clock."""


class TimeBudgetExceededError(TeachtasksError):
    """An iteration ran past its time budget without returning ``continue_``."""


class MaxIterationsError(TeachtasksError):
    """A run asked to continue after its last allowed iteration."""


class StoreError(TeachtasksError):
    """The store could not do what was asked (a file that is not a database, a lock
    held for too long)."""
