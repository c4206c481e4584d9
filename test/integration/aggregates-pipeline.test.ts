/**
 * The hourly aggregates through the real pipeline: readings over MQTT → ingest → journal →
 * InfluxDB, the writer's hand-off marks their station-hours, the alerts worker's aggregation job
 * makes the hours, days, months and years. Late readings, merged fields and corrections (decision
 * 0009) against what the hours then say; a flood of readings into one hour; a forged dirty hour.
 */
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../aggregates/aggregator.js';
import { DirtyHours, dirtyMember } from '../../aggregates/dirty-hours.js';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import { DEFAULT_PREFIX } from '../../alerts/keys.js';
import { startAlertsService, type AlertsService } from '../../alerts/service.js';
import { StaticThresholdSource, loadThresholdsFile } from '../../alerts/thresholds.js';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../../config/load.js';
import { IngestService } from '../../ingest/ingest-service.js';
import { createLogger } from '../../lib/logger.js';
import { StationRegistry } from '../../config/station-registry.js';
import { computeAqi } from '../../lib/standards/index.js';
import { jsonPayload, metric, rows, topicOf } from '../helpers/fixtures.js';
import { publishAll, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

const H = 3_600_000;
const MIN10 = 600_000;
const config = loadConfig(DEFAULT_CONFIG_DIR);
const registry = new StationRegistry(config.registry);
const thresholds = loadThresholdsFile(`${DEFAULT_CONFIG_DIR}/thresholds.yaml`, config.registry);

let stack: IngestStack;
let ingest: IngestService;
let enqueuer: CheckEnqueuer;
let alerts: AlertsService;
let redis: Redis;
let pub: MqttClient;
let dirty: DirtyHours;
// Two whole UTC hours well in the past (Beijing 10:00 and 11:00 of a day last week).
const H0 = Math.floor((Date.now() - 7 * 86_400_000) / 86_400_000) * 86_400_000 + 2 * H;
const H1 = H0 + H;

const send = async (station: string, ts: number, values: Record<string, number>, flags?: Record<string, string>): Promise<void> => {
  await publishAll(pub, [{ topic: topicOf(station), payload: jsonPayload({ ts, values, ...(flags ? { flags } : {}) }) }]);
};

async function hourPoint(measurement: string, station: string, ts: number): Promise<Record<string, unknown> | undefined> {
  return (await rows(stack.influx, `SELECT * FROM "${measurement}" WHERE "station" = '${station}' AND time = ${ts}ms`))[0];
}

/** Waits until the dirty set is empty and the point matches. */
async function settled<T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> {
  return waitFor(async () => ((await dirty.size()) === 0 ? check() : undefined), 30_000, what) as Promise<T>;
}

beforeAll(async () => {
  stack = await startIngestStack();
  redis = new Redis(stack.env.REDIS_URL, { maxRetriesPerRequest: null });
  dirty = new DirtyHours(redis, DEFAULT_PREFIX);
  enqueuer = new CheckEnqueuer({ redisUrl: stack.env.REDIS_URL, granularity: 'batch' });
  alerts = await startAlertsService({
    redisUrl: stack.env.REDIS_URL,
    influx: stack.influx,
    registry,
    thresholds: new StaticThresholdSource(thresholds),
    silence: false,
    aggregates: { intervalMs: 200, settleMs: 100 },
  });
  ingest = new IngestService({
    config: stack.config,
    env: stack.env,
    log: createLogger('aggregates-test', process.env.LOG_LEVEL ?? 'error'),
    httpPort: 0,
    checks: enqueuer,
    healthIntervalMs: 0,
  });
  await ingest.start();
  pub = await stack.publisher();
}, 60_000);

afterAll(async () => {
  await ingest?.stop();
  await alerts?.close();
  await enqueuer?.close();
  redis?.disconnect();
  await stack?.stop();
});

describe('hourly aggregates through the pipeline', () => {
  it('an hour needs 45 minutes: 4 ten-minute readings make no mean, a late fifth one does, and the day follows', async () => {
    for (let i = 0; i < 4; i++) await send('hongyuan', H0 + i * MIN10, { NH3N: 1.2, DO: 6.5, pH: 7.4 });
    const first = await settled('the hour with 4 readings', async () => {
      const p = await hourPoint('water_hourly', 'hongyuan', H0);
      return p?.readings === 4 ? p : undefined;
    });
    expect(first).toMatchObject({ n_NH3N: 4, expected: 6, city: 'chengdu' });
    // No field at all (the measurement may not even have the column yet).
    expect(first.NH3N ?? null).toBeNull();
    expect(first.class ?? null).toBeNull();

    // The fifth reading arrives late, after the next hour's: the hour is made again.
    await send('hongyuan', H1 + MIN10, { NH3N: 0.4 });
    await send('hongyuan', H0 + 4 * MIN10, { NH3N: 1.3, DO: 6.5, pH: 7.4 });
    const again = await settled('the hour with its late reading', async () => {
      const p = await hourPoint('water_hourly', 'hongyuan', H0);
      return p?.readings === 5 ? p : undefined;
    });
    expect(again).toMatchObject({ NH3N: 1.22, n_NH3N: 5, DO: 6.5, pH: 7.4, class: 4, deciding: 'NH3N', class_NH3N: 4, class_DO: 2 });
    // The day (CST) exists, with fewer than 18 valid hours: no daily mean, but its exceedances.
    const day = Date.parse(new Date(H0 + 8 * H).toISOString().slice(0, 10) + 'T00:00:00+08:00');
    const d = (await rows(stack.influx, `SELECT * FROM "water_daily" WHERE "station" = 'hongyuan' AND time = ${day}ms`))[0]!;
    expect(d).toMatchObject({ n_NH3N: 1, exceed_NH3N: 1, multiple_NH3N: 0.22, readings: 6 });
    expect(d.NH3N ?? null).toBeNull();
    const month = (await rows(stack.influx, `SELECT * FROM "water_monthly" WHERE "station" = 'hongyuan'`))[0]!;
    expect(month).toMatchObject({ exceed_NH3N: 1, multiple_NH3N: 0.22, target: 3 });
  });

  it('a field sent later for the same instant joins its hour; a re-send with other values leaves it as it was (decision 0009)', async () => {
    for (let i = 0; i < 6; i++) await send('huaikou', H0 + i * MIN10, { NH3N: 0.3 });
    await settled('huaikou hour', async () => (await hourPoint('water_hourly', 'huaikou', H0))?.NH3N === 0.3 || undefined);
    // TP for the same six instants, in messages of their own: merged into the points and the hour.
    for (let i = 0; i < 6; i++) await send('huaikou', H0 + i * MIN10, { TP: 0.25 });
    const merged = await settled('TP merged', async () => {
      const p = await hourPoint('water_hourly', 'huaikou', H0);
      return p?.TP === 0.25 ? p : undefined;
    });
    expect(merged).toMatchObject({ NH3N: 0.3, class: 4, deciding: 'TP' });
    // A "correction": NH3N re-sent as 5.0 for one instant. The first value stays, and so does the hour.
    await send('huaikou', H0, { NH3N: 5 });
    await waitFor(
      async () =>
        (await rows(stack.influx, `SELECT * FROM "water_quality" WHERE "station" = 'huaikou' AND time = ${H0}ms`))[0]?.NH3N === 0.3,
      10_000,
      'first value kept',
    );
    await new Promise((r) => setTimeout(r, 500));
    const after = await settled('after the correction', async () => hourPoint('water_hourly', 'huaikou', H0));
    expect(after).toMatchObject({ NH3N: 0.3, TP: 0.25 });
  });

  it('a station flooding one hour with readings gets no more than its hour: completeness capped, others unaffected', async () => {
    const flood = Array.from({ length: 300 }, (_, i) => ({
      topic: topicOf('zhaozhen'),
      payload: jsonPayload({ ts: H1 + i * 12_000, values: { NH3N: 0.2 } }),
    }));
    await publishAll(pub, flood);
    for (let i = 0; i < 6; i++) await send('linjiangsi', H1 + i * MIN10, { NH3N: 0.5 });
    const z = await settled('the flooded hour', async () => {
      const p = await hourPoint('water_hourly', 'zhaozhen', H1);
      return p?.n_NH3N === 6 ? p : undefined;
    });
    expect(z).toMatchObject({ readings: 6, expected: 6, NH3N: 0.2 });
    expect(await hourPoint('water_hourly', 'linjiangsi', H1)).toMatchObject({ NH3N: 0.5, readings: 6 });
  });

  it("air: the hour's AQI, IAQIs and primary pollutant, and the city's from its stations' means", async () => {
    const a = { SO2: 10, NO2: 40, PM10: 140, CO: 0.9, O3: 80, PM2_5: 95 };
    const b = { SO2: 14, NO2: 44, PM10: 100, CO: 1.1, O3: 60, PM2_5: 75 };
    await send('ziyang-shijian', H0 + 5 * 60_000, a);
    await send('ziyang-yanjiang', H0 + 5 * 60_000, b);
    const p = await settled('air hour', async () => {
      const x = await hourPoint('air_hourly', 'ziyang-shijian', H0);
      return x?.aqi ? x : undefined;
    });
    const want = computeAqi(
      { SO2_1h: 10, NO2_1h: 40, PM10_1h: 140, CO_1h: 0.9, O3_1h: 80, PM2_5_1h: 95 },
      { date: new Date(H0), mode: 'hourly' },
    );
    expect(p).toMatchObject({
      aqi: want.aqi,
      primary: want.primary.join(','),
      level: want.level,
      iaqi_PM2_5_1h: want.iaqi.PM2_5_1h,
      readings: 1,
      expected: 1,
    });
    const city = await settled('city hour', async () => {
      const x = (await rows(stack.influx, `SELECT * FROM "air_city_hourly" WHERE "city" = 'ziyang' AND time = ${H0}ms`))[0];
      return x?.stations === 2 ? x : undefined;
    });
    const cityWant = computeAqi(
      { SO2_1h: 12, NO2_1h: 42, PM10_1h: 120, CO_1h: 1, O3_1h: 70, PM2_5_1h: 85 },
      { date: new Date(H0), mode: 'hourly' },
    );
    expect(city).toMatchObject({ PM2_5: 85, PM10: 120, aqi: cityWant.aqi, primary: cityWant.primary.join(',') });
  });

  it('a dirty hour of a station not in the registry is dropped and counted, nothing else is disturbed', async () => {
    await dirty.mark(['no-such-station|0', 'garbage', `hongyuan|${H0}`]);
    await settled('forged hours handled', async () => true);
    const text = await alerts.aggregateMetrics!.registry.metrics();
    expect(text).toMatch(/tuojiang_aggregate_hours_dropped_total 2/);
    expect(await hourPoint('water_hourly', 'hongyuan', H0)).toMatchObject({ NH3N: 1.22, readings: 5 });
  });
});

describe('a mean that stops being valid', () => {
  it('leaves no stale field: the hour is deleted and written again without it', async () => {
    // Stored readings changed behind the writer's back, as a re-send after the correction window
    // does: five valid NH3-N slots, then one of them flagged D (four left: 40 minutes).
    const station = 'shiqiao';
    const point = (i: number, flag?: string) =>
      `water_quality,city=chengdu,period=rt,station=${station} NH3N=0.6${flag ? `,NH3N_flag="${flag}"` : ''} ${H0 + i * MIN10}`;
    await stack.influx.writeLines([0, 1, 2, 3, 4].map((i) => point(i)));
    await dirty.mark([`${station}|${H0}`]);
    await settled('the valid hour', async () => (await hourPoint('water_hourly', station, H0))?.NH3N === 0.6 || undefined);
    const before = metric(await alerts.aggregateMetrics!.registry.metrics(), 'tuojiang_aggregate_points_replaced_total');
    await stack.influx.writeLines([point(4, 'D')]);
    await dirty.mark([`${station}|${H0}`]);
    const after = await settled('the hour without its mean', async () => {
      const p = await hourPoint('water_hourly', station, H0);
      return p && p.n_NH3N === 4 ? p : undefined;
    });
    expect(after.NH3N ?? null).toBeNull();
    expect(after.class ?? null).toBeNull();
    expect(metric(await alerts.aggregateMetrics!.registry.metrics(), 'tuojiang_aggregate_points_replaced_total')).toBeGreaterThan(before);
  });
});

describe('stations that send nothing', () => {
  it('get their hour just ended, with 0 readings, so their completeness falls', async () => {
    const ended = Math.floor(Date.now() / H) * H - H;
    const p = await settled('the hourly round', async () => {
      const x = await hourPoint('water_hourly', 'shiqiao', ended);
      return x ?? (await hourPoint('water_hourly', 'shiqiao', ended + H));
    });
    expect(p).toMatchObject({ readings: 0, expected: 6, city: 'chengdu' });
    expect(p.class ?? null).toBeNull();
    const air = await settled(
      'an air station too',
      async () => (await rows(stack.influx, `SELECT * FROM "air_hourly" WHERE "station" = 'jianyang-hedong'`))[0],
    );
    expect(air).toMatchObject({ readings: 0, expected: 1 });
  });
});

describe('the dirty set never loses a mark', () => {
  it('old hours (an upload of stored data, or a forged flood) wait behind the recent ones', async () => {
    const d = new DirtyHours(redis, 'fair-test');
    const now = Date.parse('2026-12-06T06:00:00Z');
    const flood = Array.from({ length: 3000 }, (_, i) => `noisy|${now - (100 + i) * H}`);
    await d.mark(flood, now - 60_000);
    await d.mark([`quiet|${now - H}`], now - 1000);
    const first = await d.take(500, 0, now);
    expect(first[0]!.member).toBe(`quiet|${now - H}`);
    expect(first).toHaveLength(500);
    expect(await d.done(first, now)).toBe(500);
    expect(await d.size()).toBe(2501);
  });

  it('a mark made while its hour is computed keeps the hour for the next run', async () => {
    const d = new DirtyHours(redis, 'race-test');
    await d.mark(['s|1'], 1000);
    const taken = await d.take(10, 0, 2000);
    expect(taken.map((t) => t.member)).toEqual(['s|1']);
    await d.mark(['s|1'], 1500);
    expect(await d.done(taken, 3000)).toBe(0);
    const again = await d.take(10, 0, 4000);
    expect(again).toHaveLength(1);
    expect(await d.done(again, 5000)).toBe(1);
    expect(await d.size()).toBe(0);
  });
});

describe('a worker shutting down', () => {
  it('ends an aggregation run at the next batch; the hours not taken stay marked for the next run', async () => {
    // A prefix of its own, so the running alerts service does not take these hours.
    const own = new DirtyHours(redis, `agg-stop-${Date.now()}`);
    const ids = registry.stations.map((s) => s.id);
    const members = Array.from({ length: 30 }, (_, i) => ids.map((id) => dirtyMember(id, H0 - (i + 2) * H))).flat();
    await own.mark(members, Date.now() - 60_000);
    const aggregator = new Aggregator({
      influx: stack.influx,
      dirty: own,
      registry,
      referenceItems: () => Promise.resolve([]),
      settleMs: 0,
      batch: 10,
    });
    let batches = 0;
    const done = await aggregator.drain(1000, () => batches++ >= 2);
    expect(done).toBe(20);
    // (The run also marks the hour that just ended for every station: the hourly round.)
    const left = await own.size();
    expect(left).toBeGreaterThanOrEqual(members.length - 20);
    // Without the stop the same run takes the rest.
    expect(await aggregator.drain()).toBe(left);
    expect(await own.size()).toBe(0);
  }, 60_000);
});
