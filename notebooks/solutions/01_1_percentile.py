# Why it works: the nearest-rank percentile is a position in the sorted values: rank ceil(p/100
# * n), counted from 1, and never below 1.
# The common wrong approach: `values.sort()`, which reorders the caller's list, or `int(p/100 *
# n)` as an index, which is one too low or out of range on small lists.

import math


def percentile(values, p):
    """The nearest-rank percentile: the smallest value that at least p% of
    the values are less than or equal to."""
    ordered = sorted(values)  # a sorted copy; the caller's list is left alone
    rank = max(1, math.ceil(p * len(ordered) / 100))  # counting from 1
    return ordered[rank - 1]
