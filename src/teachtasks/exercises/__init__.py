"""Self-checks for the course's exercises.

Why they live in the library: a learner's exercise cell calls a check, and a
test calls the very same check on the solution in ``notebooks/solutions/``, so
a check that says "correct" in the notebook is one the test suite has proven
can say it.

Every check takes the learner's object (a function, usually), tries it, and
prints one clear line: ``correct: ...`` or ``not solved yet: ...``. It never
raises, so an unsolved exercise never stops the notebook. It returns True or
False, so a notebook can write ``if check("01.1", percentile): ...`` to run a
payoff only once the answer is right. A check that passes is remembered (see
``progress``), and ``progress()`` prints every exercise, solved or not.

Each notebook's checks are in the module ``nbNN`` (``nb01``, ``nb02``...) and
are registered here with ``@exercise("01.1", solution="name")``: the id the
notebook shows, and the name the solution file defines.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .record import progress_table, remember


@dataclass(frozen=True)
class Exercise:
    id: str
    #: the name of the object the learner writes (and the solution file defines)
    solution: str
    check: Callable[[Any], bool]


REGISTRY: dict[str, Exercise] = {}


class NotSolved(Exception):
    """Raised inside a check to say what is still wrong."""


#: Seconds a check waits for the learner's code before it says the code hangs.
#: Every solution's check takes well under a second; a test lowers this.
TIME_LIMIT = 15.0

#: What a hang most often means, when an exercise has no better guess.
HANG_HINT = ("does a loop never end, or does your code wait for something (a queue, a "
             "thread, an event) that never comes?")


class _TooSlow(Exception):
    """The learner's code did not finish within the time limit."""


def _within_time_limit(body: Callable[[Any], Any], answer: Any, limit: float) -> Any:
    """Run ``body(answer)`` in a daemon thread and wait at most ``limit`` seconds.
    Python cannot stop a thread, so a hung one is left behind (a daemon thread
    does not keep Python from exiting); the notebook goes on either way."""
    outcome: dict[str, Any] = {}

    def attempt() -> None:
        try:
            outcome["value"] = body(answer)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller as is
            outcome["error"] = exc

    thread = threading.Thread(target=attempt, name="teachtasks-self-check", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise _TooSlow
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def exercise(exercise_id: str, *, solution: str,
             hang_hint: str = HANG_HINT) -> Callable[[Callable[[Any], None]], Callable]:
    """Register a check. The decorated function raises ``NotSolved("why")``
    (or any assertion/exception) when the answer is not right yet, and
    returns a short message when it is. It runs with a time limit
    (``TIME_LIMIT``); ``hang_hint`` says what probably went wrong when the
    learner's code does not finish."""

    def register(body: Callable[[Any], Any]) -> Callable[[Any], bool]:
        def check(answer: Any) -> bool:
            try:
                if answer is None or answer is Ellipsis:
                    raise NotSolved("write your answer in the cell above, then run both cells")
                message = _within_time_limit(body, answer, TIME_LIMIT)
            except _TooSlow:
                print(f"not solved yet ({exercise_id}): your code did not finish within "
                      f"{TIME_LIMIT:g} s; {hang_hint}")
                return False
            except NotImplementedError:
                print(f"not solved yet ({exercise_id}): the function still raises "
                      "NotImplementedError; replace it with your code")
                return False
            except NotSolved as why:
                print(f"not solved yet ({exercise_id}): {why}")
                return False
            except AssertionError as why:
                print(f"not solved yet ({exercise_id}): {why or 'a check did not hold'}")
                return False
            except Exception as exc:  # the learner's code raised: show it, do not crash
                last = traceback.extract_tb(exc.__traceback__)[-1]
                print(f"not solved yet ({exercise_id}): your code raised "
                      f"{type(exc).__name__}: {exc} (line {last.lineno})")
                return False
            print(f"correct ({exercise_id}): {message or 'well done'}")
            remember(exercise_id)
            return True

        check.__name__ = body.__name__
        check.__doc__ = body.__doc__
        REGISTRY[exercise_id] = Exercise(exercise_id, solution, check)
        return check

    return register


def check(exercise_id: str, answer: Any) -> bool:
    """``check("03.1", run_all)`` from a notebook: prints ``correct`` or
    ``not solved yet`` and returns True or False, so ``if check(...):`` runs a
    payoff only when the answer is right."""
    load_all()
    if exercise_id not in REGISTRY:
        print(f"there is no exercise {exercise_id!r}; known: {', '.join(sorted(REGISTRY))}")
        return False
    return REGISTRY[exercise_id].check(answer)


def progress() -> None:
    """Print every exercise of the course, ``[x]`` solved or ``[ ]`` not yet,
    from the file where passing checks are remembered. Paste it to a teacher."""
    print(progress_table(list(load_all())))


def load_all() -> dict[str, Exercise]:
    """Import every ``nbNN`` module, and the exit tickets, so their checks register."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("nb") or info.name == "tickets":
            importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY


__all__ = ["REGISTRY", "Exercise", "NotSolved", "check", "exercise", "load_all", "progress"]
