import math


def percentile(values, p):
    """The nearest-rank percentile: the smallest value that at least p% of
    the values are less than or equal to."""
    ordered = sorted(values)  # a sorted copy; the caller's list is left alone
    rank = max(1, math.ceil(p * len(ordered) / 100))  # counting from 1
    return ordered[rank - 1]
