"""Exit tickets: the short questions that close each half-day block of a class.

Why they are exercises: a teacher reads a room's answers from the same
``progress()`` table as the exercises, and a learner gets the same one-line
verdict, so a ticket question is registered with ``@exercise`` like any other
check, with the id ``NN.Tk`` (question *k* of the ticket at the end of
notebook NN). The answer is a value, not a function: a letter for a multiple
choice, or one short number or word. A wrong answer is explained in one
sentence, so the ticket teaches as it checks.

The tickets close notebooks 03, 05, 08 and 10: the ends of the two-day plan's
four blocks (docs/TEACHERS.md).
"""

from __future__ import annotations

from typing import Any

from . import NotSolved, exercise


def _given(answer: Any) -> Any:
    """The learner's value (a function is called, so a stub that raises or
    hangs is treated as every other check treats it)."""
    return answer() if callable(answer) else answer


def choice(exercise_id: str, *, solution: str, right: str, why: dict[str, str]) -> None:
    """Register a multiple-choice question. ``why`` holds, for every letter,
    one sentence: why it is right (for ``right``) or why it is wrong."""
    letters = ", ".join(f'"{letter}"' for letter in sorted(why))

    @exercise(exercise_id, solution=solution)
    def body(answer: Any) -> str:
        given = _given(answer)
        letter = given.strip().strip("()").strip().lower() if isinstance(given, str) else None
        if letter not in why:
            raise NotSolved(f"answer with one letter, in quotes: {letters}")
        if letter != right:
            raise NotSolved(f"wrong: ({letter}) is not it. {why[letter]}")
        return f"right: ({right}). {why[right]}"

    body.__name__ = f"ticket_{exercise_id.replace('.', '_')}"


def value(exercise_id: str, *, solution: str, right: float | str, why_right: str,
          wrong: dict[float | str, str], otherwise: str) -> None:
    """Register a one-value question (a number, or a word compared without
    case). ``wrong`` explains the wrong answers learners most often give;
    ``otherwise`` explains any other."""

    def same(a: Any, b: float | str) -> bool:
        if isinstance(b, str):
            return isinstance(a, str) and a.strip().strip("'\"").lower() == b.lower()
        return (isinstance(a, (int, float)) and not isinstance(a, bool)
                and abs(a - b) < 1e-9)

    kind = "a word, in quotes" if isinstance(right, str) else "a number, without quotes"

    @exercise(exercise_id, solution=solution)
    def body(answer: Any) -> str:
        given = _given(answer)
        if isinstance(right, str) != isinstance(given, str) or isinstance(given, bool):
            raise NotSolved(f"answer with {kind}")
        if same(given, right):
            return f"right: {right}. {why_right}"
        for value_, reason in wrong.items():
            if same(given, value_):
                raise NotSolved(f"wrong: {given!r} is not it. {reason}")
        raise NotSolved(f"wrong: {given!r} is not it. {otherwise}")

    body.__name__ = f"ticket_{exercise_id.replace('.', '_')}"


# ---- 03: the end of the first block (00 to 03) ----------------------------------------

choice("03.T1", solution="t1", right="b", why={
    "a": "The email is still sent, but after the answer and by a worker: the request no longer "
         "waits for it.",
    "b": "The request only puts a job in a line and answers; a worker sends the email afterwards.",
    "c": "The two do not add up: the request answers before the email's work starts.",
    "d": "Handing work off is putting a job in a line, which takes no time; the request answers.",
})
value("03.T2", solution="t2", right=4,
      why_right="The next check comes 5 minutes after the last one, and the sign-up came 1 minute "
                "after it.",
      wrong={5: "The timer counts from its last check, not from the sign-up: 5 - 1 = 4.",
             1: "1 minute is how long after the last check they signed up; the next check is "
                "4 minutes later.",
             0: "0 is what an event gives; a timer waits for its next check, 4 minutes away."},
      otherwise="The next check is 5 minutes after the previous one, and the sign-up came 1 minute "
                "in: 5 - 1 = 4.")
choice("03.T3", solution="t3", right="b", why={
    "a": "One sentinel sends one worker home; the other two wait on get() for ever.",
    "b": "Each worker that takes a sentinel goes home, so three workers need three.",
    "c": "Python threads have no stop(): a thread ends when its function returns.",
    "d": "get() on an empty queue waits for the next job, it does not end the worker.",
})
value("03.T4", solution="t4", right=2,
      why_right="Three workers take three emails at once: two rounds of 1 second.",
      wrong={6: "6 s is one worker doing all six; three workers share them.",
             3: "Three workers send three emails in each second: six take two seconds.",
             1: "Three workers send only three in the first second; the other three need a second "
                "more."},
      otherwise="Three workers each take the next email when free: two rounds of 1 second.")

# ---- 05: the end of the second block (04 and 05) --------------------------------------

choice("05.T1", solution="t1", right="b", why={
    "a": "A global is shared by every run in the process and lost when the worker restarts "
         "(notebook 04, section 1).",
    "b": "ctx.state belongs to the run and is kept, as JSON, from one iteration to the next.",
    "c": "A local variable ends with the function call: the next iteration starts without it.",
    "d": "The log says what happened, for people; a run does not read its place back from it.",
})
choice("05.T2", solution="t2", right="b", why={
    "a": "done says the work is finished: the other 60 emails would never be sent.",
    "b": "continue_ ends this iteration in time and asks for another, which starts from the "
         "checkpoint in ctx.state.",
    "c": "Nothing went wrong, time only ran short; error would end the whole run as failed.",
    "d": "An iteration over its budget fails with TimeBudgetExceededError, and what it sent is "
         "not undone.",
})
value("05.T3", solution="t3", right=16,
      why_right="After try k the wait is backoff x factor**(k-1) = 2 x 2**3.",
      wrong={10: "The waits are multiplied, not added: each is twice the one before.",
             8: "8 s was the wait after try 3; each wait doubles, so after try 4 it is 16.",
             32: "After try k the wait is 2 x 2**(k-1), so after try 4 it is 2 x 8 = 16."},
      otherwise="After try k the wait is backoff x factor**(k-1) = 2 x 2**3 = 16.")
choice("05.T4", solution="t4", right="b", why={
    "a": "Python cannot stop a thread from outside; the run must notice the request itself.",
    "b": "Abort is cooperative: the controller raises a flag, and the task's own code sees it and "
         "stops cleanly.",
    "c": "A pending run is aborted at once, and a running one when its code next checks "
         "ctl.is_aborted().",
    "d": "Being asked to stop is not an error: the run ends aborted, not failed.",
})

# ---- 08: the end of the third block (06 to 08) ----------------------------------------

value("08.T1", solution="t1", right=4,
      why_right="Queue wait runs from when the run was due (t=10) to when a worker took it (t=14).",
      wrong={5: "Queue wait ends when a worker takes the run (t=14), not when it finishes.",
             1: "1 s is its working time, from t=14 to t=15; the wait was before that.",
             15: "15 is a moment, not a length: the wait is from t=10 to t=14."},
      otherwise="Queue wait runs from triggered (t=10) to the first iteration started (t=14).")
choice("08.T2", solution="t2", right="b", why={
    "a": "SIGKILL cannot be caught: no except block and no cleanup of the dead process runs.",
    "b": "The dead worker renews nothing, so its lease runs out and another worker's reaper puts "
         "the run back in the queue.",
    "c": "A killed process is gone; another worker picks the run up once its lease has run out.",
    "d": "That is an engine without leases; with one, the run stays running only until its lease "
         "runs out.",
})
choice("08.T3", solution="t3", right="a", why={
    "a": "At least once means a second execution can happen, so it must not send a second "
         "receipt.",
    "b": "JSON makes inputs safe to read back; it says nothing about running twice.",
    "c": "Retries are one more reason a body runs again, so they make idempotency matter more.",
    "d": "Idempotency costs a check, it makes nothing faster; it makes running twice harmless.",
})
choice("08.T4", solution="t4", right="b", why={
    "a": "History is kept: the old run stays failed, and the new run has a new id.",
    "b": "retrigger makes a new run of the same definition with the same input, and keeps the old "
         "one.",
    "c": "It repeats the same input, so a run that failed because of its input fails again.",
    "d": "Nothing is deleted; removing old runs is cleanup, a separate call.",
})

# ---- 10: the end of the fourth block (09 and 10) --------------------------------------

value("10.T1", solution="t1", right=1.5,
      why_right="Two leave at t=0 (the burst), then one every 1/4 s: the 8th at 6 x 0.25 s.",
      wrong={2: "The first two leave at once (the burst), so only six wait for tokens: 6 x 0.25.",
             1.75: "The burst sends two at t=0, not one: six more at 0.25 s each end at 1.5 s.",
             0.5: "A full bucket holds only 2 tokens; after those, one drips in every 0.25 s."},
      otherwise="Two leave at t=0 (the burst), then one every 0.25 s: the 8th at 6 x 0.25 = 1.5.")
value("10.T2", solution="t2", right="PENDING",
      why_right="The result backend has no key for that id, and Celery reads no key as PENDING.",
      wrong={"FAILURE": "Celery cannot tell an unknown id from a waiting one: both read PENDING.",
             "REVOKED": "Nobody revoked it; an id with no key in the result backend reads PENDING.",
             "SUCCESS": "Nothing ran; an id Celery never heard of reads PENDING (trap 1)."},
      otherwise="An id with no key in the result backend reads as PENDING (trap 1).")
choice("10.T3", solution="t3", right="a", why={
    "a": "Late acks keep the message until the task ends, and reject_on_worker_lost gives it back "
         "when the process dies.",
    "b": "With early acks the message was deleted before the task ran, so there is nothing to "
         "give back.",
    "c": "Retries run when the task raises; a dead process raises nothing.",
    "d": "By default a worker acknowledges a message before running it, so a dead worker loses "
         "it (trap 2).",
})
choice("10.T4", solution="t4", right="a", why={
    "a": "Redis cannot tell a slow worker from a dead one: after 2 s it hands the message to "
         "another worker.",
    "b": "Redis stops nothing; it only hands the unacknowledged message out again.",
    "c": "The visibility timeout is no time budget: the first worker goes on and finishes too.",
    "d": "Redis cannot tell a dead worker from a slow one, so it redelivers either way.",
})
