# Why it works: 4: the next check comes 5 minutes after the last one, and the sign-up came 1
# minute after it.
# The common wrong approach: 5, counting the timer's period from the sign-up instead of from the
# last check.

t2 = 4
