/**
 * The inbox sweep: finds readings that have waited in a series' inbox long after they were due and
 * adds a check job to drain that series.
 *
 * A reading is checked by draining its series (decision 0003), and normally its own check job does
 * that within milliseconds. A reading can still be left waiting with no job to drain it: its job
 * failed for good (eight errors, or a fourth stall), or it was lost with a Redis master that failed
 * over before replicating it. Then the next reading of the series drains it, but a station that
 * stops sending — the station most likely to be in trouble — has no next reading, and its last
 * exceedance would never reach a bureau. So every INBOX_SWEEP_INTERVAL_MS (queue `sweep`, one
 * scheduler whatever the number of alerts processes) the sweep looks at the oldest waiting reading
 * of every series and, when it became due more than `staleMs` ago, adds a check job for it. An
 * extra job is harmless: a drain applies each reading once, whoever runs it.
 */
import type { Queue } from 'bullmq';
import { Counter, Registry } from 'prom-client';
import type { StationRegistry } from '../config/station-registry.js';
import { TuojiangError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { AlertStore } from './alert-store.js';
import { CHECK_JOB_OPTIONS, sweepJobId, type AnyCheckJobData, type CheckJobData } from './check-enqueuer.js';
import { STATION_SERIES } from './keys.js';

/**
 * A due reading still waiting after this long has lost its job: a healthy drain takes milliseconds,
 * a job's eight attempts about a minute of backoff, a stalled one 5-15 s per stall.
 */
export const STALE_INBOX_MS = 5 * 60_000;
export const INBOX_SWEEP_INTERVAL_MS = 60_000;
export const INBOX_SWEEP_SCHEDULER_ID = 'inbox-sweep';
/** The stats field counting the series the sweep gave a check job (decision 0003). */
export const STALE_STAT = 'stale_requeued';
/** Stats fields with the last sweep's overdue series, and those past round 0: the alerts' health points read them. */
export const OVERDUE_NOW_STAT = 'overdue_series';
export const STUCK_NOW_STAT = 'stuck_series';
/** Rounds double up to 5 min × 2^8 ≈ 21 h overdue; past that, once a day (as failed sweep jobs expire). */
const MAX_ROUND = 8;

/**
 * The sweep's round for a reading `overdueMs` past due: 0 from `staleMs`, 1 from twice that, 2 from
 * four times… So a series whose checks keep failing (a reading the rules cannot handle, a bad
 * threshold set) gets a job at 5, 10, 20, 40 … minutes overdue, not one every few minutes for ever.
 */
export function sweepRound(overdueMs: number, staleMs: number): number {
  return Math.min(MAX_ROUND, Math.floor(Math.log2(overdueMs / staleMs)));
}

/**
 * Sweep jobs keep a failure a day (not the week of CHECK_JOB_OPTIONS) with one stack line, and a
 * completion a day too, so that each round's id stays taken: one job per series and round,
 * whatever becomes of it.
 */
export const SWEEP_JOB_OPTIONS = {
  ...CHECK_JOB_OPTIONS,
  attempts: 3,
  stackTraceLimit: 1,
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 24 * 3600 },
} as const;

export interface StaleSeries {
  station: string;
  period: string;
  /** Event time of the oldest waiting reading. */
  ts: number;
  /** How long ago it became due (ms). */
  overdueMs: number;
  /** 0: found overdue for the first time; above: the sweep's own jobs of earlier rounds did not clear it. */
  round: number;
}

export function createSweepMetrics(registry = new Registry()) {
  return {
    registry,
    stale: new Counter({
      name: 'tuojiang_alerts_stale_series_total',
      help: 'Series found with a reading still unchecked 5 min after it was due (a check job failed or was lost, or the checks are far behind); a check job was added for each, once per sweep round',
      registers: [registry],
    }),
  };
}
export type SweepMetrics = ReturnType<typeof createSweepMetrics>;

export interface InboxSweeperOptions {
  store: AlertStore;
  registry: StationRegistry;
  checks: Queue<AnyCheckJobData>;
  staleMs?: number;
  log?: Logger;
  metrics?: SweepMetrics;
}

export class InboxSweeper {
  private readonly staleMs: number;
  readonly metrics: SweepMetrics;

  constructor(private readonly o: InboxSweeperOptions) {
    this.staleMs = o.staleMs ?? STALE_INBOX_MS;
    this.metrics = o.metrics ?? createSweepMetrics();
  }

  /**
   * Adds a check job for every series whose oldest waiting reading is overdue at `at` (default:
   * Redis time, the clock the inboxes are stamped with) and has none of its round yet; returns
   * those series.
   */
  async sweep(at?: number): Promise<StaleSeries[]> {
    const { store, registry } = this.o;
    // A station taken out of the registry is never checked (CheckProcessor skips it): no job for it.
    const series = (await store.listSeries()).filter((s) => s.period !== STATION_SERIES && registry.get(s.station));
    const waiting = series.length > 0 ? await store.oldestWaiting(series) : { now: 0, oldest: [] };
    const now = at ?? waiting.now;
    const overdue: Array<StaleSeries & { jobId: string }> = [];
    series.forEach((s, i) => {
      const o = waiting.oldest[i];
      if (!o || now - o.ripeAt < this.staleMs) return;
      const round = sweepRound(now - o.ripeAt, this.staleMs);
      overdue.push({ ...s, ts: o.ts, overdueMs: now - o.ripeAt, round, jobId: sweepJobId(s.station, s.period, o.ts, round) });
    });
    // The state of the basin at this sweep, whichever process made it (every alerts process reports it).
    await store.redis.hset(store.keys.stats, OVERDUE_NOW_STAT, overdue.length, STUCK_NOW_STAT, overdue.filter((s) => s.round > 0).length);
    // A series already given its round's job (a check backlog, or a job failing again) is neither
    // added, counted nor logged again until its next round. Two sweeps at the same moment may both
    // count one; the id still makes it one job.
    const known = await Promise.all(overdue.map((s) => this.o.checks.getJob(s.jobId)));
    const found = overdue.filter((_, i) => known[i] === undefined);
    if (found.length === 0) return [];
    const jobs = found.map((s) => ({
      name: 'check',
      data: { s: s.station, p: s.period, ts: s.ts } satisfies CheckJobData,
      opts: { ...SWEEP_JOB_OPTIONS, jobId: s.jobId },
    }));
    for (let i = 0; i < jobs.length; i += 1000) await this.o.checks.addBulk(jobs.slice(i, i + 1000));
    await store.redis.hincrby(store.keys.stats, STALE_STAT, found.length);
    this.metrics.stale.inc(found.length);
    this.report(found);
    return found.map(({ jobId: _, ...rest }) => rest);
  }

  private report(found: StaleSeries[]): void {
    const list = (l: StaleSeries[]) =>
      l.slice(0, 20).map((s) => `${s.station}/${s.period} ${new Date(s.ts).toISOString()} due ${Math.round(s.overdueMs / 60_000)} min ago`);
    const first = found.filter((s) => s.round === 0);
    const again = found.filter((s) => s.round > 0);
    if (first.length > 0) {
      const err = new TuojiangError(
        'CHECK_OVERDUE',
        `${first.length} series had readings still unchecked ${Math.round(this.staleMs / 60_000)} min after they were due: a check job was added for each; their alerts go out now, late`,
      );
      this.o.log?.warn({ code: err.code, series: first.length, oldest: list(first), hint: err.hint }, err.message);
    }
    if (again.length > 0) {
      const err = new TuojiangError(
        'CHECK_STUCK',
        `${again.length} series are still unchecked after the sweep's own check job for them: their alerts are NOT going out; another job was added`,
      );
      this.o.log?.error({ code: err.code, series: again.length, oldest: list(again), hint: err.hint }, err.message);
    }
  }
}
