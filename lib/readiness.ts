import type { RedisClient } from './redis-client.js';

/** Every /readyz answers within this: a probe that waits longer is a probe an orchestrator gives up on. */
export const READINESS_BOUND_MS = 1000;

/** `probe`'s answer, or `fallback` if it has none within `ms` (or fails). */
export function within<T>(ms: number, probe: () => Promise<T>, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
    probe().then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}

/**
 * Whether Redis answers a PING within `ms`. A client that is not connected answers false at once:
 * with maxRetriesPerRequest null its commands wait in the offline queue for as long as the outage
 * lasts, so each probe would both hang and pile one more PING up behind the reconnect.
 */
export function redisAnswers(redis: RedisClient, ms = READINESS_BOUND_MS - 200): Promise<boolean> {
  if (redis.status !== 'ready') return Promise.resolve(false);
  return within(ms, async () => (await redis.ping()) === 'PONG', false);
}

/** Whether InfluxDB answers its /ping within `ms`. */
export function influxAnswers(influx: { ping(): Promise<boolean> }, ms = READINESS_BOUND_MS - 200): Promise<boolean> {
  return within(ms, () => influx.ping(), false);
}

/**
 * A probe whose answer is reused for `cacheMs`: health checks come every few seconds from several
 * places (the container's check, a Prometheus server), and each fresh answer is a request the
 * dependency serves and may log.
 */
export function cachedProbe(probe: () => Promise<boolean>, cacheMs = 5000): () => Promise<boolean> {
  let last: { ok: boolean; at: number } | undefined;
  return async () => {
    if (last && Date.now() - last.at < cacheMs) return last.ok;
    const ok = await probe();
    last = { ok, at: Date.now() };
    return ok;
  };
}
