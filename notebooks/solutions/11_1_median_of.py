import statistics


def median_of(repeats, measure):
    """Warm up once (the result is thrown away), then the median of `repeats` measurements."""
    measure()  # the warm-up: pays the one-time costs, and does not count
    return statistics.median(measure() for _ in range(repeats))
