# Why it works: 4: queue wait runs from when the run was due (t=10) to when a worker took it
# (t=14).
# The common wrong approach: 5, counting to the end of the run: the last second was work, not
# waiting.

t1 = 4
