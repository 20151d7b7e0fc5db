"""A lock for threads that share one GIL: ``PoliteLock``.

Why it exists: a plain ``threading.Lock`` that a thread has to wait for is
handed over. When its holder lets go, the kernel wakes the waiting thread and
gives it the lock, but that thread cannot run until it gets the GIL, which the
old holder still has; the old holder's next call then waits for the lock in
turn. From then on every acquisition is a hand-over between two threads
through the kernel, the costliest way to share a lock. Measured on the memory
store: four worker threads spent 70 µs a run where one spends 26.

So a thread that finds a ``PoliteLock`` taken does not queue for it at
first: it sleeps a moment (50 µs, doubling up to 1 ms), which lets the holder
finish, and tries again. Nobody is handed a lock they cannot use, and a
holder that lets go can take it again at once. Waiting is then not first
come, first served, so after 5 ms of trying a thread queues after all: none
waits forever behind others that keep taking the lock. Right for the memory
store's short critical sections, where the GIL is the real bottleneck; not
for a lock held across slow I/O (the SQLite store keeps a plain lock).
"""

from __future__ import annotations

import threading
import time

#: the first and the longest pause between two tries, in seconds
FIRST_PAUSE = 0.00005
MAX_PAUSE = 0.001
#: how long a thread tries politely before it queues like for any lock
POLITE_SECONDS = 0.005


class PoliteLock:
    """A lock (``reentrant=True``: one its holder may take again) whose
    waiters sleep and retry instead of queueing. A context manager, with
    ``acquire(timeout=None)`` and ``release()`` as ``threading.Lock``."""

    __slots__ = ("_lock",)

    def __init__(self, *, reentrant: bool = False) -> None:
        self._lock = threading.RLock() if reentrant else threading.Lock()

    def acquire(self, timeout: float | None = None) -> bool:
        """Take the lock; False if ``timeout`` seconds passed first."""
        lock = self._lock
        if lock.acquire(blocking=False):
            return True
        start = time.monotonic()
        polite = POLITE_SECONDS if timeout is None else min(POLITE_SECONDS, timeout)
        pause = FIRST_PAUSE
        while time.monotonic() - start < polite:
            time.sleep(pause)
            if lock.acquire(blocking=False):
                return True
            pause = min(pause * 2, MAX_PAUSE)
        # still taken: queue for it after all, so that no thread waits forever
        # behind others that keep taking it
        if timeout is None:
            return lock.acquire()
        return lock.acquire(timeout=max(0.0, timeout - (time.monotonic() - start)))

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> PoliteLock:
        if not self._lock.acquire(blocking=False):  # the common case, without a call
            self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
