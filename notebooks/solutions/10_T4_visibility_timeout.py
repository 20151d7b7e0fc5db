# Why it works: (a): Redis cannot tell a slow worker from a dead one, so it redelivers after the
# timeout.
# The common wrong approach: (d): Redis cannot know the worker is alive, so it redelivers either
# way.

t4 = "a"
