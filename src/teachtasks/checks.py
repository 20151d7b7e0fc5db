"""The one number check every edge of the library uses.

Why one helper: "a delay", "a lease", "a limit" are all numbers a caller
types, and each must be refused the same way (a named error that says what
was wrong and what to give instead) before anything is written. ``True`` is
never a number here, even though Python lets ``True + 1`` be 2.
"""

from __future__ import annotations

import math

from .errors import InvalidArgumentError, TeachtasksError

#: The longest delay ``trigger`` and ``continue_`` accept: a year. A run due
#: later than that is almost certainly a mistake (seconds typed as
#: milliseconds) and would sit pending forever.
MAX_DELAY_SECONDS = 366 * 24 * 3600.0


def _show(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def check_number(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    whole: bool = False,
    error: type[TeachtasksError] = InvalidArgumentError,
    hint: str = "",
) -> float:
    """``value`` if it is a finite number in range, else ``error`` naming
    ``name``, the range and the value. ``low``/``high`` are inclusive,
    ``above`` is a strict lower bound, ``whole`` asks for an ``int``."""
    kind = "a whole number" if whole else "a number"
    types = int if whole else int | float
    if isinstance(value, bool) or not isinstance(value, types) or (
        not whole and not math.isfinite(value)  # type: ignore[arg-type]
    ):
        bounds = [f"more than {_show(above)}" if above is not None else "",
                  f"at least {_show(low)}" if low is not None else "",
                  f"at most {_show(high)}" if high is not None else ""]
        wanted = ", ".join(b for b in bounds if b)
        raise error(f"{name} must be {kind}" + (f" ({wanted})" if wanted else "")
                    + f", not {value!r}{hint}")
    if above is not None and not value > above:  # type: ignore[operator]
        raise error(f"{name} must be more than {_show(above)}, not {value!r}{hint}")
    if low is not None and value < low:  # type: ignore[operator]
        raise error(f"{name} must be at least {_show(low)}, not {value!r}{hint}")
    if high is not None and value > high:  # type: ignore[operator]
        raise error(f"{name} must be at most {_show(high)}, not {value!r}{hint}")
    return value  # type: ignore[return-value]


def check_text(value: object, name: str, *, optional: bool = False,
               error: type[TeachtasksError] = InvalidArgumentError) -> str | None:
    """``value`` if it is text every store can hold (valid Unicode, no lone
    surrogate), else ``error``."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise error(f"{name} must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(
            f"{name} {value!r} is not valid Unicode text (it holds a lone surrogate, as a "
            "file name that is not UTF-8 becomes); decode it with errors='replace' first"
        ) from None
    return value


def safe_text(value: str) -> str:
    """Text every store can hold: a lone surrogate becomes its ``\\udcXX``
    escape, everything else is unchanged. For text the library only keeps
    (log lines), where refusing would lose more than it protects."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
