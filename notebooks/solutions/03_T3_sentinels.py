# Why it works: (b): each worker that takes a sentinel goes home, so three workers need three.
# The common wrong approach: (a): one sentinel sends one worker home, and the other two wait for
# ever.

t3 = "b"
