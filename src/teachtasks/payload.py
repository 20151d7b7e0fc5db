"""JSON-only payloads: checked where they enter, copied so nobody shares them.

Why JSON and never pickle: a run's input crosses from the code that triggers it
to a worker that may live in another process, on another machine, after a
restart. JSON is data only; unpickling runs code chosen by whoever wrote the
bytes (Celery's CVE-2021-23727 is the real case the course shows). So every
input, output, state value and event payload is checked here, and the error
names the exact key that JSON cannot hold.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import PayloadNotJSONError

JSON = Any  # a value made of dict (str keys), list, str, int, float, bool, None

_SCALARS = (str, bool, type(None))
_ALL_SCALARS = (*_SCALARS, int, float)
_FLAT = frozenset({str, int, float, bool, type(None)})

#: How deeply lists and dicts may nest in a payload. Real data rarely goes
#: past ten; a payload nested hundreds deep is a mistake or an attack, and
#: decoding it costs a worker its stack (Python's own limit is about 1000).
MAX_DEPTH = 64
#: The biggest whole number a payload may hold, in bits: Python refuses to
#: turn an integer of more than 4300 digits into text, so JSON cannot hold it.
MAX_INT_BITS = 14_000


def _path(where: str, parts: list[str]) -> str:
    return where + "".join(parts)


def _walk(value: Any, where: str, parts: list[str], seen: set[int]) -> None:
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise PayloadNotJSONError(
                _path(where, parts),
                f"is a whole number of {value.bit_length()} bits, too large for JSON "
                f"(at most {MAX_INT_BITS}); store it as a string",
            )
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PayloadNotJSONError(
                _path(where, parts), f"is {value!r}, which JSON cannot hold; use None or a string"
            )
        return
    if isinstance(value, dict | list | tuple):
        if len(parts) >= MAX_DEPTH:
            raise PayloadNotJSONError(
                _path(where, parts),
                f"is nested more than {MAX_DEPTH} lists or dicts deep; flatten it "
                "(a payload is data for one run, not a tree of any depth)",
            )
        if id(value) in seen:
            raise PayloadNotJSONError(_path(where, parts), "contains itself (a cycle)")
        seen.add(id(value))
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise PayloadNotJSONError(
                        _path(where, parts),
                        f"has the key {key!r} of type {type(key).__name__}; "
                        "JSON object keys must be strings",
                    )
                _walk(item, where, [*parts, f"[{key!r}]"], seen)
        else:
            for index, item in enumerate(value):
                _walk(item, where, [*parts, f"[{index}]"], seen)
        seen.discard(id(value))
        return
    hint = ""
    name = type(value).__name__
    if name in {"datetime", "date", "time"}:
        hint = " (store value.isoformat() instead)"
    elif isinstance(value, bytes | bytearray):
        hint = " (decode it to text, or base64 it)"
    elif isinstance(value, set | frozenset):
        hint = " (use a sorted list)"
    raise PayloadNotJSONError(
        _path(where, parts), f"is a {name}, which JSON cannot hold{hint}"
    )


def check_json(value: Any, where: str = "payload") -> JSON:
    """Return a private JSON copy of ``value``, or raise ``PayloadNotJSONError``.

    ``where`` names the value in the error, for example ``input`` gives
    ``input['user']['born'] is a datetime, which JSON cannot hold``.
    Tuples become lists, as they would after a trip through any queue.
    """
    _walk(value, where, [], set())
    if isinstance(value, _ALL_SCALARS):
        return value
    if type(value) is dict and all(
            type(k) is str and type(v) in _FLAT for k, v in value.items()):
        return dict(value)  # flat, exact types: a shallow copy is the JSON copy
    return json.loads(json.dumps(value))


class _Empty(dict):  # type: ignore[type-arg]
    """A dict that stays empty: ``EMPTY``."""

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("this empty dict is shared and read-only; make your own with {}")

    __setitem__ = __delitem__ = __ior__ = setdefault = update = pop = popitem = clear = _refuse

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return dict, ()  # a copy is a plain, new dict


#: The one empty dict that every lifecycle entry without a detail, and every
#: stored run with no state, shares: one object, not one per entry (100,000
#: runs' entries would spend 25 MB on empty dicts). Read-only; ``copy_json``
#: of it is a new, plain ``{}``.
EMPTY: dict[str, Any] = _Empty()


def copy_json(value: JSON) -> JSON:
    """A cheap deep copy of a value already known to be JSON."""
    if value is None or isinstance(value, _ALL_SCALARS):
        return value
    if not value:
        return [] if isinstance(value, list) else {}
    if type(value) is dict and all(type(v) in _FLAT for v in value.values()):
        return dict(value)  # flat: a shallow copy is a deep one
    return json.loads(json.dumps(value))
