import math


def polling_delays(signup_times, every):
    """For each sign-up, the seconds until the first poll at or after it.
    Polls happen at 0, every, 2 * every, ..."""
    delays = []
    for t in signup_times:
        next_poll = math.ceil(t / every) * every
        delays.append(next_poll - t)
    return delays
