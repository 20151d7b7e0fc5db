"""The SQLite store: runs on disk, shared by threads and processes.

A package of four modules, one job each: ``schema`` (tables, indexes and the
migrations between versions), ``encoding`` (Python values <-> columns),
``connection`` (the file, its one connection per process, reads and write
transactions, opening and migrating), ``store`` (the ``Store`` methods).

Why it exists: the memory store forgets everything when the process ends, and
only the threads of one process can share it. This store keeps runs, their
lifecycle log and their logs in one SQLite file, so a restart loses nothing
and several worker processes can work through the same runs. It follows
``memory.py`` method by method: same checks, same errors, same lifecycle
entries. Where memory.py holds a lock, this store holds a transaction.

How it stays correct with many workers:

* **One writer at a time.** Every change is one transaction opened with
  ``BEGIN IMMEDIATE``, which takes SQLite's write lock *before* reading. So
  ``claim`` reads "the next due run nobody holds" and marks it held with no
  other writer in between, in this process or any other: no run is ever held
  by two workers.
* **One connection per process.** The threads of a process share it, one at a
  time behind a lock, so they queue on that lock instead of sleeping in
  SQLite's busy handler (why not one per thread: see ``_connect``).
* **Readers do not wait for writers.** The file is in WAL mode: a process
  reads the last committed state while another process writes.
* **A lock held too long is an error, not a hang.** A writer waits at most
  ``busy_timeout`` seconds for another connection, then ``StoreError``.
* **JSON only.** Inputs, outputs, state, errors and details are stored as JSON
  text, never pickled; every value reaches SQL as a bound parameter.
* **A versioned schema.** ``PRAGMA user_version`` holds the schema version;
  ``migrate()`` brings an older file up step by step, in one transaction.

Durability: ``synchronous="normal"`` (the default) keeps every committed
change through a crash of the process (the case the course teaches: a worker
that dies); a power cut may lose the last few commits. ``"full"`` also
survives that, at the price of an fsync per commit.
"""

from __future__ import annotations

from .schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from .store import SQLiteStore

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]
