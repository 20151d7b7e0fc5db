from teachtasks import RetryPolicy


def transient_only():
    # 4 tries: waits of about 1, 2 and 4 s, at most (1 + 2 + 4) * 1.2 = 8.4 s in all.
    # Only a lost connection or a timeout is tried again: bad input fails at once.
    return RetryPolicy(max_attempts=4, backoff=1, factor=2, jitter=0.2,
                       retry_on=(ConnectionError, TimeoutError))
