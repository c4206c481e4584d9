import type { Redis } from 'ioredis';
import type { Hj212Frame } from './hj212/frame.js';
import { parseFrame } from './hj212/frame.js';

/*
 * Parts of split HJ 212 packets (Flag bit D, PNUM/PNO) are kept in Redis, not in process memory:
 * a part is PUBACKed once stored, so it must survive this process, and with a $share group the parts
 * of one packet may reach different ingest processes. Both scripts are atomic, so two processes
 * adding the last two parts at once complete the packet exactly once.
 */
const ADD_PART = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  local parts = redis.call('HVALS', KEYS[1])
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
  return parts
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[4], KEYS[1])
return false
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
  tjAddSplitPart(partsKey: string, indexKey: string, pno: string, frame: string, pnum: string, now: string): Promise<string[] | null>;
  tjTakeExpiredSplits(indexKey: string, olderThan: string): Promise<string[][]>;
}

export class SplitPacketStore {
  private readonly redis: Redis & SplitCommands;

  constructor(redis: Redis, private readonly prefix = 'tuojiang:split') {
    redis.defineCommand('tjAddSplitPart', { numberOfKeys: 2, lua: ADD_PART });
    redis.defineCommand('tjTakeExpiredSplits', { numberOfKeys: 1, lua: TAKE_EXPIRED });
    this.redis = redis as Redis & SplitCommands;
  }

  private get indexKey(): string {
    return `${this.prefix}:index`;
  }

  /** Store one part; returns the merged frame when this part completes the packet, else null. */
  async add(frame: Hj212Frame, raw: string, now: number): Promise<Hj212Frame | null> {
    const key = `${this.prefix}:${frame.mn.toUpperCase()}:${frame.cn}:${frame.qn ?? ''}:${frame.pnum}`;
    const parts = await this.redis.tjAddSplitPart(key, this.indexKey, String(frame.pno), raw, String(frame.pnum), String(now));
    if (!parts) return null;
    return mergeParts(parts.map((p) => parseFrame(p)));
  }

  /** Incomplete packets first seen before `olderThan`: removed from the store and returned as raw parts. */
  async takeExpired(olderThan: number): Promise<string[][]> {
    return this.redis.tjTakeExpiredSplits(this.indexKey, String(olderThan));
  }
}

/** One frame from all parts, in PNO order: CP items merged, DataTime from the first part that has one. */
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
  return { ...first, cp: { ...(dataTime !== undefined ? { dataTime } : {}), items, other } };
}
