# Why it works: a run is due at its `triggered` time plus any `delay`; its queue wait ends at
# its first `iteration started`, whatever happens after.
# The common wrong approach: measuring from `triggered` when the run was held back by a delay,
# or adding the waits before retries; and 0 instead of None for a run that never started.

from teachtasks import Step


def queue_wait(entries, run_id):
    """Seconds run_id waited for a worker: from when it was due to its first attempt."""
    mine = [e for e in entries if e.run_id == run_id]
    triggered = mine[0]                                  # a run's first entry: triggered
    due = triggered.time + triggered.detail.get("delay", 0)
    for entry in mine:
        if entry.step is Step.ITERATION_STARTED:         # the first attempt began
            return entry.time - due
    return None                                          # it never started
