from teachtasks import RetryPolicy


def choose_policy():
    # Waits 2, 4, 8, 16 s: 4 retries after the first try, so a 5th try survives
    # 3 failures (even 4); in all at most (2+4+8+16) * 1.25 = 37.5 s of waiting.
    # A 6th try would add 32 s more: over the 40 s allowed.
    return RetryPolicy(max_attempts=5, backoff=2, factor=2, jitter=0.25)
