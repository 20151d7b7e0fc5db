# Why it works: ratios against a baseline measured in the same run cancel out how fast or busy
# the machine is; each result divided by the baseline's.
# The common wrong approach: baseline / result (upside down: faster looks bigger), or changing
# the dict passed in.

def ratio_table(results, baseline):
    """Every result divided by the baseline's: 1.0 is "as fast as the baseline",
    2.0 "takes twice as long"."""
    base = results[baseline]
    return {name: seconds / base for name, seconds in results.items()}
