# Why it works: (b): the history is kept; the new run has a new id and the old input.
# The common wrong approach: (a): a run's end is history; re-triggering adds a run, it does not
# rewrite one.

t4 = "b"
