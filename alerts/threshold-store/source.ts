/**
 * The thresholds the check workers use, from the store: a running worker picks up a new version
 * within `pollMs` (1 s by default; the promise is 5 s) without a restart. Between polls the same
 * ThresholdSet object is returned, so the per-station profile cache (alerts/thresholds.ts) holds.
 */
import { createRedis, isClusterTarget, type RedisClient } from '../../config/connections.js';
import { checkClusterNames } from '../../config/redis-layout.js';
import { DEFAULT_PREFIX } from '../keys.js';
import type { RegistryConfig } from '../../config/schema.js';
import { ThresholdsFileSchema } from '../thresholds-schema.js';
import { TuojiangError } from '../../lib/errors.js';
import type { InfluxStore } from '../../lib/influx/client.js';
import type { Logger } from '../../lib/logger.js';
import type { ThresholdSet, ThresholdSource } from '../thresholds.js';
import { ThresholdStore } from './store.js';
import type { ThresholdVersion } from './types.js';

export const MAX_POLL_MS = 5000;

export interface RedisThresholdSourceOptions {
  redis: RedisClient;
  registry: RegistryConfig;
  prefix?: string;
  /** How old the set in force may get before the head is checked again. Default 1000, at most 5000. */
  pollMs?: number;
  /** Seeds an empty store with this set (normally config/thresholds.yaml). */
  seed?: ThresholdSet;
  /** Applied versions not yet in InfluxDB are written from here too (a CLI that died mid-way). */
  influx?: InfluxStore;
  /** Clock for exception ends (tests). */
  now?: () => number;
  log?: Logger;
  /** Called once each time the store was found gone after it had been read. */
  onStateLost?: (what: string) => void;
  /** Called once per version taken into use. */
  onVersion?: (set: ThresholdSet) => void;
}

export class RedisThresholdSource implements ThresholdSource {
  readonly store: ThresholdStore;
  private set: ThresholdSet | undefined;
  private head: ThresholdVersion | undefined;
  private checkedAt = -Infinity;
  private refreshing: Promise<ThresholdSet> | undefined;
  private lostReported = false;
  private readonly pollMs: number;
  private readonly now: () => number;

  constructor(private readonly o: RedisThresholdSourceOptions) {
    this.pollMs = Math.min(o.pollMs ?? 1000, MAX_POLL_MS);
    this.now = o.now ?? Date.now;
    this.store = new ThresholdStore({
      redis: o.redis,
      registry: o.registry,
      ...(o.prefix ? { prefix: o.prefix } : {}),
      ...(o.influx ? { influx: o.influx } : {}),
      ...(o.log ? { log: o.log } : {}),
      now: this.now,
    });
  }

  async current(): Promise<ThresholdSet> {
    if (this.set && Date.now() - this.checkedAt < this.pollMs) return this.set;
    return this.refresh();
  }

  /** Checks the head now (one GET; the version itself only when it changed). */
  refresh(): Promise<ThresholdSet> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** The version in force as last read (undefined before the first read). */
  get version(): ThresholdVersion | undefined {
    return this.head;
  }

  private async load(): Promise<ThresholdSet> {
    try {
      let n = await this.store.headVersion();
      if (n === null && this.set) return this.storeLost(this.set);
      this.lostReported = false;
      if (n === null) {
        if (!this.o.seed)
          throw new TuojiangError('THRESHOLD_STORE_EMPTY', 'the threshold store is empty: seed it with `tuojiang thresholds seed`');
        n = (await this.store.seed(this.o.seed)).version;
      }
      if (this.head?.exceptions.some((e) => e.until <= this.now())) {
        await this.store.sweep();
        n = (await this.store.headVersion()) ?? n;
      }
      if (!this.head || this.head.version !== n) await this.use(await this.store.version(n));
      // A version whose exception is already due (a worker that was down at the time): end it now.
      if (this.head?.exceptions.some((e) => e.until <= this.now())) {
        await this.store.sweep();
        const m = await this.store.headVersion();
        if (m !== null && m !== this.head.version) await this.use(await this.store.version(m));
      }
      this.checkedAt = Date.now();
      return this.set as ThresholdSet;
    } catch (e) {
      // Keep checking with the last good version rather than stopping the alerts.
      if (!this.set) throw e;
      this.checkedAt = Date.now();
      this.o.log?.error(
        { err: (e as Error).message, version: this.set.version },
        'threshold store unreadable: keeping the version in force',
      );
      return this.set;
    }
  }

  /**
   * The store was there and is gone: Redis lost its data. Seeding it again from thresholds.yaml
   * would start a new history at version 1 and silently undo every change both cities approved;
   * keeping the version in force and saying so loudly leaves the choice (restore Redis, or seed)
   * to an operator. Reported once per loss, not once per poll.
   */
  private storeLost(inForce: ThresholdSet): ThresholdSet {
    this.checkedAt = Date.now();
    if (!this.lostReported) {
      this.lostReported = true;
      const err = new TuojiangError(
        'REDIS_STATE_LOST',
        `the threshold store is gone from Redis (emptied or replaced); checks go on with version ${inForce.version} in force and it is not re-seeded`,
      );
      this.o.log?.error({ code: err.code, what: 'threshold store', version: inForce.version, hint: err.hint }, err.message);
      this.o.onStateLost?.('threshold store');
    }
    return inForce;
  }

  private async use(v: ThresholdVersion): Promise<void> {
    // Written validated by the store; checked again because a worker must never run on a broken set.
    const config = ThresholdsFileSchema.parse(v.config);
    this.head = v;
    this.set = { ...ThresholdStore.toThresholdSet(v), config };
    this.o.log?.info({ version: this.set.version, summary: v.summary }, 'thresholds in force');
    this.o.onVersion?.(this.set);
    void this.store.flushChanges();
  }
}

/**
 * A source with its own Redis connection, seeded from `seed` if the store is empty, for
 * `tuojiang alerts worker`: `thresholds: await openRedisThresholdSource({ redisUrl, registry, seed })`.
 */
export async function openRedisThresholdSource(
  o: Omit<RedisThresholdSourceOptions, 'redis'> & { redisUrl: string },
): Promise<RedisThresholdSource & { close(): Promise<void> }> {
  const { redisUrl, ...rest } = o;
  if (isClusterTarget(redisUrl)) checkClusterNames({ prefix: o.prefix ?? DEFAULT_PREFIX });
  const redis = createRedis(redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', (e) => o.log?.warn({ err: e.message }, 'thresholds: redis error'));
  const source = new RedisThresholdSource({ ...rest, redis }) as RedisThresholdSource & { close(): Promise<void> };
  source.close = async () => {
    await redis.quit().catch(() => redis.disconnect());
  };
  try {
    await source.current();
  } catch (e) {
    await source.close();
    throw e;
  }
  return source;
}
