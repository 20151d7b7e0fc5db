def busy_time(record):
    """Seconds each worker spent running jobs, from (job, worker, start, end) rows."""
    busy = {}
    for job, worker, start, end in record:
        busy[worker] = busy.get(worker, 0) + (end - start)
    return busy
