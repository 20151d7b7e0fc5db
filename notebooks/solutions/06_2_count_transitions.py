# Why it works: a transition is a change between one entry and the *same run's* previous entry;
# remembering each run's last status while reading the log in order finds every one.
# The common wrong approach: comparing each entry with the previous line of the whole log
# (entries of different runs interleave), or counting entries whose status did not change.

def count_transitions(entries):
    """How many times each status change (old, new) happened in the log."""
    counts = {}
    status_of = {}                      # run id -> its status after its latest entry
    for entry in entries:               # in the clock's order, as tasks.lifecycle() gives
        before = status_of.get(entry.run_id)
        if before is not None and before != entry.status:
            pair = (before, entry.status)
            counts[pair] = counts.get(pair, 0) + 1
        status_of[entry.run_id] = entry.status
    return counts
