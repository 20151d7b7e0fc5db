"""The dashboard over a 100,000-run SQLite file: how long its pages take.

    .venv/bin/python benchmarks/dashboard.py [--runs 100000]

The aim (issue 17): the first page of the runs in under 100 ms. Each page is
requested 21 times through FastAPI's TestClient (the whole app: token cookie,
routing, the store's queries, Jinja2), and the median is printed with its
ratio to the aim.

``fill`` builds the file fast: runs created one by one through the store take
~100 us each (one transaction each), so it writes one template run through
the public API and copies it ``runs`` times in a single SQL statement. It
relies on the runs table having a column per ``Run`` field, as
``SQLiteStore`` has; the counts the store keeps are updated by its own
triggers.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from teachtasks import (  # noqa: E402
    DefinitionRecord,
    LifecycleEntry,
    Run,
    SQLiteStore,
    Status,
    Step,
    TaskManager,
)

AIM_MS = 100.0
DEFINITIONS = 7
START = 1_790_000_000.0  # created times on a real clock (December 2026), half a second apart


def fill(path: Path, runs: int) -> None:
    """A SQLite store with ``runs`` runs: 85 % success, 10 % failed, 3 %
    aborted, 2 % pending, over seven definitions, created half a second apart,
    ``run-000000`` the oldest. Each run has its TRIGGERED entry."""
    with SQLiteStore(path, synchronous="off") as store:
        for d in range(DEFINITIONS):
            store.put_definition(DefinitionRecord(f"def-{d}", title=f"Definition {d}"))
        template = Run(id="template", definition_id="def-0", input={"i": 0})
        store.create_run(template, LifecycleEntry("template", "def-0", Step.TRIGGERED, 0.0,
                                                  Status.PENDING))
    status = ("CASE WHEN (n * 37) % 100 < 85 THEN 'success' WHEN (n * 37) % 100 < 95 THEN 'failed' "
              "WHEN (n * 37) % 100 < 98 THEN 'aborted' ELSE 'pending' END")
    overrides = {
        "id": "printf('run-%06d', n)", "definition_id": f"'def-' || (n % {DEFINITIONS})",
        "status": status, "input": "json_object('i', n)",
        "created_at": f"{START} + n * 0.5", "updated_at": f"{START} + n * 0.5 + 0.25",
        "due_at": f"{START} + n * 0.5",
        "started_at": f"CASE WHEN {status} = 'pending' THEN NULL ELSE {START} + n * 0.5 + 0.1 END",
        "finished_at": f"CASE WHEN {status} = 'pending' THEN NULL ELSE {START} + n * 0.5 + 0.25 END",
        "iterations": f"CASE WHEN {status} = 'pending' THEN 0 ELSE 1 END",
    }
    entry_overrides = {"run_id": "r.id", "definition_id": "r.definition_id", "time": "r.created_at"}
    conn = sqlite3.connect(path)
    try:
        with conn:
            cols = [row[1] for row in conn.execute("PRAGMA table_info(runs)") if row[1] != "ord"]
            select = ", ".join(overrides.get(c, f"t.{c}") for c in cols)
            conn.execute(
                f"WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < ?) "
                f"INSERT INTO runs ({', '.join(cols)}) SELECT {select} FROM k, "
                "(SELECT * FROM runs WHERE id = 'template') AS t", (runs - 1,))
            ecols = [row[1] for row in conn.execute("PRAGMA table_info(entries)") if row[1] != "seq"]
            eselect = ", ".join(entry_overrides.get(c, f"e.{c}") for c in ecols)
            conn.execute(
                f"INSERT INTO entries ({', '.join(ecols)}) SELECT {eselect} FROM runs AS r, "
                "(SELECT * FROM entries WHERE run_id = 'template') AS e "
                "WHERE r.id != 'template' ORDER BY r.ord")
    finally:
        conn.close()
    with SQLiteStore(path) as store:
        store.delete_run("template")


def median_ms(call, repeats: int = 21) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def page_timings(path: Path) -> dict[str, float]:
    """Median milliseconds of each page over the store at ``path``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from teachtasks.dashboard import create_app
    from teachtasks.dashboard.pages import Filters, runs_after

    store = SQLiteStore(path)
    manager = TaskManager(store)
    client = TestClient(create_app(manager, token="benchmark-token"))
    client.get("/?token=benchmark-token")  # the cookie
    newest = manager.list_runs(limit=51)
    cursor = f"{newest[49].created_at!r}:{newest[49].id}"
    deep = runs_after(manager, Filters(), None, 5000)[-1]
    pages = {
        "first page of the runs": "/",
        "the JSON the live refresh polls": "/api/runs",
        "second page (cursor)": f"/?before={cursor}",
        "page 100 (cursor)": f"/?before={deep.created_at!r}:{deep.id}",
        "failed runs": "/?status=failed",
        "one definition": "/?definition=def-3",
        "definitions with their counts": "/definitions",
        "one run (with its timeline)": f"/runs/{newest[0].id}",
    }
    out = {}
    for name, url in pages.items():
        assert client.get(url).status_code == 200, url
        out[name] = median_ms(lambda url=url: client.get(url), 21 if "timeline" not in name else 5)
    import httpx

    from teachtasks.dashboard import serve

    with serve(manager, token="benchmark-token") as server, httpx.Client(
            base_url=server.base_url, headers={"authorization": "token benchmark-token"}) as http:
        assert http.get("/").status_code == 200
        out["first page over HTTP (uvicorn, httpx)"] = median_ms(lambda: http.get("/"))
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.db"
        start = time.perf_counter()
        fill(path, args.runs)
        print(f"filled {args.runs:,} runs in {time.perf_counter() - start:.1f} s")
        for name, ms in page_timings(path).items():
            print(f"  {name:<38} {ms:8.2f} ms   ratio to the 100 ms aim: {ms / AIM_MS:.3f}")


if __name__ == "__main__":
    main()
