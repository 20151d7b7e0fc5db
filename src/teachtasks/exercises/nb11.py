"""Self-checks for notebook 11, the appendix "Measuring the runner".

* 11.1 ``median_of(repeats, measure)``: one warm-up call thrown away, then the
  median of ``repeats`` calls.
* 11.2 ``ratio_table(results, baseline)``: every result divided by the
  baseline's.

The checks never time anything: they hand the learner's function made-up
timings, so they are quick and say the same thing on every machine.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

from . import NotSolved, exercise

# ---- 11.1 median_of --------------------------------------------------------------------


class _ScriptedMeasure:
    """A fake ``measure``: returns made-up timings, one per call, and counts its calls."""

    def __init__(self, timings: list[float]) -> None:
        self.timings = list(timings)
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> float:
        if args or kwargs:
            raise NotSolved("call measure() with no arguments: it does the work once and "
                            "returns the seconds it took")
        if self.calls >= len(self.timings):
            raise NotSolved(f"measure was called more than {len(self.timings)} times; call "
                            "it once to warm up, then `repeats` times")
        value = self.timings[self.calls]
        self.calls += 1
        return value


#: (timings the fake measure returns, in call order; repeats; what the case shows).
#: The first timing is the warm-up's and is always far off, as a cold start is.
_MEDIAN_CASES: list[tuple[list[float], int, str]] = [
    ([9.0, 0.3, 0.1, 0.2], 3, "three repeats after a slow warm-up"),
    ([5.0, 0.010, 0.012, 0.500, 0.011, 0.013], 5,
     "one repeat met a busy machine (0.5 s): the median ignores it, the mean would not"),
    ([7.0, 0.4, 0.1, 0.3, 0.2], 4, "an even number of repeats: statistics.median averages "
                                   "the two middle values"),
    ([3.0, 0.25], 1, "a single repeat is its own median"),
    ([0.001, 0.5, 0.7, 0.6], 3, "a warm-up that happened to be the fastest call: still "
                                "thrown away"),
]


@exercise("11.1", solution="median_of")
def check_median_of(median_of: Any) -> str:
    """Call measure() once and throw that away (the warm-up), then `repeats`
    times; return statistics.median of those."""
    if not callable(median_of):
        raise NotSolved("median_of must be a function: def median_of(repeats, measure): ...")
    for timings, repeats, what in _MEDIAN_CASES:
        measure = _ScriptedMeasure(timings)
        got = median_of(repeats, measure)
        if measure.calls != repeats + 1:
            raise NotSolved(
                f"with repeats={repeats}, measure was called {measure.calls} time(s); "
                f"expected {repeats + 1}: once to warm up, then {repeats} times"
            )
        kept = timings[1:]
        want = statistics.median(kept)
        if not isinstance(got, int | float) or isinstance(got, bool):
            raise NotSolved(f"return a number (seconds), not {type(got).__name__}")
        if math.isclose(got, want, rel_tol=1e-9):
            continue
        if math.isclose(got, statistics.median(timings), rel_tol=1e-9):
            raise NotSolved(f"the warm-up's timing ({timings[0]}) counted; throw the first "
                            f"call's result away ({what})")
        if math.isclose(got, statistics.mean(kept), rel_tol=1e-9):
            raise NotSolved(f"that is the mean ({got:g}); take the median ({want:g}) ({what})")
        if math.isclose(got, min(kept), rel_tol=1e-9):
            raise NotSolved(f"that is the best repeat ({got:g}); take the median ({want:g}) "
                            f"({what})")
        raise NotSolved(f"got {got!r}, expected {want!r} ({what})")
    return "one warm-up thrown away, then the median: the typical repeat"


# ---- 11.2 ratio_table -------------------------------------------------------------------

_RATIO_CASES: list[tuple[dict[str, float], str, str]] = [
    ({"pool": 0.02, "runner": 0.1}, "pool", "the runner took five times the pool"),
    ({"pool": 0.02, "runner": 0.1}, "runner", "the baseline can be any entry"),
    ({"a": 3.0, "b": 1.5, "c": 6.0, "d": 0.75}, "a", "faster than the baseline gives "
                                                    "ratios under 1"),
    ({"only": 0.004}, "only", "the baseline alone: 1.0"),
]


@exercise("11.2", solution="ratio_table")
def check_ratio_table(ratio_table: Callable[..., Any]) -> str:
    """Return {name: results[name] / results[baseline]} for every name,
    the baseline included (1.0), without changing `results`."""
    if not callable(ratio_table):
        raise NotSolved("ratio_table must be a function: def ratio_table(results, baseline): ...")
    for results, baseline, what in _RATIO_CASES:
        given = dict(results)
        got = ratio_table(given, baseline)
        if given != results:
            raise NotSolved("ratio_table changed the dict it was given; build a new one")
        if not isinstance(got, dict):
            raise NotSolved(f"return a dict {{name: ratio}}, not {type(got).__name__}")
        if set(got) != set(results):
            missing, extra = sorted(set(results) - set(got)), sorted(set(got) - set(results))
            raise NotSolved(f"the keys must be the names in results ({what}); "
                            f"missing {missing}, unexpected {extra}")
        for name, seconds in results.items():
            want = seconds / results[baseline]
            value = got[name]
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise NotSolved(f"ratio of {name!r} must be a number, not {value!r}")
            if math.isclose(value, want, rel_tol=1e-9):
                continue
            if value and math.isclose(value, 1 / want, rel_tol=1e-9):
                raise NotSolved(f"ratio of {name!r} is upside down: divide each result by the "
                                f"baseline's, results[name] / results[baseline] ({what})")
            raise NotSolved(f"ratio of {name!r} with baseline {baseline!r}: got {value!r}, "
                            f"expected {want!r} ({what})")
    return "ratios to a baseline: numbers that still mean something on another machine"
