/**
 * Dashboards at scale (npm run bench:dashboards): 200 stations (the registry's 11 and 189 more,
 * half water, half air) with a year of hourly aggregates — and the days, months, years and cities
 * made from them with the pipeline's own functions — written to InfluxDB in bulk, plus a month of
 * raw minute readings of 20 stations through line protocol. Then every query of every dashboard,
 * built for that registry, runs with its dashboard's default time range and variables, the macros
 * filled as Grafana fills them; per panel (its targets one after the other) p50, p99 and max over
 * BENCH_RUNS runs (default 10). Prints numbers, asserts none; flags panels over 1 s.
 * A real InfluxDB on a free loopback port; it stops by itself.
 */
import { loadavg } from 'node:os';
import {
  cityFields,
  cityPeriodFields,
  dayFields,
  hourFields,
  periodFields,
  type AggregateRow,
  type Fields,
  type StationBasis,
} from '../../aggregates/compute.js';
import { intervalOf } from '../../aggregates/aggregator.js';
import { aggregateMeasurement, cityMeasurement } from '../../aggregates/measurements.js';
import { DAY_MS, HOUR_MS, windowOf } from '../../aggregates/windows.js';
import { loadThresholdsFile, stationProfile } from '../../alerts/thresholds.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import type { StationConfig } from '../../config/schema.js';
import { contextFromConfig } from '../../dashboards/context.js';
import { buildDashboards } from '../../dashboards/generate.js';
import { panelInterval, resolveRelative } from '../../dashboards/grafana-time.js';
import type { Panel } from '../../dashboards/model.js';
import { interpolate, withQueriedOptions, type Bindings } from '../../dashboards/queries.js';
import { readingToPoint } from '../../ingest/reading-to-point.js';
import { InfluxClient } from '../../lib/influx/client.js';
import { encodePoint } from '../../lib/influx/line-protocol.js';
import { startServices } from '../../devtools/local-services/index.js';
import { StationRegistry } from '../../config/station-registry.js';

const STATIONS = Number(process.env.BENCH_STATIONS ?? 200);
const RAW_STATIONS = Number(process.env.BENCH_RAW_STATIONS ?? 20);
const DAYS = Number(process.env.BENCH_DAYS ?? 365);
const RAW_DAYS = Number(process.env.BENCH_RAW_DAYS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);

function registryOf(base: LoadedConfig): LoadedConfig {
  const stations: StationConfig[] = [...base.registry.stations];
  for (let i = stations.length; i < STATIONS; i++) {
    const water = i % 2 === 0;
    const template = base.registry.stations.find((s) => s.kind === (water ? 'water' : 'air'))!;
    stations.push({
      ...template,
      id: `${water ? 'w' : 'a'}-${String(i).padStart(3, '0')}`,
      name: { zh: `站${i}`, en: `Station ${i}` },
      city: i % 4 < 2 ? 'chengdu' : 'ziyang',
      mn: `BENCH${String(i).padStart(19, '0')}`,
      boundary: false,
      drinking_water_intake: false,
      ...(water ? { river_km: 130 + i } : {}),
      units: {},
    });
  }
  return { ...base, registry: { ...base.registry, stations } };
}

/** A plausible hour of a station: slow daily cycles and a random walk, now and then over class III. */
function hourValues(s: StationConfig, h: number, walk: number): Record<string, number> {
  const day = Math.sin((2 * Math.PI * (h % DAY_MS)) / DAY_MS);
  const r = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  if (s.kind === 'water') {
    return {
      temp: r(18 + 3 * day, 1),
      pH: r(7.6 + 0.2 * day),
      DO: r(7 - day),
      cond: Math.round(420 + 30 * walk),
      turb: r(12 + 5 * walk, 1),
      CODMn: r(3 + walk),
      NH3N: r(Math.max(0.05, 0.5 + 0.6 * walk)),
      TP: r(Math.max(0.01, 0.12 + 0.08 * walk), 3),
      TN: r(1.3 + 0.3 * walk),
    };
  }
  return {
    PM2_5: Math.max(1, Math.round(45 + 35 * walk + 10 * day)),
    PM10: Math.max(1, Math.round(75 + 50 * walk)),
    SO2: Math.round(10 + 3 * day),
    NO2: Math.round(35 + 10 * day),
    CO: r(0.8 + 0.2 * walk, 1),
    O3: Math.max(1, Math.round(90 + 60 * day)),
  };
}

async function main(): Promise<void> {
  const services = await startServices({ influxdb: true });
  const influx = new InfluxClient({ url: services.influxdb.url, database: 'tuojiang', timeoutMs: 600_000 });
  await influx.ensureDatabase();
  try {
    const config = registryOf(loadConfig());
    const registry = new StationRegistry(config.registry);
    const thresholds = loadThresholdsFile(`${config.dir}/thresholds.yaml`, config.registry);
    const now = Date.now();
    const end = Math.floor(now / HOUR_MS) * HOUR_MS;
    const start = end - DAYS * DAY_MS;
    let written = 0;
    let pending: string[] = [];
    const flush = async (force = false): Promise<void> => {
      if (pending.length < 20_000 && !force) return;
      const lines = pending;
      pending = [];
      for (let i = 0; i < lines.length; i += 10_000) await influx.writeLines(lines.slice(i, i + 10_000));
      written += lines.length;
    };
    const put = async (measurement: string, tags: Record<string, string>, ts: number, fields: Fields): Promise<void> => {
      pending.push(encodePoint({ measurement, tags, fields, ts }));
      await flush();
    };

    const t0 = performance.now();
    // City hourly and daily sums of the stations' means, for the cities' own aggregates.
    const cityHours = new Map<string, Map<number, AggregateRow[]>>();
    const cityDays = new Map<string, Map<number, AggregateRow[]>>();
    for (const s of registry.stations) {
      const st: StationBasis = {
        id: s.id,
        city: s.city,
        medium: s.kind,
        intervalS: intervalOf(s),
        waterbody: s.waterbody ?? 'river',
        targetClass: s.target_class,
        referenceItems: stationProfile(thresholds, s).rules.water_class.reference_items,
        riverKm: s.river_km,
      };
      const tags = { station: s.id, city: s.city };
      let walk = 0;
      const days = new Map<number, AggregateRow[]>();
      for (let h = start; h < end; h += HOUR_MS) {
        walk = Math.max(-1, Math.min(1.5, walk * 0.97 + (Math.random() - 0.5) * 0.3));
        const fields = hourFields(st, h, [{ ts: h, period: 'hour', values: hourValues(s, h, walk), flags: {} }]);
        await put(aggregateMeasurement(s.kind, 'hour'), tags, h, fields);
        const day = windowOf('day', h).start;
        days.set(day, [...(days.get(day) ?? []), { ts: h, fields }]);
        if (s.kind === 'air') {
          const byHour = cityHours.get(s.city) ?? new Map<number, AggregateRow[]>();
          const means: Fields = {};
          for (const p of ['SO2', 'NO2', 'PM10', 'CO', 'O3', 'PM2_5']) if (typeof fields[p] === 'number') means[p] = fields[p];
          byHour.set(h, [
            ...(byHour.get(h) ?? []),
            { ts: h, fields: { ...means, readings: fields.readings as number, expected: fields.expected as number } },
          ]);
          cityHours.set(s.city, byHour);
        }
      }
      const months = new Map<number, AggregateRow[]>();
      const years = new Map<number, AggregateRow[]>();
      for (const [day, hours] of days) {
        const fields = dayFields(st, day, hours, 24);
        await put(aggregateMeasurement(s.kind, 'day'), tags, day, fields);
        for (const [w, map] of [
          ['month', months],
          ['year', years],
        ] as const) {
          const k = windowOf(w, day).start;
          map.set(k, [...(map.get(k) ?? []), { ts: day, fields }]);
        }
        if (s.kind === 'air') {
          const byDay = cityDays.get(s.city) ?? new Map<number, AggregateRow[]>();
          byDay.set(day, [...(byDay.get(day) ?? []), { ts: day, fields }]);
          cityDays.set(s.city, byDay);
        }
      }
      for (const [w, map] of [
        ['month', months],
        ['year', years],
      ] as const) {
        for (const [k, rows] of map) await put(aggregateMeasurement(s.kind, w), tags, k, periodFields(st, w, k, rows, rows.length * 24));
      }
    }
    for (const [city, byHour] of cityHours)
      for (const [h, rows] of byHour) await put(cityMeasurement('hour'), { city }, h, cityFields('hour', h, rows));
    for (const [city, byDay] of cityDays) {
      const periods = new Map<string, AggregateRow[]>();
      for (const [day, rows] of byDay) {
        const fields = cityFields('day', day, rows);
        await put(cityMeasurement('day'), { city }, day, fields);
        for (const w of ['month', 'year'] as const) {
          const k = `${w}|${windowOf(w, day).start}`;
          periods.set(k, [...(periods.get(k) ?? []), { ts: day, fields }]);
        }
      }
      for (const [k, rows] of periods) {
        const [w, ts] = k.split('|') as ['month' | 'year', string];
        await put(cityMeasurement(w), { city }, Number(ts), cityPeriodFields(w, Number(ts), rows));
      }
    }
    await flush(true);
    const aggSeconds = (performance.now() - t0) / 1000;
    const aggPoints = written;

    // Raw minute readings of the first RAW_STATIONS stations (half water, half air), through line protocol.
    const t1 = performance.now();
    const raw = registry.stations.slice(0, RAW_STATIONS);
    for (const s of raw) {
      let walk = 0;
      for (let t = end - RAW_DAYS * DAY_MS; t < now; t += 60_000) {
        walk = Math.max(-1, Math.min(1.5, walk * 0.999 + (Math.random() - 0.5) * 0.02));
        pending.push(
          encodePoint(
            readingToPoint({
              station: s.id,
              city: s.city,
              medium: s.kind,
              ts: t,
              period: 'rt',
              values: hourValues(s, t, walk),
              flags: {},
              source: 'json',
            }),
          ),
        );
        await flush();
      }
    }
    await flush(true);
    const rawSeconds = (performance.now() - t1) / 1000;
    console.log(
      `data: ${registry.stations.length} stations, ${DAYS} days of hourly aggregates and their rollups: ${aggPoints.toLocaleString('en')} points in ${aggSeconds.toFixed(0)} s; ${raw.length} stations × ${RAW_DAYS} days of minute readings: ${(written - aggPoints).toLocaleString('en')} points in ${rawSeconds.toFixed(0)} s`,
    );

    // Every panel's queries with the dashboard's defaults.
    const ctx = contextFromConfig(config, new Date(now));
    const results: Array<{ dashboard: string; panel: string; queries: number; ms: number[] }> = [];
    for (const { dashboard: d } of buildDashboards(ctx)) {
      const from = resolveRelative(d.time.from, now, false);
      const to = resolveRelative(d.time.to, now, true);
      const base: Bindings = { from, to, intervalMs: panelInterval(from, to), variables: {} };
      const b = await withQueriedOptions(d, base, async (q) => (await influx.query(q)).flatMap((s) => s.values.map((v) => String(v[1]))));
      const flat = (ps: readonly Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
      for (const p of flat(d.panels).filter((x) => (x.targets ?? []).length > 0)) {
        const queries = p.targets!.map((t) => interpolate(t.query, d, b, 'panel'));
        const ms: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const s0 = performance.now();
          for (const q of queries) await influx.query(q);
          ms.push(performance.now() - s0);
        }
        results.push({ dashboard: d.uid, panel: p.title, queries: queries.length, ms });
      }
    }
    const q = (xs: number[], f: number): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.ceil(f * s.length) - 1)] as number;
    };
    console.log(`\n${RUNS} runs per panel, load average ${loadavg()[0]!.toFixed(1)} (2 cores, shared)\n`);
    console.log('| dashboard | panel | queries | p50 ms | p99 ms | max ms |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const r of results) {
      const max = Math.max(...r.ms);
      console.log(
        `| ${r.dashboard} | ${r.panel.replace(/\|/g, '/')} | ${r.queries} | ${q(r.ms, 0.5).toFixed(0)} | ${q(r.ms, 0.99).toFixed(0)} | ${max.toFixed(0)}${max > 1000 ? ' **over 1 s**' : ''} |`,
      );
    }
    const over = results.filter((r) => Math.max(...r.ms) > 1000);
    console.log(
      `\n${results.length} panels; ${over.length} over 1 s at their max${over.length ? `: ${over.map((r) => `${r.dashboard} "${r.panel}"`).join(', ')}` : ''}`,
    );
  } finally {
    await services.stopAll();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
