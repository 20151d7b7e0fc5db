# Why it works: Retry-After is seconds or an HTTP date; a date is turned into seconds from the
# `now` given; both are capped, and anything unreadable means a short wait.
# The common wrong approach: reading only the seconds form, comparing the date with
# `time.time()` (untestable), or letting a bad header raise.

from email.utils import parsedate_to_datetime


def retry_after_seconds(value, now, cap=300):
    """Seconds to wait, from a Retry-After header: seconds ("120") or an HTTP date."""
    if not value:
        return 1.0  # no header: a polite small wait
    value = value.strip()
    if value.isdigit():  # the first form: a whole number of seconds
        return float(min(int(value), cap))
    try:  # the second form: a date, "Wed, 21 Oct 2026 07:28:00 GMT"
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return 1.0  # neither: unreadable
    return float(min(max(0.0, when - now), cap))
