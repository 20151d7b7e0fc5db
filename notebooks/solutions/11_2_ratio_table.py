def ratio_table(results, baseline):
    """Every result divided by the baseline's: 1.0 is "as fast as the baseline",
    2.0 "takes twice as long"."""
    base = results[baseline]
    return {name: seconds / base for name, seconds in results.items()}
