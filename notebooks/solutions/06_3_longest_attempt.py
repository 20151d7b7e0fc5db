# Why it works: an attempt is a bar of the timeline: from an `iteration started` to the same
# run's next entry that ends it; the worker is on the entry that started it.
# The common wrong approach: the run with the longest total time (several short attempts are not
# one long one), or the worker of the ending entry.

from teachtasks import Step

# the steps that end an attempt (a bar of the timeline)
ENDS = {Step.CONTINUED, Step.RETRY_SCHEDULED, Step.REQUEUED, Step.FINISHED}


def longest_attempt(entries):
    """(run id, worker) of the single attempt that held a worker the longest."""
    open_attempts = {}                  # run id -> its "iteration started" entry
    best = None                         # (seconds, run id, worker)
    for entry in entries:
        if entry.step is Step.ITERATION_STARTED:
            open_attempts[entry.run_id] = entry
        elif entry.step in ENDS and entry.run_id in open_attempts:
            start = open_attempts.pop(entry.run_id)
            seconds = entry.time - start.time
            if best is None or seconds > best[0]:
                best = (seconds, entry.run_id, start.worker)
    return best[1], best[2]
