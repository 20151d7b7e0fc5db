"""Checks for notebook 01, "Why background tasks exist".

* 01.1 ``percentile(values, p)``: the nearest-rank percentile of measured latencies.
* 01.2 ``background_jobs()``: which jobs of a web app belong in the background.
* 01.3 ``handle_signup(email, tasks)``: an endpoint's body that hands the slow
  work off with ``tasks.trigger`` and returns the run id at once.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from . import NotSolved, exercise

# ---- 01.1 percentile ------------------------------------------------------------------


def _reference_percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered) / 100))
    return ordered[rank - 1]


@exercise("01.1", solution="percentile")
def check_percentile(percentile: Any) -> str:
    """Nearest rank: sort, then take the value at position ceil(p/100 * n),
    counting from 1 (and the smallest value for p = 0)."""
    if not callable(percentile):
        raise NotSolved("percentile must be a function: def percentile(values, p): ...")
    cases: list[tuple[list[float], float, str]] = [
        ([3.0, 1.0, 2.0], 50, "the middle of three values"),
        ([0.4, 0.1, 0.3, 0.2], 50, "an even count: nearest rank takes the lower middle, "
                                   "it does not average the two"),
        ([0.4, 0.1, 0.3, 0.2], 100, "p = 100 is the largest value"),
        ([0.4, 0.1, 0.3, 0.2], 0, "p = 0 is the smallest value"),
        ([float(v) for v in range(20, 0, -1)], 95, "95th of 20 values: the 19th smallest"),
        ([float(v) for v in range(1, 11)], 90, "90th of 10 values: the 9th smallest"),
        ([float(v) for v in range(1, 11)], 91, "91st of 10 values: ceil(9.1) = 10th smallest"),
        ([0.7], 50, "a single value is every percentile"),
    ]
    rng = random.Random(1)
    for n in (5, 20, 37):
        values = [round(rng.uniform(0.001, 1.0), 4) for _ in range(n)]
        for p in (1, 25, 50, 75, 95, 99):
            cases.append((values, p, f"{n} random values, p = {p}"))
    for values, p, what in cases:
        given = list(values)
        got = percentile(given, p)
        if given != values:
            raise NotSolved(f"percentile changed the list it was given ({what}); "
                            "sort a copy: sorted(values)")
        want = _reference_percentile(values, p)
        if got != want:
            raise NotSolved(f"percentile({values if len(values) <= 10 else '...'}, {p}) "
                            f"returned {got!r}, expected {want!r} ({what})")
    return "nearest-rank percentiles, without touching the input"


# ---- 01.2 which jobs belong in the background -------------------------------------------

#: job name -> what it does: the list the notebook prints for exercise 01.2
JOBS: dict[str, str] = {
    "check-password": "check that the new password is at least 12 characters long",
    "save-user": "save the new user in the database",
    "send-welcome-email": "send the welcome email through the mail server",
    "resize-avatar": "make five smaller copies of the uploaded profile photo",
    "show-cart-total": "add up the prices in the cart to show the total on the page",
    "monthly-report": "build a 300-page PDF report the user asked for",
    "notify-followers": "tell the user's 2,000 followers that they posted",
    "check-coupon": "check that a coupon code is valid before charging the card",
}

#: job name -> (belongs in the background?, why). Kept apart from JOBS so that
#: printing the list does not print the answers.
_VERDICTS: dict[str, tuple[bool, str]] = {
    "check-password": (
        False, "the user must see the answer (\"too short\") in this very response, "
               "and it takes microseconds",
    ),
    "save-user": (
        False, "the response says \"your account exists\": that must be true when it "
               "is sent, and one insert is quick",
    ),
    "send-welcome-email": (
        True, "slow, may fail and need a retry, and the user does not wait for it",
    ),
    "resize-avatar": (
        True, "seconds of work whose result the response does not need",
    ),
    "show-cart-total": (
        False, "the page shows the total: the response cannot be sent without it",
    ),
    "monthly-report": (
        True, "minutes of work: answer \"we are on it\" and let them fetch it later",
    ),
    "notify-followers": (
        True, "thousands of sends, each of which can fail on its own",
    ),
    "check-coupon": (
        False, "the charge depends on the answer, so it must be known now",
    ),
}


@exercise("01.2", solution="background_jobs")
def check_background_jobs(background_jobs: Any) -> str:
    if not callable(background_jobs):
        raise NotSolved("background_jobs must be a function that returns a set of job names")
    chosen = background_jobs()
    if isinstance(chosen, str) or not hasattr(chosen, "__iter__"):
        raise NotSolved(f"return a set of job names, like {{'resize-avatar'}}, "
                        f"not {type(chosen).__name__}")
    chosen = set(chosen)
    unknown = chosen - set(JOBS)
    if unknown:
        raise NotSolved(f"unknown job names {sorted(unknown)}; the names are: "
                        f"{', '.join(JOBS)}")
    wrong_in = sorted(name for name in chosen if not _VERDICTS[name][0])
    if wrong_in:
        name = wrong_in[0]
        raise NotSolved(f"{name!r} should stay inside the request: {_VERDICTS[name][1]}")
    missing = sorted(name for name, (background, _) in _VERDICTS.items()
                     if background and name not in chosen)
    if missing:
        name = missing[0]
        raise NotSolved(f"{name!r} belongs in the background: {_VERDICTS[name][1]}"
                        + (f" ({len(missing) - 1} more missing)" if len(missing) > 1 else ""))
    return ("slow work whose result the response does not need goes to the background; "
            "what the response depends on stays inside")


# ---- 01.3 an endpoint that hands the work off --------------------------------------------


@dataclass
class _FakeRun:
    id: str
    status: str = "pending"


@dataclass
class FakeTasks:
    """Stands in for a TaskManager: records every trigger and returns a run
    with a fresh id."""

    calls: list[tuple[Any, Any]] = field(default_factory=list)
    runs: list[_FakeRun] = field(default_factory=list)

    def trigger(self, definition_id: Any, input: Any = None, **options: Any) -> _FakeRun:  # noqa: A002
        self.calls.append((definition_id, input))
        run = _FakeRun(f"run-fake-{random.randrange(10_000, 99_999)}")
        self.runs.append(run)
        return run


@exercise("01.3", solution="handle_signup",
          hang_hint="handle_signup must only trigger the task and return; it must "
                    "not wait for the email")
def check_handle_signup(handle_signup: Any) -> str:
    if not callable(handle_signup):
        raise NotSolved("handle_signup must be a function: def handle_signup(email, tasks): ...")
    for email in ("ada@example.com", "grace@example.com"):
        tasks = FakeTasks()
        started = time.perf_counter()
        answer = handle_signup(email, tasks)
        took = time.perf_counter() - started
        if not tasks.calls:
            raise NotSolved("handle_signup did not call tasks.trigger(...): nothing will "
                            "ever send the email")
        if len(tasks.calls) > 1:
            raise NotSolved(f"handle_signup triggered {len(tasks.calls)} runs for one sign-up; "
                            "one email, one run")
        definition_id, payload = tasks.calls[0]
        if definition_id != "send-welcome-email":
            raise NotSolved(f"trigger the task 'send-welcome-email', not {definition_id!r}")
        if payload != {"email": email}:
            raise NotSolved(f"the task's input should be {{'email': {email!r}}}, "
                            f"not {payload!r}")
        if not isinstance(answer, dict):
            raise NotSolved(f"return a dict like {{'ok': True, 'run_id': ...}}, "
                            f"not {type(answer).__name__}")
        if answer.get("ok") is not True:
            raise NotSolved(f"the answer should say 'ok': True; it was {answer!r}")
        if "run_id" not in answer:
            raise NotSolved("the answer has no 'run_id': the client needs it to ask "
                            "GET /runs/{id} how the email is doing")
        run_id, run = answer["run_id"], tasks.runs[0]
        if run_id is run:
            raise NotSolved("'run_id' is the whole run object; return just its id: run.id")
        if run_id != run.id:
            raise NotSolved(f"'run_id' should be the id of the run trigger() returned "
                            f"(here {run.id!r}), not {run_id!r}")
        if took > 0.2:
            raise NotSolved(f"handle_signup took {took:.2f} s; it should return at once "
                            "(no sleeping, no sending)")
    return "the request triggers the task and answers with the run id at once"


__all__ = ["JOBS", "FakeTasks", "check_background_jobs", "check_handle_signup",
           "check_percentile"]
