/**
 * The pure parts of the dashboards: the InfluxQL builder, Grafana's variable substitution, and the
 * threshold steps and limit groups derived from the standards and the unified thresholds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../../config/load.js';
import { contextFromConfig, sectionLabel } from '../../dashboards/context.js';
import { escapeRegex, ident, num, or, select, str, tagIn, tagIsVar, varIs } from '../../dashboards/influxql.js';
import { classBandSteps, iaqiBandSteps, limitGroups, nextUp } from '../../dashboards/limits.js';
import { readGeneratedDashboards } from '../../dashboards/generate.js';
import { panelLink } from '../../dashboards/links.js';
import type { Dashboard, Panel } from '../../dashboards/model.js';
import { customVariable } from '../../dashboards/panels.js';
import { formatInterval, formatVariable, interpolate } from '../../dashboards/queries.js';
import { TuojiangError } from '../../lib/errors.js';
import { paramClass } from '../../lib/standards/index.js';

describe('InfluxQL builder', () => {
  it('quotes identifiers and strings, escaping what would end them', () => {
    expect(ident('NH3N')).toBe('"NH3N"');
    expect(ident('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(str("it's")).toBe("'it\\'s'");
    expect(str('a\\b')).toBe("'a\\\\b'");
  });

  it('writes numbers without exponents (InfluxQL reads 1e15 as a duration)', () => {
    expect(num(1e15)).toBe('1000000000000000');
    expect(num(0.00005)).toBe('0.00005');
    expect(num(1e-7)).toBe('0.0000001');
    expect(num(-2.5)).toBe('-2.5');
    fc.assert(
      fc.property(fc.double({ min: -1e12, max: 1e12, noNaN: true }), (x) => {
        const s = num(x);
        expect(s).not.toMatch(/e/i);
        expect(Math.abs(Number(s) - x)).toBeLessThanOrEqual(Math.abs(x) * 1e-12 + 1e-20);
      }),
    );
    expect(() => num(Number.NaN)).toThrow();
  });

  it('escapes regex metacharacters in fixed tag sets', () => {
    expect(escapeRegex('ziyang-city.x/y')).toBe('ziyang-city\\.x\\/y');
    expect(tagIn('station', ['a.b', 'c'])).toBe('"station" =~ /^(a\\.b|c)$/');
    expect(() => tagIn('station', [])).toThrow(/empty/);
  });

  it('builds nested SELECTs with WHERE, GROUP BY, fill, order and limit', () => {
    const q = select({
      columns: [{ expr: 'last("x")', as: 'x' }],
      from: {
        columns: [{ expr: 'mean("x")', as: 'x' }],
        from: 'water_quality',
        where: [tagIsVar('station', 'station'), or('a = 1', 'b = 2'), '$timeFilter'],
        groupBy: { time: '$__interval', tags: ['station'] },
        fill: 0,
      },
      groupBy: { tags: ['station'] },
      orderByTimeDesc: true,
      limit: 5,
    });
    expect(q).toBe(
      'SELECT last("x") AS "x" FROM (SELECT mean("x") AS "x" FROM "water_quality" WHERE "station" = \'$station\' AND (a = 1 OR b = 2) AND $timeFilter GROUP BY time($__interval), "station" fill(0)) GROUP BY "station" ORDER BY time DESC LIMIT 5',
    );
    expect(varIs('parameter', 'NH3N')).toBe("'$parameter' = 'NH3N'");
  });
});

describe('Grafana substitution', () => {
  const station = customVariable('station', 'S', [{ value: 'hongyuan' }, { value: 'ziyang-city' }]);
  const multi = customVariable('city', 'C', [{ value: 'chengdu' }, { value: 'zi.yang' }], { multi: true, includeAll: true });
  const dash = { uid: 'x', templating: { list: [station, multi] } } as unknown as Dashboard;
  const b = { from: 1_000_000, to: 4_600_000, intervalMs: 600_000, variables: { station: 'ziyang-city', city: '$__all' } };

  it('replaces the time filter, interval and time-range macros as Grafana does', () => {
    expect(interpolate('WHERE $timeFilter GROUP BY time($__interval) x $interval $__interval_ms ${__from} [[__to]] $__to', dash, b)).toBe(
      'WHERE time >= 1000000ms and time <= 4600000ms GROUP BY time(10m) x 10m 600000 1000000 4600000 4600000',
    );
    expect(formatInterval(3_600_000)).toBe('1h');
    expect(formatInterval(90_000)).toBe('90s');
    expect(formatInterval(250)).toBe('250ms');
  });

  it('writes a single-value variable as it is, and a multi-value one as an escaped alternation', () => {
    expect(interpolate(`"station" = '$station' AND "city" =~ /^$city$/`, dash, b)).toBe(
      `"station" = 'ziyang-city' AND "city" =~ /^(chengdu|zi\\.yang)$/`,
    );
    expect(formatVariable(multi, ['zi.yang'])).toBe('zi\\.yang');
    expect(formatVariable(station, 'hongyuan')).toBe('hongyuan');
  });

  it("uses the variable's current value when the bindings omit it, and refuses undefined names", () => {
    expect(interpolate("'$station'", dash, { ...b, variables: {} })).toBe("'hongyuan'");
    expect(() => interpolate('$nosuch', dash, b)).toThrow(/nosuch/);
  });

  // Grafana fills $__range* only for Prometheus and Loki (their own getRangeScopedVars); for InfluxQL
  // they would reach InfluxDB as written. The interpolator must refuse them, not fill them.
  it('refuses every macro Grafana does not fill for InfluxQL, with a code and the list of what it does fill', () => {
    for (const q of [
      '$__range_s',
      '$__range',
      '$__range_ms',
      '${__range_s}',
      '[[__range]]',
      '$__rate_interval',
      '$__timeFilter',
      '$__timezone',
      '$__nosuch',
      '${__to:date}',
      '${station:csv}',
    ]) {
      let caught: unknown;
      try {
        interpolate(`SELECT 1 ${q}`, dash, b);
      } catch (e) {
        caught = e;
      }
      expect(caught, q).toBeInstanceOf(TuojiangError);
      expect((caught as TuojiangError).code, q).toBe('TJ_DASHBOARD_MACRO');
      expect((caught as TuojiangError).message, q).toMatch(/\$timeFilter.*\$\{__from\}/);
    }
  });

  it('fills $__interval only in panel queries: Grafana sends none with variable and annotation queries', () => {
    expect(interpolate('time($__interval)', dash, b, 'panel')).toBe('time(10m)');
    for (const kind of ['variable', 'annotation'] as const) {
      expect(() => interpolate('time($__interval)', dash, b, kind), kind).toThrow(/__interval/);
      expect(() => interpolate('$__interval_ms', dash, b, kind), kind).toThrow(TuojiangError);
      expect(interpolate('$timeFilter AND time <= ${__to}ms', dash, b, kind)).toBe(
        'time >= 1000000ms and time <= 4600000ms AND time <= 4600000ms',
      );
    }
  });
});

describe('threshold steps', () => {
  it('nextUp is the next double', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e9, max: 1e9, noNaN: true }), (x) => {
        const y = nextUp(x);
        expect(y).toBeGreaterThan(x);
        expect((x + y) / 2 === x || (x + y) / 2 === y).toBe(true);
      }),
    );
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
  });

  it('colour a value as paramClass classes it, limits inclusive (GB 3838)', () => {
    const colorOf = (steps: Array<{ value: number | null; color: string }>, v: number): string => {
      let c = steps[0]!.color;
      for (const s of steps.slice(1)) if (v >= (s.value as number)) c = s.color;
      return c;
    };
    const colorIndex = (steps: Array<{ value: number | null; color: string }>, v: number, param: string): boolean => {
      const cls = paramClass(param, v, 'river')!;
      const expected = classBandSteps(param, 'river')!;
      // The colour list of the six classes, independent of how the steps are ordered.
      const byClass: Record<string, string> = { I: '#1E90FF', II: '#00BFFF', III: '#22B14C', IV: '#F2D600', V: '#FF8C00', 劣V: '#E02020' };
      return colorOf(expected, v) === byClass[cls] && colorOf(steps, v) === byClass[cls];
    };
    for (const param of ['NH3N', 'DO', 'pH', 'COD', 'TP', 'Hg', 'fecal_coliform']) {
      const steps = classBandSteps(param, 'river')!;
      const probes = [
        0, 0.00005, 0.0001, 0.15, 0.5, 1, 1.0000001, 1.5, 2, 2.5, 3, 5, 5.99, 6, 7.5, 9, 9.01, 15, 15.01, 20, 40, 200, 2000, 40000, 40001,
      ];
      for (const v of probes) expect(colorIndex(steps, v, param), `${param} ${v}`).toBe(true);
    }
    expect(classBandSteps('temp', 'river')).toBeUndefined();
  });

  it('IAQI bands start just above each breakpoint (2026: where the rounded value passes it)', () => {
    const pm25 = iaqiBandSteps('PM2_5', 'HJ633-2026', 'hourly')!;
    // 35 is odd: 35.5 rounds to 36 (IAQI > 50). 60 is even: 60.5 rounds to 60 (still IAQI 100).
    expect(pm25[1]!.value).toBe(35.5);
    expect(pm25[2]!.value).toBeGreaterThan(60.5);
    expect(pm25[2]!.value! - 60.5).toBeLessThan(1e-12);
    const co = iaqiBandSteps('CO', 'HJ633-2012', 'hourly')!;
    expect(co[1]!.value).toBeGreaterThan(5);
    // SO2 1h ends at IAQI 200 (above 800 it counts as 200): no purple or maroon band.
    expect(iaqiBandSteps('SO2', 'HJ633-2026', 'hourly')!.length).toBe(4);
  });
});

describe('limit groups', () => {
  const ctx = contextFromConfig(loadConfig(DEFAULT_CONFIG_DIR), new Date('2026-11-27T00:00:00Z'));
  const water = ctx.registry.stations.filter((s) => s.kind === 'water');
  const air = ctx.registry.stations.filter((s) => s.kind === 'air');

  it("separate the stations whose limit differs (Shiqiao's NH3-N override) and give each its basis", () => {
    const groups = limitGroups(ctx, 'NH3N', water);
    expect(groups.map((g) => [g.limit, g.basis, g.stations.includes('shiqiao')])).toEqual([
      [{ kind: 'max', value: 1 }, 'GB3838-2002 III', false],
      [{ kind: 'max', value: 0.8 }, 'thresholds', true],
    ]);
    expect(limitGroups(ctx, 'temp', water)).toEqual([]);
  });

  it('separate periods whose GB 3095 averaging differs (1 h for real-time, 24 h for day values)', () => {
    const so2 = limitGroups(ctx, 'SO2', air);
    expect(so2.map((g) => [g.limit, g.periods])).toEqual([
      [{ kind: 'max', value: 500 }, ['rt', 'min', 'hour']],
      [{ kind: 'max', value: 150 }, ['day']],
    ]);
    // PM2.5 has no 1-h limit: only day readings get a line.
    expect(limitGroups(ctx, 'PM2_5', air).map((g) => g.periods)).toEqual([['day']]);
  });

  it('section labels sort in river order', () => {
    const labels = water.map(sectionLabel);
    expect([...labels].sort()).toEqual(
      water
        .slice()
        .sort((a, b) => a.river_km! - b.river_km!)
        .map(sectionLabel),
    );
    expect(labels.find((l) => l.includes('Linjiangsi'))).toMatch(/boundary/);
  });
});

describe('panel links for alert notices', () => {
  const ctx = contextFromConfig(loadConfig(DEFAULT_CONFIG_DIR), new Date('2026-11-27T00:00:00Z'));
  const at = Date.parse('2026-11-26T08:00:00Z');

  it("open the parameter's panel of the section, around the alert", async () => {
    const url = panelLink(ctx, { grafanaUrl: 'https://g.example/grafana/', station: 'shiqiao', parameter: 'NH3N', at });
    const u = new URL(url);
    expect(u.pathname).toBe('/grafana/d/tj-section-detail');
    expect(u.searchParams.get('var-station')).toBe('shiqiao');
    expect(Number(u.searchParams.get('to')) - Number(u.searchParams.get('from'))).toBe(14 * 3_600_000);
    const dash = (await readGeneratedDashboards()).find((d) => d.uid === 'tj-section-detail')!;
    const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
    const panel = flat(dash.panels).find((p) => p.id === Number(u.searchParams.get('viewPanel')));
    expect(panel?.targets?.[0]?.query).toMatch(/^SELECT mean\("NH3N"\)/);
  });

  it('send air stations to the air dashboard', () => {
    const u = new URL(panelLink(ctx, { grafanaUrl: 'http://g', station: 'ziyang-shijian', parameter: 'PM2_5', at }));
    expect(u.pathname).toBe('/d/tj-air');
    expect(u.searchParams.get('var-city')).toBe('ziyang');
    expect(u.searchParams.get('viewPanel')).toMatch(/^\d+$/);
    expect(() => panelLink(ctx, { grafanaUrl: 'http://g', station: 'nowhere', parameter: 'PM2_5', at })).toThrow(/unknown station/);
  });
});
