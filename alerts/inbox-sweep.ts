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
import { CHECK_JOB_OPTIONS, recheckJobId, sweepJobId, type AnyCheckJobData, type CheckJobData } from './check-enqueuer.js';
import { STATION_SERIES } from './keys.js';
import { redisNow } from './silence.js';

/**
 * A due reading still waiting after this long has lost its job: a healthy drain takes milliseconds,
 * a job's eight attempts about a minute of backoff, a stalled one 5-15 s per stall.
 */
export const STALE_INBOX_MS = 5 * 60_000;
export const INBOX_SWEEP_INTERVAL_MS = 60_000;
export const INBOX_SWEEP_SCHEDULER_ID = 'inbox-sweep';
/** The stats field counting the series the sweep gave a check job (decision 0003). */
export const STALE_STAT = 'stale_requeued';
/**
 * Stats fields of the last sweep: the series overdue, those of them stuck, and when (Redis time,
 * ms). Every alerts process's health points report them (alerts/service.ts).
 */
export const OVERDUE_NOW_STAT = 'overdue_series';
export const STUCK_NOW_STAT = 'stuck_series';
export const SWEPT_AT_STAT = 'swept_at';
/** Rounds double up to 5 min × 2^8 ≈ 21 h overdue, then come once a day. */
const MAX_DOUBLING_ROUND = 8;
const DAY_MS = 86_400_000;

/**
 * The sweep's round for a reading `overdueMs` past due: 0 from `staleMs`, 1 from twice that, 2 from
 * four times… up to 8, then one more each day. A series whose checks keep failing (a reading the
 * rules cannot handle, a bad threshold set) so gets a job at 5, 10, 20, 40 … minutes overdue and
 * then daily, not one a minute for ever.
 */
export function sweepRound(overdueMs: number, staleMs: number): number {
  const x = overdueMs / staleMs;
  if (!(x >= 2)) return 0;
  const r = Math.floor(Math.log2(x));
  if (r < MAX_DOUBLING_ROUND) return r;
  return MAX_DOUBLING_ROUND + Math.floor((overdueMs - staleMs * 2 ** MAX_DOUBLING_ROUND) / DAY_MS);
}

/**
 * Sweep jobs make three attempts with one stack line each. Their failures stay as long as check
 * jobs' (BullMQ trims the whole failed set by the age of the job failing last, so a shorter age here
 * would delete the check jobs' errors an operator needs), and a completion stays two days, so that
 * a round's id stays taken and the next round can see the job finished (a series then is stuck).
 */
export const SWEEP_JOB_OPTIONS = {
  ...CHECK_JOB_OPTIONS,
  attempts: 3,
  stackTraceLimit: 1,
  removeOnComplete: { age: 2 * 24 * 3600 },
} as const;

export interface StaleSeries {
  station: string;
  period: string;
  /** Event time of the oldest waiting reading. */
  ts: number;
  /** How long ago it became due (ms). */
  overdueMs: number;
  round: number;
}

export interface OverdueSeries extends StaleSeries {
  /** This round's sweep job exists (waiting, running, done or failed). */
  hasJob: boolean;
  /**
   * The sweep's job of the previous round ran to its end and the reading is still waiting: the
   * series' checks fail, its alerts are not going out. False when that job never existed (the
   * alerts were down, or far behind): then the series is only late.
   */
  stuck: boolean;
  /** The previous round's sweep job, when there is one: its id and, if it failed, why. */
  lastJob?: { id: string; failedReason?: string };
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

const jobOf = (s: StaleSeries, id: string) => ({
  name: 'check',
  data: { s: s.station, p: s.period, ts: s.ts } satisfies CheckJobData,
  opts: { ...SWEEP_JOB_OPTIONS, jobId: id },
});

export class InboxSweeper {
  readonly staleMs: number;
  readonly metrics: SweepMetrics;

  constructor(private readonly o: InboxSweeperOptions) {
    this.staleMs = o.staleMs ?? STALE_INBOX_MS;
    if (!(this.staleMs > 0)) throw new RangeError(`staleMs must be above 0, got ${this.staleMs}`);
    this.metrics = o.metrics ?? createSweepMetrics();
  }

  /**
   * Every series whose oldest waiting reading is more than `staleMs` past due at `at` (default:
   * Redis time, the clock the inboxes are stamped with), with its round and its sweep jobs.
   */
  async overdue(at?: number): Promise<{ now: number; series: OverdueSeries[] }> {
    const { store, registry, checks } = this.o;
    // A station taken out of the registry is never checked (CheckProcessor skips it): no job for it.
    const series = (await store.listSeries()).filter((s) => s.period !== STATION_SERIES && registry.get(s.station));
    const waiting = series.length > 0 ? await store.oldestWaiting(series) : { now: 0, oldest: [] };
    const now = at ?? (series.length > 0 ? waiting.now : await redisNow(store.redis));
    const late: StaleSeries[] = [];
    series.forEach((s, i) => {
      const o = waiting.oldest[i];
      if (o && now - o.ripeAt >= this.staleMs)
        late.push({ ...s, ts: o.ts, overdueMs: now - o.ripeAt, round: sweepRound(now - o.ripeAt, this.staleMs) });
    });
    const [current, previous] = await Promise.all([
      Promise.all(late.map((s) => checks.getJob(sweepJobId(s.station, s.period, s.ts, s.round)))),
      Promise.all(late.map((s) => (s.round > 0 ? checks.getJob(sweepJobId(s.station, s.period, s.ts, s.round - 1)) : undefined))),
    ]);
    return {
      now,
      series: late.map((s, i) => {
        const prev = previous[i];
        return {
          ...s,
          hasJob: current[i] !== undefined,
          stuck: prev?.finishedOn !== undefined,
          ...(prev ? { lastJob: { id: prev.id ?? '', ...(prev.failedReason ? { failedReason: prev.failedReason } : {}) } } : {}),
        };
      }),
    };
  }

  /** Adds a check job for every overdue series without one of its round yet; returns those series. */
  async sweep(at?: number): Promise<OverdueSeries[]> {
    const { store } = this.o;
    const { now, series } = await this.overdue(at);
    // The basin's state at this sweep, whichever process made it (every alerts process reports it).
    await store.redis.hset(
      store.keys.stats,
      OVERDUE_NOW_STAT,
      series.length,
      STUCK_NOW_STAT,
      series.filter((s) => s.stuck).length,
      SWEPT_AT_STAT,
      now,
    );
    // A series already given its round's job (a check backlog, or a job failing again) is neither
    // added, counted nor logged again until its next round. Two sweeps at the same moment may both
    // count one; the id still makes it one job.
    const found = series.filter((s) => !s.hasJob);
    if (found.length === 0) return [];
    await this.addAll(found.map((s) => jobOf(s, sweepJobId(s.station, s.period, s.ts, s.round))));
    await store.redis.hincrby(store.keys.stats, STALE_STAT, found.length);
    this.metrics.stale.inc(found.length);
    this.report(found);
    return found;
  }

  /** An operator's re-check (after fixing what made checks fail): a fresh check job for each series. */
  async recheck(series: readonly StaleSeries[], at: number): Promise<void> {
    await this.addAll(series.map((s) => jobOf(s, recheckJobId(s.station, s.period, s.ts, at))));
  }

  private async addAll(jobs: ReturnType<typeof jobOf>[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 1000) await this.o.checks.addBulk(jobs.slice(i, i + 1000));
  }

  private report(found: OverdueSeries[]): void {
    const list = (l: OverdueSeries[]) =>
      l.slice(0, 20).map((s) => `${s.station}/${s.period} ${new Date(s.ts).toISOString()} due ${Math.round(s.overdueMs / 60_000)} min ago`);
    const late = found.filter((s) => !s.stuck);
    const stuck = found.filter((s) => s.stuck);
    if (late.length > 0) {
      const err = new TuojiangError(
        'CHECK_OVERDUE',
        `${late.length} series had readings still unchecked ${Math.round(this.staleMs / 60_000)}+ min after they were due: a check job was added for each; their alerts go out now, late`,
      );
      this.o.log?.warn({ code: err.code, series: late.length, oldest: list(late), hint: err.hint }, err.message);
    }
    if (stuck.length > 0) {
      const err = new TuojiangError(
        'CHECK_STUCK',
        `${stuck.length} series are still unchecked after the sweep's own check job for them ran: their alerts are NOT going out; another job was added`,
      );
      this.o.log?.error(
        { code: err.code, series: stuck.length, oldest: list(stuck), lastError: stuck[0]?.lastJob?.failedReason, hint: err.hint },
        err.message,
      );
    }
  }
}
