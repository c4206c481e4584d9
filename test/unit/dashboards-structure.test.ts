/**
 * The generated dashboards as files: up to date with the sources and config, well formed (unique
 * uids and ids, on the grid, only defined variables), bound to the provisioned data source, and
 * drawing the thresholds the alert checks use (recomputed here from alerts/thresholds.ts, not
 * taken from the generator's own helpers).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { limitFor, stationProfile, type ThresholdSet } from '../../alerts/thresholds.js';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../../config/load.js';
import { contextFromConfig, type BuildContext } from '../../dashboards/context.js';
import { DATASOURCE_UID } from '../../dashboards/datasource.js';
import { STALE_AFTER_MS } from '../../dashboards/freshness.js';
import { GENERATED_DIR, buildDashboards, generatedFiles, isFresh, readGeneratedDashboards, staleness } from '../../dashboards/generate.js';
import type { Dashboard, InfluxTarget, Panel } from '../../dashboards/model.js';
import { FILLED_MACROS, extractQueries, referencedNames } from '../../dashboards/queries.js';
import {
  AQI_CATEGORIES,
  CLASS_ORDER,
  GB3838_TABLE1,
  IAQI_BREAKPOINTS,
  aqiStandardFor,
  classLimit,
  type Limit,
} from '../../lib/standards/index.js';
import type { Period } from '../../lib/reading.js';
import type { Station } from '../../config/station-registry.js';

const PROVISIONING = join(GENERATED_DIR, '..', 'provisioning');
const flat = (ps: readonly Panel[] | undefined): Panel[] => (ps ?? []).flatMap((p) => [p, ...flat(p.panels)]);

let ctx: BuildContext;
let committed: Dashboard[];

beforeAll(async () => {
  ctx = contextFromConfig(loadConfig(DEFAULT_CONFIG_DIR));
  committed = await readGeneratedDashboards();
});

describe('generated files', () => {
  it('the committed JSON is what `npm run dashboards:build` makes from the current sources and config', async () => {
    const s = await staleness(GENERATED_DIR, generatedFiles(ctx));
    expect(s, 'dashboards/generated is stale: run `npm run dashboards:build` and commit the result').toEqual({
      missing: [],
      changed: [],
      extra: [],
    });
    expect(isFresh(s)).toBe(true);
  });

  it('generation is deterministic', () => {
    expect(generatedFiles(ctx)).toEqual(generatedFiles(contextFromConfig(loadConfig(DEFAULT_CONFIG_DIR), ctx.asOf)));
  });

  it('holds the five dashboards of issue 5 and the two assessment dashboards of issue 13', () => {
    expect(committed.map((d) => d.uid).sort()).toEqual([
      'tj-air',
      'tj-air-assessment',
      'tj-basin-overview',
      'tj-pipeline-health',
      'tj-section-detail',
      'tj-upstream-downstream',
      'tj-water-assessment',
    ]);
  });

  it('the gazetteer places every registered station by its id', () => {
    const gaz = JSON.parse(readFileSync(join(GENERATED_DIR, 'gazetteer', 'tuojiang-stations.json'), 'utf8')) as Array<{
      key: string;
      latitude: number;
      longitude: number;
    }>;
    expect(gaz.map((g) => g.key).sort()).toEqual(ctx.registry.stations.map((s) => s.id).sort());
    for (const s of ctx.registry.stations)
      expect(gaz.find((g) => g.key === s.id)).toMatchObject({ latitude: s.coordinates.lat, longitude: s.coordinates.lon });
  });
});

describe('structure', () => {
  it('dashboard uids are unique, and panel ids and refIds unique within a dashboard', () => {
    expect(new Set(committed.map((d) => d.uid)).size).toBe(committed.length);
    for (const d of committed) {
      const ids = flat(d.panels).map((p) => p.id);
      expect(new Set(ids).size, d.uid).toBe(ids.length);
      for (const p of flat(d.panels)) {
        const refs = (p.targets ?? []).map((t) => t.refId);
        expect(new Set(refs).size, `${d.uid} ${p.title}`).toBe(refs.length);
      }
    }
  });

  it('panels stay on the 24-column grid and do not overlap', () => {
    for (const d of committed) {
      for (const group of [d.panels, ...d.panels.filter((p) => p.collapsed).map((p) => p.panels ?? [])]) {
        const placed = group.map((p) => ({ t: p.title, ...p.gridPos }));
        for (const a of placed) {
          expect(a.x >= 0 && a.w >= 1 && a.x + a.w <= 24 && a.h >= 1, `${d.uid} ${a.t}`).toBe(true);
          for (const b of placed) {
            if (a === b) continue;
            const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
            expect(overlap, `${d.uid}: "${a.t}" overlaps "${b.t}"`).toBe(false);
          }
        }
      }
    }
  });

  it('every panel, annotation and variable uses the data source provisioning creates, and it is InfluxQL', () => {
    const yaml = parse(readFileSync(join(PROVISIONING, 'datasources', 'tuojiang-influxdb.yaml'), 'utf8')) as {
      datasources: Array<Record<string, unknown>>;
    };
    const provisioned = new Map(yaml.datasources.map((ds) => [ds.uid as string, ds]));
    expect(provisioned.get(DATASOURCE_UID)).toMatchObject({ type: 'influxdb', jsonData: { version: 'InfluxQL', httpMode: 'POST' } });
    let refs = 0;
    for (const d of committed) {
      const used = [
        ...flat(d.panels)
          .filter((p) => p.type !== 'row' && p.type !== 'text')
          .flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t: InfluxTarget) => t.datasource)]),
        ...d.annotations.list.filter((a) => !('builtIn' in a)).map((a) => a.datasource),
        ...d.templating.list.filter((v) => v.type === 'query').map((v) => (v as { datasource: { uid: string; type: string } }).datasource),
      ];
      for (const ds of used) {
        refs++;
        expect(ds, d.uid).toBeDefined();
        expect(provisioned.get(ds!.uid), `${d.uid}: data source ${ds!.uid} is not provisioned`).toBeDefined();
        expect(ds!.type).toBe('influxdb');
      }
    }
    expect(refs).toBeGreaterThan(100);
  });

  it('provisioning takes credentials from the environment and points the provider at the generated dashboards', () => {
    const text = readFileSync(join(PROVISIONING, 'datasources', 'tuojiang-influxdb.yaml'), 'utf8');
    const ds = (parse(text) as { datasources: Array<Record<string, unknown>> }).datasources[0]!;
    expect(ds.url).toBe('$__env{INFLUX_URL}');
    expect(ds.user).toBe('$__env{INFLUX_USER}');
    expect(ds.secureJsonData).toEqual({ password: '$__env{INFLUX_PASSWORD}' });
    expect((ds.jsonData as Record<string, unknown>).dbName).toBe('$__env{INFLUX_DB}');
    const provider = (
      parse(readFileSync(join(PROVISIONING, 'dashboards', 'tuojiang.yaml'), 'utf8')) as { providers: Array<Record<string, unknown>> }
    ).providers[0]!;
    expect(provider).toMatchObject({
      type: 'file',
      folderUid: 'tuojiang',
      allowUiUpdates: false,
      options: { path: '/var/lib/grafana/dashboards/tuojiang' },
    });
  });

  it('queries use only the macros Grafana fills for InfluxQL where they sit, and the variables their dashboard defines', () => {
    for (const d of committed) {
      const defined = new Set(d.templating.list.map((v) => v.name));
      for (const q of extractQueries(d)) {
        const filled = new Set(FILLED_MACROS[q.kind]);
        for (const name of referencedNames(q.query))
          expect(filled.has(name) || (defined.has(name) && !name.startsWith('__')), `${d.uid} ${q.key}: $${name}`).toBe(true);
      }
    }
  });

  it('time series draw an outage as a gap: points further apart than the gap threshold are not joined', () => {
    let checked = 0;
    for (const d of committed) {
      for (const p of flat(d.panels).filter((x) => x.type === 'timeseries')) {
        const custom = p.fieldConfig!.defaults.custom as { insertNulls?: number | boolean; spanNulls?: number | boolean };
        // fill(none) returns only the buckets with data: without insertNulls Grafana joins across any outage.
        expect(typeof custom.insertNulls, `${d.uid} ${p.title}`).toBe('number');
        expect(custom.insertNulls as number, `${d.uid} ${p.title}`).toBeGreaterThan(0);
        // Monthly points are a month apart: a gap is a month missing.
        const monthly = (p.targets ?? []).every((t) => t.query.includes('_monthly"'));
        expect(custom.insertNulls as number, `${d.uid} ${p.title}`).toBeLessThanOrEqual(monthly ? 32 * 86_400_000 : STALE_AFTER_MS);
        expect(custom.spanNulls, `${d.uid} ${p.title}`).toBe(false);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('every query has a recorded expectation (what the query tests assert), and nothing else does', () => {
    const built = new Map(buildDashboards(ctx).map((b) => [b.dashboard.uid, b]));
    for (const d of committed) {
      const keys = extractQueries(d)
        .map((q) => q.key)
        .sort();
      expect([...(built.get(d.uid)?.expectations.keys() ?? [])].sort(), d.uid).toEqual(keys);
    }
    expect(committed.flatMap(extractQueries).length).toBeGreaterThan(100);
  });
});

/** The constant a limit target draws: `mean("x") * 0 + <limit> AS "<column>"`. */
function limitsIn(query: string): Record<string, number> {
  return Object.fromEntries([...query.matchAll(/\* 0 \+ (-?[\d.]+) AS "(limit(?:_min|_max)?)"/g)].map((m) => [m[2]!, Number(m[1])]));
}

/** The station and period sets a limit target is restricted to (none: all). */
function restriction(query: string, tag: string): string[] | undefined {
  const m = new RegExp(`"${tag}" =~ /\\^\\(([^)]*)\\)\\$/`).exec(query);
  if (m) return m[1]!.split('|');
  // Switched by the variable of that name instead ('$period' = 'rt' OR …), as on the aggregates.
  const byVariable = [...query.matchAll(new RegExp(`'\\$${tag}' = '(\\w+)'`, 'g'))].map((x) => x[1]!);
  return byVariable.length > 0 ? byVariable : undefined;
}

function expectedColumns(l: Limit): Record<string, number> {
  return l.kind === 'range' ? { limit_min: l.min, limit_max: l.max } : { limit: l.value };
}

/** The parameter a panel plots: its first target's `mean("x")`. */
function dataParam(p: Panel): string {
  return /mean\("(\w+)"\)/.exec(p.targets![0]!.query)![1]!;
}

/** For each (station, period), the limit lines a panel would draw when they are selected. */
function drawnLimits(p: Panel, station: string, period: Period, gate?: string): Array<Record<string, number>> {
  return (p.targets ?? [])
    .filter((t) => /^L/.test(t.refId))
    .filter((t) => !gate || t.query.includes(`'$parameter' = '${gate}'`))
    .filter(
      (t) =>
        (restriction(t.query, 'station') ?? [station]).includes(station) && (restriction(t.query, 'period') ?? [period]).includes(period),
    )
    .map((t) => limitsIn(t.query));
}

function checkLimits(set: ThresholdSet, dashboards: Dashboard[], asOf: Date): number {
  let checked = 0;
  const stations = ctx.registry.stations;
  const section = dashboards.find((d) => d.uid === 'tj-section-detail')!;
  const upDown = dashboards.find((d) => d.uid === 'tj-upstream-downstream')!;
  const airDash = dashboards.find((d) => d.uid === 'tj-air')!;
  const periods: Period[] = ['rt', 'min', 'hour', 'day'];
  const expectFor = (s: Station, param: string, period: Period): Array<Record<string, number>> => {
    const r = limitFor(stationProfile(set, s), s, param, asOf.getTime(), period);
    return r ? [expectedColumns(r.limit)] : [];
  };
  for (const s of stations) {
    for (const period of periods) {
      if (s.kind === 'water') {
        for (const p of flat(section.panels).filter((x) => x.type === 'timeseries')) {
          const param = dataParam(p);
          expect(drawnLimits(p, s.id, period), `section detail ${p.title} at ${s.id} ${period}`).toEqual(expectFor(s, param, period));
          checked++;
        }
        const along = flat(upDown.panels).find((x) => x.type === 'timeseries')!;
        for (const param of Object.keys(GB3838_TABLE1)) {
          expect(drawnLimits(along, s.id, period, param), `upstream-downstream ${param} at ${s.id} ${period}`).toEqual(
            expectFor(s, param, period),
          );
          checked++;
        }
      } else {
        for (const p of flat(airDash.panels).filter(
          (x) => x.type === 'timeseries' && /^mean\("\w+"\)/.test(x.targets![0]!.query.replace(/^SELECT /, '')),
        )) {
          const param = dataParam(p);
          expect(drawnLimits(p, s.id, period), `air ${param} at ${s.id} ${period}`).toEqual(expectFor(s, param, period));
          checked++;
        }
      }
    }
  }
  return checked;
}

describe('thresholds drawn on panels', () => {
  it('every limit line equals the limit the alert checks use for that station and period', () => {
    expect(checkLimits(ctx.thresholds, committed, ctx.asOf)).toBeGreaterThan(500);
  });

  it('they follow the unified thresholds: a changed limit in thresholds.yaml changes the line, for that station only', () => {
    const changed: ThresholdSet = structuredClone(ctx.thresholds);
    changed.version = 'test-lowered';
    changed.config.stations.hongyuan = { ...(changed.config.stations.hongyuan ?? {}), limits: { NH3N: 0.6, DO: { min: 6 } } };
    const ctx2: BuildContext = { ...ctx, thresholds: changed };
    const rebuilt = buildDashboards(ctx2).map((b) => b.dashboard);
    checkLimits(changed, rebuilt, ctx.asOf);
    const nh3n = flat(rebuilt.find((d) => d.uid === 'tj-section-detail')!.panels).find((p) => p.title.includes('(NH3N'))!;
    expect(drawnLimits(nh3n, 'hongyuan', 'rt')).toEqual([{ limit: 0.6 }]);
    expect(drawnLimits(nh3n, 'huaikou', 'rt')).toEqual([{ limit: 1 }]);
    expect(drawnLimits(nh3n, 'shiqiao', 'rt')).toEqual([{ limit: 0.8 }]);
  });

  it('GB 3838 class bands sit at the class limits (upper limits inclusive: the step is the next double up)', () => {
    const section = committed.find((d) => d.uid === 'tj-section-detail')!;
    for (const [param, item] of Object.entries(GB3838_TABLE1)) {
      const p = flat(section.panels).find((x) => x.type === 'timeseries' && dataParam(x) === param)!;
      expect(p, param).toBeDefined();
      const steps = p.fieldConfig!.defaults.thresholds!.steps.slice(1).map((s) => s.value as number);
      const limits = (['I', 'II', 'III', 'IV', 'V'] as const).map((c) => classLimit(param, c, 'river')!);
      if (item.kind === 'range') {
        expect(steps[0]).toBe((limits[0] as { min: number }).min);
        expect(steps[1]).toBeGreaterThan((limits[0] as { max: number }).max);
        expect(steps[1]! - (limits[0] as { max: number }).max).toBeLessThanOrEqual(Number.EPSILON * 16);
      } else {
        const values = [...new Set(limits.map((l) => (l as { value: number }).value))].sort((a, b) => a - b);
        expect(steps.length, param).toBe(values.length);
        steps.forEach((s, i) => {
          const v = values[i]!;
          if (item.kind === 'min') expect(s).toBe(v);
          else {
            expect(s).toBeGreaterThan(v);
            expect(s - v).toBeLessThanOrEqual(Math.max(v, 1) * Number.EPSILON * 2);
          }
        });
      }
      // Six colours, best to worst, whatever the order of the steps.
      const colors = p.fieldConfig!.defaults.thresholds!.steps.map((s) => s.color);
      expect(colors.every((c) => /^#[0-9A-F]{6}$/i.test(c))).toBe(true);
    }
    expect(CLASS_ORDER.length).toBe(6);
  });

  it('the plume timeline colours each section by the GB 3838 class of the chosen parameter, I to 劣V', () => {
    const upDown = committed.find((d) => d.uid === 'tj-upstream-downstream')!;
    const plume = flat(upDown.panels).find((p) => p.type === 'state-timeline')!;
    const steps = plume.fieldConfig!.defaults.thresholds!.steps;
    expect(steps.map((s) => s.value)).toEqual([null, 2, 3, 4, 5, 6]);
    expect(new Set(steps.map((s) => s.color)).size).toBe(CLASS_ORDER.length);
    // The hourly aggregates' class of the chosen item: one query, the variable naming the field.
    expect(plume.targets!.map((t) => t.query)).toEqual([
      'SELECT "class_$parameter" AS "class" FROM "water_hourly" WHERE $timeFilter GROUP BY "station"',
    ]);
  });

  it('AQI panels colour by the HJ 633 categories and pollutant bands sit at the IAQI breakpoints of the standard in force', () => {
    const airDash = committed.find((d) => d.uid === 'tj-air')!;
    const aqiPanel = flat(airDash.panels).find((p) => p.title.startsWith('Hourly AQI by station'))!;
    expect(aqiPanel.fieldConfig!.defaults.thresholds!.steps.map((s) => s.value)).toEqual([
      null,
      ...AQI_CATEGORIES.slice(1).map((c) => c.min),
    ]);
    const std = aqiStandardFor(ctx.asOf);
    const pm25 = flat(airDash.panels).find((p) => p.title.includes('PM2.5'))!;
    const bps = IAQI_BREAKPOINTS[std].PM2_5_24h;
    const steps = pm25.fieldConfig!.defaults.thresholds!.steps.slice(1).map((s) => s.value as number);
    // IAQI 50, 100, 150, 200 and 300: a new category each (400 stays 严重污染).
    expect(steps.map((s) => Math.floor(s))).toEqual([bps[1], bps[2], bps[3], bps[4], bps[5]]);
  });
});
