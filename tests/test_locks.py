"""PoliteLock: a lock (mutual exclusion, reentrant when asked, a timeout) whose
waiters retry instead of queueing, and still never wait forever."""

from __future__ import annotations

import threading
import time

from teachtasks.locks import POLITE_SECONDS, PoliteLock


def test_only_one_thread_at_a_time_and_no_increment_lost() -> None:
    lock, count, inside = PoliteLock(), [0], [0]

    def work() -> None:
        for _ in range(5_000):
            with lock:
                inside[0] += 1
                assert inside[0] == 1
                count[0] = count[0] + 1
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count[0] == 20_000


def test_reentrant_only_when_asked_and_a_timeout_gives_up() -> None:
    again = PoliteLock(reentrant=True)
    with again, again:  # its holder may take it again
        pass
    plain = PoliteLock()
    assert plain.acquire()
    taken = []
    thread = threading.Thread(target=lambda: taken.append(plain.acquire(timeout=0.05)))
    start = time.monotonic()
    thread.start()
    thread.join()
    assert taken == [False] and time.monotonic() - start >= 0.05
    plain.release()
    assert plain.acquire(timeout=0) is True
    plain.release()


def test_a_waiter_is_not_starved_by_threads_that_keep_taking_it() -> None:
    """Two threads take the lock back to back, holding it almost all the time;
    a third still gets it soon after its polite tries run out."""
    lock, stop = PoliteLock(), threading.Event()

    def hog() -> None:
        while not stop.is_set():
            with lock:
                time.sleep(0.001)

    hogs = [threading.Thread(target=hog) for _ in range(2)]
    for thread in hogs:
        thread.start()
    try:
        time.sleep(0.02)
        start = time.monotonic()
        assert lock.acquire(timeout=5)
        waited = time.monotonic() - start
        lock.release()
    finally:
        stop.set()
        for thread in hogs:
            thread.join()
    assert waited < POLITE_SECONDS + 1.0
