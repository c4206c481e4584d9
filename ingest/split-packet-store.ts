import { TuojiangError } from '../lib/errors.js';
import type { RedisClient } from '../lib/redis-client.js';
import { waitForReplicas } from '../lib/redis-replicated.js';
import type { Hj212Frame, ToleranceFor } from './hj212/frame.js';
import { parseFrame } from './hj212/frame.js';

/*
 * Parts of split HJ 212 packets (Flag bit D, PNUM/PNO) are kept in Redis, not in process memory:
 * a part is PUBACKed once stored, so it must survive this process, and with a $share group the parts
 * of one packet may reach different ingest processes. Both scripts are atomic, so two processes
 * adding the last two parts at once complete the packet exactly once.
 */
/**
 * KEYS: the packet's parts (hash PNO -> frame), the index of packets by first arrival, the packet's
 * done mark, the station's waiting parts (sorted set of `{parts key}|{PNO}` by arrival).
 * ARGV: PNO, frame, PNUM, now (ms, the index's clock, as the sweeper's), keep (ms) of the done
 * mark, the station's limit of waiting parts, the split timeout (ms).
 * A new part counts against its station's limit; parts older than the timeout no longer do (the
 * sweeper takes their packets), nor do the parts of a packet once it is complete; their age is by
 * the ingest's clock, as the index's and the sweeper's. A part stored already (a re-send) is stored
 * again without counting twice, and the part that completes its packet is taken even at the limit:
 * it frees what it completes.
 */
const ADD_PART = `
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[3]) == 1 then
  return {'duplicate'}
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  local now = tonumber(ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[7]))
  local waiting = redis.call('ZCARD', KEYS[4])
  local completes = redis.call('HLEN', KEYS[1]) + 1 >= tonumber(ARGV[3])
  if waiting >= tonumber(ARGV[6]) and not completes then return {'over-limit', tostring(waiting)} end
  redis.call('ZADD', KEYS[4], now, KEYS[1] .. '|' .. ARGV[1])
  redis.call('PEXPIRE', KEYS[4], 2 * tonumber(ARGV[7]))
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('ZREM', KEYS[2], KEYS[1])
  for _, pno in ipairs(redis.call('HKEYS', KEYS[1])) do redis.call('ZREM', KEYS[4], KEYS[1] .. '|' .. pno) end
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  local out = {'complete'}
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do out[#out + 1] = v end
  return out
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[4], KEYS[1])
return {'pending'}
`;

/**
 * KEYS: the index of packets by first arrival. ARGV: the cutoff (ms), how many at most, now (ms).
 * Returns how many index entries it looked at, then each expired packet's key and parts. The packet
 * stays where it is, leased: its index score becomes now, so no sweep (of this process or another,
 * their clocks agreeing) takes it again before another split timeout. RELEASE_TAKEN removes it once
 * its dead letter is durable; a sweep whose dead letters could not be journaled leaves it to a later
 * one. A key whose parts are gone is dropped.
 */
const TAKE_EXPIRED = `
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {#keys}
for _, k in ipairs(keys) do
  local parts = redis.call('HVALS', k)
  if #parts == 0 then
    redis.call('ZREM', KEYS[1], k)
  else
    redis.call('ZADD', KEYS[1], ARGV[3], k)
    table.insert(parts, 1, k)
    out[#out + 1] = parts
  end
end
return out
`;

/**
 * KEYS: the index. ARGV: the lease's score (TAKE_EXPIRED's now), then each packet's key and how many
 * parts were taken of it. Removes a packet still leased at that score and holding those parts only.
 * One that changed meanwhile is left: completed by its last part (no longer in the index: its own
 * release removes it, and a re-send of that part still completes it), or given another part (which
 * was acknowledged: a later sweep dead-letters all the parts, the earlier ones a second time).
 */
const RELEASE_TAKEN = `
for i = 2, #ARGV, 2 do
  local k = ARGV[i]
  if tonumber(redis.call('ZSCORE', KEYS[1], k)) == tonumber(ARGV[1]) and redis.call('HLEN', k) == tonumber(ARGV[i + 1]) then
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[1], k)
  end
end
return 0
`;

interface SplitCommands {
  tjAddSplitPart(
    partsKey: string,
    indexKey: string,
    doneKey: string,
    waitingKey: string,
    pno: string,
    frame: string,
    pnum: string,
    now: string,
    keepMs: string,
    maxWaiting: string,
    timeoutMs: string,
  ): Promise<string[]>;
  tjTakeExpiredSplits(indexKey: string, olderThan: string, count: string, now: string): Promise<[number, ...string[][]]>;
  tjReleaseTakenSplits(indexKey: string, leasedAt: string, ...keysAndCounts: string[]): Promise<number>;
}

/** Expired packets taken by a sweep: their parts, and what releases them once their dead letters are durable. */
export interface TakenSplits {
  groups: string[][];
  /** Index entries looked at (at most SPLIT_SWEEP_BATCH; some may have had no parts left): fewer, and the sweep is done. */
  examined: number;
  release(): Promise<void>;
}

/** Packets taken per sweep call: one script holds Redis for a bounded time; the sweeper calls again while they come full. */
export const SPLIT_SWEEP_BATCH = 100;

export type SplitAddResult = { status: 'pending' | 'duplicate' } | { status: 'complete'; frame: Hj212Frame; release: () => Promise<void> };

export class SplitPacketStore {
  private readonly redis: RedisClient & SplitCommands;

  /** How long a completed packet's duplicate parts are recognised: twice the split timeout. */
  private readonly keepMs: number;
  private closed = false;

  constructor(
    redis: RedisClient,
    private readonly splitTimeoutMs = 120_000,
    private readonly prefix = 'tuojiang:split',
    /** ingest.split_max_pending_parts: what one station's parts may hold in Redis, at most this times max_payload_bytes. */
    private readonly maxPendingParts = 64,
    /** redis.wait_replicas and wait_timeout_ms: a part is acknowledged once stored, so stored means on a replica too. */
    private readonly replication: { replicas: number; timeoutMs: number } = { replicas: 0, timeoutMs: 2000 },
    /** Told of each wait that fell short and of the first success after: the journal's hooks, for the log, the counter and /readyz. */
    private readonly hooks: { failed?: (e: Error) => void; recovered?: () => void } = {},
  ) {
    this.keepMs = 2 * splitTimeoutMs;
    redis.defineCommand('tjAddSplitPart', { numberOfKeys: 4, lua: ADD_PART });
    redis.defineCommand('tjTakeExpiredSplits', { numberOfKeys: 1, lua: TAKE_EXPIRED });
    redis.defineCommand('tjReleaseTakenSplits', { numberOfKeys: 1, lua: RELEASE_TAKEN });
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
    const mn = frame.mn.toUpperCase();
    if ((frame.pnum ?? 0) > this.maxPendingParts)
      throw new TuojiangError(
        'SPLIT_LIMIT',
        `PNUM ${frame.pnum} is more parts than a station may have waiting (ingest.split_max_pending_parts: ${this.maxPendingParts}); the packet could never complete`,
      );
    const key = `${this.prefix}:${mn}:${frame.cn}:${frame.qn ?? ''}:${frame.pnum}`;
    const [status, ...parts] = await this.redis.tjAddSplitPart(
      key,
      this.indexKey,
      `${key}:done`,
      `${this.prefix}:waiting:${mn}`,
      String(frame.pno),
      raw,
      String(frame.pnum),
      String(now),
      String(this.keepMs),
      String(this.maxPendingParts),
      String(this.splitTimeoutMs),
    );
    if (status === 'over-limit')
      throw new TuojiangError(
        'SPLIT_LIMIT',
        `the station has ${parts[0]} parts of split packets waiting, its limit (ingest.split_max_pending_parts); part ${frame.pno} of ${frame.pnum} (QN ${String(frame.qn ?? '').slice(0, 20)}) refused`,
      );
    if (status === 'pending' || status === 'duplicate') {
      // Acknowledged as soon as this resolves (it carries no reading for the journal's WAIT to cover).
      await this.untilReplicated(key);
      return { status };
    }
    return {
      status: 'complete',
      frame: mergeParts(parts.map((p) => parseFrame(p, tolerance))),
      release: async () => {
        await this.redis.del(key);
      },
    };
  }

  /**
   * Until the replicas hold what this connection wrote to `key`'s master, retrying with backoff as
   * the journal's batches are: the part stays unacknowledged meanwhile (the broker keeps it, the
   * logger gets no answer), rather than be dead-lettered or acknowledged on the master's word.
   */
  private async untilReplicated(key: string): Promise<void> {
    const { replicas, timeoutMs } = this.replication;
    if (replicas <= 0) return;
    let failed = false;
    for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
      // A failover can fail the WAIT itself (a node dropped, a stale slot map): retried like a short count.
      const n = await waitForReplicas(this.redis, key, replicas, timeoutMs).catch((e: unknown) =>
        e instanceof Error ? e : new Error(String(e)),
      );
      if (typeof n === 'number' && n >= replicas) {
        if (failed) this.hooks.recovered?.();
        return;
      }
      failed = true;
      this.hooks.failed?.(
        typeof n === 'number'
          ? new TuojiangError(
              'REDIS_NOT_REPLICATED',
              `split-packet part: ${n} of ${replicas} replica(s) acknowledged within ${timeoutMs} ms`,
            )
          : n,
      );
      // Stopping: left unacknowledged (the broker or the logger sends it again), and no timer kept alive.
      if (this.closed) return new Promise<void>(() => undefined);
      await new Promise((r) => setTimeout(r, delay));
      if (this.closed) return new Promise<void>(() => undefined);
    }
  }

  /** The ingest is stopping: parts waiting for a replica stop waiting and are never acknowledged. */
  close(): void {
    this.closed = true;
  }

  /**
   * Incomplete packets first seen before `olderThan`, at most SPLIT_SWEEP_BATCH, as raw parts. They
   * stay in the store, leased for another split timeout, until `release()` (call it once their dead
   * letters are durable): a sweep that fails to journal them loses nothing.
   */
  async takeExpired(olderThan: number, now: number): Promise<TakenSplits> {
    const leasedAt = String(Math.floor(now));
    const [examined, ...rows] = await this.redis.tjTakeExpiredSplits(this.indexKey, String(olderThan), String(SPLIT_SWEEP_BATCH), leasedAt);
    const release = rows.flatMap((r) => [r[0]!, String(r.length - 1)]);
    return {
      groups: rows.map((r) => r.slice(1)),
      examined,
      release: async () => {
        if (release.length > 0) await this.redis.tjReleaseTakenSplits(this.indexKey, leasedAt, ...release);
      },
    };
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
