/**
 * The clients of the two stores, built from the environment one way everywhere: InfluxDB with the
 * credentials of INFLUX_USER/INFLUX_PASSWORD or INFLUX_TOKEN, Redis with the options its use needs,
 * on one node or on a Redis Cluster. (runtime/open-world.ts opens them together with the
 * thresholds source.)
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { TuojiangError } from '../lib/errors.js';
import { InfluxClient } from '../lib/influx/client.js';
import type { Logger } from '../lib/logger.js';
import { hideUserinfo } from '../lib/redact-url.js';
import { isCluster, type RedisClient } from '../lib/redis-client.js';
import type { Env } from './env.js';
import { checkClusterNames, type ClusterNames } from './redis-layout.js';

export { isCluster, type RedisClient } from '../lib/redis-client.js';

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

/** Several redis:// URLs separated by commas name a cluster's nodes (any of them find the rest). */
export function redisTargetNodes(target: string): string[] {
  return target
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The credentials and TLS of a node URL, as ioredis options (ioredis reads the same from one URL). */
function nodeOptions(u: URL): RedisOptions {
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: { servername: u.hostname } } : {}),
  };
}

/**
 * A Cluster over the node URLs of `target`. The credentials and TLS are the first URL's (a cluster
 * has one set of users); the rest of each URL is only where to find a node.
 */
function clusterOf(urls: string[], options: RedisOptions, clusterOptions: ClusterOptions): Cluster {
  const parsed = urls.map((s) => {
    try {
      return new URL(s);
    } catch {
      throw new TuojiangError('ENV_INVALID', `not a redis:// URL in the cluster's node list: ${hideUserinfo(s)}`);
    }
  });
  const nodes = parsed.map((u) => ({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || 6379) }));
  // These four are the cluster's own options; the rest apply to each node's connection.
  const { lazyConnect, enableAutoPipelining, enableReadyCheck, enableOfflineQueue, ...perNode } = options;
  const own = { lazyConnect, enableAutoPipelining, enableReadyCheck, enableOfflineQueue };
  return new Cluster(nodes, {
    ...clusterOptions,
    ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)),
    redisOptions: { ...nodeOptions(parsed[0]!), ...perNode },
  });
}

/**
 * A failover (a master lost, its replica promoted) takes the cluster's node timeout and an
 * election, seconds: a command to the lost master's slots is retried until the replica answers
 * (64 × 200 ms) rather than failing at ioredis's default of 16 × 100 ms.
 */
const SERVICE_CLUSTER_OPTIONS: ClusterOptions = {
  maxRedirections: 64,
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 200,
  retryDelayOnTryAgain: 200,
};

/**
 * The one way every Redis connection is made. `target` is REDIS_URL as read by config/env.ts: one
 * redis:// (or rediss://) URL for a single node, or several separated by commas for a Redis
 * Cluster's nodes (REDIS_CLUSTER_NODES is folded into that form when the environment is read).
 */
export function createRedis(target: string, options: RedisOptions = {}): RedisClient {
  const urls = redisTargetNodes(target);
  if (urls.length > 1) return clusterOf(urls, options, options.maxRetriesPerRequest === null ? SERVICE_CLUSTER_OPTIONS : {});
  return new Redis(urls[0] ?? target, options);
}

/** Whether `target` names a cluster (several nodes). */
export function isClusterTarget(target: string): boolean {
  return redisTargetNodes(target).length > 1;
}

/**
 * On a cluster, refuse key names that would not keep each script's keys in one slot (the prefix
 * and the journal streams need a hash tag, decision 0016). Nothing to check on one node.
 */
export function refuseUntaggedOnCluster(redis: RedisClient, names: ClusterNames): void {
  if (isCluster(redis)) checkClusterNames(names);
}

/**
 * A Redis connection for a use:
 *  - `service`: a long-running worker (BullMQ needs maxRetriesPerRequest null: commands wait out an
 *    outage instead of failing);
 *  - `server`: an HTTP server's requests (a request fails after two retries instead of hanging);
 *  - `command`: one CLI command (fails after two retries; connects on `connect()` or the first
 *    command, so that a command that needs no Redis never waits for it).
 */
export function redisFromEnv(
  env: Pick<Env, 'REDIS_URL'>,
  use: 'service' | 'server' | 'command',
  log?: Logger,
  name = 'redis',
): RedisClient {
  const redis =
    use === 'service'
      ? createRedis(env.REDIS_URL, { maxRetriesPerRequest: null })
      : createRedis(env.REDIS_URL, { maxRetriesPerRequest: 2, ...(use === 'command' ? { lazyConnect: true } : {}) });
  if (log) redis.on('error', (e: Error) => log.warn({ err: e.message }, `${name}: redis error`));
  return redis;
}

/** One CLI command's Redis: connected, handed to `fn`, disconnected whatever happens. */
export async function withCommandRedis<T>(env: Pick<Env, 'REDIS_URL'>, fn: (redis: RedisClient) => Promise<T>): Promise<T> {
  const redis = redisFromEnv(env, 'command');
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}
