# Why it works: a function gives back its result with `return`; the check calls it with several
# values, negatives and zero included.
# The common wrong approach: printing the result instead of returning it: the cell shows the
# number, but the caller gets None.

def double(x):
    return 2 * x
