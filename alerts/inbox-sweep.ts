/**
 * The inbox sweep: finds readings that have waited in a series' inbox long after they were due and
 * adds a check job to drain that series.
 *
 * A reading is checked by draining its series (decision 0003), and normally its own check job does
 * that within milliseconds. A reading can still be left waiting with no job to drain it: its job
 * failed for good (eight errors, or a fourth stall), or it was lost with a Redis master that failed
 * over before replicating it. Then the next reading of the series drains it, but a station that
 * stops sending — the station most likely to be in trouble — has no next reading, and its last
 * exceedance would never reach a bureau. So every tick of the time-driven queue (with the silence
 * check) looks at the oldest waiting reading of every series and, when it became due more than
 * `staleMs` ago, adds a check job for it. An extra job is harmless: a drain applies each reading
 * once, whoever runs it.
 */
import type { Queue } from 'bullmq';
import { Counter, Registry } from 'prom-client';
import type { StationRegistry } from '../config/station-registry.js';
import type { Logger } from '../lib/logger.js';
import type { AlertStore } from './alert-store.js';
import type { AnyCheckJobData, CheckJobData } from './check-enqueuer.js';
import { STATION_SERIES } from './keys.js';

/** A due reading still waiting after this long has lost its job (a healthy drain takes milliseconds, a retried job two minutes). */
export const STALE_INBOX_MS = 5 * 60_000;
export const INBOX_SWEEP_SCHEDULER_ID = 'inbox-sweep';
export const INBOX_SWEEP_JOB = 'inbox-sweep';
/** The stats field counting the series the sweep found stale (decision 0003). */
export const STALE_STAT = 'stale_requeued';

/**
 * One id per series, oldest reading and stale period: sweeps running at once, or again before the
 * job ran, add one job; a series still stuck a period later gets a new one (the old id may be a
 * failed job, kept a week, which BullMQ would not add again).
 */
export function sweepJobId(station: string, period: string, ts: number, now: number, staleMs: number): string {
  return `chks.${station}.${period}.${ts}.${Math.floor(now / staleMs)}`;
}

export interface StaleSeries {
  station: string;
  period: string;
  /** Event time of the oldest waiting reading. */
  ts: number;
  /** How long ago it became due (ms). */
  overdueMs: number;
}

export function createSweepMetrics(registry = new Registry()) {
  return {
    registry,
    stale: new Counter({
      name: 'tuojiang_alerts_stale_series_total',
      help: 'Series found with a reading still unchecked long after it was due (a check job failed or was lost, or the checks are far behind); a check job was added for each',
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
   * Redis time, the clock the inboxes are stamped with) and has none from this stale period yet;
   * returns those series.
   */
  async sweep(at?: number): Promise<StaleSeries[]> {
    const { store, registry } = this.o;
    // A station taken out of the registry is never checked (CheckProcessor skips it): no job for it.
    const series = (await store.listSeries()).filter((s) => s.period !== STATION_SERIES && registry.get(s.station));
    if (series.length === 0) return [];
    const waiting = await store.oldestWaiting(series);
    const now = at ?? waiting.now;
    const { oldest } = waiting;
    const overdue: Array<StaleSeries & { jobId: string }> = [];
    series.forEach((s, i) => {
      const o = oldest[i];
      if (o && now - o.ripeAt >= this.staleMs)
        overdue.push({ ...s, ts: o.ts, overdueMs: now - o.ripeAt, jobId: sweepJobId(s.station, s.period, o.ts, now, this.staleMs) });
    });
    // A series already given its job this stale period (a check backlog, or a job that fails again)
    // is neither added, counted nor logged again until the next period.
    const known = await Promise.all(overdue.map((s) => this.o.checks.getJob(s.jobId)));
    const stale = overdue.filter((_, i) => known[i] === undefined);
    if (stale.length === 0) return [];
    const jobs = stale.map((s) => ({
      name: 'check',
      data: { s: s.station, p: s.period, ts: s.ts } satisfies CheckJobData,
      opts: { jobId: s.jobId },
    }));
    for (let i = 0; i < jobs.length; i += 1000) await this.o.checks.addBulk(jobs.slice(i, i + 1000));
    await store.redis.hincrby(store.keys.stats, STALE_STAT, stale.length);
    this.metrics.stale.inc(stale.length);
    this.o.log?.warn(
      {
        series: stale.length,
        oldest: stale
          .slice(0, 20)
          .map((s) => `${s.station}/${s.period} ${new Date(s.ts).toISOString()} due ${Math.round(s.overdueMs / 60_000)} min ago`),
      },
      `readings still unchecked ${Math.round(this.staleMs / 60_000)}+ min after they were due (a check job failed or was lost, or the checks are far behind): checking their series now`,
    );
    return stale.map(({ jobId: _, ...rest }) => rest);
  }
}
