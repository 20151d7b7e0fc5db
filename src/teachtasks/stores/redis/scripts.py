"""The Redis store's Lua scripts: each one atomic, none of them deciding.

Redis runs a script from start to end with no other command in between, so
a script is this store's transaction. The scripts only *apply*: the lifecycle
rules (``teachtasks.lifecycle``) stay in Python. A step that depends on what
the run looks like is done in two moves, the way optimistic locking works:

1. read the run (one ``HGETALL``, or ``PEEK`` for a claim),
2. decide in Python (``lifecycle.claim``, ``lifecycle.requeue``, ...), and
   ``APPLY`` the ``Change`` with the run's ``version`` as it was read.

``APPLY`` refuses (returns -2) when the version moved in between (another
worker claimed the run, a heartbeat renewed it, someone aborted it): the
caller reads again and decides again. So two workers can never both apply a
claim of the same run, and a reaper can never requeue a run whose lease was
just renewed.

Every script keeps the indexes (``keys.py``) in step with the run's hash:
``reindex`` puts a run in the due, lease and finished sets its fields say it
belongs to. Scripts build key names from the prefix (``ARGV[1]``), so the
store needs one Redis (or one Redis Cluster slot, with a ``{hash tag}`` as
the prefix). Floats are never computed in Lua (Lua would print them with 14
digits): the scripts pass on the text Python wrote.
"""

from __future__ import annotations

#: Shared by every script: the prefix, index upkeep, entries, forgetting a run.
PRELUDE = r"""
local p = ARGV[1]
local FINAL = {success = true, failed = true, aborted = true}

local function due_member(ord, id)
  return string.format('%016d', tonumber(ord)) .. ':' .. id
end

local function reindex(id, key)
  local f = redis.call('HMGET', key, 'status', 'worker', 'due_at', 'lease_expires_at',
                       'finished_at', 'ord')
  local status, worker, due, lease, finished, ord = f[1], f[2], f[3], f[4], f[5], f[6]
  local member = due_member(ord, id)
  if (not worker) and (status == 'pending' or status == 'running') then
    redis.call('ZADD', p .. ':due', due, member)
  else
    redis.call('ZREM', p .. ':due', member)
  end
  if status == 'running' and worker and lease then
    redis.call('ZADD', p .. ':leases', lease, id)
  else
    redis.call('ZREM', p .. ':leases', id)
  end
  if FINAL[status] and finished then
    redis.call('ZADD', p .. ':finished', finished, id)
  else
    redis.call('ZREM', p .. ':finished', id)
  end
end

local function set_status(id, ord, old, new)
  if old == new then return end
  redis.call('ZREM', p .. ':status:' .. old, id)
  redis.call('ZADD', p .. ':status:' .. new, ord, id)
  redis.call('HINCRBY', p .. ':counts', old, -1)
  redis.call('HINCRBY', p .. ':counts', new, 1)
end

-- ARGV[first] = how many entries, then (run id, entry text) pairs; returns the next index
local function append_entries(first)
  local n = tonumber(ARGV[first])
  for k = 0, n - 1 do
    local run_id, text = ARGV[first + 1 + 2 * k], ARGV[first + 2 + 2 * k]
    local seq = redis.call('INCR', p .. ':seq')
    local entry = '[' .. seq .. ',' .. text
    redis.call('RPUSH', p .. ':entries:' .. run_id, entry)
    redis.call('ZADD', p .. ':entries', seq, entry)
  end
  return first + 1 + 2 * n
end

local function forget(id)
  local key = p .. ':run:' .. id
  local f = redis.call('HMGET', key, 'status', 'definition_id', 'parent_id', 'idempotency_key',
                       'ord')
  local status, def, parent, idem, ord = f[1], f[2], f[3], f[4], f[5]
  if not status then return 0 end
  redis.call('ZREM', p .. ':runs', id)
  redis.call('ZREM', p .. ':status:' .. status, id)
  redis.call('ZREM', p .. ':def:' .. def, id)
  if parent then redis.call('ZREM', p .. ':parent:' .. parent, id) end
  redis.call('ZREM', p .. ':created', id)
  redis.call('ZREM', p .. ':due', due_member(ord, id))
  redis.call('ZREM', p .. ':leases', id)
  redis.call('ZREM', p .. ':finished', id)
  redis.call('HINCRBY', p .. ':counts', status, -1)
  if idem and redis.call('HGET', p .. ':idem:' .. def, idem) == id then
    redis.call('HDEL', p .. ':idem:' .. def, idem)
  end
  local entries = redis.call('LRANGE', p .. ':entries:' .. id, 0, -1)
  for k = 1, #entries, 1000 do
    redis.call('ZREM', p .. ':entries', unpack(entries, k, math.min(k + 999, #entries)))
  end
  redis.call('DEL', key, p .. ':entries:' .. id, p .. ':logs:' .. id)
  return 1
end
"""

#: ARGV: p, id, definition_id, has_key, key, has_parent, parent, n, (field, value)*n,
#: then the TRIGGERED entry (count, run id, text). Returns {'created'},
#: {'existing', fields...} (the idempotency key is taken) or {'duplicate'}.
CREATE = PRELUDE + r"""
local id, def = ARGV[2], ARGV[3]
local key = p .. ':run:' .. id
if ARGV[4] == '1' then
  local existing = redis.call('HGET', p .. ':idem:' .. def, ARGV[5])
  if existing then
    return {'existing', redis.call('HGETALL', p .. ':run:' .. existing)}
  end
end
if redis.call('EXISTS', key) == 1 then return {'duplicate'} end
local ord = redis.call('INCR', p .. ':order')
local n = tonumber(ARGV[8])
local args = {}
for j = 1, 2 * n do args[j] = ARGV[8 + j] end
redis.call('HSET', key, 'ord', ord, 'version', 1, unpack(args))
local f = redis.call('HMGET', key, 'status', 'created_at')
redis.call('ZADD', p .. ':runs', ord, id)
redis.call('ZADD', p .. ':status:' .. f[1], ord, id)
redis.call('ZADD', p .. ':def:' .. def, ord, id)
if ARGV[6] == '1' then redis.call('ZADD', p .. ':parent:' .. ARGV[7], ord, id) end
redis.call('ZADD', p .. ':created', f[2], id)
redis.call('HINCRBY', p .. ':counts', f[1], 1)
if ARGV[4] == '1' then redis.call('HSET', p .. ':idem:' .. def, ARGV[5], id) end
reindex(id, key)
append_entries(9 + 2 * n)
return {'created'}
"""

#: ARGV: p, now, skip. The hash of the due run nobody holds at position
#: ``skip`` (0: the oldest due), or nil when none is due by ``now``.
PEEK = PRELUDE + r"""
local top = redis.call('ZRANGEBYSCORE', p .. ':due', '-inf', ARGV[2], 'LIMIT', ARGV[3], 1)
if #top == 0 then return false end
return redis.call('HGETALL', p .. ':run:' .. string.sub(top[1], 18))
"""

#: ARGV: p, id, version ('' = whatever it is), updated_at, nset, (field, value)*,
#: ndel, field*, then entries (count, (run id, text)*). Returns the new
#: version, -1 when there is no such run, -2 when its version moved.
APPLY = PRELUDE + r"""
local id = ARGV[2]
local key = p .. ':run:' .. id
local cur = redis.call('HMGET', key, 'version', 'status', 'ord')
if not cur[1] then return -1 end
if ARGV[3] ~= '' and cur[1] ~= ARGV[3] then return -2 end
local i = 5
local nset = tonumber(ARGV[i])
if nset > 0 then
  local args = {}
  for j = 1, 2 * nset do args[j] = ARGV[i + j] end
  redis.call('HSET', key, unpack(args))
end
i = i + 1 + 2 * nset
local ndel = tonumber(ARGV[i])
if ndel > 0 then
  local args = {}
  for j = 1, ndel do args[j] = ARGV[i + j] end
  redis.call('HDEL', key, unpack(args))
end
i = i + 1 + ndel
redis.call('HSET', key, 'updated_at', ARGV[4])
local version = redis.call('HINCRBY', key, 'version', 1)
set_status(id, cur[3], cur[2], redis.call('HGET', key, 'status'))
reindex(id, key)
append_entries(i)
return version
"""

#: ARGV: p, id, worker, lease_expires_at. 1 if ``worker`` still holds the run.
HEARTBEAT = PRELUDE + r"""
local key = p .. ':run:' .. ARGV[2]
local f = redis.call('HMGET', key, 'worker', 'status')
if f[1] ~= ARGV[3] then return 0 end
redis.call('HSET', key, 'lease_expires_at', ARGV[4])
redis.call('HINCRBY', key, 'version', 1)
if f[2] == 'running' then redis.call('ZADD', p .. ':leases', ARGV[4], ARGV[2]) end
return 1
"""

#: ARGV: p, entries (count, (run id, text)*).
APPEND = PRELUDE + r"""
append_entries(2)
return 1
"""

#: ARGV: p, run id, log line text. The line's seq, or 0 when there is no such run.
LOG = PRELUDE + r"""
if redis.call('EXISTS', p .. ':run:' .. ARGV[2]) == 0 then return 0 end
local seq = redis.call('INCR', p .. ':logseq')
redis.call('RPUSH', p .. ':logs:' .. ARGV[2], '[' .. seq .. ',' .. ARGV[3])
return seq
"""

#: ARGV: p, id. {1} deleted, {0} no such run, {-1, status, worker} held by a worker.
DELETE = PRELUDE + r"""
local f = redis.call('HMGET', p .. ':run:' .. ARGV[2], 'status', 'worker')
if not f[1] then return {0} end
if f[2] then return {-1, f[1], f[2]} end
forget(ARGV[2])
return {1}
"""

#: ARGV: p, before, batch. Deletes up to ``batch`` final runs finished before
#: ``before`` with their entries and logs; returns how many.
CLEANUP = PRELUDE + r"""
local ids = redis.call('ZRANGEBYSCORE', p .. ':finished', '-inf', '(' .. ARGV[2],
                       'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do forget(id) end
return #ids
"""

#: ARGV: p, tmp, mode, offset, limit, created_min, created_max, nkeys, key*, status*.
#: The runs in every index key (zsets scored by creation order; none: every
#: run) created in [created_min, created_max), intersected by Redis itself.
#: mode 'list': a page of run hashes, newest first. 'count': how many.
#: 'counts': how many in each of the statuses given after the keys.
SELECT = PRELUDE + r"""
local tmp, mode = ARGV[2], ARGV[3]
local nkeys = tonumber(ARGV[8])
local keys, weights = {}, {}
for j = 1, nkeys do keys[j] = ARGV[8 + j]; weights[j] = 1 end
if nkeys == 0 then keys[1] = p .. ':runs'; weights[1] = 1 end
if ARGV[6] ~= '-inf' or ARGV[7] ~= '+inf' then
  redis.call('ZRANGESTORE', tmp .. ':c', p .. ':created', ARGV[6], ARGV[7], 'BYSCORE')
  keys[#keys + 1] = tmp .. ':c'
  weights[#weights + 1] = 0
end
local src = keys[1]
if #keys > 1 then
  src = tmp
  local args = {tmp, #keys}
  for _, k in ipairs(keys) do args[#args + 1] = k end
  args[#args + 1] = 'WEIGHTS'
  for _, w in ipairs(weights) do args[#args + 1] = w end
  redis.call('ZINTERSTORE', unpack(args))
end
local out = {}
if mode == 'list' then
  local first = tonumber(ARGV[4])
  local ids = redis.call('ZREVRANGE', src, first, first + tonumber(ARGV[5]) - 1)
  for k, id in ipairs(ids) do out[k] = redis.call('HGETALL', p .. ':run:' .. id) end
elseif mode == 'count' then
  out = {redis.call('ZCARD', src)}
else
  for j = 9 + nkeys, #ARGV do
    out[#out + 1] = redis.call('ZINTERSTORE', tmp .. ':n', 2, src, p .. ':status:' .. ARGV[j],
                               'WEIGHTS', 1, 0)
  end
end
redis.call('DEL', tmp, tmp .. ':c', tmp .. ':n')
return out
"""

SCRIPTS = {"create": CREATE, "peek": PEEK, "apply": APPLY, "heartbeat": HEARTBEAT,
           "append": APPEND, "log": LOG, "delete": DELETE, "cleanup": CLEANUP,
           "select": SELECT}
