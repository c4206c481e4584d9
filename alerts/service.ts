/**
 * An alerts process: check workers, the silence scheduler and its worker, and the outbox relay.
 * Stateless apart from Redis and InfluxDB: run as many as you like, on any machines.
 */
import { hostname } from 'node:os';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { createRedis, isClusterTarget, type RedisClient } from '../config/connections.js';
import { checkClusterNames } from '../config/redis-layout.js';
import { startHealthReporter } from '../lib/health-reporter.js';
import type { InfluxStore } from '../lib/influx/client.js';
import type { Logger } from '../lib/logger.js';
import { logErrorsRateLimited, logRedisRecovery } from '../lib/redis-outage-log.js';
import type { StationRegistry } from '../config/station-registry.js';
import { Aggregator, type AggregateMetrics } from '../aggregates/aggregator.js';
import { DirtyHours } from '../aggregates/dirty-hours.js';
import { AlertStore } from './alert-store.js';
import { CHECK_JOB_OPTIONS, isBatchJob, type AnyCheckJobData, type BatchCheckJobData } from './check-enqueuer.js';
import { CheckProcessor, type CheckOutcome } from './check-processor.js';
import type { AlertEvent } from './events.js';
import {
  INBOX_SWEEP_INTERVAL_MS,
  INBOX_SWEEP_SCHEDULER_ID,
  InboxSweeper,
  OVERDUE_NOW_STAT,
  STUCK_NOW_STAT,
  SWEPT_AT_STAT,
  type SweepMetrics,
} from './inbox-sweep.js';
import { keepScheduler } from './schedulers.js';
import { DEFAULT_PREFIX, QUEUE_AGGREGATES, QUEUE_CHECKS, QUEUE_SILENCE, QUEUE_SWEEP } from './keys.js';
import { MaintenanceCalendar, MaintenanceStore } from './maintenance.js';
import { OutboxRelay, createNotifyQueue } from './outbox-relay.js';
import { SilenceChecker, redisNow } from './silence.js';
import { stationProfile, type ThresholdSource } from './thresholds.js';

export const SILENCE_SCHEDULER_ID = 'silence-check';
export const CHECK_LOCK_MS = 10_000;
export const CHECK_STALLED_INTERVAL_MS = 5_000;
export const AGGREGATE_SCHEDULER_ID = 'aggregate-hours';

export interface AlertsServiceOptions {
  redisUrl: string;
  influx: InfluxStore;
  registry: StationRegistry;
  thresholds: ThresholdSource;
  prefix?: string;
  /** BullMQ Worker instances on the checks queue (each with its own connection). Default 1. */
  workers?: number;
  /** Jobs each worker runs at once. Default 16. */
  concurrency?: number;
  /**
   * BullMQ's lock on a running check job (renewed at half of it; config redis.check_lock_s).
   * Workers look for jobs whose lock lapsed every CHECK_STALLED_INTERVAL_MS: a worker killed
   * mid-job, or one whose completion never reached Redis because its master failed over. Default
   * 10 s: such a job runs again 5-15 s later (BullMQ's own 30 s and 30 s made it 15-60 s). A check
   * job takes milliseconds; one run twice is harmless (its commit is a compare-and-set, decision 0003).
   */
  lockDurationMs?: number;
  /** Run the outbox relay in this process (default true). */
  relay?: boolean;
  /** Run the silence scheduler and its worker in this process (default true). */
  silence?: boolean;
  /** Overrides engine.silence_interval_s (tests). */
  silenceIntervalMs?: number;
  /**
   * Run the inbox sweep's scheduler and worker in this process (default true; alerts/inbox-sweep.ts):
   * readings whose check job failed or was lost are checked 5 minutes late instead of never.
   */
  sweep?: boolean | { intervalMs?: number; staleMs?: number };
  /**
   * Run the hourly-aggregates job in this process (default true): every `intervalMs` (5 s) the
   * station-hours the writer marked, once `settleMs` (2 s) old, are aggregated (decision 0013).
   */
  aggregates?: boolean | { intervalMs?: number; settleMs?: number };
  /**
   * Write `pipeline_health` points (service 'alerts': check jobs waiting, aggregation backlog) every
   * this many ms; 0 = none (default 10 s).
   */
  healthIntervalMs?: number;
  log?: Logger;
  onPublished?: (events: AlertEvent[], at: number) => void;
  onChecked?: (outcome: CheckOutcome, job: AnyCheckJobData) => void;
}

export interface AlertsService {
  readonly store: AlertStore;
  readonly silence: SilenceChecker;
  readonly checkWorkers: readonly Worker[];
  /** The aggregates' metrics, when this process runs the job. */
  readonly aggregateMetrics: AggregateMetrics | undefined;
  /** The inbox sweep's metrics, when this process runs the sweep. */
  readonly sweepMetrics: SweepMetrics | undefined;
  close(): Promise<void>;
}

/** A batch job: every series of the batch, 16 at a time; waits for the latest reading not yet due. */
async function processBatch(processor: CheckProcessor, data: BatchCheckJobData): Promise<CheckOutcome> {
  const total = { status: 'done' as const, applied: 0, events: 0, conflicts: 0 };
  let until = 0;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < data.batch.length) {
      const [s, p, ts] = data.batch[next++] as [string, string, number];
      const r = await processor.process({ s, p, ts });
      if (r.status === 'wait') until = Math.max(until, r.until);
      else if (r.status === 'done') {
        total.applied += r.applied;
        total.events += r.events;
        total.conflicts += r.conflicts;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, data.batch.length) }, lane));
  // Series already drained are no-ops when the job comes back.
  return until > 0 ? { status: 'wait', until } : total;
}

export async function startAlertsService(o: AlertsServiceOptions): Promise<AlertsService> {
  const prefix = o.prefix ?? DEFAULT_PREFIX;
  if (isClusterTarget(o.redisUrl)) checkClusterNames({ prefix });
  const instance = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const connections: RedisClient[] = [];
  const connect = (autoPipelining = false): RedisClient => {
    const r = createRedis(o.redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: autoPipelining });
    logErrorsRateLimited(r, `alerts redis #${connections.length}`, o.log);
    connections.push(r);
    return r;
  };
  const main = connect();
  logRedisRecovery(main, 'alerts', o.log);
  // Many concurrent jobs each send a snapshot and a commit: auto-pipelining writes those issued in
  // the same tick in one go, which roughly halves the syscalls per check.
  const store = new AlertStore(connect(true), prefix);
  const set = await o.thresholds.current();
  const calendar = new MaintenanceCalendar(new MaintenanceStore(main, prefix));
  const processor = new CheckProcessor({
    store,
    registry: o.registry,
    thresholds: o.thresholds,
    calendar,
    ...(o.log ? { log: o.log } : {}),
  });
  const silence = new SilenceChecker({ store, registry: o.registry, thresholds: o.thresholds, calendar, ...(o.log ? { log: o.log } : {}) });
  const closers: Array<() => Promise<void>> = [];
  /** Set first thing in close(): long runs (the aggregation's backlog) end at their next batch. */
  let closing = false;

  const checkWorkers: Worker[] = [];
  for (let i = 0; i < (o.workers ?? 1); i++) {
    const conn = connect();
    const worker = new Worker<AnyCheckJobData, CheckOutcome>(
      QUEUE_CHECKS,
      async (job: Job<AnyCheckJobData>, token?: string) => {
        const outcome = isBatchJob(job.data) ? await processBatch(processor, job.data) : await processor.process(job.data);
        if (outcome.status === 'wait') {
          await job.moveToDelayed(outcome.until, token);
          throw new DelayedError();
        }
        o.onChecked?.(outcome, job.data);
        return outcome;
      },
      {
        connection: conn,
        prefix,
        concurrency: o.concurrency ?? 16,
        lockDuration: o.lockDurationMs ?? CHECK_LOCK_MS,
        stalledInterval: CHECK_STALLED_INTERVAL_MS,
        // A job found stalled goes back to wait up to three times (BullMQ: once): a killed worker or a
        // failover is not the job's fault, and failed, its reading would wait in the series' inbox
        // until the station's next reading drains it (an hour later, for an air station) or the inbox
        // sweep finds it (STALE_INBOX_MS, minutes late). Not more:
        // a job that itself kills its worker would take that worker's other jobs down each time.
        // test/integration/alerts-check-stalled-thrice.test.ts fails with less.
        maxStalledCount: 3,
      },
    );
    worker.on('failed', (job, err) => o.log?.warn({ job: job?.id, err: err.message, attempts: job?.attemptsMade }, 'check job failed'));
    // Another worker died holding it, or its lock lapsed during a Redis outage: it runs again.
    worker.on('stalled', (jobId) => o.log?.warn({ job: jobId }, 'check job stalled (its worker died or lost Redis); it runs again'));
    logErrorsRateLimited(worker, `check worker #${i}`, o.log);
    checkWorkers.push(worker);
  }
  closers.push(() => Promise.all(checkWorkers.map((w) => w.close())).then(() => undefined));

  if (o.relay !== false) {
    const notify = createNotifyQueue(main, prefix, o.log);
    const relay = new OutboxRelay({
      redis: connect(),
      influx: o.influx,
      notify,
      prefix,
      consumer: instance,
      ...(o.log ? { log: o.log } : {}),
      ...(o.onPublished ? { onPublished: o.onPublished } : {}),
    });
    await relay.start();
    closers.push(async () => {
      await relay.stop();
      await notify.close();
    });
  }

  if (o.silence !== false) {
    const intervalMs = o.silenceIntervalMs ?? set.config.engine.silence_interval_s * 1000;
    const aliveTtl = Math.max(3 * intervalMs, 10_000);
    await SilenceChecker.markStarted(main, store, aliveTtl, instance);
    const queue = new Queue(QUEUE_SILENCE, { connection: main, prefix });
    logErrorsRateLimited(queue, 'silence queue', o.log);
    const recheck = await keepScheduler(
      queue,
      { id: SILENCE_SCHEDULER_ID, name: 'silence', everyMs: intervalMs, what: 'silence scheduler', lost: '' },
      o.log,
    );
    const beat = setInterval(
      () => {
        void SilenceChecker.heartbeat(main, store, aliveTtl, instance).catch(() => undefined);
        void recheck().catch(() => undefined);
      },
      Math.max(1000, aliveTtl / 3),
    );
    const worker = new Worker(QUEUE_SILENCE, async () => (await silence.tick()).length, { connection: connect(), prefix, concurrency: 1 });
    logErrorsRateLimited(worker, 'silence worker', o.log);
    closers.push(async () => {
      clearInterval(beat);
      await worker.close();
      await queue.close();
    });
  }

  let sweepMetrics: SweepMetrics | undefined;
  const sweepEveryMs = (typeof o.sweep === 'object' ? o.sweep.intervalMs : undefined) ?? INBOX_SWEEP_INTERVAL_MS;
  if (o.sweep !== false) {
    const opts = typeof o.sweep === 'object' ? o.sweep : {};
    const queue = new Queue(QUEUE_SWEEP, { connection: main, prefix });
    logErrorsRateLimited(queue, 'sweep queue', o.log);
    const checks = new Queue<AnyCheckJobData>(QUEUE_CHECKS, { connection: main, prefix, defaultJobOptions: CHECK_JOB_OPTIONS });
    logErrorsRateLimited(checks, 'checks queue (inbox sweep)', o.log);
    const sweeper = new InboxSweeper({
      store,
      registry: o.registry,
      checks,
      ...(opts.staleMs ? { staleMs: opts.staleMs } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    sweepMetrics = sweeper.metrics;
    const spec = {
      id: INBOX_SWEEP_SCHEDULER_ID,
      name: 'sweep',
      everyMs: sweepEveryMs,
      what: 'inbox sweep scheduler',
      lost: 'Readings whose check job fails would wait for their station to send again',
    };
    const recheck = await keepScheduler(queue, spec, o.log);
    const keep = setInterval(() => void recheck().catch(() => undefined), Math.max(1000, spec.everyMs / 2));
    const worker = new Worker(QUEUE_SWEEP, async () => (await sweeper.sweep()).length, { connection: connect(), prefix, concurrency: 1 });
    // The health points stop reporting the sweep's figures once they are three intervals old (below).
    worker.on('failed', (_job, err) => o.log?.warn({ err: err.message }, 'inbox sweep failed; it runs again at the next interval'));
    logErrorsRateLimited(worker, 'sweep worker', o.log);
    closers.push(async () => {
      clearInterval(keep);
      await worker.close();
      await queue.close();
      await checks.close();
    });
  }

  let aggregateMetrics: AggregateMetrics | undefined;
  const dirty = new DirtyHours(main, prefix);
  if (o.aggregates !== false) {
    const opts = typeof o.aggregates === 'object' ? o.aggregates : {};
    const aggregator = new Aggregator({
      influx: o.influx,
      dirty,
      registry: o.registry,
      referenceItems: async (s) => stationProfile(await o.thresholds.current(), s).rules.water_class.reference_items,
      settleMs: opts.settleMs ?? 2000,
      ...(o.log ? { log: o.log } : {}),
    });
    aggregateMetrics = aggregator.metrics;
    const queue = new Queue(QUEUE_AGGREGATES, { connection: main, prefix });
    logErrorsRateLimited(queue, 'aggregates queue', o.log);
    // A run left by a crash is simply the next run's work.
    const recheck = await keepScheduler(
      queue,
      {
        id: AGGREGATE_SCHEDULER_ID,
        name: 'aggregate',
        everyMs: opts.intervalMs ?? 5000,
        what: 'aggregation scheduler',
        lost: 'Hours marked but not yet aggregated are lost; they are made again when their stations next send',
      },
      o.log,
    );
    const keep = setInterval(() => void recheck().catch(() => undefined), 30_000);
    const worker = new Worker(QUEUE_AGGREGATES, async () => aggregator.drain(undefined, () => closing), {
      connection: connect(),
      prefix,
      concurrency: 1,
    });
    worker.on('failed', (job, err) =>
      o.log?.warn({ job: job?.id, err: err.message }, 'aggregation run failed; the hours stay marked for the next run'),
    );
    logErrorsRateLimited(worker, 'aggregates worker', o.log);
    closers.push(async () => {
      clearInterval(keep);
      await worker.close();
      await queue.close();
    });
  }

  if ((o.healthIntervalMs ?? 10_000) > 0) {
    const checksQueue = new Queue(QUEUE_CHECKS, { connection: main, prefix });
    logErrorsRateLimited(checksQueue, 'checks queue (health)', o.log);
    const health = startHealthReporter({
      influx: o.influx,
      service: 'alerts',
      instance,
      intervalMs: o.healthIntervalMs ?? 10_000,
      sample: async () => {
        const [[overdue, stuck, sweptAt], now] = await Promise.all([
          main.hmget(store.keys.stats, OVERDUE_NOW_STAT, STUCK_NOW_STAT, SWEPT_AT_STAT),
          redisNow(main),
        ]);
        // Unknown until a sweep ran, and once no sweep ran for three intervals (all sweeps failing):
        // left out rather than reported as a reassuring 0.
        const fresh = sweptAt !== null && now - Number(sweptAt) <= 3 * sweepEveryMs;
        return {
          check_jobs_waiting: await checksQueue.getWaitingCount(),
          aggregate_backlog_hours: await dirty.size(),
          ...(fresh ? { check_series_overdue: Number(overdue), check_series_stuck: Number(stuck) } : {}),
        };
      },
      onError: (e) => o.log?.debug({ err: (e as Error).message }, 'health point not written'),
    });
    closers.unshift(async () => {
      await health.stop();
      await checksQueue.close();
    });
  }

  o.log?.info({ prefix, workers: checkWorkers.length, concurrency: o.concurrency ?? 16, thresholds: set.version }, 'alerts started');
  return {
    store,
    silence,
    checkWorkers,
    aggregateMetrics,
    sweepMetrics,
    async close() {
      closing = true;
      for (const c of closers) await c();
      await Promise.all(connections.map((r) => r.quit().catch(() => r.disconnect())));
    },
  };
}
