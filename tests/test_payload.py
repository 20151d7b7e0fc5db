from __future__ import annotations

import datetime as dt
import math

import pytest

from teachtasks import PayloadNotJSONError, check_json


def test_plain_json_passes_and_is_copied() -> None:
    value = {"a": [1, 2.5, "x", None, True], "b": {"c": (1, 2)}}
    checked = check_json(value)
    assert checked == {"a": [1, 2.5, "x", None, True], "b": {"c": [1, 2]}}
    checked["a"].append(9)
    assert value["a"] == [1, 2.5, "x", None, True]


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"user": {"born": dt.date(2000, 1, 1)}}, "input['user']['born'] is a date"),
        ({"tags": {"a", "b"}}, "input['tags'] is a set"),
        ({"raw": b"x"}, "input['raw'] is a bytes"),
        ({"f": lambda: 1}, "input['f'] is a function"),
        ({"n": math.nan}, "input['n'] is nan"),
        ({"n": [1, math.inf]}, "input['n'][1] is inf"),
        ({1: "x"}, "has the key 1 of type int"),
    ],
)
def test_not_json_names_the_key(value: object, where: str) -> None:
    with pytest.raises(PayloadNotJSONError) as info:
        check_json(value, "input")
    assert where in str(info.value)


def test_cycle_is_refused() -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(PayloadNotJSONError, match="contains itself"):
        check_json(loop)


def test_datetime_hint() -> None:
    with pytest.raises(PayloadNotJSONError, match="isoformat"):
        check_json(dt.datetime(2024, 1, 1))
