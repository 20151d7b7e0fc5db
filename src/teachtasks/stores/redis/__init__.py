"""The Redis store: runs in the Redis every worker already shares, on any machine.

A package of three modules, one job each: ``keys`` (key names, and values
<-> Redis text), ``scripts`` (the Lua scripts, each one atomic), ``store``
(the ``Store`` methods).

Why it exists: a SQLite file can be shared by the processes of one machine
only. Where work outgrows one machine, the state goes into the network
service the workers share anyway (RQ keeps all of it in Redis). With
``TaskManager(RedisStore(url))`` a ``Runner`` on any machine that reaches
the Redis takes part; nothing else is shared, not even a folder.

How it stays correct with many workers on many machines:

* **Deciding in Python, applying in Lua.** ``teachtasks.lifecycle`` decides
  every step, as for the other stores; a Lua script applies the ``Change``
  (fields, indexes, counters and lifecycle entries together) and first
  checks the run's ``version`` is still the one that was read, so two
  workers can never both claim a run (``scripts.py``).
* **Indexes, not scans.** Due runs wait in a sorted set by due time, held
  runs in a sorted set by lease expiry (the reaper reads only the expired),
  and lists filter by status, definition, parent and creation time through
  sorted sets Redis intersects itself. No ``KEYS`` or ``SCAN`` anywhere.
* **JSON only**, never pickle; scripts are sent once and called by their
  SHA (``EVALSHA``), again after a Redis restart forgot them.

Durability: what a Redis restart keeps is Redis' setting, not this store's.

* **No persistence** (``--save "" --appendonly no``, what
  ``processes.RedisServer`` starts for the course): everything is in memory;
  a restart of ``redis-server`` loses every run.
* **RDB snapshots** (``save 60 1000``, Redis' default): a fork writes the
  whole database every so often; a crash loses what changed since the last
  snapshot, minutes of runs.
* **Append-only file** (``appendonly yes``): every write is logged, and the
  log is replayed at start. ``appendfsync always`` fsyncs before each reply:
  a run the store reported finished survives a crash of Redis and of the
  machine (``tests/test_redis_store.py`` restarts a Redis to check it).
  ``everysec`` (the usual choice) survives a crash of ``redis-server`` but
  may lose about the last second to a power cut; ``no`` leaves it to the OS.
* **Replicas** copy asynchronously: a failover may lose the last writes the
  old primary acknowledged.

A lost write here is a run that goes back: a claim that was lost is claimed
again, a finish that was lost runs once more. Use tasks that tolerate a
second execution (idempotent), as with every queue.
"""

from __future__ import annotations

from .store import MIN_REDIS, RedisStore

__all__ = ["MIN_REDIS", "RedisStore"]
