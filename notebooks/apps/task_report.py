"""Print what a task store holds: notebook 08 runs this in a brand-new process,
to show that everything survived a restart.

    python -m apps.task_report tasks.db PARENT_PID

It opens the SQLite file with a new ``SQLiteStore`` and a new ``TaskManager``,
and reads through the management API only. It imports no task code: reading
runs, logs and definition records needs none (running them would).
``PARENT_PID`` is the process id of whoever started it, so the report can say
that it is another process.
"""

from __future__ import annotations

import os
import sys

from teachtasks import SQLiteStore, TaskManager


def main(argv: list[str]) -> int:
    path, parent_pid = argv[0], int(argv[1])
    with SQLiteStore(path) as store:
        tasks = TaskManager(store)
        print("a different process from the notebook:", os.getpid() != parent_pid)
        print("task code this process knows:", [d.id for d in tasks.list_definitions()] or "none")
        print("definitions in the file:")
        for record in store.list_definitions():
            retry = record.retry
            print(f"  {record.id:<15} {record.title!r}, at most {retry['max_attempts']} "
                  f"tr{'y' if retry['max_attempts'] == 1 else 'ies'}")
        counts = {status.value: n for status, n in tasks.count_runs().items()}
        print("runs in the file:", counts, "=", sum(counts.values()))
        for run in tasks.list_runs(status="pending"):
            print(f"pending: {run.id} {run.definition_id} due at t={run.due_at:g} s {run.input}")
        for run in tasks.list_runs(status="failed", limit=1):
            print(f"the newest failed run: {run.id}, error: {run.error['message']}")
        for run in tasks.list_runs(status="success", definition_id="send-invoice", limit=1):
            for line in tasks.logs(run.id):
                print(f"the log of the newest invoice sent, {run.id}: {line}")
        [report] = tasks.list_runs(definition_id="monthly-report", limit=1)
        children = tasks.children(report.id)
        print(f"{report.id} (monthly-report) has {len(children)} child runs:",
              ", ".join(f"{c.id} {c.status.value}" for c in reversed(children)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
