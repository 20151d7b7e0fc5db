# Why it works: one queue, `workers` threads taking from it, one sentinel per worker so each one
# stops, `join` so all have finished; the index stored with each job puts its result in place.
# The common wrong approach: one sentinel for all the workers (the others wait on `get()`
# forever: the notebook hangs), a thread per job, or appending results in the order they finish.

import queue
import threading


def run_all(jobs, workers):
    """Run every (function, argument) job on `workers` threads; return the
    results in the order of `jobs`. Every thread has finished when it returns."""
    line = queue.Queue()
    for index, (function, argument) in enumerate(jobs):
        line.put((index, function, argument))  # the index says where the result goes
    for _ in range(workers):
        line.put(None)  # one sentinel per worker: no more work, go home
    results = [None] * len(jobs)

    def worker():
        while True:
            job = line.get()
            if job is None:
                return
            index, function, argument = job
            results[index] = function(argument)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
