"""The Redis store itself: the ``Store`` methods over the scripts of ``scripts.py``.

It follows ``memory.py`` method by method. Where memory.py holds a lock and
the SQLite store a transaction, this store reads the run, lets
``teachtasks.lifecycle`` decide, and applies the ``Change`` in one Lua script
that first checks the run's ``version`` is still the one it read (see
``scripts.py``): when another worker got there first, it reads and decides
again.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ... import lifecycle
from ...checks import safe_text
from ...definition import DefinitionRecord
from ...errors import (
    DuplicateRunIdError,
    IllegalTransitionError,
    InvalidArgumentError,
    RunNotFoundError,
    UnknownDefinitionError,
)
from ...run import LifecycleEntry, LogRecord, Run, Status
from ..base import RunFilter, Store
from ..sqlite.encoding import check_filter, number, text, whole
from .connection import MIN_REDIS, Fields, RedisConnection
from .keys import (
    decode_definition,
    decode_entry,
    decode_log,
    decode_run,
    encode_definition,
    encode_entry,
    encode_fields,
    encode_log,
    encode_run,
    num,
    pairs,
)

__all__ = ["MIN_REDIS", "RedisStore"]

_BIGGEST_OFFSET = 2**62
_CLEANUP_BATCH = 500


class RedisStore(RedisConnection, Store):
    """Runs, lifecycle entries and logs in a Redis database.

    ``RedisStore("redis://127.0.0.1:6379/1")``, or a ``redis.Redis`` client.
    Every process and machine that opens the same Redis (and ``prefix``)
    shares the same runs; each ``claim`` hands a run to exactly one worker.
    Needs Redis 6.2 or newer.
    """

    shared = True

    def __enter__(self) -> RedisStore:
        return self

    @staticmethod
    def _entry_args(entries: Iterable[LifecycleEntry]) -> list[str]:
        args: list[str] = []
        for entry in entries:
            args += [entry.run_id, encode_entry(entry)]
        return [str(len(args) // 2), *args]

    def _encode(self, change: lifecycle.Change) -> tuple[Fields, list[str], list[str]]:
        to_set, to_delete = encode_fields(change.fields)
        return to_set, to_delete, self._entry_args(change.entries)

    def _apply(self, fields: Fields, encoded: tuple[Fields, list[str], list[str]],
               now: float) -> Run | None:
        """Apply an encoded change to the run as it was read (``fields``); the
        run as it is now, or None when someone changed it since the read."""
        to_set, to_delete, entry_args = encoded
        flat = [x for pair in to_set.items() for x in pair]
        version = self._run("apply", fields["id"], fields["version"], num(now),
                            len(to_set), *flat, len(to_delete), *to_delete, *entry_args)
        if version == -2:
            return None
        if version == -1:
            raise RunNotFoundError(fields["id"])
        new = {**fields, **to_set, "updated_at": num(now), "version": str(version)}
        for name in to_delete:
            new.pop(name, None)
        return decode_run(new)

    def _decide_and_apply(self, run_id: str, decide: Any, now: float) -> tuple[Run, Any]:
        """Read, ``decide(run) -> (change, extra)``, apply; again while another
        writer got in between. Returns the run as it is now and ``extra``."""
        while True:
            fields = self._read(run_id)
            run = decode_run(fields)
            change, extra = decide(run)
            if not change:
                return run, extra
            applied = self._apply(fields, self._encode(change), now)
            if applied is not None:
                return applied, extra

    # ---- definitions --------------------------------------------------------------------------
    def put_definition(self, record: DefinitionRecord) -> None:
        if not isinstance(record, DefinitionRecord):
            raise InvalidArgumentError(
                f"put_definition takes a DefinitionRecord, not {type(record).__name__}"
            )
        value = encode_definition(record)
        with self._talk():
            self._redis.hset(self.keys.definitions, record.id, value)

    def _definition_ids(self) -> list[str]:
        with self._talk():
            return sorted(self._redis.hkeys(self.keys.definitions))

    def get_definition(self, definition_id: str) -> DefinitionRecord:
        value = None
        if isinstance(definition_id, str):
            try:
                with self._talk():
                    value = self._redis.hget(self.keys.definitions, definition_id)
            except InvalidArgumentError:
                value = None
        if value is None:
            raise UnknownDefinitionError(definition_id, self._definition_ids())
        return decode_definition(value)

    def list_definitions(self) -> list[DefinitionRecord]:
        with self._talk():
            values = self._redis.hvals(self.keys.definitions)
        return sorted((decode_definition(v) for v in values), key=lambda r: r.id)

    def delete_definition(self, definition_id: str) -> None:
        deleted = 0
        if isinstance(definition_id, str):
            try:
                with self._talk():
                    deleted = self._redis.hdel(self.keys.definitions, definition_id)
            except InvalidArgumentError:
                deleted = 0
        if not deleted:
            raise UnknownDefinitionError(definition_id, self._definition_ids())

    # ---- runs ------------------------------------------------------------------------------------
    def create_run(self, run: Run, entry: LifecycleEntry) -> tuple[Run, bool]:
        if not isinstance(run, Run):
            raise InvalidArgumentError(f"create_run takes a Run, not {type(run).__name__}")
        fields = encode_run(run)
        entry_args = self._entry_args([entry])
        flat = [x for pair in fields.items() for x in pair]
        key, parent = run.idempotency_key, run.parent_id
        result = self._run(
            "create", run.id, run.definition_id, "0" if key is None else "1", key or "",
            "0" if parent is None else "1", parent or "", len(fields), *flat, *entry_args)
        if result[0] == "existing":
            return decode_run(pairs(result[1])), False
        if result[0] == "duplicate":
            raise DuplicateRunIdError(f"a run with id {run.id!r} already exists")
        return decode_run(fields), True

    def get_run(self, run_id: str) -> Run:
        return decode_run(self._read(run_id))

    def abort_requested(self, run_id: str) -> bool:
        value = None
        if isinstance(run_id, str):
            with self._talk():
                value = self._redis.hget(self.keys.run(run_id), "abort_requested")
        if value is None:
            raise RunNotFoundError(run_id)
        return value == "1"

    def _select(self, where: RunFilter, mode: str, offset: int = 0, limit: int = 0,
                statuses: Sequence[Status] = ()) -> list[Any]:
        keys = []
        if where.status is not None:
            keys.append(self.keys.status(where.status))
        if where.definition_id is not None:
            keys.append(self.keys.definition(where.definition_id))
        if where.parent_id is not None:
            keys.append(self.keys.parent(where.parent_id))
        low = "-inf" if where.created_after is None else num(where.created_after)
        high = "+inf" if where.created_before is None else "(" + num(where.created_before)
        tmp = f"{self.prefix}:tmp:{uuid.uuid4().hex}"
        return self._run("select", tmp, mode, offset, limit, low, high, len(keys), *keys,
                         *(s.value for s in statuses))

    def list_runs(self, where: RunFilter) -> list[Run]:
        where = check_filter(where)
        if where.offset >= _BIGGEST_OFFSET:
            return []
        hashes = self._select(where, "list", where.offset, where.limit)
        return [decode_run(pairs(flat)) for flat in hashes if flat]

    def count_runs(self, where: RunFilter | None = None) -> dict[Status, int]:
        counts = dict.fromkeys(Status, 0)
        if where is None:
            with self._talk():
                stored = self._redis.hgetall(self.keys.counts)
            for status, count in stored.items():
                counts[Status(status)] = int(count)
        elif check_filter(where).status is not None:
            counts[where.status] = self._select(where, "count")[0]  # type: ignore[index]
        else:
            statuses = list(Status)
            for status, count in zip(statuses, self._select(where, "counts", statuses=statuses),
                                     strict=True):
                counts[status] = count
        return counts

    def delete_run(self, run_id: str) -> None:
        self._exists(run_id)
        result = self._run("delete", run_id)
        if result[0] == 0:
            raise RunNotFoundError(run_id)
        if result[0] == -1:
            raise IllegalTransitionError(
                run_id, Status(result[1]), "deleted",
                f"worker {result[2]} is running it; abort it first",
            )

    def claim(self, worker: str, now: float, lease_seconds: float) -> Run | None:
        text(worker, "worker")
        now = number(now, "now")  # type: ignore[assignment]
        lease_seconds = number(lease_seconds, "lease_seconds")  # type: ignore[assignment]
        skip = conflicts = 0
        while True:
            flat = self._run("peek", num(now), skip)
            if not flat:
                if skip:  # fewer due runs than we skipped: the oldest, then
                    skip = 0
                    continue
                return None
            fields = pairs(flat)
            run = decode_run(fields)
            change = lifecycle.claim(run, worker, now, lease_seconds)
            claimed = self._apply(fields, self._encode(change), now)
            if claimed is not None:
                return claimed
            # another worker took it first: the next try spreads the workers over
            # the first few due runs, so they stop racing for the same one
            conflicts += 1
            skip = random.randrange(min(conflicts, 4) + 1)

    def update(
        self,
        run_id: str,
        changes: Mapping[str, Any],
        entries: Sequence[LifecycleEntry] = (),
        *,
        worker: str | None = None,
        now: float,
    ) -> Run:
        if not isinstance(changes, Mapping):
            raise InvalidArgumentError(f"changes must be a mapping, not {type(changes).__name__}")
        now = number(now, "now")  # type: ignore[assignment]
        change = lifecycle.Change(dict(changes), tuple(entries))
        encoded = None
        while True:
            fields = self._read(run_id)
            lifecycle.check_update(run_id, Status(fields["status"]), fields.get("worker"),
                                   changes, worker)
            if encoded is None:  # checked once, before anything is written
                encoded = self._encode(change)
            applied = self._apply(fields, encoded, now)
            if applied is not None:
                return applied

    def heartbeat(self, run_id: str, worker: str, now: float, lease_seconds: float) -> bool:
        if not isinstance(run_id, str) or not isinstance(worker, str):
            return False
        now = number(now, "now")  # type: ignore[assignment]
        lease = now + number(lease_seconds, "lease_seconds")  # type: ignore[operator]
        try:
            return self._run("heartbeat", run_id, worker, num(lease)) == 1
        except InvalidArgumentError:  # text Redis cannot carry names no run and no worker
            return False

    def request_abort(self, run_id: str, now: float) -> tuple[Run, bool]:
        now = number(now, "now")  # type: ignore[assignment]
        return self._decide_and_apply(run_id, lambda run: lifecycle.request_abort(run, now), now)

    def requeue_expired(self, now: float) -> list[Run]:
        now = number(now, "now")  # type: ignore[assignment]
        with self._talk():
            expired = self._redis.zrangebyscore(self.keys.leases, "-inf", "(" + num(now))
        if not expired:
            return []
        requeued = []
        caps: dict[str, int] = {}
        for run_id in expired:
            def decide(run: Run) -> tuple[lifecycle.Change, bool]:
                if not lifecycle.is_expired(run, now):  # renewed or finished since
                    return lifecycle.Change(), False
                if run.definition_id not in caps:
                    caps[run.definition_id] = self._max_requeues(run.definition_id)
                return lifecycle.requeue(run, now, caps[run.definition_id]), True

            try:
                run, changed = self._decide_and_apply(run_id, decide, now)
            except RunNotFoundError:  # deleted since
                continue
            if changed:
                requeued.append(run)
        return requeued

    def _max_requeues(self, definition_id: str) -> int:
        with self._talk():
            value = self._redis.hget(self.keys.definitions, definition_id)
        return lifecycle.DEFAULT_MAX_REQUEUES if value is None else (
            decode_definition(value).max_requeues)

    def next_due(self) -> float | None:
        with self._talk():
            top = self._redis.zrange(self.keys.due, 0, 0, withscores=True)
        return float(top[0][1]) if top else None

    def delete_finished_before(self, before: float) -> int:
        before = number(before, "before")  # type: ignore[assignment]
        total = 0
        while True:
            deleted = self._run("cleanup", num(before), _CLEANUP_BATCH)
            total += deleted
            if deleted < _CLEANUP_BATCH:
                return total

    # ---- lifecycle log and run logs ------------------------------------------------------------
    def append_entries(self, entries: Iterable[LifecycleEntry]) -> None:
        args = self._entry_args(entries)
        if args[0] != "0":
            self._run("append", *args)

    def list_entries(self, run_id: str | None = None) -> list[LifecycleEntry]:
        if run_id is None:
            with self._talk():
                texts = self._redis.zrange(self.keys.entries, 0, -1)
        else:
            texts = self._run_list(run_id, self.keys.run_entries(run_id))
        return [decode_entry(t) for t in texts]

    def add_log(self, record: LogRecord) -> None:
        if not isinstance(record, LogRecord):
            raise InvalidArgumentError(f"add_log takes a LogRecord, not {type(record).__name__}")
        if not isinstance(record.run_id, str):
            raise RunNotFoundError(record.run_id)
        message = safe_text(text(record.message, "message"))  # type: ignore[arg-type]
        record = replace(record, time=number(record.time, "time"),
                         level=text(record.level, "level"),
                         iteration=whole(record.iteration, "iteration"))
        if not self._run("log", text(record.run_id, "run_id"), encode_log(record, message)):
            raise RunNotFoundError(record.run_id)

    def list_logs(self, run_id: str) -> list[LogRecord]:
        texts = self._run_list(run_id, self.keys.logs(run_id))
        return [decode_log(run_id, t) for t in texts]

