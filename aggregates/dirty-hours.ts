/**
 * The station-hours whose readings changed and whose aggregates must be made again. The writer
 * marks them after the readings are in InfluxDB (and before the journal entry is acknowledged, so
 * a crash marks them again, never not at all); the aggregation job takes them once they have
 * settled. A mark made while an hour is being computed is never lost: each mark bumps the hour's
 * version, and the hour leaves the set only if its version is the one the computation started
 * from (docs/decisions/0013-hourly-aggregates.md).
 *
 * Keys: `{prefix}:agg:dirty` (sorted set: member `station|hourStartMs`, score = when it was first
 * marked since last computed), `{prefix}:agg:dirty:old` (the same for hours older than
 * BACKFILL_AFTER_MS: uploads of stored data) and `{prefix}:agg:ver` (hash: member → version).
 * Recent hours are taken first: a station uploading (or forging) thousands of old hours cannot
 * hold back the other stations' current hours; old hours fill what is left of each batch.
 */
import type { RedisClient } from '../lib/redis-client.js';
import type { Reading } from '../lib/reading.js';
import { hourStart } from './windows.js';

/** Hours older than this when marked are backfill, taken after the recent ones. */
export const BACKFILL_AFTER_MS = 48 * 3_600_000;

const MARK = `
local now = ARGV[1]
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'NX', now, ARGV[i])
  redis.call('HINCRBY', KEYS[2], ARGV[i], 1)
end
return #ARGV - 1`;

/** Removes the hour if unchanged since `version`; otherwise puts it back at `now` to be computed again. */
const DONE = `
local out = 0
for i = 1, #ARGV - 1, 2 do
  local m = ARGV[i]
  local v = redis.call('HGET', KEYS[2], m)
  if (v == false and ARGV[i + 1] == '') or v == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZREM', KEYS[3], m)
    redis.call('HDEL', KEYS[2], m)
    out = out + 1
  else
    redis.call('ZADD', KEYS[1], 'XX', ARGV[#ARGV], m)
    redis.call('ZADD', KEYS[3], 'XX', ARGV[#ARGV], m)
  end
end
return out`;

export interface DirtyHour {
  station: string;
  hour: number;
  member: string;
  version: string;
}

export function dirtyMember(station: string, hour: number): string {
  return `${station}|${hour}`;
}

export class DirtyHours {
  readonly setKey: string;
  readonly oldKey: string;
  readonly versionKey: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.setKey = `${prefix}:agg:dirty`;
    this.oldKey = `${prefix}:agg:dirty:old`;
    this.versionKey = `${prefix}:agg:ver`;
  }

  /** Marks the hours of these readings (one script call per 1,000 distinct hours). */
  async markReadings(readings: readonly Pick<Reading, 'station' | 'ts'>[]): Promise<void> {
    const members = [...new Set(readings.map((r) => dirtyMember(r.station, hourStart(r.ts))))];
    await this.mark(members);
  }

  async mark(members: readonly string[], now = Date.now()): Promise<void> {
    const hourOf = (m: string): number => Number(m.slice(m.lastIndexOf('|') + 1));
    // A malformed member (NaN hour) goes with the recent ones, to be dropped at once.
    const old = members.filter((m) => hourOf(m) < now - BACKFILL_AFTER_MS);
    const recent = members.filter((m) => !(hourOf(m) < now - BACKFILL_AFTER_MS));
    for (const [key, list] of [
      [this.setKey, recent],
      [this.oldKey, old],
    ] as const) {
      for (let i = 0; i < list.length; i += 1000) {
        await this.redis.eval(MARK, 2, key, this.versionKey, String(now), ...list.slice(i, i + 1000));
      }
    }
  }

  /** Up to `limit` hours marked at least `settleMs` ago, oldest first, with their versions. */
  async take(limit: number, settleMs: number, now = Date.now()): Promise<DirtyHour[]> {
    const members = await this.redis.zrangebyscore(this.setKey, '-inf', String(now - settleMs), 'LIMIT', 0, limit);
    if (members.length < limit)
      members.push(...(await this.redis.zrangebyscore(this.oldKey, '-inf', String(now - settleMs), 'LIMIT', 0, limit - members.length)));
    if (members.length === 0) return [];
    const versions = await this.redis.hmget(this.versionKey, ...members);
    const out: DirtyHour[] = [];
    members.forEach((member, i) => {
      const sep = member.lastIndexOf('|');
      const hour = Number(member.slice(sep + 1));
      // A member not of our making (wrong shape) is dropped with version '' so done() removes it.
      out.push({ station: member.slice(0, sep), hour: Number.isFinite(hour) ? hour : Number.NaN, member, version: versions[i] ?? '' });
    });
    return out;
  }

  /** Hours computed: removed where no mark came in meanwhile. Returns how many were removed. */
  async done(hours: readonly DirtyHour[], now = Date.now()): Promise<number> {
    if (hours.length === 0) return 0;
    const args = hours.flatMap((h) => [h.member, h.version]);
    return Number(await this.redis.eval(DONE, 3, this.setKey, this.versionKey, this.oldKey, ...args, String(now)));
  }

  /**
   * Once per hour (whichever process gets there first): true, and the caller marks the hour just
   * ended for every station, so a station that sent nothing still gets its hour, day and month
   * with 0 readings and its completeness falls.
   */
  async claimRound(hour: number): Promise<boolean> {
    return (await this.redis.set(`${this.setKey}:round:${hour}`, '1', 'EX', 7200, 'NX')) === 'OK';
  }

  /** Hours waiting (for /metrics and the benchmark). */
  async size(): Promise<number> {
    return (await this.redis.zcard(this.setKey)) + (await this.redis.zcard(this.oldKey));
  }
}
