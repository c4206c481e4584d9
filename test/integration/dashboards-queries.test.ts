/**
 * Every query of every committed dashboard, run against a real InfluxDB filled through the real
 * pipeline: readings published over MQTT to real Mosquitto, taken in by the ingest (journal in
 * Redis, writer to InfluxDB), checked by the alert workers (alert events into the `alerts`
 * measurement), and health points written by lib/health-reporter.ts. Each query is extracted from
 * the JSON, Grafana's macros and variables are substituted as Grafana's InfluxDB data source
 * does, and the result must have the series and columns the generator recorded for it. The
 * computed water class and AQI are compared with lib/standards, the limit lines with the alert
 * checks' limits, and a few panels with what the data must show (the plume's order down the river,
 * the alerts still firing, data completeness). The standards' values (class, AQI) come from the
 * hourly aggregates the alerts workers make; they are compared with an independent reference made
 * here from the published readings and lib/standards. A past month of known data (a section over
 * its target, one within it, one with five days missing; two air stations with a known good-day
 * ratio) is published too, and the assessment dashboards must return its numbers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirtyHours } from '../../aggregates/dirty-hours.js';
import { exactMean } from '../../aggregates/mean.js';
import { windowOf } from '../../aggregates/windows.js';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import { AlertKeys, DEFAULT_PREFIX, QUEUE_CHECKS } from '../../alerts/keys.js';
import { startAlertsService, type AlertsService } from '../../alerts/service.js';
import { StaticThresholdSource, limitFor, loadThresholdsFile, stationProfile } from '../../alerts/thresholds.js';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../../config/load.js';
import { contextFromConfig, type BuildContext } from '../../dashboards/context.js';
import { THRESHOLD_CHANGES_MEASUREMENT } from '../../dashboards/datasource.js';
import { buildDashboards, readGeneratedDashboards } from '../../dashboards/generate.js';
import type { Dashboard, Panel } from '../../dashboards/model.js';
import type { QueryExpectation } from '../../dashboards/panels.js';
import { extractQueries, interpolate, withQueriedOptions, type Bindings } from '../../dashboards/queries.js';
import { IngestService } from '../../ingest/ingest-service.js';
import { PIPELINE_HEALTH_MEASUREMENT, startHealthReporter, type HealthReporter } from '../../lib/health-reporter.js';
import { InfluxClient, type QueryResult } from '../../lib/influx/client.js';
import { encodePoint } from '../../lib/influx/line-protocol.js';
import { createLogger } from '../../lib/logger.js';
import { parametersOf, type DataFlag } from '../../lib/parameters.js';
import type { Period } from '../../lib/reading.js';
import { StationRegistry } from '../../config/station-registry.js';
import { CLASS_ORDER, computeAqi, paramClass, waterClass, type AqiInputs, type WaterClass } from '../../lib/standards/index.js';
import { MN, hj212Frame, jsonPayload, prng, topicOf } from '../helpers/fixtures.js';
import { publishAll, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';
import { renderTable } from '../helpers/render-table.js';

const SLOT = 600_000;
const SLOTS = 18;
const CST = 8 * 3_600_000;

interface Published {
  station: string;
  kind: 'water' | 'air';
  ts: number;
  period: Period;
  values: Record<string, number>;
  flags: Record<string, DataFlag>;
}

let stack: IngestStack;
let ingest: IngestService;
let enqueuer: CheckEnqueuer;
let alertsService: AlertsService;
let redis: Redis;
let checks: Queue;
let pub: MqttClient;
let influx: InfluxClient;
let ctx: BuildContext;
let committed: Dashboard[];
let expectations: Map<string, Map<string, QueryExpectation>>;
const reporters: HealthReporter[] = [];
const published: Published[] = [];
/** Assessment tables rendered as Grafana shows them, kept in test-artifacts/ for reading. */
const rendered: string[] = [];
/** The known past month: published like the rest, kept apart so the live panels' range does not reach it. */
const monthData: Published[] = [];
let month = { start: 0, end: 0 };
const reporterFields = new Map<string, string[]>();
let t0 = 0;

const config = loadConfig(DEFAULT_CONFIG_DIR);
const registry = new StationRegistry(config.registry);
const thresholds = loadThresholdsFile(`${DEFAULT_CONFIG_DIR}/thresholds.yaml`, config.registry);
const waterIds = registry.stations.filter((s) => s.kind === 'water').map((s) => s.id);
const airIds = registry.stations.filter((s) => s.kind === 'air').map((s) => s.id);

/** Clean river water: every GB 3838 item within class II, temperature and the rest plausible. */
const CLEAN: Record<string, number> = {
  temp: 17.5,
  pH: 7.6,
  DO: 7.1,
  cond: 420,
  turb: 12,
  CODMn: 3.1,
  COD: 12,
  BOD5: 2.2,
  NH3N: 0.31,
  TP: 0.07,
  TN: 1.1,
  Cu: 0.004,
  Zn: 0.03,
  F: 0.4,
  Se: 0.002,
  As: 0.003,
  Hg: 0.00002,
  Cd: 0.0005,
  Cr6: 0.006,
  Pb: 0.004,
  CN: 0.002,
  phenol: 0.001,
  petroleum: 0.02,
  LAS: 0.05,
  sulfide: 0.02,
  fecal_coliform: 900,
};

/** An ammonia plume moving downstream: [first slot, last slot, peak slot, level] per section. */
const PLUME: Record<string, [number, number, number, number]> = {
  hongyuan: [3, 8, 5, 3.2],
  shiqiao: [6, 11, 8, 2.6],
  linjiangsi: [9, 14, 11, 2.1],
  'ziyang-city': [12, 17, 14, 1.7],
};

function waterReading(station: string, slot: number, rnd: ReturnType<typeof prng>): Published | undefined {
  // Gongchengpu reports over a slow link: every other slot only.
  if (station === 'gongchengpu' && slot % 2 === 1) return undefined;
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(CLEAN)) values[k] = Number((v * (0.95 + rnd.next() * 0.1)).toPrecision(3));
  const flags: Record<string, DataFlag> = {};
  // Huaikou's turbidity meter fails after slot 4: its last turbidity is hours old, the rest current.
  if (station === 'huaikou' && slot > 4) delete values.turb;
  const plume = PLUME[station];
  if (plume && slot >= plume[0] && slot <= plume[1])
    values.NH3N = Number((plume[3] * (slot === plume[2] ? 1.4 : 1) + rnd.next() * 0.1).toFixed(2));
  if (slot === 2) flags.TP = 'C';
  if (station === 'hongyuan' && slot === 2) {
    values.NH3N = 2.5;
    flags.NH3N = 'M';
  }
  if (station === 'huaikou' && slot === 5) values.DO = 2.5;
  if (station === 'gongchengpu' && slot === 4) values.pH = 9.2;
  return { station, kind: 'water', ts: t0 + slot * SLOT, period: 'rt', values, flags };
}

function airReading(station: string, slot: number, rnd: ReturnType<typeof prng>): Published {
  const scale = 0.5 + 2 * rnd.next();
  const values: Record<string, number> = {
    PM2_5: Math.round(40 * scale * 10) / 10,
    PM10: Math.round(70 * scale * 10) / 10,
    SO2: Math.round(20 * scale),
    NO2: Math.round(45 * scale * 10) / 10,
    CO: Math.round(0.8 * scale * 100) / 100,
    O3: Math.round(90 * scale),
  };
  // Exact halves: HJ 633-2026 rounds them to even (60.5 → 60, 35.5 → 36).
  if (slot === 3) values.PM2_5 = station === 'jianyang-shijian' ? 60.5 : 35.5;
  if (slot === 4) values.CO = 1.15;
  // A pollutant missing: the AQI is published only above 100 (2026).
  if (station === 'ziyang-yanjiang' && (slot === 5 || slot === 6)) {
    delete values.CO;
    values.PM2_5 = slot === 5 ? 20 : 130;
  }
  return { station, kind: 'air', ts: t0 + slot * SLOT, period: 'rt', values, flags: {} };
}

const WATER_HJ212: Record<string, string> = { pH: 'w01001', DO: 'w01009', CODMn: 'w01019', NH3N: 'w21003', TP: 'w21011' };
/** Hongyuan: NH3-N 1.2 (class IV) all month, one hour at 2.5; Linjiangsi within class II; Ziyang city class II with days 10–14 missing. */
const MONTH_WATER: Record<string, Record<string, number>> = {
  hongyuan: { pH: 7.5, DO: 7, CODMn: 3, NH3N: 1.2, TP: 0.08 },
  linjiangsi: { pH: 7.5, DO: 7, CODMn: 3, NH3N: 0.4, TP: 0.08 },
  'ziyang-city': { pH: 7.5, DO: 7, CODMn: 3, NH3N: 0.4, TP: 0.08 },
};
const MISSING_DAYS = new Set([10, 11, 12, 13, 14]);
const POLLUTED_FROM_DAY = 25;
const CLEAN_AIR = { PM2_5: 30, PM10: 50, SO2: 10, NO2: 30, CO: 0.5, O3: 80 };
const POLLUTED_AIR = { ...CLEAN_AIR, PM2_5: 100 };

function publishKnownMonth(): void {
  for (let t = month.start; t < month.end; t += 3_600_000) {
    const day = Math.floor((t - month.start) / 86_400_000) + 1;
    for (const [station, values] of Object.entries(MONTH_WATER)) {
      if (station === 'ziyang-city' && MISSING_DAYS.has(day)) continue;
      const v = station === 'hongyuan' && day === 3 && t % 86_400_000 === 0 ? { ...values, NH3N: 2.5 } : values;
      monthData.push({ station, kind: 'water', ts: t, period: 'hour', values: v, flags: {} });
    }
    for (const station of ['ziyang-shijian', 'ziyang-yanjiang']) {
      monthData.push({
        station,
        kind: 'air',
        ts: t + 5 * 60_000,
        period: 'rt',
        values: day >= POLLUTED_FROM_DAY ? POLLUTED_AIR : CLEAN_AIR,
        flags: {},
      });
    }
  }
}

/** Start of today in China Standard Time, as the CN 2031 DataTime of a daily value. */
function cstDayStart(ts: number): number {
  return Math.floor((ts + CST) / 86_400_000) * 86_400_000 - CST;
}

const HJ212: Record<string, string> = { SO2: 'a21026', NO2: 'a21004', CO: 'a21005', O3: 'a05024', PM10: 'a34002', PM2_5: 'a34004' };

async function pipelineIdle(): Promise<void> {
  const keys = new AlertKeys(DEFAULT_PREFIX);
  let quiet = 0;
  await waitFor(
    async () => {
      const c = await checks.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      const busy = Object.values(c).some((n) => n > 0) || (await redis.xlen(keys.outbox)) > 0;
      quiet = busy ? 0 : quiet + 1;
      return quiet >= 5;
    },
    40_000,
    'the alert checks to finish',
  );
}

beforeAll(async () => {
  stack = await startIngestStack();
  influx = stack.influx;
  redis = new Redis(stack.env.REDIS_URL, { maxRetriesPerRequest: null });
  checks = new Queue(QUEUE_CHECKS, { connection: redis, prefix: DEFAULT_PREFIX });
  // The ingest with its check sink, as `tuojiang ingest` wires it (the stack helper's ingest has none).
  enqueuer = new CheckEnqueuer({ redisUrl: stack.env.REDIS_URL });
  alertsService = await startAlertsService({
    redisUrl: stack.env.REDIS_URL,
    influx,
    registry,
    thresholds: new StaticThresholdSource(thresholds),
    silence: false,
    aggregates: { intervalMs: 250, settleMs: 200 },
    healthIntervalMs: 0,
  }); // this test writes its own pipeline_health points
  ingest = new IngestService({
    config: stack.config,
    env: stack.env,
    log: createLogger('dashboards-test', process.env.LOG_LEVEL ?? 'error'),
    httpPort: 0,
    checks: enqueuer,
    healthIntervalMs: 0,
  }); // this test writes its own pipeline_health points
  await ingest.start();
  pub = await stack.publisher();

  const now = Date.now();
  const last = Math.floor(now / SLOT) * SLOT - SLOT;
  t0 = last - (SLOTS - 1) * SLOT;
  const rnd = prng(20260301);
  for (let slot = 0; slot < SLOTS; slot++) {
    for (const s of waterIds) {
      const r = waterReading(s, slot, rnd);
      if (r) published.push(r);
    }
    for (const s of airIds) published.push(airReading(s, slot, rnd));
  }
  // Stations publish in time order; the checks rely on the series order anyway.
  await publishAll(
    pub,
    published.map((r) => ({
      topic: topicOf(r.station, r.kind),
      payload: jsonPayload({ ts: r.ts, values: r.values, ...(Object.keys(r.flags).length ? { flags: r.flags } : {}) }),
    })),
    200,
  );

  // A daily value over HJ 212 (CN 2031): period 'day', for the daily AQI and the 24-h limits.
  const dayTs = cstDayStart(now);
  const day: Published = {
    station: 'ziyang-shijian',
    kind: 'air',
    ts: dayTs,
    period: 'day',
    values: { PM2_5: 58.4, PM10: 97.6, SO2: 12, NO2: 41.5, CO: 0.9, O3: 171 },
    flags: {},
  };
  published.push(day);
  await pub.publishAsync(
    topicOf('ziyang-shijian', 'air'),
    hj212Frame({
      mn: MN['ziyang-shijian'],
      ts: dayTs,
      st: '22',
      cn: '2031',
      items: Object.fromEntries(Object.entries(day.values).map(([k, v]) => [HJ212[k]!, { Avg: v, Flag: 'N' }])),
    }),
    { qos: 1 },
  );

  const expectRows = (kind: 'water' | 'air', period: Period) => published.filter((r) => r.kind === kind && r.period === period).length;
  await waitFor(
    async () => {
      const [w] = await influx.query(`SELECT count("temp") FROM "water_quality" WHERE "period" = 'rt'`);
      const [a] = await influx.query(`SELECT count("PM10") FROM "air_quality"`);
      return Number(w?.values[0]?.[1] ?? 0) === expectRows('water', 'rt') && Number(a?.values[0]?.[1] ?? 0) === expectRows('air', 'rt') + 1;
    },
    40_000,
    'every reading in InfluxDB',
  );
  // The known month (the last whole CST month): water as HJ 212 hourly values (CN 2061), air as
  // one real-time reading an hour.
  month = windowOf('month', windowOf('month', now).start - 1);
  publishKnownMonth();
  await publishAll(
    pub,
    monthData.map((r) =>
      r.kind === 'water'
        ? {
            topic: topicOf(r.station, 'water'),
            payload: hj212Frame({
              mn: MN[r.station as keyof typeof MN],
              ts: r.ts,
              st: '32',
              cn: '2061',
              items: Object.fromEntries(Object.entries(r.values).map(([k, v]) => [WATER_HJ212[k]!, { Avg: v, Flag: 'N' }])),
            }),
          }
        : { topic: topicOf(r.station, 'air'), payload: jsonPayload({ ts: r.ts, values: r.values }) },
    ),
    200,
  );
  await waitFor(
    async () => {
      const [w] = await influx.query(`SELECT count("NH3N") FROM "water_quality" WHERE "period" = 'hour'`);
      const [a] = await influx.query(`SELECT count("PM2_5") FROM "air_quality" WHERE time < ${month.end}ms`);
      return (
        Number(w?.values[0]?.[1] ?? 0) === monthData.filter((r) => r.kind === 'water').length &&
        Number(a?.values[0]?.[1] ?? 0) === monthData.filter((r) => r.kind === 'air').length
      );
    },
    120_000,
    'the known month in InfluxDB',
  );
  await pipelineIdle();
  // The aggregates of everything published.
  const dirty = new DirtyHours(redis, DEFAULT_PREFIX);
  await waitFor(async () => (await dirty.size()) === 0, 120_000, 'every hour aggregated');

  // A threshold change of the defaults (no station tag: it applies to every section), as the
  // threshold store of issue 6 is to write it.
  await influx.writeLines([
    encodePoint({
      measurement: THRESHOLD_CHANGES_MEASUREMENT,
      tags: { scope: 'defaults', change: 'tighten' },
      fields: { version: '2', summary: '收紧 NH3N tightened', by: 'test' },
      ts: t0 + 5 * SLOT,
    }),
  ]);

  // Health points from two services, sampled from the running ingest and the check queue.
  const total = async (m: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> =>
    (await m.get()).values.reduce((a, v) => a + v.value, 0);
  const ingestSample = async (): Promise<Record<string, number>> => ({
    readings_in: await total(ingest.metrics.readingsIn),
    readings_written: await total(ingest.metrics.readingsWritten),
    readings_rejected: await total(ingest.metrics.readingsRejected),
    journal_backlog: await total(ingest.metrics.journalBacklog),
    hj212_quirks: await total(ingest.metrics.hj212Quirks),
    hj212_resent: await total(ingest.metrics.hj212Resent),
    // Stand-in: the mean InfluxDB write latency (the real sensor-to-write lag is the lead's to wire).
    write_lag_s: 0.01,
  });
  const alertsSample = async (): Promise<Record<string, number>> => ({
    check_jobs_waiting: await checks.getWaitingCount(),
    aggregate_backlog_hours: await new DirtyHours(redis, DEFAULT_PREFIX).size(),
    // Stand-ins: no inbox sweep runs here (its figures are tested in alerts-inbox-sweep).
    check_series_overdue: 0,
    check_series_stuck: 0,
    emails_sent: 0,
    emails_failed: 0,
  });
  reporterFields.set('ingest-test', Object.keys(await ingestSample()));
  reporterFields.set('alerts-test', Object.keys(await alertsSample()));
  reporters.push(startHealthReporter({ influx, service: 'ingest', instance: 'ingest-test', intervalMs: 150, sample: ingestSample }));
  reporters.push(startHealthReporter({ influx, service: 'alerts', instance: 'alerts-test', intervalMs: 150, sample: alertsSample }));
  await waitFor(
    async () => {
      const r = await influx.query(
        `SELECT count("check_jobs_waiting") FROM "${PIPELINE_HEALTH_MEASUREMENT}"; SELECT count("readings_in") FROM "${PIPELINE_HEALTH_MEASUREMENT}"`,
      );
      return r.length === 2 && r.every((s) => Number(s.values[0]?.[1]) >= 20);
    },
    20_000,
    'health points over a few seconds',
  );
  for (const r of reporters.splice(0)) await r.stop();

  ctx = contextFromConfig(config);
  committed = await readGeneratedDashboards();
  expectations = new Map(buildDashboards(ctx).map((b) => [b.dashboard.uid, b.expectations]));
}, 300_000);

afterAll(async () => {
  if (rendered.length > 0) {
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/assessment-panels.txt', `${rendered.join('\n\n')}\n`);
  }
  for (const r of reporters) await r.stop();
  await ingest?.stop();
  await alertsService?.close();
  await enqueuer?.close();
  await checks?.close();
  redis?.disconnect();
  await stack?.stop();
});

// ---------------------------------------------------------------------------------------------
// Running the queries

const dash = (uid: string): Dashboard => committed.find((d) => d.uid === uid)!;

function dataRange(): Pick<Bindings, 'from' | 'to'> {
  const first = Math.min(...published.map((r) => r.ts));
  return { from: first - SLOT, to: Date.now() + 60_000 };
}

function bindings(variables: Bindings['variables'], intervalMs = SLOT): Bindings {
  return { ...dataRange(), intervalMs, variables };
}

interface Run {
  uid: string;
  key: string;
  title: string;
  query: string;
  result: QueryResult[];
}

async function runAll(uid: string, b: Bindings): Promise<Run[]> {
  const d = dash(uid);
  const out: Run[] = [];
  for (const q of extractQueries(d)) {
    const text = interpolate(q.query, d, b, q.kind);
    out.push({ uid, key: q.key, title: q.title, query: text, result: await influx.query(text) });
  }
  return out;
}

const bound = (b: Bindings, name: string, d: Dashboard): string[] => {
  const v = b.variables[name] ?? d.templating.list.find((x) => x.name === name)?.current.value;
  const values = Array.isArray(v) ? v : v === undefined ? [] : [v];
  if (values.includes('$__all'))
    return (
      b.options?.[name] ??
      d.templating.list
        .find((x) => x.name === name)!
        .options.map((o) => o.value)
        .filter((x) => x !== '$__all')
    );
  return values;
};

/** The stations a query's series should cover, given the data published and the variables bound. */
function expectedTagValues(e: QueryExpectation, b: Bindings, d: Dashboard): string[] | undefined {
  if (!e.series) return undefined;
  const period = bound(b, 'period', d)[0] ?? 'rt';
  const inPeriod = published.filter((r) => r.period === period);
  const has = (name: string) => d.templating.list.some((v) => v.name === name);
  const src = e.series.from;
  if (typeof src === 'object') return bound(b, src.variable, d);
  if (src === 'water-stations') return [...new Set(inPeriod.filter((r) => r.kind === 'water').map((r) => r.station))].sort();
  if (src === 'instances')
    return [...reporterFields]
      .filter(([, f]) => (e.healthFields ?? []).every((x) => f.includes(x)))
      .map(([i]) => i)
      .sort();
  let air = [...new Set(inPeriod.filter((r) => r.kind === 'air').map((r) => r.station))];
  if (has('city')) air = air.filter((s) => bound(b, 'city', d).includes(registry.get(s)!.city));
  if (src === 'cities') return [...new Set(air.map((s) => registry.get(s)!.city))].sort();
  if (has('station')) air = air.filter((s) => bound(b, 'station', d).includes(s));
  return air.sort();
}

let alertEvents: Array<Record<string, unknown>> = [];
async function loadAlertEvents(): Promise<void> {
  const s = await influx.query('SELECT * FROM "alerts"');
  alertEvents = (s[0]?.values ?? []).map((row) => Object.fromEntries(s[0]!.columns.map((c, i) => [c, row[i]])));
}

/** What is wrong with one query's result, measured against its recorded expectation. */
function problems(run: Run, e: QueryExpectation, b: Bindings, d: Dashboard): string[] {
  const out: string[] = [];
  const series = run.result;
  let wantData = true;
  for (const [name, allowed] of Object.entries(e.when ?? {})) {
    if (!bound(b, name, d).some((v) => allowed.includes(v))) wantData = false;
  }
  if (e.alerts) {
    const matching = alertEvents.filter((ev) =>
      Object.entries(e.alerts!).every(([tag, variable]) => bound(b, variable, d).includes(String(ev[tag]))),
    );
    if (matching.length === 0) wantData = false;
  }
  if (!wantData) {
    if (series.length > 0) out.push(`expected no data, got ${series.length} series`);
    return out;
  }
  if (series.length === 0) return e.mayBeEmpty ? [] : ['expected data, got none'];
  for (const s of series) {
    const cols = s.columns.slice(1);
    if (s.columns[0] !== 'time' && !e.show) out.push(`first column ${s.columns[0]}`);
    if (e.show) {
      if (JSON.stringify(s.columns) !== JSON.stringify(e.columns)) out.push(`columns ${s.columns} ≠ ${e.columns}`);
    } else if (e.columnsMatch) {
      if (cols.length === 0 || !cols.every((c) => new RegExp(e.columnsMatch!).test(c)))
        out.push(`columns ${cols} do not all match /${e.columnsMatch}/`);
    } else if (JSON.stringify(cols) !== JSON.stringify(e.columns)) out.push(`columns ${cols} ≠ ${e.columns}`);
    const tags = Object.keys(s.tags ?? {}).sort();
    if (JSON.stringify(tags) !== JSON.stringify([...e.tags].sort())) out.push(`tags ${tags} ≠ ${e.tags}`);
    if (s.values.length === 0) out.push('a series without rows');
    const allNull = (i: number): boolean => s.values.every((row) => row[i + 1] === null);
    if (e.columnsMatch) {
      // Selected by regex: every field of that name in the measurement, some null for this section.
      if (cols.every((_, i) => allNull(i))) out.push(`every column is null in ${JSON.stringify(s.tags ?? {})}`);
    } else if (!e.show) {
      cols.forEach((c, i) => {
        if (allNull(i) && !e.mayBeNull?.includes(c)) out.push(`column ${c} is null in every row of ${JSON.stringify(s.tags ?? {})}`);
      });
    }
  }
  const want = expectedTagValues(e, b, d);
  if (want && e.series) {
    const got = [...new Set(series.map((s) => s.tags?.[e.series!.tag] ?? '?'))].sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`series ${e.series.tag} = ${got} ≠ ${want}`);
  }
  return out;
}

async function checkDashboard(uid: string, given: Bindings): Promise<Run[]> {
  const d = dash(uid);
  // As Grafana does on load: the query variables' values first, for what 'All' means.
  const b = await withQueriedOptions(d, given, async (q) => rowsOf(await influx.query(q)).map((r) => String(r.value)));
  const runs = await runAll(uid, b);
  const exp = expectations.get(uid)!;
  const failures: string[] = [];
  for (const r of runs) {
    const e = exp.get(r.key);
    if (!e) {
      failures.push(`${r.key}: no expectation`);
      continue;
    }
    for (const p of problems(r, e, b, d))
      failures.push(`${uid} ${r.key} "${r.title}" ${JSON.stringify(b.variables)}: ${p}\n    ${r.query.slice(0, 300)}`);
  }
  expect(failures).toEqual([]);
  expect(runs.length).toBeGreaterThan(0);
  return runs;
}

const rowsOf = (r: QueryResult[]): Array<Record<string, unknown>> =>
  r.flatMap((s) => s.values.map((v) => ({ ...(s.tags ?? {}), ...Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) })));

const panelRun = (runs: Run[], d: Dashboard, match: (p: Panel) => boolean, refId?: string): Run => {
  const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
  const p = flat(d.panels).find(match);
  if (!p) throw new Error('no such panel');
  const run = runs.find((r) => r.key.startsWith(`panel/${p.id}/`) && (!refId || r.key.endsWith(`/${refId}`)));
  if (!run) throw new Error(`no run for panel ${p.title}`);
  return run;
};

// ---------------------------------------------------------------------------------------------

describe('every dashboard query against InfluxDB filled by the pipeline', () => {
  it('the pipeline produced what the dashboards read: readings, alert events, health points', async () => {
    await loadAlertEvents();
    expect(alertEvents.length).toBeGreaterThan(0);
    expect(alertEvents.some((e) => e.station === 'ziyang-city' && e.parameter === 'NH3N' && e.state === 'firing')).toBe(true);
    // The maintenance-flagged 2.5 mg/L at Hongyuan raised nothing by itself: its first firing comes with the plume.
    const hongyuanFirst = alertEvents
      .filter((e) => e.station === 'hongyuan' && e.parameter === 'NH3N' && e.period === 'rt')
      .map((e) => e.time as number);
    expect(Math.min(...hongyuanFirst)).toBeGreaterThanOrEqual(t0 + PLUME.hongyuan![0] * SLOT);
  });

  it('basin overview', async () => {
    await loadAlertEvents();
    const b = bindings({ period: 'rt' });
    const runs = await checkDashboard('tj-basin-overview', b);
    const d = dash('tj-basin-overview');

    // The map's class of each section: the class of its latest valid hour (single factor, GB 3838).
    const classes = rowsOf(panelRun(runs, d, (p) => p.type === 'geomap', 'W').result);
    for (const s of waterIds) {
      const latest = [...hourlyMeans('water', s)]
        .filter(([h, m]) => h >= b.to - 86_400_000 && classOfMeans(m) !== null)
        .sort((x, y) => y[0] - x[0])[0];
      expect(classes.find((c) => c.station === s)?.class ?? null, s).toBe(latest ? classOfMeans(latest[1]) : null);
    }
    // Gongchengpu reports every 20 min: 30 minutes an hour, never a valid hour, never a class.
    expect(classes.some((c) => c.station === 'gongchengpu')).toBe(false);
    expect(classes.length).toBeGreaterThanOrEqual(5);
    // The map's AQI: each air station's latest hourly AQI.
    const aqis = rowsOf(panelRun(runs, d, (p) => p.type === 'geomap', 'A').result);
    for (const s of airIds) {
      const latest = [...hourlyMeans('air', s)]
        .map(([h, m]) => [h, aqiOf(m, h, 'hourly')] as const)
        .filter(([h, a]) => h >= b.to - 86_400_000 && a !== null)
        .sort((x, y) => y[0] - x[0])[0];
      expect(aqis.find((c) => c.station === s)?.aqi ?? null, s).toBe(latest?.[1] ?? null);
    }

    // Alerts firing now: exactly the keys whose latest event is a firing or reminder.
    const firing = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Alerts firing')).result)
      .map((r) => `${r.station}/${r.parameter}/${r.rule}/${r.period}`)
      .sort();
    const latest = new Map<string, Record<string, unknown>>();
    for (const e of [...alertEvents].sort((x, y) => (x.time as number) - (y.time as number)))
      latest.set(`${e.station}/${e.parameter}/${e.rule}/${e.period}`, e);
    const expected = [...latest]
      .filter(([, e]) => e.kind === 'firing' || e.kind === 'reminder')
      .map(([k]) => k)
      .sort();
    expect(firing).toEqual(expected);
    expect(firing).toContain('ziyang-city/NH3N/limit/rt');
    expect(firing).not.toContain('hongyuan/NH3N/limit/rt');

    // Latest values keep their own time; only values inside the last 2 h of the range are current.
    const latestRows = (prefix: string, param: string) =>
      rowsOf(
        runs.find((r) => r.key === `panel/${flatFind(d, (p) => p.title.startsWith('Latest value per section')).id}/${prefix}_${param}`)!
          .result,
      );
    for (const s of waterIds) {
      for (const param of ['NH3N', 'turb']) {
        const last = published
          .filter((r) => r.station === s && r.period === 'rt' && r.values[param] !== undefined)
          .sort((x, y) => y.ts - x.ts)[0]!;
        expect(
          latestRows('V', param).find((r) => r.station === s),
          `${s} ${param}`,
        ).toMatchObject({ time: last.ts, [param]: stored(s, param, last.values[param]!) });
        const current = latestRows('C', param).find((r) => r.station === s);
        if (b.to - last.ts <= 2 * 3_600_000) expect(current, `${s} ${param}`).toMatchObject({ time: last.ts, current: 1 });
        else expect(current, `${s} ${param}`).toBeUndefined();
      }
    }
    expect(latestRows('C', 'turb').some((r) => r.station === 'huaikou')).toBe(false);
    expect(latestRows('C', 'NH3N').some((r) => r.station === 'huaikou')).toBe(true);

    // Completeness: valid 10-min slots of the hours in the range over 6 an hour for the whole range
    // (from ${__from}/${__to}: Grafana fills no $__range_s for InfluxQL); Gongchengpu reports every other slot.
    const rangeH = (b.to - b.from) / 3_600_000;
    const comp = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Water sections')).result);
    for (const s of waterIds) {
      const slots = new Set(
        published
          .filter(
            (r) =>
              r.station === s &&
              r.period === 'rt' &&
              Math.floor(r.ts / 3_600_000) * 3_600_000 >= b.from &&
              r.values.NH3N !== undefined &&
              (r.flags.NH3N ?? 'N') === 'N',
          )
          .map((r) => Math.floor(r.ts / SLOT)),
      ).size;
      expect(comp.find((c) => c.station === s)?.NH3N, s).toBeCloseTo((slots * 100) / (6 * rangeH), 6);
    }
    expect(comp.find((c) => c.station === 'gongchengpu')!.NH3N as number).toBeLessThan(
      (comp.find((c) => c.station === 'hongyuan')!.NH3N as number) * 0.6,
    );
  });

  it('section detail: limit lines, class over time, flags, annotations', async () => {
    await loadAlertEvents();
    for (const station of ['shiqiao', 'ziyang-city', 'gongchengpu', 'huaikou']) {
      const b = bindings({ station, period: 'rt' });
      const runs = await checkDashboard('tj-section-detail', b);
      const d = dash('tj-section-detail');
      const s = registry.get(station)!;

      // Every limit line drawn is the limit the alert checks use for this section.
      for (const param of parametersOf('water').map((p) => p.key)) {
        const p = (x: Panel) => x.type === 'timeseries' && x.targets?.[0]?.query.startsWith(`SELECT mean("${param}")`) === true;
        const lines = runs.filter((r) => r.key.startsWith(`panel/${flatFind(d, p).id}/L`)).flatMap((r) => rowsOf(r.result));
        const lim = limitFor(stationProfile(thresholds, s), s, param, Date.now(), 'rt');
        if (!lim) {
          expect(lines, `${station} ${param}`).toEqual([]);
          continue;
        }
        expect(lines.length, `${station} ${param}`).toBeGreaterThan(0);
        const want = lim.limit.kind === 'range' ? { limit_min: lim.limit.min, limit_max: lim.limit.max } : { limit: lim.limit.value };
        for (const row of lines) expect(row, `${station} ${param}`).toMatchObject(want);
      }
      if (station === 'shiqiao') {
        const nh3n = runs
          .filter((r) => r.key.startsWith(`panel/${flatFind(d, (x) => x.title.includes('(NH3N')).id}/L`))
          .flatMap((r) => rowsOf(r.result));
        expect(new Set(nh3n.map((r) => r.limit))).toEqual(new Set([0.8]));
      }

      // The class of each hour is waterClass() of the hour's means of valid values (45 minutes or more).
      const cls = rowsOf(panelRun(runs, d, (x) => x.type === 'state-timeline').result);
      const mine = published.filter((r) => r.station === station && r.period === 'rt');
      const wantHours = [...hourlyMeans('water', station)]
        .filter(([h, m]) => h >= b.from && classOfMeans(m) !== null)
        .map(([h, m]) => ({ time: h, class: classOfMeans(m) }));
      expect(cls.map((c) => ({ time: c.time, class: c.class }))).toEqual(wantHours.sort((x, y) => x.time - y.time));
      if (station === 'gongchengpu') expect(cls).toEqual([]);
      else expect(cls.length).toBeGreaterThan(0);

      // Flags: every reading flagged something other than N, with the flag.
      const flags = rowsOf(panelRun(runs, d, (x) => x.title.startsWith('Quality flags')).result);
      expect(flags.map((f) => f.time).sort()).toEqual(
        mine
          .filter((r) => Object.keys(r.flags).length > 0)
          .map((r) => r.ts)
          .sort(),
      );
      expect(flags.every((f) => f.TP_flag === 'C' || f.NH3N_flag === 'M')).toBe(true);

      // Annotations: this section's alert events; the threshold change of the defaults everywhere.
      const alerts = rowsOf(runs.find((r) => r.key === 'annotation/Alerts 告警')!.result);
      expect(alerts.length).toBe(
        alertEvents.filter((e) => e.station === station && (e.time as number) >= b.from && (e.time as number) <= b.to).length,
      );
      const changes = rowsOf(runs.find((r) => r.key === 'annotation/Threshold changes 阈值变更')!.result);
      expect(changes).toEqual([
        expect.objectContaining({ summary: '收紧 NH3N tightened', version: '2', change: 'tighten', scope: 'defaults' }),
      ]);
    }
  });

  it('upstream → downstream: the plume reaches the sections in river order', async () => {
    await loadAlertEvents();
    for (const parameter of ['NH3N', 'DO']) {
      const runs = await checkDashboard('tj-upstream-downstream', bindings({ parameter, period: 'rt' }));
      const d = dash('tj-upstream-downstream');
      if (parameter !== 'NH3N') continue;
      const peaks = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Highest')).result);
      const order = ['hongyuan', 'shiqiao', 'linjiangsi', 'ziyang-city'].map((s) => peaks.find((p) => p.station === s)!.time as number);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(order.map((t) => (t - t0) / SLOT)).toEqual(['hongyuan', 'shiqiao', 'linjiangsi', 'ziyang-city'].map((s) => PLUME[s]![2]));
      // The plume timeline: each section's GB 3838 class of its hourly NH3-N mean, as paramClass() has it.
      const plume = runs
        .filter((r) => r.key.startsWith(`panel/${flatFind(d, (p) => p.type === 'state-timeline').id}/`))
        .flatMap((r) => rowsOf(r.result));
      const want = waterIds.flatMap((s) =>
        [...hourlyMeans('water', s)]
          .filter(([h, m]) => h >= bindings({}).from && m.NH3N !== undefined)
          .map(([h, m]) => ({ station: s, time: h, class: CLASS_ORDER.indexOf(paramClass('NH3N', m.NH3N!, 'river')!) + 1 })),
      );
      expect(plume.map((p) => ({ station: p.station, time: p.time, class: p.class })).sort(byStationTime)).toEqual(
        want.sort(byStationTime),
      );
      // The plume's hours at 2.1–3.2 mg/L at Hongyuan, Shiqiao or Linjiangsi are 劣V.
      expect(new Set(plume.map((p) => p.class))).toContain(CLASS_ORDER.indexOf('劣V') + 1);
      // One limit line per group of sections sharing a limit: 1.0 (GB 3838 III) and Shiqiao's 0.8.
      const along = panelRun(runs, d, (p) => p.type === 'timeseries');
      const lines = runs.filter((r) => r.key.startsWith(along.key.replace(/\/A$/, '/L_'))).flatMap((r) => rowsOf(r.result));
      expect(new Set(lines.map((l) => l.limit))).toEqual(new Set([1, 0.8]));
    }
  });

  it('air: hourly AQI by station and city from the aggregates equals computeAqi of the hourly means', async () => {
    for (const variables of [
      { city: '$__all', station: '$__all', period: 'rt' },
      { city: ['ziyang'], station: '$__all', period: 'rt' },
    ]) {
      const b = bindings(variables);
      const runs = await checkDashboard('tj-air', b);
      const d = dash('tj-air');
      const aqi = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Hourly AQI by station'), 'S').result);
      const stations = airIds.filter((s) => bound(b, 'city', d).includes(registry.get(s)!.city));
      const expected = stations
        .flatMap((s) =>
          [...hourlyMeans('air', s)].filter(([h]) => h >= b.from).map(([h, m]) => ({ station: s, time: h, aqi: aqiOf(m, h, 'hourly') })),
        )
        .filter((x) => x.aqi !== null);
      expect(aqi.map((a) => ({ station: a.station, time: a.time, aqi: a.aqi })).sort(byStationTime)).toEqual(expected.sort(byStationTime));
      expect(aqi.length).toBeGreaterThan(0);
      // City AQI: from the mean of the city's stations' hourly means.
      const city = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Hourly AQI by city'), 'C').result);
      for (const c of bound(b, 'city', d)) {
        const members = airIds.filter((s) => registry.get(s)!.city === c).map((s) => hourlyMeans('air', s));
        const hours = [...new Set(members.flatMap((m) => [...m.keys()]))].filter((h) => h >= b.from);
        for (const h of hours) {
          const means: Record<string, number> = {};
          for (const p of ['SO2', 'NO2', 'PM10', 'CO', 'O3', 'PM2_5']) {
            const vs = members.map((m) => m.get(h)?.[p]).filter((v): v is number => v !== undefined);
            if (vs.length) means[p] = exactMean(vs)!;
          }
          expect(city.find((x) => x.city === c && x.time === h)?.aqi ?? null, `${c} ${new Date(h).toISOString()}`).toBe(
            aqiOf(means, h, 'hourly'),
          );
        }
      }
    }
  });

  it("water assessment: the known month's class against the target, exceedances, the boundary, completeness", async () => {
    const b: Bindings = {
      from: month.start,
      to: month.end - 1,
      intervalMs: 3_600_000,
      variables: { station: '$__all', parameter: 'NH3N', completeness_target: '90' },
    };
    const runs = await checkDashboard('tj-water-assessment', b);
    const d = dash('tj-water-assessment');
    const days = Math.round((month.end - month.start) / 86_400_000);
    // Monthly class vs target: Hongyuan IV (NH3-N 1.2) fails III; Linjiangsi and Ziyang city II meet it.
    const monthly = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Monthly assessment')).result);
    expect(monthly.map((r) => r.station).sort()).toEqual(['hongyuan', 'linjiangsi', 'ziyang-city']);
    expect(monthly.every((r) => r.time === month.start)).toBe(true);
    const hong = monthly.find((r) => r.station === 'hongyuan')!;
    expect(hong).toMatchObject({ class: 4, target: 3, meets: 0, deciding: 'NH3N', days });
    // One day at 23 × 1.2 + 2.5 over 24 hours; the month's mean of the daily means.
    expect(hong.NH3N as number).toBeCloseTo((1.2 * (days - 1) + (23 * 1.2 + 2.5) / 24) / days, 4);
    expect(monthly.find((r) => r.station === 'linjiangsi')).toMatchObject({
      class: 2,
      target: 3,
      meets: 1,
      deciding: 'DO,CODMn,NH3N,TP',
      days,
      NH3N: 0.4,
    });
    expect(monthly.find((r) => r.station === 'ziyang-city')).toMatchObject({ class: 2, meets: 1, days: days - MISSING_DAYS.size });
    // As the analyst reads the table: names, class labels, 达标 / 不达标, the month.
    const monthlyPanel = flatFind(d, (p) => p.title.startsWith('Monthly assessment'));
    const shown = renderTable(
      monthlyPanel,
      monthly.sort((x, y) => String(x.station).localeCompare(String(y.station))),
      ['Time', 'station', 'class', 'target', 'meets', 'deciding', 'days', 'NH3N'],
    );
    rendered.push(shown.text);
    expect(shown.columns).toEqual([
      'Time',
      'station',
      '水质类别 class',
      '目标 target',
      '达标 meets',
      '定类指标 deciding items',
      '有效天数 valid days',
      '氨氮 NH3N',
    ]);
    const monthText = new Date(month.start + 8 * 3_600_000).toISOString().slice(0, 7);
    expect(shown.rows[0]).toEqual([
      monthText,
      'km 052 宏缘 Hongyuan',
      'IV Lightly polluted 轻度污染',
      'III Good 良好',
      '不达标 fails target',
      'NH3N',
      String(days),
      (hong.NH3N as number).toFixed(3),
    ]);
    expect(shown.rows[1]!.slice(1, 5)).toEqual([
      'km 096 临江寺 Linjiangsi ◆ boundary 界',
      'II Excellent 优',
      'III Good 良好',
      '达标 meets target',
    ]);
    // The year holds the month (nothing else of this year reaches 18 valid hours a day); its point sits at the year's start.
    const yearRuns = await checkDashboard('tj-water-assessment', { ...b, from: windowOf('year', month.start).start });
    const annual = rowsOf(panelRun(yearRuns, d, (p) => p.title.startsWith('Annual assessment')).result);
    expect(annual.find((r) => r.station === 'hongyuan')).toMatchObject({ class: 4, meets: 0, deciding: 'NH3N' });
    // Exceedances: every one of Hongyuan's hours is over 1.0; the largest 超标倍数 is 2.5's, 1.5.
    const hours = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Hours over')).result);
    expect(hours.find((r) => r.station === 'hongyuan')).toMatchObject({ NH3N: days * 24, TP: 0, DO: 0, pH: 0, CODMn: 0 });
    expect(hours.find((r) => r.station === 'linjiangsi')).toMatchObject({ NH3N: 0 });
    const multiples = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Largest')).result);
    expect(multiples.find((r) => r.station === 'hongyuan')).toMatchObject({ NH3N: 1.5 });
    expect(multiples.find((r) => r.station === 'linjiangsi')?.NH3N ?? null).toBeNull();
    const perMonth = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Monthly exceedances')).result);
    expect(perMonth.find((r) => r.station === 'hongyuan')).toMatchObject({ exceed: days * 24, multiple: 1.5, time: month.start });
    // Upstream → downstream: one row per section that has data, ordered by the km its daily points
    // carry (the table sorts by it), the boundary's label marked.
    const alongPanel = flatFind(d, (p) => p.title.includes('upstream → downstream 沿程均值'));
    const along = rowsOf(panelRun(runs, d, (p) => p.id === alongPanel.id).result).sort((x, y) => (x.km as number) - (y.km as number));
    expect(along.map((r) => [r.station, r.km])).toEqual(
      ['hongyuan', 'linjiangsi', 'ziyang-city'].map((id) => [id, registry.get(id)!.river_km]),
    );
    expect(along.find((r) => r.station === 'linjiangsi')!.mean).toBeCloseTo(0.4, 6);
    expect(along.find((r) => r.station === 'hongyuan')!.mean as number).toBeGreaterThan(1.2);
    const alongShown = renderTable(alongPanel, along, ['station', 'km', 'mean']);
    rendered.push(alongShown.text);
    expect(alongShown.columns).toEqual(['断面 section', 'km', '均值 mean']);
    expect(alongShown.rows.map((r) => r[0])).toEqual([
      'km 052 宏缘 Hongyuan',
      'km 096 临江寺 Linjiangsi ◆ boundary 界',
      'km 112 资阳城区 Ziyang city',
    ]);
    // Completeness: Ziyang city lost 5 days, the others none; only it is below 90 %.
    const compMonthly = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Monthly completeness')).result);
    expect(compMonthly.find((r) => r.station === 'hongyuan')?.completeness).toBeCloseTo(100, 6);
    expect(compMonthly.find((r) => r.station === 'ziyang-city')?.completeness).toBeCloseTo(((days - MISSING_DAYS.size) * 100) / days, 6);
    const below = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Stations below target')).result);
    expect(below.map((r) => r.station)).toEqual(['ziyang-city']);
    const daily = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Daily completeness')).result).filter(
      (r) => r.station === 'ziyang-city',
    );
    expect(daily).toHaveLength(days - MISSING_DAYS.size);
    expect(daily.every((r) => r.completeness === 100)).toBe(true);
  });

  it("air assessment: the known month's daily AQI, good-day ratio and primary pollutant", async () => {
    const b: Bindings = {
      from: month.start,
      to: month.end - 1,
      intervalMs: 3_600_000,
      variables: { city: '$__all', station: '$__all', completeness_target: '90' },
    };
    const runs = await checkDashboard('tj-air-assessment', b);
    const d = dash('tj-air-assessment');
    const days = Math.round((month.end - month.start) / 86_400_000);
    const polluted = days - POLLUTED_FROM_DAY + 1;
    const dayAqi = (v: typeof CLEAN_AIR) =>
      computeAqi(
        { PM2_5_24h: v.PM2_5, PM10_24h: v.PM10, SO2_24h: v.SO2, NO2_24h: v.NO2, CO_24h: v.CO, O3_8h: v.O3 },
        { date: new Date(month.start), mode: 'daily' },
      );
    expect(dayAqi(CLEAN_AIR).aqi).toBeLessThanOrEqual(100);
    expect(dayAqi(POLLUTED_AIR).aqi).toBeGreaterThan(100);
    // The calendar: Ziyang's daily AQI, every day of the month, clean then polluted.
    const cal = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Daily AQI by city')).result)
      .filter((r) => r.city === 'ziyang')
      .sort((x, y) => (x.time as number) - (y.time as number));
    expect(cal.map((r) => r.aqi)).toEqual(
      Array.from({ length: days }, (_, i) => (i + 1 >= POLLUTED_FROM_DAY ? dayAqi(POLLUTED_AIR).aqi : dayAqi(CLEAN_AIR).aqi)),
    );
    // 优良天数比例: 24 good days of the month's days with an AQI.
    const ratio = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('优良天数比例 Good-day ratio per month, by city')).result);
    const ziyang = ratio.find((r) => r.city === 'ziyang')!;
    expect(ziyang).toMatchObject({ good_days: POLLUTED_FROM_DAY - 1, valid_days: days, time: month.start });
    expect(ziyang.PM2_5 as number).toBeCloseTo((30 * (POLLUTED_FROM_DAY - 1) + 100 * polluted) / days, 3);
    expect(ziyang.good_ratio).toBeCloseTo(((POLLUTED_FROM_DAY - 1) * 100) / days, 3);
    const ratioShown = renderTable(
      flatFind(d, (p) => p.title.startsWith('优良天数比例 Good-day ratio per month, by city')),
      ratio,
      ['Time', 'city', 'good_ratio', 'good_days', 'valid_days', 'PM2_5'],
    );
    rendered.push(ratioShown.text);
    expect(ratioShown.columns).toEqual([
      'Time',
      'city',
      '优良天数比例 good-day ratio',
      '优良天数 good days',
      '有效天数 valid days',
      'PM2.5 均值 mean',
    ]);
    expect(ratioShown.rows.find((r) => r[1] === '资阳市 Ziyang')!.slice(2, 5)).toEqual([
      (((POLLUTED_FROM_DAY - 1) * 100) / days).toFixed(1),
      String(POLLUTED_FROM_DAY - 1),
      String(days),
    ]);
    const byStation = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('优良天数比例 Good-day ratio per month, by station')).result);
    expect(
      byStation
        .filter((r) => r.time === month.start)
        .map((r) => [r.station, r.good_days])
        .sort(),
    ).toEqual([
      ['ziyang-shijian', POLLUTED_FROM_DAY - 1],
      ['ziyang-yanjiang', POLLUTED_FROM_DAY - 1],
    ]);
    // Days by primary pollutant: the polluted days, PM2.5 each (clean days have AQI ≤ 50: no primary).
    const primary = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Days by primary')).result).find((r) => r.city === 'ziyang')!;
    expect(dayAqi(CLEAN_AIR).aqi).toBeLessThanOrEqual(50);
    expect(primary).toMatchObject({ PM2_5: polluted, PM10: 0, O3: 0, NO2: 0, SO2: 0, CO: 0 });
    const levels = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Days by category')).result).find((r) => r.city === 'ziyang')!;
    expect(levels[`level_${dayAqi(CLEAN_AIR).level}`]).toBe(POLLUTED_FROM_DAY - 1);
    expect(levels[`level_${dayAqi(POLLUTED_AIR).level}`]).toBe(polluted);
    // Completeness: one reading an hour, as the registry expects of an air station: 100 %.
    const comp = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Monthly completeness')).result).filter((r) => r.time === month.start);
    expect(comp.map((r) => [r.station, r.completeness])).toEqual([
      ['ziyang-shijian', 100],
      ['ziyang-yanjiang', 100],
    ]);
  });

  it("pipeline health, from the health reporters' points", async () => {
    await loadAlertEvents();
    const b = { ...bindings({ service: '$__all', instance: '$__all' }, 1000) };
    const runs = await checkDashboard('tj-pipeline-health', b);
    const d = dash('tj-pipeline-health');
    const services = rowsOf(runs.find((r) => r.key === 'variable/service')!.result).map((r) => r.value);
    expect(services).toEqual(['alerts', 'ingest']);
    const totals = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Totals')).result);
    expect(totals).toEqual([expect.objectContaining({ instance: 'ingest-test' })]);
    const events = rowsOf(panelRun(runs, d, (p) => p.title.startsWith('Alert events')).result);
    expect(events.reduce((a, r) => a + (r.events as number), 0)).toBe(
      alertEvents.filter((e) => (e.time as number) >= b.from && (e.time as number) <= b.to).length,
    );
  });
});

describe('health reporter against InfluxDB', () => {
  it('writes the sampled counters as floats, tagged by service and instance, and once more on stop', async () => {
    let n = 0;
    const r = startHealthReporter({
      influx,
      service: 'notify',
      instance: 'n1',
      intervalMs: 50,
      sample: async () => ({ emails_sent: ++n, emails_failed: 0, bogus: Number.NaN }),
    });
    await waitFor(
      async () =>
        Number(
          (await influx.query(`SELECT count("emails_sent") FROM "pipeline_health" WHERE "instance" = 'n1'`))[0]?.values[0]?.[1] ?? 0,
        ) >= 3,
      10_000,
      'three samples',
    );
    await r.stop();
    const after = n;
    const rows = rowsOf(await influx.query(`SELECT * FROM "pipeline_health" WHERE "instance" = 'n1'`));
    expect(rows.at(-1)).toMatchObject({ service: 'notify', instance: 'n1', emails_sent: after, emails_failed: 0 });
    expect(Object.keys(rows[0]!)).not.toContain('bogus');
    // Floats: an integer-looking first value must not make the field an integer (which would refuse 1.5 later).
    await influx.writeLines([
      encodePoint({
        measurement: 'pipeline_health',
        tags: { service: 'notify', instance: 'n1' },
        fields: { emails_sent: 1.5 },
        ts: Date.now(),
      }),
    ]);
    // Stopped is stopped: a second stop samples nothing more.
    await r.stop();
    expect(n).toBe(after);
  });

  it('an unreachable InfluxDB is reported through onError, never thrown, and the next tick tries again', async () => {
    const errors: unknown[] = [];
    const down = new InfluxClient({ url: 'http://127.0.0.1:9', database: 'x', timeoutMs: 500 });
    const r = startHealthReporter({
      influx: down,
      service: 's',
      instance: 'i',
      intervalMs: 30,
      sample: async () => ({ readings_in: 1 }),
      onError: (e) => errors.push(e),
    });
    await waitFor(() => errors.length >= 2, 10_000, 'two failed writes');
    await r.stop();
    expect((errors[0] as { code?: string }).code).toBe('TJ_INFLUX_UNAVAILABLE');
  });
});

// ---------------------------------------------------------------------------------------------

function flatFind(d: Dashboard, match: (p: Panel) => boolean): Panel {
  const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
  const p = flat(d.panels).find(match);
  if (!p) throw new Error('no such panel');
  return p;
}

/** The value as the ingest stores it: a logger declared to send µg/L (Gongchengpu's NH3-N) is stored in mg/L. */
function stored(station: string, param: string, value: number): number {
  return registry.get(station)?.units?.[param] === 'µg/L' ? value / 1000 : value;
}

function aqiOf(values: Record<string, number>, ts: number, mode: 'hourly' | 'daily'): number | null {
  const suffix = mode === 'hourly' ? '1h' : '24h';
  const inputs: AqiInputs = {};
  for (const [k, v] of Object.entries(values)) {
    const key = (k === 'O3' && mode === 'daily' ? 'O3_8h' : `${k}_${suffix}`) as keyof AqiInputs;
    inputs[key] = v;
  }
  return computeAqi(inputs, { date: new Date(ts), mode }).aqi;
}

/**
 * Reference hourly means, made here from the published readings: per hour, each parameter's
 * values flagged N (as stored), kept when they fill at least 45 minutes of the station's
 * reporting slots (water 10 min, air 1 h: the registry's defaults).
 */
function hourlyMeans(kind: 'water' | 'air', station: string): Map<number, Record<string, number>> {
  const slotMs = kind === 'water' ? 600_000 : 3_600_000;
  const byHour = new Map<number, Published[]>();
  for (const r of published.filter((x) => x.station === station && x.period === 'rt')) {
    const h = Math.floor(r.ts / 3_600_000) * 3_600_000;
    byHour.set(h, [...(byHour.get(h) ?? []), r]);
  }
  const out = new Map<number, Record<string, number>>();
  for (const [h, rs] of byHour) {
    const means: Record<string, number> = {};
    const params = new Set(rs.flatMap((r) => Object.keys(r.values)));
    for (const p of params) {
      const valid = rs.filter((r) => r.values[p] !== undefined && (r.flags[p] ?? 'N') === 'N');
      const slots = new Set(valid.map((r) => Math.floor(r.ts / slotMs))).size;
      if ((slots * slotMs) / 60_000 >= 45) means[p] = exactMean(valid.map((r) => stored(station, p, r.values[p]!)))!;
    }
    out.set(h, means);
  }
  return out;
}

function classOfMeans(means: Record<string, number>): number | null {
  const reference = thresholds.config.defaults.rules.water_class.reference_items;
  const c: WaterClass | null = waterClass(means, { waterbody: 'river', policy: { referenceItems: reference } }).class;
  return c === null ? null : CLASS_ORDER.indexOf(c) + 1;
}

function byStationTime(a: { station: unknown; time: unknown }, b: { station: unknown; time: unknown }): number {
  return String(a.station).localeCompare(String(b.station)) || (a.time as number) - (b.time as number);
}
