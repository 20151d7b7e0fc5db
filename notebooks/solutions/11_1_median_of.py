# Why it works: the first call pays one-time costs (imports, caches) and is thrown away; the
# median of the rest is the typical repeat, untouched by one bad one.
# The common wrong approach: the mean (pulled up by one slow repeat), the best (a lucky one), or
# keeping the warm-up's timing.

import statistics


def median_of(repeats, measure):
    """Warm up once (the result is thrown away), then the median of `repeats` measurements."""
    measure()  # the warm-up: pays the one-time costs, and does not count
    return statistics.median(measure() for _ in range(repeats))
