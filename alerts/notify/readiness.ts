/**
 * The notify worker's /readyz: it is ready when it can take work (Redis) and hand mail over (the
 * SMTP server accepts connections; with redis.wait_replicas, the outbox's master has its replicas).
 * Each probe is bounded so the answer comes within the readiness bound during an outage of either.
 */
import { connect } from 'node:net';
import type { RedisClient } from '../../lib/redis-client.js';
import { READINESS_BOUND_MS, redisAnswers, within } from '../../lib/readiness.js';

export interface NotifyReadinessOptions {
  redis: RedisClient;
  smtpUrl: string;
  /**
   * With redis.wait_replicas: whether the replicas a delivery commit needs are online now
   * (NotifyStore.enoughReplicasOnline). Reported as `redis_replicas`; false means notices would be held
   * (not handed over) until a replica is back.
   */
  replicasOnline?: () => Promise<boolean>;
  /** How long an SMTP answer is reused: probes come every few seconds and each one is a connection the server logs. Default 5 s. */
  cacheMs?: number;
  timeoutMs?: number;
}

/** True when a TCP connection to the SMTP server opens within `timeoutMs`. */
export function smtpReachable(smtpUrl: string, timeoutMs: number): Promise<boolean> {
  const u = new URL(smtpUrl);
  const port = u.port ? Number(u.port) : u.protocol === 'smtps:' ? 465 : 25;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

export function notifyReadiness(o: NotifyReadinessOptions): () => Promise<{ ready: boolean; checks: Record<string, boolean> }> {
  const timeoutMs = o.timeoutMs ?? READINESS_BOUND_MS - 200;
  const cacheMs = o.cacheMs ?? 5000;
  let smtp: { ok: boolean; at: number } | undefined;
  return async () => {
    const now = Date.now();
    const [redis, smtpOk, replicasOk] = await Promise.all([
      redisAnswers(o.redis, timeoutMs),
      smtp && now - smtp.at < cacheMs
        ? smtp.ok
        : smtpReachable(o.smtpUrl, timeoutMs).then((ok) => {
            smtp = { ok, at: Date.now() };
            return ok;
          }),
      o.replicasOnline ? within(timeoutMs, o.replicasOnline, false) : undefined,
    ]);
    const checks: Record<string, boolean> = { redis, smtp: smtpOk };
    if (replicasOk !== undefined) checks.redis_replicas = replicasOk;
    return { ready: Object.values(checks).every(Boolean), checks };
  };
}
