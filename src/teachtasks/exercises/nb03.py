"""Self-checks for notebook 03, "Build a runner"."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from . import NotSolved, exercise


class _Probe:
    """A job function that notes which thread ran it and how many ran at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.threads: set[int] = set()
        self.calls: list[Any] = []

    def __call__(self, argument: Any) -> Any:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.threads.add(threading.get_ident())
            self.calls.append(argument)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        return None if argument is None else argument * 10


def _try_run_all(run_all: Callable[..., Any], arguments: list[Any], workers: int,
                 seconds: float = 0.03) -> _Probe:
    probe = _Probe(seconds)
    before = set(threading.enumerate())
    jobs = [(probe, a) for a in arguments]
    results = run_all(jobs, workers)
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    if left:
        for t in left:  # do not leave the learner's threads running forever
            t.join(1.0)
        raise NotSolved(
            f"{len(left)} thread(s) you started were still running when run_all returned; "
            "stop them (a sentinel each) and join() them before you return"
        )
    if results is None:
        raise NotSolved("run_all returned None; return the list of results")
    results = list(results)
    if sorted(probe.calls, key=repr) != sorted(arguments, key=repr):
        raise NotSolved(
            f"every job must run exactly once: jobs {arguments} ran with {sorted(probe.calls, key=repr)}"
        )
    want = [None if a is None else a * 10 for a in arguments]
    if results != want:
        raise NotSolved(
            f"results must be in the order of the jobs (results[i] is what job i returned): "
            f"expected {want}, got {results}"
        )
    if probe.most_at_once > workers:
        raise NotSolved(
            f"with workers={workers}, {probe.most_at_once} jobs ran at the same time: "
            "start exactly `workers` threads, not one per job"
        )
    return probe


@exercise("03.1", solution="run_all",
          hang_hint="did each worker get its sentinel? Put one None in the queue per "
                    "worker, then join() every thread")
def check_run_all(run_all: Callable[..., Any]) -> str:
    """``run_all(jobs, workers)``: run (function, argument) jobs on a pool of
    ``workers`` threads; results in the jobs' order; no thread left behind."""
    probe = _try_run_all(run_all, [1, 2, 3, 4, 5, 6], workers=3)
    if threading.get_ident() in probe.threads and len(probe.threads) == 1:
        raise NotSolved("every job ran in the notebook's own thread: start worker threads")
    if probe.most_at_once < 2:
        raise NotSolved(
            "with workers=3 the jobs ran one at a time: the workers should take jobs "
            "from the same queue at the same time"
        )
    probe = _try_run_all(run_all, [7, 8, 9], workers=1)
    if probe.most_at_once != 1:
        raise NotSolved("with workers=1, only one job may run at a time")
    _try_run_all(run_all, [1, 2], workers=5)
    _try_run_all(run_all, [None, 3], workers=2)
    _try_run_all(run_all, [], workers=2)
    return ("every job ran once on your pool, results in order, and no thread was left running "
            "(Python's concurrent.futures.ThreadPoolExecutor is this idea, grown up)")


def _expected_busy(record: list[tuple[Any, str, float, float]]) -> dict[str, float]:
    busy: dict[str, float] = {}
    for _job, worker, start, end in record:
        busy[worker] = busy.get(worker, 0.0) + (end - start)
    return busy


@exercise("03.2", solution="busy_time")
def check_busy_time(busy_time: Callable[..., Any]) -> str:
    """``busy_time(record)``: seconds each worker spent running jobs."""
    records: list[list[tuple[Any, str, float, float]]] = [
        [("make_report(March)", "worker-1", 0, 5), ("send_email(ada)", "worker-2", 0, 1),
         ("send_email(bob)", "worker-3", 0, 1), ("send_email(cy)", "worker-2", 1, 2),
         ("make_report(April)", "worker-3", 1, 6), ("send_email(gus)", "worker-1", 5, 6)],
        [("a", "worker-1", 2.5, 3.0), ("b", "worker-1", 0.0, 0.25)],
        [("a", "w-x", 10, 12), ("b", "w-y", 11, 11.5), ("c", "w-x", 20, 21)],
        [],
    ]
    for record in records:
        got = busy_time(list(record))
        want = _expected_busy(record)
        if not isinstance(got, dict):
            raise NotSolved(f"return a dict {{worker: seconds}}, not {type(got).__name__}")
        if set(got) != set(want):
            raise NotSolved(
                f"for the record {record} the workers should be {sorted(want)}, "
                f"but your dict has {sorted(got)}"
            )
        for worker, seconds in want.items():
            value = got[worker]
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isclose(
                value, seconds, abs_tol=1e-9
            ):
                raise NotSolved(
                    f"in the record {record}, {worker} was busy {seconds:g} s "
                    f"(add end - start of each of its jobs), not {value!r}"
                )
    return "you can tell from a record how hard each worker worked"
