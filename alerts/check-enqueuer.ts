/**
 * The writer's side of the checks: after a batch of readings is durably in InfluxDB, put them in
 * their series' inboxes (one atomic script for the whole batch, so a batch's readings are always
 * applied in event-time order whatever the job order) and add one check job per reading (or, with
 * granularity 'batch', one per call) with a deterministic id. Redelivering a batch is harmless: an
 * applied reading is dropped by the inbox (its series has moved past its event time), a waiting
 * one is found already there, and its job id already exists while the job does.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import { logErrorsRateLimited, logRedisRecovery } from '../lib/redis-outage-log.js';
import { Queue } from 'bullmq';
import { createRedis, isCluster, isClusterTarget, type RedisClient } from '../config/connections.js';
import { checkClusterNames } from '../config/redis-layout.js';
import { readingId, type Reading } from '../lib/reading.js';
import { DirtyHours } from '../aggregates/dirty-hours.js';
import { requireReplicas } from '../lib/redis-replicated.js';
import { AlertStore } from './alert-store.js';
import { DEFAULT_PREFIX, QUEUE_CHECKS } from './keys.js';

/** A check of one reading: drain its series until that reading is applied. */
export interface CheckJobData {
  /** station */
  s: string;
  /** period */
  p: string;
  ts: number;
}

/** A check of a whole batch: for each series in it, drain until its newest reading is applied. */
export interface BatchCheckJobData {
  batch: Array<[station: string, period: string, newestTs: number]>;
}

export type AnyCheckJobData = CheckJobData | BatchCheckJobData;

export function isBatchJob(d: AnyCheckJobData): d is BatchCheckJobData {
  return Array.isArray((d as BatchCheckJobData).batch);
}

/** BullMQ custom ids may not contain ':' nor be integers; station ids are [a-z0-9-]. */
export function checkJobId(r: Pick<Reading, 'station' | 'period' | 'ts'>): string {
  return `chk.${r.station}.${r.period}.${r.ts}`;
}

/**
 * The inbox sweep's check of a series whose oldest waiting reading `ts` is overdue, in its `round`
 * (alerts/inbox-sweep.ts): sweeps at once, or again within a round, add one job; a series still
 * stuck in a later round gets another (BullMQ never adds the id of a job it still keeps, failed ones included).
 */
export function sweepJobId(station: string, period: string, ts: number, round: number): string {
  return `chks.${station}.${period}.${ts}.${round}`;
}

/** An operator's re-check of an overdue series (`tuojiang alerts overdue --recheck`): a fresh id each time. */
export function recheckJobId(station: string, period: string, ts: number, at: number): string {
  return `chkr.${station}.${period}.${ts}.${at}`;
}

/**
 * Completed check jobs are removed at once: duplicate suppression does not rest on job ids that
 * outlive their jobs but on the series' applied event time (decision 0003), and keeping finished
 * jobs costs Redis work on every completion. Failed ones are kept a week for inspection.
 */
/** The same readings, in any order, give the same id: a redelivered batch is one job. */
export function batchJobId(readings: readonly Reading[]): string {
  const ids = readings.map(readingId).sort();
  return `chkb.${createHash('sha1').update(ids.join('\n')).digest('hex').slice(0, 24)}`;
}

export const CHECK_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

export interface CheckEnqueuerOptions {
  redisUrl: string;
  /** BullMQ prefix, default 'tuojiang'. */
  prefix?: string;
  /**
   * Hold each reading this long before it may be applied, so that readings of one series handed
   * over in different batches (e.g. by two writers) within the window are still applied in event
   * order. 0 (default): order is guaranteed within a batch and for everything already waiting.
   */
  reorderMs?: number;
  /** Use this connection instead of opening one (not closed by close()). */
  connection?: RedisClient;
  /**
   * 'reading' (default): one job per reading, id `chk.{station}.{period}.{ts}`.
   * 'batch': one job per enqueue call, id `chkb.{hash of the reading ids}`, which drains every
   * series of the batch; same guarantees (they come from the inboxes), a fraction of the BullMQ
   * work per reading, for high rates (docs/decisions/0003-alert-state.md, Cost).
   */
  granularity?: 'reading' | 'batch';
  /** Where Redis outages are reported (rate-limited; see lib/redis-outage-log.ts). */
  log?: Logger;
  /**
   * Mark the readings' station-hours for the hourly aggregates the alerts workers make (default
   * true): every reading written, late ones included, so a late or merged reading updates its hour.
   */
  aggregates?: boolean;
  /**
   * Replicas that must hold the hand-off before enqueue() resolves (redis.wait_replicas): the writer
   * acknowledges the journal entries after it, so a master lost with an unreplicated check job
   * would otherwise leave stored readings never checked.
   */
  replicas?: number;
  replicaTimeoutMs?: number;
}

export class CheckEnqueuer {
  private readonly redis: RedisClient;
  private readonly ownsConnection: boolean;
  private readonly store: AlertStore;
  private readonly queue: Queue<AnyCheckJobData>;
  private readonly reorderMs: number;
  private readonly granularity: 'reading' | 'batch';
  private readonly hours: DirtyHours | undefined;
  private readonly prefix: string;
  private readonly replicas: number;
  private readonly replicaTimeoutMs: number;

  constructor(opts: CheckEnqueuerOptions) {
    this.ownsConnection = !opts.connection;
    const prefix = opts.prefix ?? DEFAULT_PREFIX;
    if (opts.connection ? isCluster(opts.connection) : isClusterTarget(opts.redisUrl)) checkClusterNames({ prefix });
    this.redis = opts.connection ?? createRedis(opts.redisUrl, { maxRetriesPerRequest: null });
    this.store = new AlertStore(this.redis, prefix);
    this.queue = new Queue<AnyCheckJobData>(QUEUE_CHECKS, { connection: this.redis, prefix, defaultJobOptions: CHECK_JOB_OPTIONS });
    logErrorsRateLimited(this.queue, 'checks queue', opts.log);
    if (this.ownsConnection) {
      logErrorsRateLimited(this.redis, 'check enqueuer redis', opts.log);
      logRedisRecovery(this.redis, 'check enqueuer', opts.log);
    }
    this.reorderMs = opts.reorderMs ?? 0;
    this.granularity = opts.granularity ?? 'reading';
    this.hours = opts.aggregates === false ? undefined : new DirtyHours(this.redis, prefix);
    this.prefix = prefix;
    this.replicas = opts.replicas ?? 0;
    this.replicaTimeoutMs = opts.replicaTimeoutMs ?? 2000;
  }

  /** Check jobs for the readings not already applied; resolves once everything is in Redis (and on its replicas). */
  async enqueue(readings: Reading[]): Promise<void> {
    if (readings.length === 0) return;
    await this.hand(readings);
    // Every key above shares the prefix's slot, so one WAIT on that master covers all of them.
    await requireReplicas(this.redis, this.prefix, this.replicas, this.replicaTimeoutMs, 'check hand-off');
  }

  private async hand(readings: Reading[]): Promise<void> {
    // Before the late ones are filtered out below: they change their hour's means all the same.
    await this.hours?.markReadings(readings);
    const { status } = await this.store.enqueue(readings, this.reorderMs);
    // -1: already applied or late; there is nothing left to check.
    const pending = readings.filter((_, i) => status[i] !== -1);
    if (pending.length === 0) return;
    const delay = this.reorderMs > 0 ? { delay: this.reorderMs } : {};
    if (this.granularity === 'batch') {
      const newest = new Map<string, [string, string, number]>();
      for (const r of pending) {
        const k = `${r.station}|${r.period}`;
        const cur = newest.get(k);
        if (!cur || r.ts > cur[2]) newest.set(k, [r.station, r.period, r.ts]);
      }
      await this.queue.add('check-batch', { batch: [...newest.values()] }, { jobId: batchJobId(pending), ...delay });
      return;
    }
    const jobs = pending.map((r) => ({
      name: 'check',
      data: { s: r.station, p: r.period, ts: r.ts },
      opts: { jobId: checkJobId(r), ...delay },
    }));
    for (let i = 0; i < jobs.length; i += 5000) await this.queue.addBulk(jobs.slice(i, i + 5000));
  }

  async close(): Promise<void> {
    await this.queue.close();
    if (this.ownsConnection) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
