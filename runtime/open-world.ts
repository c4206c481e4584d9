/**
 * One way to open the world a command, a service, the demo or a test stack works in: Redis,
 * InfluxDB and the unified thresholds, from the loaded configuration and the environment. The
 * thresholds always come from the versioned store in Redis (decision 0007); config/thresholds.yaml
 * only seeds an empty store, and only where the caller says so (the alerts worker, the demo).
 */
import { join } from 'node:path';
import type { RedisClient } from '../lib/redis-client.js';
import { openRedisThresholdSource, type RedisThresholdSource } from '../alerts/threshold-store/source.js';
import { THRESHOLDS_FILE, loadThresholdsFile } from '../alerts/thresholds.js';
import { influxFromEnv, redisFromEnv } from '../config/connections.js';
import type { Env } from '../config/env.js';
import type { LoadedConfig } from '../config/load.js';
import type { InfluxClient } from '../lib/influx/client.js';
import type { Logger } from '../lib/logger.js';

export interface World {
  config: LoadedConfig;
  env: Env;
  redis: RedisClient;
  influx: InfluxClient;
  /** Closes what openWorld opened (and every thresholds source opened on it). */
  close(): Promise<void>;
}

export interface WorldOptions {
  config: LoadedConfig;
  env: Env;
  /** `service` for long-running workers, `server` for the API, `command` for one CLI command. */
  use: 'service' | 'server' | 'command';
  log?: Logger;
  /** InfluxDB request timeout (a CLI command waits less than a worker). */
  influxTimeoutMs?: number;
}

export function openWorld(o: WorldOptions): World & { openThresholds(t: ThresholdsOptions): Promise<ThresholdsSource> } {
  const redis = redisFromEnv(o.env, o.use, o.log);
  const influx = influxFromEnv(o.env, o.influxTimeoutMs !== undefined ? { timeoutMs: o.influxTimeoutMs } : {});
  const sources: ThresholdsSource[] = [];
  return {
    config: o.config,
    env: o.env,
    redis,
    influx,
    async openThresholds(t) {
      const source = await openThresholds(o.config, o.env, { ...t, influx, ...(o.log && !t.log ? { log: o.log } : {}) });
      sources.push(source);
      return source;
    },
    async close() {
      for (const s of sources) await s.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export interface ThresholdsOptions {
  prefix?: string;
  /** Seed an empty store from config/thresholds.yaml (the alerts worker and the demo); otherwise an empty store is an error. */
  seedFromConfig?: boolean;
  influx?: InfluxClient;
  pollMs?: number;
  log?: Logger;
  onStateLost?: (what: string) => void;
}

export type ThresholdsSource = RedisThresholdSource & { close(): Promise<void> };

/**
 * The thresholds in force, from the store, on a connection of its own (it polls the head). An
 * invalid config/thresholds.yaml stops the start when it is to seed the store.
 */
export function openThresholds(config: LoadedConfig, env: Pick<Env, 'REDIS_URL'>, t: ThresholdsOptions = {}): Promise<ThresholdsSource> {
  return openRedisThresholdSource({
    redisUrl: env.REDIS_URL,
    registry: config.registry,
    ...(t.prefix !== undefined ? { prefix: t.prefix } : {}),
    ...(t.seedFromConfig ? { seed: loadThresholdsFile(join(config.dir, THRESHOLDS_FILE), config.registry) } : {}),
    ...(t.influx ? { influx: t.influx } : {}),
    ...(t.pollMs !== undefined ? { pollMs: t.pollMs } : {}),
    ...(t.log ? { log: t.log } : {}),
    ...(t.onStateLost ? { onStateLost: t.onStateLost } : {}),
  });
}
