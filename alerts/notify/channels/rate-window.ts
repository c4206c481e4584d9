/**
 * A sliding one-minute window of sends per destination, shared by every notify process through
 * Redis (WeCom allows a robot 20 messages a minute). Taking a slot is atomic; when the window is
 * full the answer is when its oldest send leaves it, and the delivery job waits until then. Redis
 * time, not the process clock: the limit is the real minute of the service on the other side,
 * and every worker must see the same one.
 */
import type { RedisClient } from '../../../lib/redis-client.js';

/** KEYS: the window. ARGV: limit, windowMs, member. Returns 0 (taken) or the epoch ms a slot frees. */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window * 2)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window + 1
`;

export class RateWindow {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: (destination: string) => string,
    private readonly limit: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Takes a slot for `member` (one per attempt) or says when to ask again. */
  async take(destination: string, member: string): Promise<{ ok: true } | { ok: false; retryAt: number }> {
    const r = Number(await this.redis.eval(TAKE, 1, this.key(destination), this.limit, this.windowMs, member));
    return r === 0 ? { ok: true } : { ok: false, retryAt: r };
  }
}
