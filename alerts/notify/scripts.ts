/**
 * The Lua scripts that keep the notifications exactly-once, registered as named commands:
 * - ntRecord: record one transition of an alert once (state, log, what was told last);
 * - ntPlace: put a notice item into its recipient's open batch (or open one), once per item;
 * - ntClose: close a batch for sending (later items go to the next batch);
 * - ntSetOnce: an acknowledgement or an escalation, once per (alert, bureau);
 * - ntBegin / ntCommit / ntFinish: the per-batch outbox of the SMTP send, a lease-guarded state
 *   machine absent -> sending -> committing -> sent | retry | failed | uncertain
 *   (docs/decisions/0004-notifications.md).
 */
import type { RedisClient } from '../../lib/redis-client.js';

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: alert, log, alerts index, firing set, episodes, caps.
 * ARGV: alertId, eventId, snapshotJson, infoJson, wallNow, logJson, firingAt, value ('' = none),
 *       kind, worse ('max' | 'min'), eventAt, keepSeconds (history kept this long after the resolve).
 * Returns {previousJson or '', peak or '', createdAt, info, firstTime (1/0)}.
 */
const RECORD = `
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'info', ARGV[4], 'state', 'firing', 'createdAt', ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
  redis.call('ZADD', KEYS[5], ARGV[7], ARGV[1])
  redis.call('SADD', KEYS[4], ARGV[1])
  -- Bounded indexes: the last 100 episodes of a key, alerts created within the history window.
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -101)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[5]) - tonumber(ARGV[12]) * 1000)
end
local prevField = 'prev:' .. ARGV[2]
local prev = redis.call('HGET', KEYS[1], prevField)
local first = 0
if not prev then
  first = 1
  prev = redis.call('HGET', KEYS[1], 'last') or ''
  redis.call('HSET', KEYS[1], prevField, prev, 'last', ARGV[3])
  if ARGV[9] == 'resolved' then
    redis.call('HSET', KEYS[1], 'state', 'resolved', 'resolvedAt', ARGV[11])
    redis.call('SREM', KEYS[4], ARGV[1])
    redis.call('EXPIRE', KEYS[1], ARGV[12])
    redis.call('EXPIRE', KEYS[2], ARGV[12])
    redis.call('EXPIRE', KEYS[6], ARGV[12])
  end
  if ARGV[8] ~= '' and ARGV[9] ~= 'resolved' then
    local v = tonumber(ARGV[8])
    local peak = redis.call('HGET', KEYS[1], 'peak')
    if (not peak) or (ARGV[10] == 'min' and v < tonumber(peak)) or (ARGV[10] ~= 'min' and v > tonumber(peak)) then
      redis.call('HSET', KEYS[1], 'peak', ARGV[8])
    end
  end
  redis.call('RPUSH', KEYS[2], ARGV[6])
  redis.call('ZADD', KEYS[6], ARGV[11], ARGV[2])
end
return {prev, redis.call('HGET', KEYS[1], 'peak') or '', redis.call('HGET', KEYS[1], 'createdAt'), redis.call('HGET', KEYS[1], 'info'), first}
`;

/**
 * KEYS: placed, open, seq.
 * ARGV: batchBase, recipientKey, itemId, itemJson, wallNow, lane, recipientJson, ttlSeconds, flushAt.
 * Returns {batchId, flushAt, created (1/0), alreadyPlaced (1/0)}.
 */
const PLACE = `
local b = redis.call('GET', KEYS[1])
if b then return {b, redis.call('HGET', ARGV[1] .. b, 'flushAt') or ARGV[9], 0, 1} end
local open = redis.call('GET', KEYS[2])
if open and redis.call('HGET', ARGV[1] .. open, 'state') ~= 'open' then open = false end
local created = 0
if not open then
  local n = redis.call('INCR', KEYS[3])
  open = ARGV[2] .. '.' .. ARGV[6] .. '.' .. n
  redis.call('SET', KEYS[2], open)
  redis.call('HSET', ARGV[1] .. open, 'state', 'open', 'recipient', ARGV[7], 'openedAt', ARGV[5], 'flushAt', ARGV[9], 'openKey', KEYS[2])
  redis.call('EXPIRE', ARGV[1] .. open, ARGV[8])
  created = 1
end
redis.call('HSET', ARGV[1] .. open .. ':items', ARGV[3], ARGV[4])
redis.call('EXPIRE', ARGV[1] .. open .. ':items', ARGV[8])
redis.call('SET', KEYS[1], open, 'EX', ARGV[8])
return {open, redis.call('HGET', ARGV[1] .. open, 'flushAt'), created, 0}
`;

/**
 * KEYS: batch, items. ARGV: batchId, wallNow.
 * Returns {recipientJson, closedAt, items...} or {} when the batch does not exist.
 */
const CLOSE = `
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return {} end
if st == 'open' then
  local openKey = redis.call('HGET', KEYS[1], 'openKey')
  if openKey and redis.call('GET', openKey) == ARGV[1] then redis.call('DEL', openKey) end
  redis.call('HSET', KEYS[1], 'state', 'closed', 'closedAt', ARGV[2])
end
local out = {redis.call('HGET', KEYS[1], 'recipient'), redis.call('HGET', KEYS[1], 'closedAt')}
local items = redis.call('HVALS', KEYS[2])
for i = 1, #items do out[#out + 1] = items[i] end
return out
`;

/**
 * KEYS: outbox. ARGV: attempt token, leaseMs.
 * Returns {'go', leaseUntil} | {'busy', leaseUntil} | {'sent'|'failed'|'uncertain', 0} |
 *         {'became-uncertain', 0} (a dead attempt had handed the message over).
 */
const BEGIN = `${NOW_MS}
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'sent' or st == 'failed' or st == 'uncertain' then return {st, 0} end
if st == 'sending' or st == 'committing' then
  local owner = redis.call('HGET', KEYS[1], 'owner')
  local leaseUntil = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
  if owner ~= ARGV[1] and leaseUntil > now then return {'busy', leaseUntil} end
  if st == 'committing' then
    redis.call('HSET', KEYS[1], 'state', 'uncertain', 'at', now)
    return {'became-uncertain', 0}
  end
end
local leaseUntil = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'state', 'sending', 'owner', ARGV[1], 'until', leaseUntil, 'startedAt', now)
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return {'go', leaseUntil}
`;

/** KEYS: outbox. ARGV: token. 1 when this attempt may hand the message over, else 0. */
const COMMIT = `${NOW_MS}
if redis.call('HGET', KEYS[1], 'state') ~= 'sending' or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'committing', 'committedAt', now)
return 1
`;

/**
 * KEYS: outbox, then one alert log per alert in the batch. ARGV: token, state, fieldsJson, logJson ('' = none).
 * Only the attempt that owns the outbox may finish it; 1 when it did.
 */
const FINISH = `${NOW_MS}
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'sent' or st == 'failed' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'at', now, 'until', 0)
local fields = cjson.decode(ARGV[3])
for k, v in pairs(fields) do redis.call('HSET', KEYS[1], k, tostring(v)) end
if ARGV[4] ~= '' then
  for i = 2, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[4]) end
end
return 1
`;

/** KEYS: alert, log. ARGV: field, json, logJson. Sets the field once; logs only then. Returns {1|0, value}. */
const SET_ONCE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, ''} end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[3])
  return {1, ARGV[2]}
end
return {0, redis.call('HGET', KEYS[1], ARGV[1])}
`;

export interface NotifyScripts {
  ntSetOnce(alert: string, log: string, field: string, json: string, logJson: string): Promise<[number, string]>;
  ntRecord(
    alert: string,
    log: string,
    index: string,
    firing: string,
    episodes: string,
    caps: string,
    ...args: (string | number)[]
  ): Promise<[string, string, string, string, number]>;
  ntPlace(placed: string, open: string, seq: string, ...args: (string | number)[]): Promise<[string, string, number, number]>;
  ntClose(batch: string, items: string, batchId: string, now: number): Promise<string[]>;
  ntBegin(outbox: string, token: string, leaseMs: number): Promise<[string, number]>;
  ntCommit(outbox: string, token: string): Promise<number>;
  ntFinish(numKeys: number, ...args: (string | number)[]): Promise<number>;
}

const defined = new WeakSet<RedisClient>();

export function withNotifyScripts(redis: RedisClient): RedisClient & NotifyScripts {
  if (!defined.has(redis)) {
    redis.defineCommand('ntRecord', { numberOfKeys: 6, lua: RECORD });
    redis.defineCommand('ntPlace', { numberOfKeys: 3, lua: PLACE });
    redis.defineCommand('ntClose', { numberOfKeys: 2, lua: CLOSE });
    redis.defineCommand('ntBegin', { numberOfKeys: 1, lua: BEGIN });
    redis.defineCommand('ntCommit', { numberOfKeys: 1, lua: COMMIT });
    redis.defineCommand('ntSetOnce', { numberOfKeys: 2, lua: SET_ONCE });
    // Variable number of keys: the caller passes the count first.
    redis.defineCommand('ntFinish', { lua: FINISH });
    defined.add(redis);
  }
  return redis as RedisClient & NotifyScripts;
}
