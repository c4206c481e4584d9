/**
 * Test and benchmark helpers for the alerts: a real Redis and InfluxDB, an alerts service on a
 * unique BullMQ prefix and InfluxDB database per stack, a CheckEnqueuer, and ways to wait for the
 * pipeline to go quiet and to read back what it recorded.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import type { AlertEvent } from '../../alerts/events.js';
import { AlertKeys, QUEUE_CHECKS, QUEUE_NOTIFY } from '../../alerts/keys.js';
import { startAlertsService, type AlertsService, type AlertsServiceOptions } from '../../alerts/service.js';
import { StaticThresholdSource, loadThresholdsFile, type ThresholdSet, type ThresholdSource } from '../../alerts/thresholds.js';
import type { ThresholdsFile } from '../../alerts/thresholds-schema.js';
import { loadConfig } from '../../config/load.js';
import type { InfluxClient } from '../../lib/influx/client.js';
import { influxFromEnv } from '../../config/connections.js';
import { startServices } from '../../devtools/local-services/index.js';
import type { DataFlag } from '../../lib/parameters.js';
import type { Period, Reading } from '../../lib/reading.js';
import { StationRegistry } from '../../config/station-registry.js';

export type Services = Awaited<ReturnType<typeof startAlertServices>>;

export function startAlertServices() {
  return startServices({ redis: { appendonly: false }, influxdb: true });
}

const base = loadConfig();
export const registry = new StationRegistry(base.registry);
export const shippedThresholds: ThresholdSet = loadThresholdsFile(join(base.dir, 'thresholds.yaml'), base.registry);

/** The shipped thresholds with changes (a deep copy: the shipped set stays as it is). */
export function thresholdsWith(change: (c: ThresholdsFile) => void, version = 'test'): ThresholdSet {
  const config = structuredClone(shippedThresholds.config);
  config.version = version;
  change(config);
  return { version, source: 'test', config };
}

export const HOUR = 3_600_000;
export const T0 = Date.parse('2026-05-01T00:00:00+08:00');

export function reading(
  station: string,
  ts: number,
  values: Record<string, number>,
  flags: Record<string, DataFlag> = {},
  period: Period = 'hour',
): Reading {
  const s = registry.get(station);
  if (!s) throw new Error(`unknown station ${station}`);
  return { station, city: s.city, medium: s.kind, ts, period, values, flags, source: 'json' };
}

export interface AlertsStack {
  prefix: string;
  influx: InfluxClient;
  redis: Redis;
  enqueuer: CheckEnqueuer;
  service: AlertsService;
  published: AlertEvent[];
  /** Resolves once no check job is waiting, active or delayed and the outbox is empty. */
  idle(timeoutMs?: number): Promise<void>;
  /** Every point of the `alerts` measurement, oldest first. */
  alertPoints(): Promise<Array<Record<string, unknown>>>;
  notifyJobIds(): Promise<string[]>;
  close(): Promise<void>;
}

export async function startAlertsStack(
  services: Services,
  opts: Partial<Omit<AlertsServiceOptions, 'redisUrl' | 'influx' | 'registry' | 'thresholds'>> & {
    thresholds?: ThresholdSet;
    thresholdSource?: ThresholdSource;
    reorderMs?: number;
    granularity?: 'reading' | 'batch';
  } = {},
): Promise<AlertsStack> {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const influx = influxFromEnv({ INFLUX_URL: services.influxdb.url, INFLUX_DB: `alerts_${prefix}` });
  await influx.ensureDatabase();
  const published: AlertEvent[] = [];
  const { thresholds, thresholdSource, reorderMs, granularity, ...rest } = opts;
  const service = await startAlertsService({
    redisUrl: services.redis.url,
    influx,
    registry,
    thresholds: thresholdSource ?? new StaticThresholdSource(thresholds ?? shippedThresholds),
    prefix,
    silence: false,
    ...rest,
    onPublished: (events, at) => {
      published.push(...events);
      rest.onPublished?.(events, at);
    },
  });
  const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
  const enqueuer = new CheckEnqueuer({
    redisUrl: services.redis.url,
    prefix,
    ...(reorderMs ? { reorderMs } : {}),
    ...(granularity ? { granularity } : {}),
  });
  const checks = new Queue(QUEUE_CHECKS, { connection: redis, prefix });
  const notify = new Queue(QUEUE_NOTIFY, { connection: redis, prefix });
  const keys = new AlertKeys(prefix);

  const quiet = async (): Promise<boolean> => {
    const c = await checks.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    if (Object.values(c).some((n) => n > 0)) return false;
    return (await redis.xlen(keys.outbox)) === 0;
  };

  return {
    prefix,
    influx,
    redis,
    enqueuer,
    service,
    published,
    async idle(timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      let streak = 0;
      while (streak < 3) {
        if (Date.now() > until) throw new Error(`alerts pipeline not idle after ${timeoutMs} ms`);
        streak = (await quiet()) ? streak + 1 : 0;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async alertPoints() {
      const series = await influx.query('SELECT * FROM alerts');
      const s = series[0];
      if (!s) return [];
      return s.values.map((row) => Object.fromEntries(s.columns.map((c, i) => [c, row[i]])));
    },
    async notifyJobIds() {
      const jobs = await notify.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
      return jobs.map((j) => j.id ?? '').sort();
    },
    async close() {
      await enqueuer.close();
      await service.close();
      await checks.close();
      await notify.close();
      await redis.quit();
    },
  };
}

/** Polls `cond` until true (or throws after `timeoutMs`): a wait, never a timing assertion. */
export async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Fails every job on a prefix's checks queue for good, with `reason`, until `count` jobs are in its
 * failed set: what a check that throws, or eight errors in a row, leave behind.
 */
export async function failCheckJobs(redisPort: number, prefix: string, reason: string, count: number): Promise<void> {
  const connection = { host: '127.0.0.1', port: redisPort };
  const queue = new Queue(QUEUE_CHECKS, { connection, prefix });
  const failing = new Worker(
    QUEUE_CHECKS,
    () => {
      throw new UnrecoverableError(reason);
    },
    { connection, prefix },
  );
  try {
    await waitFor(async () => (await queue.getJobCounts('failed')).failed === count, 30_000, `${count} check jobs to fail`);
  } finally {
    await failing.close();
    await queue.close();
  }
}
