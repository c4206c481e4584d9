import type { RedisClient } from '../lib/redis-client.js';
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
 * One string per reading (station, period, sensor time): `field=value;…` as first written. For each
 * reading of a chunk, `SET NX GET` stores it if new and otherwise returns what is stored: one native
 * command per reading inside one script call per chunk, so the common cases (a new reading, an
 * identical re-send) cost Redis about a microsecond and no extra round trip. Only readings whose text
 * differs are returned, and compared field by field in the writer.
 *
 * KEYS: one per reading. ARGV: ttl seconds, then the text of each reading.
 * Returns flat [reading index (0-based), stored text, …] for the readings whose text differs.
 */
const CHECK_LUA = `
local ttl = ARGV[1]
local out = {}
for i = 1, #KEYS do
  local v = ARGV[i + 1]
  local old = redis.call('SET', KEYS[i], v, 'NX', 'GET', 'EX', ttl)
  if old and old ~= v then
    out[#out + 1] = i - 1
    out[#out + 1] = old
  end
end
return out
`;

/** Replaces the stored text only if it is still what we compared with (another writer may race). */
const SWAP_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`;

/** The changes of every new reading and identical re-send: one shared empty list, not one per reading. */
const NO_CHANGES: FieldChange[] = Object.freeze([]) as unknown as FieldChange[];

/** Readings per script call: bounds how long one call holds Redis (well under a millisecond). */
const CHUNK = 500;

type ScriptRedis = RedisClient & {
  tjCheckResend(...args: (string | number)[]): Promise<unknown[]>;
  tjSwapFirst(key: string, expected: string, next: string): Promise<number>;
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

/**
 * Tells a re-sent reading with other values (a correction) from a new reading or an identical
 * re-send (redelivery), on the writer's hot path, with Redis as the memory of what was written
 * first. Beyond `windowS` after a reading's first arrival the memory is gone and a re-send is
 * written like a new reading (docs/decisions/0009-corrections.md).
 */
export class ResendDetector {
  private readonly redis: ScriptRedis;

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

  private key(r: Reading): string {
    return `${this.opts.keyPrefix}${readingId(r)}`;
  }

  /** The `~field` entries of the reading's marks key: the re-sent text last reported per field. */
  private marksKey(r: Reading): string {
    return `${this.key(r)}~`;
  }

  async check(readings: readonly Reading[]): Promise<ResendVerdict[]> {
    const texts = readings.map(resendText);
    const pipe = this.redis.pipeline() as unknown as {
      tjCheckResend(...args: (string | number)[]): void;
      exec(): Promise<[Error | null, unknown][] | null>;
    };
    for (let start = 0; start < readings.length; start += CHUNK) {
      const end = Math.min(start + CHUNK, readings.length);
      const args: (string | number)[] = [end - start];
      for (let i = start; i < end; i++) args.push(this.key(readings[i]!));
      args.push(this.opts.windowS);
      for (let i = start; i < end; i++) args.push(texts[i]!);
      pipe.tjCheckResend(...args);
    }
    const results = readings.length > 0 ? await pipe.exec() : [];
    if (!results) throw new Error('re-send check returned nothing');
    const verdicts: ResendVerdict[] = readings.map((r) => ({ keep: r, changes: NO_CHANGES, unrecorded: false }));
    const differing: { index: number; stored: string }[] = [];
    results.forEach(([err, res], chunk) => {
      if (err) throw err;
      const flat = res as (string | number)[];
      for (let k = 0; k + 1 < flat.length; k += 2) differing.push({ index: chunk * CHUNK + Number(flat[k]), stored: String(flat[k + 1]) });
    });
    // The rare path: another text than the first. Compare field by field; new fields join the stored text.
    const reportedNow = new Set<string>();
    for (const d of differing) {
      const v = await this.compare(readings[d.index]!, d.stored);
      // The same correction twice in one batch (redelivered before it was recorded) is one correction.
      const id = `${this.key(readings[d.index]!)}|${v.changes.map((c) => `${c.parameter}=${c.resent}`).join(';')}`;
      if (v.unrecorded && reportedNow.has(id)) v.unrecorded = false;
      else if (v.unrecorded) reportedNow.add(id);
      verdicts[d.index] = v;
    }
    return verdicts;
  }

  private async compare(r: Reading, storedText: string): Promise<ResendVerdict> {
    const key = this.key(r);
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
        if ((await this.redis.tjSwapFirst(key, stored, next)) !== 1) {
          // Another writer changed it meanwhile (or it expired): compare again with what is there now.
          const now = await this.redis.get(key);
          if (now === null) {
            if ((await this.redis.set(key, resendText(r), 'EX', this.opts.windowS, 'NX')) === 'OK')
              return { keep: r, changes: [], unrecorded: false };
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
