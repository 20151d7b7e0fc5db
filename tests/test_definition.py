from __future__ import annotations

import pytest

from teachtasks import InvalidDefinitionError, RetryPolicy, TaskDefinition, task


def noop(ctx, ctl):  # noqa: ANN001, ANN201
    return None


def test_decorator_builds_a_definition() -> None:
    @task("send-email", events="user.signed_up", max_iterations=3)
    def send(ctx, ctl):  # noqa: ANN001, ANN202
        """Send the welcome email."""

    assert isinstance(send, TaskDefinition)
    assert send.events == ("user.signed_up",)
    assert send.description == "Send the welcome email."
    assert send.title == "send email"
    assert send.record().max_iterations == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": "1abc"}, "not valid"),
        ({"id": "has space"}, "not valid"),
        ({"id": ""}, "not valid"),
        ({"id": "x" * 101}, "not valid"),
        ({"max_iterations": 0}, "max_iterations"),
        ({"max_iterations": 2.5}, "max_iterations"),
        ({"budget_seconds": 0}, "budget_seconds"),
        ({"budget_seconds": float("inf")}, "budget_seconds"),
        ({"events": ("bad event",)}, "event name"),
        ({"on_done": "not a function"}, "on_done"),
        ({"run": None}, "run must be a function"),
        ({"retry": {"max_attempts": 3}}, "RetryPolicy"),
    ],
)
def test_bad_definitions_are_refused(kwargs: dict, message: str) -> None:
    args = {"id": "ok", "run": noop, **kwargs}
    with pytest.raises(InvalidDefinitionError, match=message):
        TaskDefinition(**args)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"backoff": -1}, {"factor": 0.5}, {"jitter": 2},
     {"retry_on": (int,)}, {"max_attempts": True}],
)
def test_bad_retry_policies(kwargs: dict) -> None:
    with pytest.raises(InvalidDefinitionError):
        RetryPolicy(**kwargs)


def test_backoff_grows_is_capped_and_jitter_repeats() -> None:
    policy = RetryPolicy(max_attempts=10, backoff=1, factor=2, max_backoff=5, jitter=0.1)
    delays = [policy.delay(a, seed="run-1") for a in range(1, 6)]
    assert delays == [policy.delay(a, seed="run-1") for a in range(1, 6)]  # repeatable
    assert delays != [policy.delay(a, seed="run-2") for a in range(1, 6)]  # but per run
    for attempt, delay in zip(range(1, 6), delays, strict=True):
        base = min(5, 2 ** (attempt - 1))
        assert base * 0.9 <= delay <= base * 1.1
    exact = RetryPolicy(max_attempts=3, backoff=2, jitter=0)
    assert [exact.delay(1), exact.delay(2)] == [2, 4]


def test_should_retry_respects_types_and_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, retry_on=ConnectionError)
    assert policy.should_retry(ConnectionError(), 1)
    assert policy.should_retry(ConnectionError(), 2)
    assert not policy.should_retry(ConnectionError(), 3)
    assert not policy.should_retry(ValueError(), 1)
