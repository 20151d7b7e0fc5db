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
