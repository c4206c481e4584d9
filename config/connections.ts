/**
 * The clients of the two stores, built from the environment one way everywhere: InfluxDB with the
 * credentials of INFLUX_USER/INFLUX_PASSWORD or INFLUX_TOKEN, Redis with the options its use needs.
 * (runtime/open-world.ts opens them together with the thresholds source.)
 */
import { Redis } from 'ioredis';
import { InfluxClient } from '../lib/influx/client.js';
import type { Logger } from '../lib/logger.js';
import type { Env } from './env.js';

export function influxFromEnv(
  env: Pick<Env, 'INFLUX_URL' | 'INFLUX_DB' | 'INFLUX_USER' | 'INFLUX_PASSWORD' | 'INFLUX_TOKEN'>,
  o: { timeoutMs?: number } = {},
): InfluxClient {
  return new InfluxClient({
    url: env.INFLUX_URL,
    database: env.INFLUX_DB,
    ...(env.INFLUX_USER !== undefined ? { username: env.INFLUX_USER } : {}),
    ...(env.INFLUX_PASSWORD !== undefined ? { password: env.INFLUX_PASSWORD } : {}),
    ...(env.INFLUX_TOKEN !== undefined ? { token: env.INFLUX_TOKEN } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  });
}

/**
 * A Redis connection for a use:
 *  - `service`: a long-running worker (BullMQ needs maxRetriesPerRequest null: commands wait out an
 *    outage instead of failing);
 *  - `server`: an HTTP server's requests (a request fails after two retries instead of hanging);
 *  - `command`: one CLI command (fails after two retries; connects on `connect()` or the first
 *    command, so that a command that needs no Redis never waits for it).
 */
export function redisFromEnv(env: Pick<Env, 'REDIS_URL'>, use: 'service' | 'server' | 'command', log?: Logger, name = 'redis'): Redis {
  const redis =
    use === 'service'
      ? new Redis(env.REDIS_URL, { maxRetriesPerRequest: null })
      : new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2, ...(use === 'command' ? { lazyConnect: true } : {}) });
  if (log) redis.on('error', (e: Error) => log.warn({ err: e.message }, `${name}: redis error`));
  return redis;
}

/** One CLI command's Redis: connected, handed to `fn`, disconnected whatever happens. */
export async function withCommandRedis<T>(env: Pick<Env, 'REDIS_URL'>, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = redisFromEnv(env, 'command');
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}
