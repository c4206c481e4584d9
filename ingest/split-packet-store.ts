import type { RedisClient } from '../lib/redis-client.js';
import type { Hj212Frame, ToleranceFor } from './hj212/frame.js';
import { parseFrame } from './hj212/frame.js';

/*
 * Parts of split HJ 212 packets (Flag bit D, PNUM/PNO) are kept in Redis, not in process memory:
 * a part is PUBACKed once stored, so it must survive this process, and with a $share group the parts
 * of one packet may reach different ingest processes. Both scripts are atomic, so two processes
 * adding the last two parts at once complete the packet exactly once.
 */
const ADD_PART = `
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[3]) == 1 then
  return {'duplicate'}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('ZREM', KEYS[2], KEYS[1])
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  local out = {'complete'}
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do out[#out + 1] = v end
  return out
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[4], KEYS[1])
return {'pending'}
`;

const TAKE_EXPIRED = `
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
local out = {}
for _, k in ipairs(keys) do
  out[#out + 1] = redis.call('HVALS', k)
  redis.call('DEL', k)
  redis.call('ZREM', KEYS[1], k)
end
return out
`;

interface SplitCommands {
  tjAddSplitPart(
    partsKey: string,
    indexKey: string,
    doneKey: string,
    pno: string,
    frame: string,
    pnum: string,
    now: string,
    keepMs: string,
  ): Promise<string[]>;
  tjTakeExpiredSplits(indexKey: string, olderThan: string): Promise<string[][]>;
}

export type SplitAddResult = { status: 'pending' | 'duplicate' } | { status: 'complete'; frame: Hj212Frame; release: () => Promise<void> };

export class SplitPacketStore {
  private readonly redis: RedisClient & SplitCommands;

  /** How long a completed packet's duplicate parts are recognised: twice the split timeout. */
  private readonly keepMs: number;

  constructor(
    redis: RedisClient,
    splitTimeoutMs = 120_000,
    private readonly prefix = 'tuojiang:split',
  ) {
    this.keepMs = 2 * splitTimeoutMs;
    redis.defineCommand('tjAddSplitPart', { numberOfKeys: 3, lua: ADD_PART });
    redis.defineCommand('tjTakeExpiredSplits', { numberOfKeys: 1, lua: TAKE_EXPIRED });
    this.redis = redis as RedisClient & SplitCommands;
  }

  private get indexKey(): string {
    return `${this.prefix}:index`;
  }

  /**
   * Store one part. When it completes the packet, the merged frame comes back with `release`, to be
   * called once the merged reading is durable.
   */
  async add(frame: Hj212Frame, raw: string, now: number, tolerance?: ToleranceFor): Promise<SplitAddResult> {
    const key = `${this.prefix}:${frame.mn.toUpperCase()}:${frame.cn}:${frame.qn ?? ''}:${frame.pnum}`;
    const [status, ...parts] = await this.redis.tjAddSplitPart(
      key,
      this.indexKey,
      `${key}:done`,
      String(frame.pno),
      raw,
      String(frame.pnum),
      String(now),
      String(this.keepMs),
    );
    if (status === 'pending' || status === 'duplicate') return { status };
    return {
      status: 'complete',
      frame: mergeParts(parts.map((p) => parseFrame(p, tolerance))),
      release: async () => {
        await this.redis.del(key);
      },
    };
  }

  /** Incomplete packets first seen before `olderThan`: removed from the store and returned as raw parts. */
  async takeExpired(olderThan: number): Promise<string[][]> {
    return this.redis.tjTakeExpiredSplits(this.indexKey, String(olderThan));
  }
}

/**
 * One frame from all parts, in PNO order: CP items merged, DataTime from the first part that has one.
 * A key sent by two parts keeps the LATER part's value: the same rule as a key repeated inside one
 * CP (parseCp, lenient `repeated-key`), so there is one rule for repeated keys. The quirks of every
 * part are the merged frame's.
 */
export function mergeParts(parts: Hj212Frame[]): Hj212Frame {
  const sorted = [...parts].sort((a, b) => (a.pno ?? 0) - (b.pno ?? 0));
  const first = sorted[0]!;
  const items: Hj212Frame['cp']['items'] = {};
  const other: Hj212Frame['cp']['other'] = {};
  let dataTime: string | undefined;
  for (const p of sorted) {
    dataTime ??= p.cp.dataTime;
    Object.assign(other, p.cp.other);
    for (const [code, fields] of Object.entries(p.cp.items)) items[code] = { ...items[code], ...fields };
  }
  const quirks = [...new Set(sorted.flatMap((p) => p.quirks))];
  return { ...first, quirks, cp: { ...(dataTime !== undefined ? { dataTime } : {}), items, other } };
}
