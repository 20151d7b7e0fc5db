from __future__ import annotations

import pytest

from teachtasks import (
    FINAL_STATUSES,
    TRANSITIONS,
    IllegalTransitionError,
    InvalidArgumentError,
    Status,
    check_transition,
)


def test_table_covers_every_status_and_finals_are_dead_ends() -> None:
    assert set(TRANSITIONS) == set(Status)
    for status in FINAL_STATUSES:
        assert TRANSITIONS[status] == frozenset()
    assert Status.RUNNING in TRANSITIONS[Status.PENDING]
    assert Status.PENDING in TRANSITIONS[Status.RUNNING]  # requeue after a lease expired


@pytest.mark.parametrize("old", list(Status))
@pytest.mark.parametrize("new", list(Status))
def test_check_transition_follows_the_table(old: Status, new: Status) -> None:
    if (old == new and not old.is_final) or new in TRANSITIONS[old]:
        check_transition("r", old, new)
    else:
        with pytest.raises(IllegalTransitionError, match=f"from '{old.value}' to '{new.value}'"):
            check_transition("r", old, new)


def test_status_parse() -> None:
    assert Status.parse("FAILED") is Status.FAILED
    with pytest.raises(InvalidArgumentError, match="unknown status 'done'"):
        Status.parse("done")
