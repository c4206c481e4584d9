/**
 * The checks end to end with a real Redis and InfluxDB: readings handed over by the enqueuer,
 * BullMQ check workers, alert state in Redis, transitions in the InfluxDB measurement `alerts` and
 * on the `notify` queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { checkJobId, type CheckJobData } from '../../alerts/check-enqueuer.js';
import { CheckProcessor } from '../../alerts/check-processor.js';
import { QUEUE_CHECKS } from '../../alerts/keys.js';
import { MaintenanceCalendar, MaintenanceStore } from '../../alerts/maintenance.js';
import { applyReadings, emptySeriesState } from '../../alerts/series-engine.js';
import { initialKeyState, type KeyState } from '../../alerts/state-machine.js';
import { StaticThresholdSource } from '../../alerts/thresholds.js';
import type { Reading } from '../../lib/reading.js';
import {
  HOUR,
  T0,
  reading,
  registry,
  shippedThresholds,
  startAlertServices,
  startAlertsStack,
  thresholdsWith,
  waitFor,
  type AlertsStack,
  type Services,
} from '../helpers/alerts-stack.js';

let services: Services;
beforeAll(async () => {
  services = await startAlertServices();
}, 120_000);
afterAll(async () => services?.stopAll());

const nh3 = (station: string, values: number[], start = 0): Reading[] =>
  values.map((v, i) => reading(station, T0 + (start + i) * HOUR, { NH3N: v, DO: 7 }));

/** Hand readings over one at a time, like a writer with small batches. */
async function deliver(stack: AlertsStack, readings: Reading[]): Promise<void> {
  for (const r of readings) await stack.enqueuer.enqueue([r]);
}

function ofKey(points: Array<Record<string, unknown>>, parameter: string, rule = 'limit') {
  return points.filter((p) => p.parameter === parameter && p.rule === rule);
}

/** Transitions only: reminders (every 4 h of event time while firing) are not state changes. */
const transitions = (points: Array<Record<string, unknown>>) => points.filter((p) => p.state !== 'reminder');

describe('checks with real Redis and InfluxDB', () => {
  it('a one-reading NH3-N spike raises no alert', async () => {
    const stack = await startAlertsStack(services, { workers: 2 });
    try {
      await deliver(stack, nh3('hongyuan', [0.4, 1.9, 0.4, 0.4, 0.4]));
      await stack.idle();
      expect(await stack.alertPoints()).toEqual([]);
      expect(await stack.notifyJobIds()).toEqual([]);
      const state = await stack.service.store.readState('hongyuan', 'hour');
      expect(state.lastTs).toBe(T0 + 4 * HOUR);
      expect(state.keys['limit.NH3N']?.state ?? 'ok').toBe('ok');
    } finally {
      await stack.close();
    }
  });

  it('a sustained exceedance gives exactly one firing transition, even when the batch is redelivered', async () => {
    const stack = await startAlertsStack(services, { workers: 2 });
    try {
      const batch = nh3('hongyuan', [0.4, 1.5, 1.6, 1.7, 1.6, 1.5]);
      await stack.enqueuer.enqueue(batch);
      await stack.enqueuer.enqueue(batch); // the writer crashed before XACK and got it again
      await stack.idle();
      await stack.enqueuer.enqueue(batch); // and once more, long after
      await stack.idle();
      const points = await stack.alertPoints();
      const limit = ofKey(points, 'NH3N');
      expect(limit).toHaveLength(1);
      expect(limit[0]).toMatchObject({
        station: 'hongyuan',
        city: 'chengdu',
        state: 'firing',
        rule: 'limit',
        value: 1.6,
        limit: 1,
        threshold_version: '1',
        muted: false,
      });
      expect(limit[0]?.time).toBe(T0 + 2 * HOUR); // N = 3 or T = 60 min: the second breach, 60 min after the first
      expect(String(limit[0]?.message)).toContain('【告警】宏缘 氨氮 1.6 mg/L');
      const ids = await stack.notifyJobIds();
      expect(ids.filter((id) => id.includes('limit.NH3N'))).toEqual([`ev.hongyuan.hour.limit.NH3N.firing.${T0 + 2 * HOUR}`]);
    } finally {
      await stack.close();
    }
  });

  it('recovery with hysteresis gives exactly one resolve', async () => {
    const stack = await startAlertsStack(services, { workers: 2 });
    try {
      // fires at h2; 0.95 and 0.98 sit in the band (0.9, 1.0]: still firing; 0.85 twice resolves (M = 2)
      await deliver(stack, nh3('shiqiao', [0.3, 1.5, 1.5, 1.5, 0.95, 0.85, 0.98, 0.85, 0.85, 0.4, 0.3]));
      await stack.idle();
      // shiqiao has its own NH3N limit, 0.8 (clear at ≤ 0.72), and the drinking-water reach's N = 2:
      // fires at h2; 0.85-0.98 are all breaches there; 0.4 and 0.3 resolve at h10.
      const all = ofKey(await stack.alertPoints(), 'NH3N');
      const limit = transitions(all);
      expect(limit.map((p) => p.state)).toEqual(['firing', 'resolved']);
      expect(all.filter((p) => p.state === 'reminder').map((p) => p.time)).toEqual([T0 + 6 * HOUR]);
      expect(limit[1]?.time).toBe(T0 + 10 * HOUR);
      expect(limit[1]).toMatchObject({ limit: 0.8, value: 0.3 });
    } finally {
      await stack.close();
    }
  });

  it('recovery with hysteresis on the class III limit: the band does not resolve', async () => {
    const stack = await startAlertsStack(services, { workers: 2 });
    try {
      await deliver(stack, nh3('zhaozhen', [0.3, 1.5, 1.5, 1.5, 0.95, 0.85, 0.98, 0.85, 0.85, 0.4]));
      await stack.idle();
      const limit = transitions(ofKey(await stack.alertPoints(), 'NH3N'));
      expect(limit.map((p) => [p.state, p.time])).toEqual([
        ['firing', T0 + 2 * HOUR],
        ['resolved', T0 + 8 * HOUR],
      ]);
      const ids = await stack.notifyJobIds();
      expect(ids.filter((id) => /limit\.NH3N\.(firing|resolved)/.test(id))).toHaveLength(2);
    } finally {
      await stack.close();
    }
  });

  it('maintenance-flagged readings raise nothing', async () => {
    const stack = await startAlertsStack(services, { workers: 2 });
    try {
      const rs = Array.from({ length: 8 }, (_, i) =>
        reading('hongyuan', T0 + i * HOUR, { NH3N: 45, DO: 1, pH: 3 }, { NH3N: 'M', DO: 'M', pH: 'M' }),
      );
      await deliver(stack, rs);
      await stack.idle();
      expect(await stack.alertPoints()).toEqual([]);
      expect(await stack.notifyJobIds()).toEqual([]);
    } finally {
      await stack.close();
    }
  });

  it('a maintenance window mutes the station: recorded as muted, nothing sent', async () => {
    const stack = await startAlertsStack(services, { workers: 1 });
    try {
      const store = new MaintenanceStore(stack.redis, stack.prefix);
      await store.add({ station: 'hongyuan', from: T0, to: T0 + 5 * HOUR, reason: 'test' });
      await deliver(stack, nh3('hongyuan', [1.5, 1.5, 1.5, 0.4, 0.4]));
      await stack.idle();
      const limit = ofKey(await stack.alertPoints(), 'NH3N');
      expect(limit.map((p) => [p.state, p.muted])).toEqual([
        ['firing', true],
        ['resolved', true],
      ]);
      expect(await stack.notifyJobIds()).toEqual([]);
    } finally {
      await stack.close();
    }
  });

  it('a check failing for an infrastructure reason is retried with backoff, and checks once', async () => {
    // the service's start-up read succeeds; the first two reads by check jobs fail
    let calls = 0;
    let failures = 0;
    const flaky = {
      async current() {
        calls++;
        if (calls === 2 || calls === 3) {
          failures++;
          throw new Error('threshold store unavailable');
        }
        return shippedThresholds;
      },
    };
    const stack = await startAlertsStack(services, { workers: 1, thresholdSource: flaky });
    try {
      await stack.enqueuer.enqueue(nh3('hongyuan', [0.4, 1.5, 1.6, 1.7]));
      await stack.idle();
      expect(failures).toBe(2);
      expect(transitions(ofKey(await stack.alertPoints(), 'NH3N')).map((p) => [p.state, p.time])).toEqual([['firing', T0 + 2 * HOUR]]);
    } finally {
      await stack.close();
    }
  });

  it('InfluxDB down: events wait in the outbox and are recorded once, when it is back', async () => {
    const stack = await startAlertsStack(services, { workers: 1 });
    try {
      await services.influxdb.stop();
      await stack.enqueuer.enqueue(nh3('hongyuan', [0.4, 1.5, 1.6, 1.7]));
      // the state has moved (the firing is committed) while nothing could be recorded yet
      await waitFor(
        async () => (await stack.service.store.readState('hongyuan', 'hour')).keys['limit.NH3N']?.state === 'firing',
        30_000,
        'the state to fire',
      );
      expect(await stack.redis.xlen(`${stack.prefix}:as:outbox`)).toBeGreaterThan(0);
      await services.influxdb.start();
      await stack.idle(60_000);
      expect(transitions(ofKey(await stack.alertPoints(), 'NH3N')).map((p) => p.state)).toEqual(['firing']);
      expect((await stack.notifyJobIds()).filter((id) => id.includes('limit.NH3N'))).toHaveLength(1);
    } finally {
      if (!(await stack.influx.ping())) await services.influxdb.start();
      await stack.close();
    }
  });

  it('a job that runs before its reading is due (reorder window) moves itself to delayed and checks it then', async () => {
    const stack = await startAlertsStack(services, { workers: 1 });
    const checks = new Queue<CheckJobData>(QUEUE_CHECKS, { connection: stack.redis, prefix: stack.prefix });
    try {
      const rs = nh3('hongyuan', [1.5, 1.6, 1.7]);
      // into the inbox with a 1.5 s reorder window, but jobs added without the matching delay
      await stack.service.store.enqueue(rs, 1500);
      await checks.addBulk(
        rs.map((r) => ({ name: 'check', data: { s: r.station, p: r.period, ts: r.ts }, opts: { jobId: checkJobId(r) } })),
      );
      // the worker takes the jobs at once, finds the readings not yet due and delays the jobs
      await waitFor(async () => (await checks.getDelayedCount()) > 0, 10_000, 'a job to delay itself');
      expect((await stack.service.store.readState('hongyuan', 'hour')).lastTs).toBeNull();
      await stack.idle();
      const state = await stack.service.store.readState('hongyuan', 'hour');
      expect(state.lastTs).toBe(rs[2]?.ts);
      expect(transitions(ofKey(await stack.alertPoints(), 'NH3N')).map((p) => [p.state, p.time])).toEqual([['firing', T0 + HOUR]]);
    } finally {
      await checks.close();
      await stack.close();
    }
  });

  it("a drain applies a long inbox in slices, in order, until the job's own reading is applied", async () => {
    const stack = await startAlertsStack(services, { workers: 1 });
    try {
      const values = Array.from({ length: 23 }, (_, i) => (i % 7 < 4 ? 1.5 : 0.3));
      const rs = nh3('hongyuan', values);
      await stack.service.store.enqueue(rs); // no jobs: the processor is driven by hand
      const processor = new CheckProcessor({
        store: stack.service.store,
        registry,
        thresholds: new StaticThresholdSource(shippedThresholds),
        calendar: new MaintenanceCalendar(undefined),
        drainLimit: 5,
      });
      const last = rs[rs.length - 1] as Reading;
      expect(await processor.process({ s: last.station, p: last.period, ts: last.ts })).toMatchObject({ status: 'done', applied: 23 });
      const state = await stack.service.store.readState('hongyuan', 'hour');
      expect(state.lastTs).toBe(last.ts);
      const s0 = registry.get('hongyuan');
      if (!s0) throw new Error();
      const expected = applyReadings(emptySeriesState(), rs, { station: s0, thresholds: shippedThresholds, isMuted: () => false });
      // keys never moved are not stored: compare what decides future steps
      const decisive = (k: KeyState | undefined) => {
        const { state: st, since, breaches, firstBreachAt, clears, told, toldAt } = k ?? initialKeyState();
        return { st, since, breaches, firstBreachAt, clears, told, toldAt };
      };
      for (const key of new Set([...Object.keys(state.keys), ...Object.keys(expected.state.keys)])) {
        expect(decisive(state.keys[key]), key).toEqual(decisive(expected.state.keys[key]));
      }
      expect(state.keys['limit.NH3N']?.state).toBe('firing');
    } finally {
      await stack.close();
    }
  });

  it('a silent station and a never-seen station raise silence alerts from the job scheduler; a reading resolves', async () => {
    // 0.05 min = 3 s: short enough for a test, checked every 250 ms by the scheduler.
    const thresholds = thresholdsWith((c) => {
      c.defaults.rules.silence.after_min = 0.05;
      c.stations.gongchengpu = {};
    });
    const stack = await startAlertsStack(services, { workers: 1, silence: true, silenceIntervalMs: 250, thresholds });
    try {
      const now = Date.now();
      await stack.enqueuer.enqueue([reading('hongyuan', now, { NH3N: 0.3 })]);
      const silenceOf = async (station: string) => (await stack.alertPoints()).filter((p) => p.rule === 'silence' && p.station === station);
      await waitFor(
        async () => (await silenceOf('hongyuan')).length > 0 && (await silenceOf('ziyang-city')).length > 0,
        30_000,
        'silence alerts',
      );
      const heard = await silenceOf('hongyuan');
      const never = await silenceOf('ziyang-city');
      expect(heard.map((p) => p.state)).toEqual(['firing']);
      expect(never.map((p) => p.state)).toEqual(['firing']);
      expect(String(never[0]?.message)).toContain('自启动以来无数据');
      expect(String(heard[0]?.message)).toMatch(/已 \d+ 分钟无数据/);
      expect(await stack.notifyJobIds()).toEqual(
        expect.arrayContaining([expect.stringMatching(/^ev\.ziyang-city\.station\.silence\.firing\.\d+$/)]),
      );

      await stack.enqueuer.enqueue([reading('hongyuan', Date.now(), { NH3N: 0.3 })]);
      await waitFor(async () => (await silenceOf('hongyuan')).some((p) => p.state === 'resolved'), 30_000, 'silence resolved');
      expect((await silenceOf('hongyuan')).map((p) => p.state)).toEqual(['firing', 'resolved']);
      // every registry station fired exactly once (no duplicates from overlapping ticks)
      const firing = (await stack.alertPoints()).filter((p) => p.rule === 'silence' && p.state === 'firing');
      expect(new Set(firing.map((p) => p.station)).size).toBe(firing.length);
    } finally {
      await stack.close();
    }
  });
});
