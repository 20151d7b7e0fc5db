# Why it works: polls happen at 0, every, 2*every...; a sign-up waits until the first poll at or
# after it, ceil(t / every) * every, so one exactly on a poll waits 0.
# The common wrong approach: `every - t % every`, which makes a sign-up at the very moment of a
# poll wait a whole interval; or forgetting `import math`.

import math


def polling_delays(signup_times, every):
    """For each sign-up, the seconds until the first poll at or after it.
    Polls happen at 0, every, 2 * every, ..."""
    delays = []
    for t in signup_times:
        next_poll = math.ceil(t / every) * every
        delays.append(next_poll - t)
    return delays
