# Why it works: the rules are arithmetic on the waits: backoff * factor**(k-1) is 2, 4, 8, 16;
# the number of tries and the jitter keep the worst total under 40 s.
# The common wrong approach: `max_attempts=3` for "survive three failures" (the first try
# counts: it needs a fourth), or forgetting that jitter can lengthen each wait.

from teachtasks import RetryPolicy


def choose_policy():
    # Waits 2, 4, 8, 16 s: 4 retries after the first try, so a 5th try survives
    # 3 failures (even 4); in all at most (2+4+8+16) * 1.25 = 37.5 s of waiting.
    # A 6th try would add 32 s more: over the 40 s allowed.
    return RetryPolicy(max_attempts=5, backoff=2, factor=2, jitter=0.25)
