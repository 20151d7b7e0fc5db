"""``python -m teachtasks.dashboard --sqlite runs.db``: the dashboard of a SQLite file.

Prints the address with its token, as JupyterLab does, and serves until
Ctrl-C. This process has no task code, only the file: it shows, aborts and
deletes runs, and re-triggering writes a new pending run that a runner with
the code picks up.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from ..manager import TaskManager
from ..stores.sqlite import SQLiteStore
from .server import LOCALHOST, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m teachtasks.dashboard",
                                     description="Serve the teachtasks dashboard of a SQLite file.")
    parser.add_argument("--sqlite", required=True, type=Path, help="the store's SQLite file")
    parser.add_argument("--port", type=int, default=None, help="the port (default: a free one)")
    parser.add_argument("--host", default=LOCALHOST,
                        help="the address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--token", default=os.environ.get("TEACHTASKS_DASHBOARD_TOKEN"),
                        help="the token (default: $TEACHTASKS_DASHBOARD_TOKEN, or a random one)")
    args = parser.parse_args(argv)
    if not args.sqlite.is_file():
        parser.error(f"{args.sqlite} is not a file (a runner creates it: SQLiteStore('{args.sqlite}'))")
    store = SQLiteStore(args.sqlite)
    server = serve(TaskManager(store), port=args.port, token=args.token, host=args.host)
    if args.host != LOCALHOST:
        print(f"Warning: listening on {args.host}, not only on this machine; anyone who can reach "
              "it and has the token can abort and delete runs.", file=sys.stderr)
    print(f"The teachtasks dashboard of {args.sqlite} is running. Open it at:\n\n    {server.url}\n\n"
          "Stop it with Ctrl-C.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5) and server.running:
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        store.close()
    print("Dashboard stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
