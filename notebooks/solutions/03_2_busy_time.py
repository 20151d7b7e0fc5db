# Why it works: a worker is busy for the sum of its own jobs' end - start; the gaps between jobs
# do not count.
# The common wrong approach: taking the span from a worker's first start to its last end (counts
# the idle gaps), or a fixed list of workers instead of those in the record.

def busy_time(record):
    """Seconds each worker spent running jobs, from (job, worker, start, end) rows."""
    busy = {}
    for job, worker, start, end in record:
        busy[worker] = busy.get(worker, 0) + (end - start)
    return busy
