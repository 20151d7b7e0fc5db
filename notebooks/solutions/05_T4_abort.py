# Why it works: (b): abort is cooperative: the controller raises a flag, and the task's own code
# sees it and stops cleanly.
# The common wrong approach: (a): Python cannot stop a thread from outside; the run must notice
# the request itself.

t4 = "b"
