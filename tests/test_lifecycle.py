"""The lifecycle rules as pure functions: a run and a moment in, a Change out."""

from __future__ import annotations

import pytest

from teachtasks import IllegalTransitionError, LeaseLostError, Run, Status, Step
from teachtasks import lifecycle as lc


def test_a_claim_counts_the_iteration_in_the_same_step() -> None:
    pending = Run(id="r", definition_id="d")
    change = lc.claim(pending, "w", 2.0, 10.0)
    assert change.fields == {"worker": "w", "lease_expires_at": 12.0, "status": Status.RUNNING,
                             "started_at": 2.0, "iterations": 1, "attempt": 1,
                             "retry_pending": False}
    assert [e.step for e in change.entries] == [Step.STARTED, Step.ITERATION_STARTED]
    between = Run(id="r", definition_id="d", status=Status.RUNNING, iterations=1, attempt=1,
                  started_at=0.0)
    assert lc.next_count(between) == (2, 1)
    retried = Run(id="r", definition_id="d", status=Status.RUNNING, iterations=2, attempt=1,
                  retry_pending=True)
    assert lc.next_count(retried) == (2, 2)
    aborting = Run(id="r", definition_id="d", abort_requested=True)
    assert "iterations" not in lc.claim(aborting, "w", 0.0, 1.0).fields  # ended, never run


def test_the_rules_change_nothing_they_are_given() -> None:
    run = Run(id="r", definition_id="d", status=Status.RUNNING, worker="w", iterations=1,
              attempt=1, lease_expires_at=5.0, state={"row": 3})
    copy = Run(**{name: getattr(run, name) for name in Run.__slots__})
    lc.requeue(run, 6.0)
    lc.finish(run, "w", 6.0, Status.SUCCESS, output=1)
    lc.request_abort(run, 6.0)
    assert run == copy


def test_requeue_until_the_cap_then_fail() -> None:
    run = Run(id="r", definition_id="d", status=Status.RUNNING, worker="w", requeues=1,
              iterations=1, attempt=1, lease_expires_at=1.0)
    assert lc.is_expired(run, 2.0) and not lc.is_expired(run, 1.0)
    again = lc.requeue(run, 2.0, max_requeues=2)
    assert again.fields["status"] is Status.PENDING and again.fields["requeues"] == 2
    assert again.entries[0].detail == {"reason": "lease expired"}
    lost = lc.requeue(Run(**{**{n: getattr(run, n) for n in Run.__slots__}, "requeues": 2}),
                      2.0, max_requeues=2)
    assert lost.fields["status"] is Status.FAILED and lost.fields["requeues"] == 3
    assert lost.fields["error"]["type"] == lc.WORKER_LOST
    assert "lost 3 times" in lost.fields["error"]["message"]


def test_every_update_is_checked_the_same_way() -> None:
    held = Run(id="r", definition_id="d", status=Status.RUNNING, worker="w")
    with pytest.raises(LeaseLostError):
        lc.check_update("r", held.status, held.worker, {"progress": 0.5}, worker="other")
    final = Run(id="r", definition_id="d", status=Status.SUCCESS)
    with pytest.raises(IllegalTransitionError, match="final"):
        lc.check_update("r", final.status, None, {"output": 2})
    with pytest.raises(IllegalTransitionError):
        lc.request_abort(final, 1.0)
    lc.check_update("r", held.status, "w", {"progress": 0.5}, worker="w")  # allowed
