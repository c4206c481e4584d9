import type { Redis } from 'ioredis';
import { readingId, type Reading } from '../lib/reading.js';

/** One field of a re-sent reading whose value or flag differs from what was stored first. */
export interface FieldChange {
  /** A parameter key (value and flag together) or an HJ 212 `{param}_min` / `{param}_max`. */
  parameter: string;
  /** As first stored: the value, then the flag where it is not N, e.g. `51.3` or `0.8 C`. */
  stored: string;
  resent: string;
}

export interface ResendVerdict {
  /** What may go to the main measurement: new fields and unchanged ones; undefined when nothing. */
  keep: Reading | undefined;
  /** Fields that differ from the first values; empty for a new reading or an identical re-send. */
  changes: FieldChange[];
  /** False when exactly these changes were recorded before (a redelivered correction). */
  unrecorded: boolean;
}

/**
 * One hash per reading (station, period, sensor time): field -> value text as first written. The
 * first writer of a field wins; a later different value is reported, never stored in the hash, so
 * the original stays the reference for every re-send. `~field` remembers the last re-sent value
 * reported, so that a redelivered correction is not reported twice. One script call per chunk of
 * readings: a round trip per batch, not per reading.
 *
 * KEYS: one per reading. ARGV: ttl seconds, then per reading n, field1, value1, … fieldn, valuen.
 * Returns flat [reading index (0-based), field, stored, resent, already reported (0|1), …].
 */
const CHECK_LUA = `
local ttl = tonumber(ARGV[1])
local a = 2
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local n = tonumber(ARGV[a])
  a = a + 1
  if redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, unpack(ARGV, a, a + 2 * n - 1))
    redis.call('EXPIRE', key, ttl)
  else
    local fields = {}
    local marks = {}
    for j = 1, n do
      fields[j] = ARGV[a + 2 * (j - 1)]
      marks[j] = '~' .. fields[j]
    end
    local stored = redis.call('HMGET', key, unpack(fields))
    local reported = redis.call('HMGET', key, unpack(marks))
    local add = {}
    for j = 1, n do
      local v = ARGV[a + 2 * (j - 1) + 1]
      if not stored[j] then
        add[#add + 1] = fields[j]
        add[#add + 1] = v
      elseif stored[j] ~= v then
        out[#out + 1] = i - 1
        out[#out + 1] = fields[j]
        out[#out + 1] = stored[j]
        out[#out + 1] = v
        out[#out + 1] = (reported[j] == v) and 1 or 0
      end
    end
    if #add > 0 then redis.call('HSET', key, unpack(add)) end
  end
  a = a + 2 * n
end
return out
`;

/** Readings per script call: bounds how long one call holds Redis (a few ms). */
const CHUNK = 500;

type ScriptRedis = Redis & { tjCheckResend(...args: (string | number)[]): Promise<unknown[]> };

/** The fields of a reading as compared: `value` or `value flag` per parameter, extras by key. */
function fieldsOf(r: Reading): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(r.values)) {
    const flag = r.flags[k];
    out.push([k, flag ? `${v} ${flag}` : String(v)]);
  }
  for (const [k, v] of Object.entries(r.extras ?? {})) out.push([k, String(v)]);
  return out;
}

/** The reading without the changed fields (value and flag of a parameter; an extra by its key). */
function without(r: Reading, changed: ReadonlySet<string>): Reading | undefined {
  const values: Record<string, number> = {};
  const flags: Reading['flags'] = {};
  for (const [k, v] of Object.entries(r.values)) {
    if (changed.has(k)) continue;
    values[k] = v;
    if (r.flags[k]) flags[k] = r.flags[k];
  }
  if (Object.keys(values).length === 0) return undefined;
  const extras: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.extras ?? {})) if (!changed.has(k)) extras[k] = v;
  const { extras: _dropped, ...rest } = r;
  return { ...rest, values, flags, ...(Object.keys(extras).length > 0 ? { extras } : {}) };
}

/**
 * Tells a re-sent reading with other values (a correction) from a new reading or an identical
 * re-send (redelivery), on the writer's hot path, with Redis as the memory of what was written
 * first. Beyond `windowS` after a reading's first arrival the memory is gone and a re-send is
 * written like a new reading (docs/decisions/0009-corrections.md).
 */
export class ResendDetector {
  private readonly redis: ScriptRedis;

  constructor(redis: Redis, private readonly opts: { keyPrefix: string; windowS: number }) {
    if (!('tjCheckResend' in redis)) redis.defineCommand('tjCheckResend', { lua: CHECK_LUA });
    this.redis = redis as ScriptRedis;
  }

  async check(readings: readonly Reading[]): Promise<ResendVerdict[]> {
    const pipe = this.redis.pipeline() as unknown as { tjCheckResend(...args: (string | number)[]): void; exec(): Promise<[Error | null, unknown][] | null> };
    for (let start = 0; start < readings.length; start += CHUNK) {
      const chunk = readings.slice(start, start + CHUNK);
      const keys = chunk.map((r) => `${this.opts.keyPrefix}${readingId(r)}`);
      const argv: (string | number)[] = [this.opts.windowS];
      for (const r of chunk) {
        const fields = fieldsOf(r);
        argv.push(fields.length);
        for (const [f, v] of fields) argv.push(f, v);
      }
      pipe.tjCheckResend(keys.length, ...keys, ...argv);
    }
    const results = (await pipe.exec()) ?? [];
    const verdicts: ResendVerdict[] = readings.map((r) => ({ keep: r, changes: [], unrecorded: false }));
    results.forEach(([err, res], chunkIndex) => {
      if (err) throw err;
      const flat = res as (string | number)[];
      for (let k = 0; k + 4 < flat.length; k += 5) {
        const v = verdicts[chunkIndex * CHUNK + Number(flat[k])]!;
        v.changes.push({ parameter: String(flat[k + 1]), stored: String(flat[k + 2]), resent: String(flat[k + 3]) });
        if (Number(flat[k + 4]) === 0) v.unrecorded = true;
      }
    });
    if (results.length === 0 && readings.length > 0) throw new Error('resend check returned nothing');
    for (let i = 0; i < readings.length; i++) {
      const v = verdicts[i]!;
      if (v.changes.length > 0) v.keep = without(readings[i]!, new Set(v.changes.map((c) => c.parameter)));
    }
    return verdicts;
  }

  /** Remember that these changes were recorded, so their redelivery is not recorded again. */
  async markRecorded(items: readonly { reading: Reading; changes: readonly FieldChange[] }[]): Promise<void> {
    if (items.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const { reading, changes } of items) {
      const key = `${this.opts.keyPrefix}${readingId(reading)}`;
      pipe.hset(key, ...changes.flatMap((c) => [`~${c.parameter}`, c.resent]));
      // The hash may have expired meanwhile: never leave one behind without a TTL.
      pipe.expire(key, this.opts.windowS, 'NX');
    }
    const res = await pipe.exec();
    const failed = res?.find(([e]) => e);
    if (failed) throw failed[0];
  }
}
