/**
 * The Lua scripts that make alert state changes atomic, registered as named commands (as BullMQ
 * does) so ioredis sends EVALSHA and falls back to EVAL after a script flush.
 *
 * Division of labour: the rules and the state machine are TypeScript (alerts/series-engine.ts,
 * pure and unit-tested); Redis only has to do the three things that need atomicity:
 * - tjEnqueue: put readings into their series' inbox, dropping those at or before the series'
 *   applied event time (late or redelivered), and record when each station was last heard from;
 * - tjSnapshot: read a series' state and inbox at one instant;
 * - tjCommit: compare-and-set the series state on its revision, remove the applied readings from
 *   the inbox and append the events to the outbox, all or nothing.
 * And one read for the inbox sweep (alerts/inbox-sweep.ts): tjOldest, a series' oldest waiting
 * reading and when it became due, without its JSON.
 */
import type { RedisClient } from '../lib/redis-client.js';

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: stats, series index. ARGV: base, reorderMs, then (station, period, ts, json) per reading.
 * Returns {nowMs, status...}: 1 added, 0 already waiting in the inbox, -1 late or already applied.
 */
const ENQUEUE = `${NOW_MS}
local base = ARGV[1]
local ripe = now + tonumber(ARGV[2])
local out = {now}
local dropped = 0
local waiting = 0
local seenDone = {}
for i = 3, #ARGV, 4 do
  local st, per, ts, json = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local sk = base .. st .. ':' .. per
  local last = redis.call('HGET', sk .. ':state', '_lastTs')
  local status
  if last and tonumber(ts) <= tonumber(last) then
    status = -1
    dropped = dropped + 1
  elseif redis.call('HSETNX', sk .. ':data', ts, string.format('%d|%d|', ripe, now) .. json) == 1 then
    redis.call('ZADD', sk .. ':inbox', ts, ts)
    redis.call('SADD', KEYS[2], st .. '|' .. per)
    status = 1
  else
    status = 0
    waiting = waiting + 1
  end
  if not seenDone[st] then
    seenDone[st] = true
    local seenKey = base .. st .. ':seen'
    local seen = redis.call('GET', seenKey)
    if (not seen) or tonumber(seen) < now then redis.call('SET', seenKey, string.format('%d', now)) end
  end
  out[#out + 1] = status
end
if dropped > 0 then redis.call('HINCRBY', KEYS[1], 'late_or_duplicate', dropped) end
if waiting > 0 then redis.call('HINCRBY', KEYS[1], 'duplicate_waiting', waiting) end
return out
`;

/**
 * KEYS: state, inbox, data. ARGV: max inbox items, the job's own reading ts ('' = any).
 * Returns {nowMs, stateFlat, inboxTs, inboxData}, or {nowMs} alone when the job's reading is no
 * longer waiting (another job applied it): most jobs end here, so it must be cheap.
 */
const SNAPSHOT = `${NOW_MS}
if ARGV[2] ~= '' and not redis.call('ZSCORE', KEYS[2], ARGV[2]) then return {now} end
local st = redis.call('HGETALL', KEYS[1])
local ids = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)
local items = {}
if #ids > 0 then items = redis.call('HMGET', KEYS[3], unpack(ids)) end
return {now, st, ids, items}
`;

/**
 * KEYS: state, inbox, data, outbox, stats.
 * ARGV: expectedRev, newRev, lastTs ('' = keep), prevJson ('' = keep), lateCount,
 *       nRemove, ts..., nFields, (field, json)..., nEvents, json...
 * Returns 1 when committed, 0 when the revision moved on (someone else committed first).
 */
const COMMIT = `
local rev = redis.call('HGET', KEYS[1], '_rev') or '0'
if rev ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], '_rev', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], '_lastTs', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], '_prev', ARGV[4]) end
if tonumber(ARGV[5]) > 0 then redis.call('HINCRBY', KEYS[5], 'late_at_drain', ARGV[5]) end
local i = 6
local n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('ZREM', KEYS[2], ARGV[i + j])
  redis.call('HDEL', KEYS[3], ARGV[i + j])
end
i = i + n + 1
n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('HSET', KEYS[1], ARGV[i + 2 * j - 1], ARGV[i + 2 * j])
end
i = i + 2 * n + 1
n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('XADD', KEYS[4], '*', 'e', ARGV[i + j])
end
return 1
`;

/**
 * KEYS: inbox, data. Returns {nowMs} when nothing waits, else {nowMs, ts, ripeAt, enqueuedAt} of
 * the oldest waiting reading (the one a drain starts with); ripeAt and enqueuedAt '' when its entry
 * has no times (never written so by tjEnqueue).
 */
const OLDEST = `${NOW_MS}
local ids = redis.call('ZRANGE', KEYS[1], 0, 0)
if #ids == 0 then return {now} end
local raw = redis.call('HGET', KEYS[2], ids[1])
if not raw then return {now} end
local ripe, enq = string.match(raw, '^(%d+)|(%d+)|')
if not ripe then return {now, ids[1], '', ''} end
return {now, ids[1], ripe, enq}
`;

export interface AlertScripts {
  tjEnqueue(stats: string, seriesIndex: string, ...args: (string | number)[]): Promise<number[]>;
  tjSnapshot(
    state: string,
    inbox: string,
    data: string,
    limit: number,
    own: string | number,
  ): Promise<[number, string[]?, string[]?, (string | null)[]?]>;
  tjCommit(state: string, inbox: string, data: string, outbox: string, stats: string, ...args: (string | number)[]): Promise<number>;
  tjOldest(inbox: string, data: string): Promise<[number, string?, string?, string?]>;
}

const defined = new WeakSet<RedisClient>();

/** Registers the scripts on a connection (once) and returns it typed with them. */
export function withAlertScripts(redis: RedisClient): RedisClient & AlertScripts {
  if (!defined.has(redis)) {
    redis.defineCommand('tjEnqueue', { numberOfKeys: 2, lua: ENQUEUE });
    redis.defineCommand('tjSnapshot', { numberOfKeys: 3, lua: SNAPSHOT });
    redis.defineCommand('tjCommit', { numberOfKeys: 5, lua: COMMIT });
    redis.defineCommand('tjOldest', { numberOfKeys: 2, lua: OLDEST });
    defined.add(redis);
  }
  return redis as RedisClient & AlertScripts;
}
