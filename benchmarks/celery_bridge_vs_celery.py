"""What the bridge costs: the same no-op on plain Celery and through the bridge.

Not a test: a measurement on this machine. One real Redis (started here on a
free 127.0.0.1 port), two Celery worker processes (``--concurrency=2`` each),
``N`` tasks sent and waited for; runs per second for each side, median of 3,
and the ratio bridge / plain. The bridge does more per task, on purpose: it
writes the run record, three lifecycle entries and the status counters to a
``RedisStore`` (the broker's Redis, the next database), which a plain Celery
task does not keep.

    .venv/bin/python benchmarks/celery_bridge_vs_celery.py            # 500 tasks, median of 3
    .venv/bin/python benchmarks/celery_bridge_vs_celery.py --runs 200 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from teachtasks.processes import CeleryWorker, RedisServer, stop_all

    with RedisServer() as redis, tempfile.TemporaryDirectory() as tmp:
        url = redis.url(0)
        os.environ["BENCH_REDIS_URL"] = url
        sys.path.insert(0, str(HERE))
        import celery_app

        workers = [CeleryWorker("celery_app", f"bench{n}@%h", concurrency=2, cwd=HERE,
                                env={"BENCH_REDIS_URL": url}, logfile=Path(tmp) / f"w{n}.log")
                   for n in (1, 2)]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                worker.wait_ready(celery_app.app, timeout=60)

            def plain() -> float:
                start = time.perf_counter()
                results = [celery_app.plain_noop.delay() for _ in range(args.runs)]
                for result in results:
                    result.get(timeout=120)
                return args.runs / (time.perf_counter() - start)

            def bridged() -> float:
                start = time.perf_counter()
                results = [celery_app.bridge.trigger("noop") for _ in range(args.runs)]
                for result in results:
                    result.get(timeout=120)
                return args.runs / (time.perf_counter() - start)

            plain(), bridged()  # warm-up: connections, the store's scripts
            p = statistics.median(plain() for _ in range(args.repeats))
            b = statistics.median(bridged() for _ in range(args.repeats))
            store = celery_app.bridge.store
            final = sum(n for status, n in store.count_runs().items() if status.is_final)
        finally:
            left = stop_all(*workers)
    print(f"{args.runs} no-op tasks, 2 Celery workers x concurrency 2, one redis-server, "
          f"median of {args.repeats}")
    print(f"  plain Celery task            {p:7.0f} tasks/s")
    print(f"  teachtasks through the bridge {b:6.0f} runs/s  (run records in a RedisStore: "
          f"{final} final)")
    print(f"  ratio bridge / plain: {b / p:.2f}")
    return 0 if left == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
