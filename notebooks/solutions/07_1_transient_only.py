# Why it works: `retry_on` lists the errors that can get better by waiting; anything else (bad
# input) fails at the first try. The tries and waits are sized to the rules.
# The common wrong approach: retrying every exception, so a `KeyError` for an unknown currency
# is tried again and again, failing the same way each time.

from teachtasks import RetryPolicy


def transient_only():
    # 4 tries: waits of about 1, 2 and 4 s, at most (1 + 2 + 4) * 1.2 = 8.4 s in all.
    # Only a lost connection or a timeout is tried again: bad input fails at once.
    return RetryPolicy(max_attempts=4, backoff=1, factor=2, jitter=0.2,
                       retry_on=(ConnectionError, TimeoutError))
