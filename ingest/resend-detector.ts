import { isCluster, type RedisClient } from '../lib/redis-client.js';
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
 * One hash per station, period and hour of sensor time, with a field per reading (its millisecond
 * within the hour) holding `field=value;…` as first written. For each reading of a chunk, `HSETNX`
 * stores it if new; otherwise `HGET` returns what is stored. One native command per new reading
 * inside one script call per chunk, so the common cases (a new reading, an identical re-send) cost
 * Redis about a microsecond and no extra round trip. A hash that gained a field with less than the
 * window left gets the window plus RENEW_SLACK_S as its TTL, so every reading is remembered at least
 * the window after its first arrival, and a station reporting every minute renews its hash's TTL
 * about once an hour rather than with every reading: an `EXPIRE` is a write, which Redis also
 * appends to its AOF, and a `PTTL` a read (decision 0009, point 5). Only readings whose text differs
 * are returned, and compared field by field in the writer.
 *
 * In legacy mode (for one window after an upgrade from 0.1.0, which kept a string per reading), a
 * reading new to its hash also reads its old key; a text found there is the first one.
 *
 * KEYS: the chunk's hashes, then in legacy mode the old key of each reading in the order sent.
 * ARGV: the window (s), the TTL a renewal sets (s), legacy ('1' or '0'), number of hashes; then per hash: its reading count and
 * a field and a text per reading.
 * Returns flat [reading position in the order sent (0-based), stored text, …] for the readings whose
 * text differs.
 */
const CHECK_LUA = `
local window = tonumber(ARGV[1]) * 1000
local renewTo = ARGV[2]
local legacy = ARGV[3] == '1'
local nh = tonumber(ARGV[4])
local a = 5
local pos = 0
local out = {}
for h = 1, nh do
  local key = KEYS[h]
  local count = tonumber(ARGV[a])
  a = a + 1
  local added = false
  for _ = 1, count do
    local field, v = ARGV[a], ARGV[a + 1]
    a = a + 2
    local old
    if redis.call('HSETNX', key, field, v) == 1 then
      added = true
      if legacy then
        old = redis.call('GET', KEYS[nh + pos + 1])
        if old then redis.call('HSET', key, field, old) end
      end
    else
      old = redis.call('HGET', key, field)
    end
    if old and old ~= v then
      out[#out + 1] = pos
      out[#out + 1] = old
    end
    pos = pos + 1
  end
  if added and redis.call('PTTL', key) < window then redis.call('EXPIRE', key, renewTo) end
end
return out
`;

/** Replaces a reading's stored text only if it is still what we compared with (another writer may race). */
const SWAP_LUA = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/** The changes of every new reading and identical re-send: one shared empty list, not one per reading. */
const NO_CHANGES: FieldChange[] = Object.freeze([]) as unknown as FieldChange[];

/**
 * What a renewal adds to the window: the span of sensor time one hash holds, so that a station
 * reporting live renews once per hash, at the cost of keeping a hash at most an hour past its window.
 */
export const RENEW_SLACK_S = 3600;

/** Readings per script call: bounds how long one call holds Redis (well under a millisecond). */
const CHUNK = 500;

type ScriptRedis = RedisClient & {
  tjCheckResend(...args: (string | number)[]): Promise<unknown[]>;
  tjSwapFirst(key: string, field: string, expected: string, next: string): Promise<number>;
};

const encode = (fields: readonly [string, string][]): string => fields.map(([f, v]) => `${f}=${v}`).join(';');
function decode(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) m.set(part.slice(0, at), part.slice(at + 1));
  }
  return m;
}

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

/**
 * `encode(fieldsOf(r))` built as one string, without a pair array per field: the text every reading
 * is checked with (docs/decisions/0018). `test/unit/ingest-resend-text.test.ts` holds them equal.
 */
export function resendText(r: Reading): string {
  let text = '';
  let sep = '';
  const { values, flags, extras } = r;
  for (const k in values) {
    const flag = flags[k];
    text += flag ? `${sep}${k}=${values[k]} ${flag}` : `${sep}${k}=${values[k]}`;
    sep = ';';
  }
  if (extras) {
    for (const k in extras) {
      text += `${sep}${k}=${extras[k]}`;
      sep = ';';
    }
  }
  return text;
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

/** Milliseconds of sensor time per hash of the memory: one hash per station, period and hour. */
const HOUR_MS = 3_600_000;

/** `*`, `?`, `[`, `]` and `\` match literally in a SCAN pattern only escaped. */
const globLiteral = (s: string): string => s.replace(/[*?[\]\\]/g, '\\$&');

/** Whether any key matches `pattern`, on one node or on every master of a cluster; stops at the first. */
async function anyKeyMatches(redis: RedisClient, pattern: string): Promise<boolean> {
  for (const node of isCluster(redis) ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
      if (keys.length > 0) return true;
      cursor = next;
    } while (cursor !== '0');
  }
  return false;
}

/** What `prepare()` found: until when a reading new to its hash is also looked up under its old key. */
export interface ResendMemoryFormat {
  /** Epoch ms; 0 when no key of the old format was found at the first start of this version. */
  legacyUntil: number;
  /** True when this call looked (the first start of this version on this Redis), false when it was known. */
  scanned: boolean;
}

/**
 * Tells a re-sent reading with other values (a correction) from a new reading or an identical
 * re-send (redelivery), on the writer's hot path, with Redis as the memory of what was written
 * first. Beyond `windowS` after a reading's first arrival the memory is gone and a re-send is
 * written like a new reading (docs/decisions/0009-corrections.md).
 *
 * Keys under `keyPrefix` (the journal stream's name and `:`, so that a Redis Cluster hash tag
 * carries over): `first-hour:{station}:{period}:{hour}` the memory, `first:{station}:{period}:{ts}~`
 * the corrections recorded per reading, `first-format` until when the old format is read, and
 * `first:{station}:{period}:{ts}` the memory as 0.1.0 kept it (read, never written).
 */
export class ResendDetector {
  private readonly redis: ScriptRedis;
  private format: Promise<ResendMemoryFormat> | undefined;

  constructor(
    redis: RedisClient,
    private readonly opts: { keyPrefix: string; windowS: number },
  ) {
    if (!('tjCheckResend' in redis)) {
      redis.defineCommand('tjCheckResend', { lua: CHECK_LUA });
      redis.defineCommand('tjSwapFirst', { lua: SWAP_LUA, numberOfKeys: 1 });
    }
    this.redis = redis as ScriptRedis;
  }

  /**
   * Finds out, once per Redis, whether the string-per-reading memory of an older version may still
   * hold first values: if any such key exists at the first start of this version, they are read for
   * one window from then; the answer is kept in `first-format`. Called by the writer at start (and
   * by the first check otherwise); a failed look is tried again by the next call.
   */
  prepare(): Promise<ResendMemoryFormat> {
    this.format ??= this.readFormat().catch((e: unknown) => {
      this.format = undefined;
      throw e;
    });
    return this.format;
  }

  private async readFormat(): Promise<ResendMemoryFormat> {
    const markerKey = `${this.opts.keyPrefix}first-format`;
    const known = await this.redis.get(markerKey);
    if (known !== null) return { legacyUntil: Number(known) || 0, scanned: false };
    // Old keys end in the reading's time (digits); their correction marks end in `~` and are still used.
    const legacy = await anyKeyMatches(this.redis, `${globLiteral(this.opts.keyPrefix)}first:*[0-9]`);
    const mine = String(legacy ? Date.now() + this.opts.windowS * 1000 : 0);
    // Another writer that looked at the same time may have answered first: its answer stands.
    const theirs = await this.redis.set(markerKey, mine, 'NX', 'GET');
    return { legacyUntil: Number(theirs ?? mine) || 0, scanned: true };
  }

  private hashKey(r: Reading): string {
    return `${this.opts.keyPrefix}first-hour:${r.station}:${r.period}:${Math.floor(r.ts / HOUR_MS)}`;
  }

  private static field(r: Reading): string {
    return String(r.ts - Math.floor(r.ts / HOUR_MS) * HOUR_MS);
  }

  private legacyKey(r: Reading): string {
    return `${this.opts.keyPrefix}first:${readingId(r)}`;
  }

  /** The `~field` entries of the reading's marks key: the re-sent text last reported per field. */
  private marksKey(r: Reading): string {
    return `${this.legacyKey(r)}~`;
  }

  async check(readings: readonly Reading[]): Promise<ResendVerdict[]> {
    const legacy = Date.now() < (await this.prepare()).legacyUntil;
    const texts = readings.map(resendText);
    const pipe = this.redis.pipeline() as unknown as {
      tjCheckResend(...args: (string | number)[]): void;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    // Per chunk, the readings in the order sent (grouped by hash): the script answers in positions of it.
    const sent: number[][] = [];
    for (let start = 0; start < readings.length; start += CHUNK) {
      const end = Math.min(start + CHUNK, readings.length);
      const groups = new Map<string, number[]>();
      for (let i = start; i < end; i++) {
        const key = this.hashKey(readings[i]!);
        const group = groups.get(key);
        if (group) group.push(i);
        else groups.set(key, [i]);
      }
      const order: number[] = [];
      const keys: string[] = [...groups.keys()];
      const args: (string | number)[] = [this.opts.windowS, this.opts.windowS + RENEW_SLACK_S, legacy ? '1' : '0', keys.length];
      for (const group of groups.values()) {
        args.push(group.length);
        for (const i of group) {
          order.push(i);
          args.push(ResendDetector.field(readings[i]!), texts[i]!);
        }
      }
      if (legacy) for (const i of order) keys.push(this.legacyKey(readings[i]!));
      sent.push(order);
      pipe.tjCheckResend(keys.length, ...keys, ...args);
    }
    const results = readings.length > 0 ? await pipe.exec() : [];
    if (!results) throw new Error('re-send check returned nothing');
    const verdicts: ResendVerdict[] = readings.map((r) => ({ keep: r, changes: NO_CHANGES, unrecorded: false }));
    const differing: { index: number; stored: string }[] = [];
    results.forEach(([err, res], chunk) => {
      if (err) throw err;
      const flat = res as (string | number)[];
      for (let k = 0; k + 1 < flat.length; k += 2) differing.push({ index: sent[chunk]![Number(flat[k])]!, stored: String(flat[k + 1]) });
    });
    differing.sort((x, y) => x.index - y.index);
    // The rare path: another text than the first. Compare field by field; new fields join the stored text.
    const reportedNow = new Set<string>();
    for (const d of differing) {
      const v = await this.compare(readings[d.index]!, d.stored);
      // The same correction twice in one batch (redelivered before it was recorded) is one correction.
      const id = `${this.legacyKey(readings[d.index]!)}|${v.changes.map((c) => `${c.parameter}=${c.resent}`).join(';')}`;
      if (v.unrecorded && reportedNow.has(id)) v.unrecorded = false;
      else if (v.unrecorded) reportedNow.add(id);
      verdicts[d.index] = v;
    }
    return verdicts;
  }

  private async compare(r: Reading, storedText: string): Promise<ResendVerdict> {
    const key = this.hashKey(r);
    const field = ResendDetector.field(r);
    let stored = storedText;
    for (;;) {
      const first = decode(stored);
      const changes: FieldChange[] = [];
      const added: [string, string][] = [];
      for (const [f, v] of fieldsOf(r)) {
        const s = first.get(f);
        if (s === undefined) added.push([f, v]);
        else if (s !== v) changes.push({ parameter: f, stored: s, resent: v });
      }
      if (added.length > 0) {
        const next = encode([...first, ...added]);
        if ((await this.redis.tjSwapFirst(key, field, stored, next)) !== 1) {
          // Another writer changed it meanwhile (or it expired): compare again with what is there now.
          const now = await this.redis.hget(key, field);
          if (now === null) {
            const res = await this.redis
              .multi()
              .hsetnx(key, field, resendText(r))
              .expire(key, this.opts.windowS + RENEW_SLACK_S, 'NX')
              .exec();
            if (res?.[0]?.[1] === 1) return { keep: r, changes: [], unrecorded: false };
            continue;
          }
          stored = now;
          continue;
        }
      }
      if (changes.length === 0) return { keep: r, changes, unrecorded: false };
      const reported = await this.redis.hmget(this.marksKey(r), ...changes.map((c) => c.parameter));
      const unrecorded = changes.some((c, i) => reported[i] !== c.resent);
      return { keep: without(r, new Set(changes.map((c) => c.parameter))), changes, unrecorded };
    }
  }

  /** Remember that these changes were recorded, so their redelivery is not recorded again. */
  async markRecorded(items: readonly { reading: Reading; changes: readonly FieldChange[] }[]): Promise<void> {
    if (items.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const { reading, changes } of items) {
      const key = this.marksKey(reading);
      pipe.hset(key, ...changes.flatMap((c) => [c.parameter, c.resent]));
      pipe.expire(key, this.opts.windowS, 'NX');
    }
    const res = await pipe.exec();
    const failed = res?.find(([e]) => e);
    if (failed) throw failed[0];
  }
}
