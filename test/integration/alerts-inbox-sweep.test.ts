/**
 * A reading whose check job is gone (failed for good, or lost with a failed-over Redis master) must
 * still be checked when its station sends nothing more: the inbox sweep (alerts/inbox-sweep.ts)
 * finds it overdue in its series' inbox and adds a check job. Without the sweep the station's last
 * exceedance would wait for a next reading that a failing station may never send.
 */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertStore } from '../../alerts/alert-store.js';
import { CHECK_JOB_OPTIONS, CheckEnqueuer, sweepJobId, type AnyCheckJobData, type CheckJobData } from '../../alerts/check-enqueuer.js';
import type { AlertEvent } from '../../alerts/events.js';
import {
  InboxSweeper,
  OVERDUE_NOW_STAT,
  STALE_STAT,
  STUCK_NOW_STAT,
  SWEPT_AT_STAT,
  sweepRound,
  type OverdueSeries,
} from '../../alerts/inbox-sweep.js';
import { redisNow } from '../../alerts/silence.js';
import { QUEUE_CHECKS } from '../../alerts/keys.js';
import { startAlertsService, type AlertsService } from '../../alerts/service.js';
import { StaticThresholdSource } from '../../alerts/thresholds.js';
import { InfluxClient } from '../../lib/influx/client.js';
import {
  HOUR,
  T0,
  failCheckJobs,
  reading,
  registry,
  shippedThresholds,
  startAlertServices,
  waitFor,
  type Services,
} from '../helpers/alerts-stack.js';
import { capturedLogger } from '../helpers/captured-log.js';

let services: Services;
let redis: Redis;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  services = await startAlertServices();
  redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
}, 120_000);
afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await redis?.quit();
  await services?.stopAll();
});

const water = registry.stations.find((s) => s.kind === 'water')!.id;
const otherWater = registry.stations.filter((s) => s.kind === 'water')[1]!.id;

function sweepStack(staleMs: number) {
  const prefix = `w${randomBytes(3).toString('hex')}`;
  const store = new AlertStore(redis, prefix);
  const checks = new Queue<AnyCheckJobData>(QUEUE_CHECKS, { connection: redis, prefix, defaultJobOptions: CHECK_JOB_OPTIONS });
  closers.push(() => checks.close());
  const { log, lines } = capturedLogger();
  return { prefix, store, checks, lines, sweeper: new InboxSweeper({ store, registry, checks, staleMs, log }) };
}

describe('the inbox sweep', () => {
  it('checks the last exceedance of a station whose check job failed for good and which sends nothing more', async () => {
    const prefix = `v${randomBytes(3).toString('hex')}`;
    const connection = { host: '127.0.0.1', port: services.redis.port };
    // One job for three hours far over every NH3N limit of the shipped thresholds: an exceedance the
    // shipped rules confirm and the bureaus must hear about. Then the station falls silent.
    const enqueuer = new CheckEnqueuer({ redisUrl: services.redis.url, prefix, granularity: 'batch' });
    await enqueuer.enqueue([1, 2, 3].map((h) => reading(water, T0 + h * HOUR, { NH3N: 9, DO: 7 })));
    await enqueuer.close();
    const queue = new Queue(QUEUE_CHECKS, { connection, prefix });
    closers.push(() => queue.close());
    // The job fails for good (as after its eight attempts, or a fourth stall).
    await failCheckJobs(services.redis.port, prefix, 'the test fails this check job for good', 1);

    const { log, lines } = capturedLogger();
    const published: AlertEvent[] = [];
    const influx = new InfluxClient({ url: services.influxdb.url, database: `alerts_sweep_${prefix}` });
    await influx.ensureDatabase();
    const service: AlertsService = await startAlertsService({
      redisUrl: services.redis.url,
      influx,
      registry,
      thresholds: new StaticThresholdSource(shippedThresholds),
      prefix,
      silence: false,
      sweep: { intervalMs: 500, staleMs: 1500 },
      aggregates: false,
      healthIntervalMs: 300,
      log,
      onPublished: (events) => published.push(...events),
    });
    closers.push(() => service.close());
    await waitFor(
      () => published.some((e) => e.station === water && e.parameter === 'NH3N' && e.to === 'firing'),
      30_000,
      'the NH3N exceedance to be published',
    );
    // All three readings applied, none left waiting; the failed job is still the one failed job.
    expect((await service.store.readState(water, 'hour')).lastTs).toBe(T0 + 3 * HOUR);
    expect((await service.store.oldestWaiting([{ station: water, period: 'hour' }])).oldest).toEqual([undefined]);
    expect((await queue.getJobCounts('failed')).failed).toBe(1);
    expect(Number(await redis.hget(service.store.keys.stats, STALE_STAT))).toBeGreaterThanOrEqual(1);
    expect(await service.sweepMetrics!.registry.metrics()).toMatch(/^tuojiang_alerts_stale_series_total [1-9]/m);
    // The next sweep finds nothing overdue, and the health points (the Grafana rule's data) say so.
    await waitFor(
      async () => (await redis.hget(service.store.keys.stats, OVERDUE_NOW_STAT)) === '0',
      10_000,
      'a sweep finding nothing overdue',
    );
    await waitFor(
      async () => {
        const rows = await influx.query(
          `SELECT last("check_series_overdue"), last("check_series_stuck") FROM "pipeline_health" WHERE "service" = 'alerts'`,
        );
        const row = rows[0]?.values[0];
        return row?.[1] === 0 && row[2] === 0;
      },
      10_000,
      'health points with no series overdue',
    );
    const warned = lines.find((l) => l.code === 'TJ_CHECK_OVERDUE');
    expect(warned).toMatchObject({ level: 40, series: 1 });
    expect(lines.filter((l) => l.code === 'TJ_CHECK_STUCK')).toEqual([]);
    expect(warned?.oldest).toEqual([
      expect.stringMatching(new RegExp(`^${water}/hour ${new Date(T0 + HOUR).toISOString()} due \\d+ min ago$`)),
    ]);
  }, 90_000);

  it('leaves alone a reading not yet overdue and one still held by the reorder window', async () => {
    const { store, checks, sweeper } = sweepStack(60_000);
    await store.enqueue([reading(water, T0, { NH3N: 9 })]);
    await store.enqueue([reading(otherWater, T0, { NH3N: 9 })], 600_000);
    const now = await redisNow(redis);
    expect(await sweeper.sweep(now + 55_000)).toEqual([]);
    expect(await checks.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 0 });
    // Overdue counts from when a reading is due: a minute on, the first is found; the one held for
    // ten minutes is not.
    expect((await sweeper.sweep(now + 61_000)).map((s) => s.station)).toEqual([water]);
  });

  it('adds one job per overdue series and round, however often it sweeps, and counts and logs each once', async () => {
    const { store, checks, sweeper, lines, prefix } = sweepStack(1000);
    await store.enqueue([reading(water, T0 + HOUR, { NH3N: 9 }), reading(water, T0, { NH3N: 9 }), reading(otherWater, T0, { DO: 7 })]);
    // Not in the registry: its checks are skipped, so the sweep must not add jobs for it forever.
    await store.enqueue([{ ...reading(water, T0, { NH3N: 9 }), station: 'decommissioned' }]);
    // 1.5 stale times past the first readings' due time (enqueued in one call).
    const [oldest] = (await store.oldestWaiting([{ station: water, period: 'hour' }])).oldest;
    const at = oldest!.ripeAt + 1500;
    const expected = [
      { station: water, period: 'hour', ts: T0, round: 0, stuck: false },
      { station: otherWater, period: 'hour', ts: T0, round: 0, stuck: false },
    ].sort((a, b) => a.station.localeCompare(b.station));
    const pick = (l: OverdueSeries[]) =>
      [...l]
        .sort((a, b) => a.station.localeCompare(b.station))
        .map(({ station, period, ts, round, stuck }) => ({ station, period, ts, round, stuck }));
    const found = await sweeper.sweep(at);
    expect(pick(found)).toEqual(expected);
    for (const s of found) expect(s.overdueMs).toBeGreaterThanOrEqual(1500);
    // Sweeps at once, or again within the round (overdue under twice the stale time), add nothing.
    expect(await Promise.all([sweeper.sweep(at), sweeper.sweep(at + 400)])).toEqual([[], []]);
    const jobs = await checks.getWaiting();
    const byStation = (a: { s: string }, b: { s: string }) => a.s.localeCompare(b.s);
    expect(jobs.map((j) => j.data as { s: string }).sort(byStation)).toEqual(
      expected.map((e) => ({ s: e.station, p: e.period, ts: e.ts })),
    );
    for (const j of jobs) {
      const d = j.data as CheckJobData;
      expect(j.id).toBe(sweepJobId(d.s, d.p, d.ts, 0));
      // Few attempts and one stack line: a check that keeps failing must not fill Redis. Failures
      // kept as long as the check jobs' own: BullMQ trims the failed set by the last failure's age.
      expect(j.opts).toMatchObject({ attempts: 3, stackTraceLimit: 1, removeOnFail: CHECK_JOB_OPTIONS.removeOnFail });
    }
    expect(Number(await redis.hget(store.keys.stats, STALE_STAT))).toBe(2);
    expect(await redis.hmget(store.keys.stats, OVERDUE_NOW_STAT, STUCK_NOW_STAT)).toEqual(['2', '0']);
    expect(lines.map((l) => [l.level, l.code, l.series])).toEqual([[40, 'TJ_CHECK_OVERDUE', 2]]);

    // The next round (twice the stale time) while those jobs still wait (a backlog): late, not stuck.
    expect(pick(await sweeper.sweep(at + 1000))).toEqual(expected.map((e) => ({ ...e, round: 1 })));
    expect(lines.map((l) => l.code)).toEqual(['TJ_CHECK_OVERDUE', 'TJ_CHECK_OVERDUE']);

    // Their jobs fail (as a check that throws would): in round 2 the series are stuck, their alerts
    // are not going out: another job each, an error naming the failure, and the gauge.
    await failCheckJobs(services.redis.port, prefix, 'the rules cannot handle this reading', 4);
    const stuck = await sweeper.sweep(at + 2600);
    expect(pick(stuck)).toEqual(expected.map((e) => ({ ...e, round: 2, stuck: true })));
    expect(stuck[0]!.lastJob).toEqual({
      id: sweepJobId(stuck[0]!.station, 'hour', T0, 1),
      failedReason: 'the rules cannot handle this reading',
    });
    expect(await redis.hmget(store.keys.stats, OVERDUE_NOW_STAT, STUCK_NOW_STAT)).toEqual(['2', '2']);
    expect(Number(await redis.hget(store.keys.stats, STALE_STAT))).toBe(6);
    expect(lines.map((l) => [l.level, l.code])).toEqual([
      [40, 'TJ_CHECK_OVERDUE'],
      [40, 'TJ_CHECK_OVERDUE'],
      [50, 'TJ_CHECK_STUCK'],
    ]);
    const names = (min: number) => expected.map((e) => `${e.station}/hour ${new Date(T0).toISOString()} due ${min} min ago`);
    const sorted = (l: unknown) => [...(l as string[])].sort();
    expect(sorted(lines[0]!.oldest)).toEqual(names(0));
    expect(sorted(lines[2]!.oldest)).toEqual(names(0));
    expect(lines[0]).toMatchObject({
      series: 2,
      msg: '2 series had readings still unchecked 0+ min after they were due: a check job was added for each; their alerts go out now, late',
    });
    expect(lines[2]).toMatchObject({
      series: 2,
      lastError: 'the rules cannot handle this reading',
      msg: "2 series are still unchecked after the sweep's own check job for them ran: their alerts are NOT going out; another job was added",
    });
    // Minutes in the log are minutes: 1.5 stale times of 1 s is 0 min; a day later, 1440.
    expect((await sweeper.overdue(at + 86_400_000)).series.map((x) => Math.round(x.overdueMs / 60_000))).toEqual([1440, 1440]);
  });

  it('records when it swept, in Redis time, even with no series at all (the health points trust only a recent sweep)', async () => {
    const { store, sweeper } = sweepStack(1000);
    const before = await redisNow(redis);
    expect(await sweeper.sweep()).toEqual([]);
    const after = await redisNow(redis);
    const [overdue, stuck, at] = await redis.hmget(store.keys.stats, OVERDUE_NOW_STAT, STUCK_NOW_STAT, SWEPT_AT_STAT);
    expect([overdue, stuck]).toEqual(['0', '0']);
    expect(Number(at)).toBeGreaterThanOrEqual(before);
    expect(Number(at)).toBeLessThanOrEqual(after);
  });

  it('spaces the rounds out: 1, 2, 4 … times the stale time overdue up to 2^8, then one a day', () => {
    const stale = 300_000;
    const day = 86_400_000;
    expect([0, 0.5, 1, 1.99, 2, 3.99, 4, 8, 255, 256].map((k) => sweepRound(k * stale, stale))).toEqual([0, 0, 0, 0, 1, 1, 2, 3, 7, 8]);
    expect(sweepRound(256 * stale + day - 1, stale)).toBe(8);
    expect(sweepRound(256 * stale + day, stale)).toBe(9);
    expect(sweepRound(256 * stale + 10 * day, stale)).toBe(18);
    const checks = undefined as unknown as Queue<AnyCheckJobData>;
    expect(() => new InboxSweeper({ store: new AlertStore(redis, 'x'), registry, checks, staleMs: 0 })).toThrow(RangeError);
  });

  it('gives a job id per series, oldest reading and round', () => {
    expect(sweepJobId('a', 'hour', 5, 3)).toBe('chks.a.hour.5.3');
  });
});
