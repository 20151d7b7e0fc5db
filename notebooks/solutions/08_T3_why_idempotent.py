# Why it works: (a): delivery is at least once: a worker can die after sending and before
# recording it.
# The common wrong approach: (c): retries are one more reason a body runs again, so they make
# idempotency matter more.

t3 = "a"
