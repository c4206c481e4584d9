import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../alerts/events.js';
import { classify, observe, type RuleObservation } from '../../alerts/observe.js';
import { applyReadings, emptySeriesState, type SeriesState } from '../../alerts/series-engine.js';
import { loadThresholdsFile, stationProfile } from '../../alerts/thresholds.js';
import { loadConfig } from '../../config/load.js';
import type { DataFlag } from '../../lib/parameters.js';
import type { Period, Reading } from '../../lib/reading.js';
import { StationRegistry } from '../../config/station-registry.js';

const { dir, registry: registryConfig } = loadConfig();
const registry = new StationRegistry(registryConfig);
const thresholds = loadThresholdsFile(join(dir, 'thresholds.yaml'), registryConfig);
const HOUR = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00+08:00');

function reading(
  station: string,
  i: number,
  values: Record<string, number>,
  flags: Record<string, DataFlag> = {},
  period: Period = 'hour',
): Reading {
  const s = registry.get(station);
  if (!s) throw new Error(station);
  return { station, city: s.city, medium: s.kind, ts: T0 + i * HOUR, period, values, flags, source: 'json' };
}

function obsOf(r: Reading, prev = {}): Record<string, RuleObservation> {
  const s = registry.get(r.station);
  if (!s) throw new Error(r.station);
  return Object.fromEntries(observe(r, s, stationProfile(thresholds, s), prev).observations.map((o) => [o.key, o]));
}

function feed(
  station: string,
  rows: Array<Record<string, number> | [Record<string, number>, Record<string, DataFlag>]>,
  muted: (at: number) => boolean = () => false,
) {
  const s = registry.get(station);
  if (!s) throw new Error(station);
  let state: SeriesState = emptySeriesState();
  const events: AlertEvent[] = [];
  rows.forEach((row, i) => {
    const [values, flags] = Array.isArray(row) ? row : [row, {}];
    const res = applyReadings(state, [reading(station, i, values, flags)], { station: s, thresholds, isMuted: (_st, at) => muted(at) });
    state = res.state;
    events.push(...res.events);
  });
  return {
    state,
    events: events.map((e) => ({
      key: e.key,
      kind: e.kind,
      hour: (e.at - T0) / HOUR,
      muted: e.muted,
      version: e.thresholdVersion,
      message: e.message,
    })),
  };
}

describe('classify: limits are inclusive; hysteresis on the way down', () => {
  it('upper bound', () => {
    const l = { kind: 'max', value: 1.0 } as const;
    expect(classify(1.0, l, 0.1)).toBe('band'); // at the limit meets it (no breach), but not yet clear
    expect(classify(1.0001, l, 0.1)).toBe('breach');
    expect(classify(0.9, l, 0.1)).toBe('clear');
    expect(classify(0.95, l, 0.1)).toBe('band');
    expect(classify(1.0, l, 0)).toBe('clear');
  });
  it('lower bound (DO)', () => {
    const l = { kind: 'min', value: 5 } as const;
    expect(classify(5, l, 0.1)).toBe('band');
    expect(classify(4.99, l, 0.1)).toBe('breach');
    expect(classify(5.5, l, 0.1)).toBe('clear');
  });
  it('range (pH)', () => {
    const l = { kind: 'range', min: 6, max: 9 } as const;
    expect(classify(9, l, 0)).toBe('clear');
    expect(classify(9.01, l, 0)).toBe('breach');
    expect(classify(5.99, l, 0)).toBe('breach');
    expect(classify(8.8, l, 0.05)).toBe('band');
    expect(classify(7, l, 0.05)).toBe('clear');
  });
});

describe('observations of one reading', () => {
  it('water: a limit key per graded parameter, class against the target, equipment', () => {
    const o = obsOf(reading('hongyuan', 0, { NH3N: 1.6, DO: 6, pH: 7.5, temp: 20 }));
    expect(Object.keys(o).sort()).toEqual(['equipment', 'limit.DO', 'limit.NH3N', 'limit.pH', 'water_class']);
    expect(o['limit.NH3N']).toMatchObject({ cond: 'breach', value: 1.6, limit: 1.0, rule: 'limit', parameter: 'NH3N' });
    expect(o.water_class).toMatchObject({ cond: 'breach', value: 5, limit: 3, detail: { cls: 'V', target: 'III', limiting: ['NH3N'] } });
    expect(o.equipment?.cond).toBe('clear');
  });

  it('flags M, C, D, F, B, S: no pollution observation; T counts', () => {
    for (const flag of ['M', 'C', 'D', 'F', 'B', 'S'] as const) {
      const o = obsOf(reading('hongyuan', 0, { NH3N: 5 }, { NH3N: flag }));
      expect(o['limit.NH3N'], flag).toBeUndefined();
      expect(o.water_class, flag).toBeUndefined();
    }
    expect(obsOf(reading('hongyuan', 0, { NH3N: 5 }, { NH3N: 'T' }))['limit.NH3N']?.cond).toBe('breach');
    expect(obsOf(reading('hongyuan', 0, { NH3N: 0.5 }, { NH3N: 'D' })).equipment).toMatchObject({
      cond: 'breach',
      detail: { faults: { NH3N: 'D' } },
    });
    expect(obsOf(reading('hongyuan', 0, { NH3N: 0.5 }, { NH3N: 'M' })).equipment?.cond).toBe('clear');
  });

  it('rate of rise per hour against the previous value of the series', () => {
    const r = reading('hongyuan', 2, { NH3N: 1.6 });
    const o = obsOf(r, { NH3N: { v: 0.4, ts: T0 } }); // +1.2 in 2 h = 0.6/h > 0.5/h
    expect(o['rate.NH3N']).toMatchObject({ cond: 'breach', value: 0.6, limit: 0.5 });
    expect(obsOf(r, { NH3N: { v: 0.8, ts: T0 } })['rate.NH3N']?.cond).toBe('clear'); // 0.4/h
    expect(obsOf(r, { NH3N: { v: 0.1, ts: T0 - 5 * HOUR } })['rate.NH3N']).toBeUndefined(); // gap > 180 min
  });

  it('air, hourly: AQI from the 1-h values (HJ 633-2026 after 2026-03-01)', () => {
    const o = obsOf(reading('ziyang-yanjiang', 0, { PM2_5: 80, PM10: 90, SO2: 10, NO2: 30, CO: 0.8, O3: 60 }));
    // PM2.5 1h 80 on the 2026 daily PM breakpoints (60 -> 100, 115 -> 150): 100 + 50*20/55 = 118.2 -> 119
    expect(o.aqi).toMatchObject({
      cond: 'breach',
      value: 119,
      limit: 101,
      detail: { aqiStandard: 'HJ633-2026', category: '轻度污染', primary: ['PM2_5'] },
    });
    expect(o['limit.SO2']).toMatchObject({ cond: 'clear', limit: 500 });
    expect(o['limit.PM2_5']).toBeUndefined();
  });

  it('air, daily: AQI from the 24-h means and the daily limits', () => {
    const o = obsOf(reading('ziyang-yanjiang', 0, { PM2_5: 70, PM10: 60, SO2: 10, NO2: 30, CO: 0.8, O3: 100 }, {}, 'day'));
    expect(o.aqi?.detail.aqiStandard).toBe('HJ633-2026');
    expect(o['limit.PM2_5']).toMatchObject({ cond: 'breach', limit: 60 });
  });
});

describe('rules over a series of readings', () => {
  it('a one-reading NH3-N spike raises nothing', () => {
    const { events } = feed('hongyuan', [{ NH3N: 0.4 }, { NH3N: 1.8 }, { NH3N: 0.4 }, { NH3N: 0.4 }]);
    expect(events.filter((e) => e.key === 'limit.NH3N')).toEqual([]);
  });

  it('a sustained exceedance fires once, with the threshold version; recovery with hysteresis resolves once', () => {
    const nh3 = [0.4, 1.2, 1.3, 1.4, 1.5, 1.4, 0.98, 0.95, 0.85, 0.95, 0.88, 0.86, 0.5];
    const { events } = feed(
      'hongyuan',
      nh3.map((v) => ({ NH3N: v })),
    );
    const limit = events.filter((e) => e.key === 'limit.NH3N');
    // breaches from h1 -> fires at h2 (T = 60 min reached before N = 3); the band (0.9, 1.0] keeps
    // it firing; clear at h8 (0.85), band at h9, clear at h10 and h11 -> resolved at h11 (M = 2).
    // Reminders every 4 h of event time while firing.
    expect(limit.map((e) => [e.kind, e.hour])).toEqual([
      ['firing', 2],
      ['reminder', 6],
      ['reminder', 10],
      ['resolved', 11],
    ]);
    expect(limit[0]?.version).toBe('1');
    expect(limit[0]?.message).toMatch(
      /^【告警】宏缘 氨氮 1\.3 mg\/L，限值 ≤ 1（GB3838-2002 III）.*\[ALERT\] Hongyuan: Ammonia nitrogen 1\.3 mg\/L/,
    );
  });

  it('maintenance-flagged readings raise nothing, however high', () => {
    const { events } = feed(
      'hongyuan',
      Array.from(
        { length: 6 },
        () =>
          [
            { NH3N: 40, DO: 1 },
            { NH3N: 'M', DO: 'M' },
          ] as [Record<string, number>, Record<string, DataFlag>],
      ),
    );
    expect(events).toEqual([]);
  });

  it('a run of D/F/B flags raises one equipment alert; a good reading clears it', () => {
    const bad: [Record<string, number>, Record<string, DataFlag>] = [{ NH3N: 0.4 }, { NH3N: 'D' }];
    const { events } = feed('hongyuan', [bad, bad, bad, bad, { NH3N: 0.4 }]);
    expect(events.map((e) => [e.key, e.kind, e.hour])).toEqual([
      ['equipment', 'firing', 2],
      ['equipment', 'resolved', 4],
    ]);
  });

  it('TN and fecal coliform have their own class but do not decide the section (configurable)', () => {
    const o = obsOf(reading('hongyuan', 0, { TN: 1.8, NH3N: 0.4 }));
    expect(o.water_class).toMatchObject({ cond: 'clear', detail: { cls: 'II', limiting: ['NH3N'] } });
    const s = registry.get('hongyuan');
    if (!s) throw new Error();
    const strict = stationProfile(
      {
        ...thresholds,
        config: {
          ...thresholds.config,
          defaults: {
            ...thresholds.config.defaults,
            rules: {
              ...thresholds.config.defaults.rules,
              water_class: { ...thresholds.config.defaults.rules.water_class, reference_items: [] },
            },
          },
        },
      },
      s,
    );
    const obs = observe(reading('hongyuan', 0, { TN: 1.8, NH3N: 0.4 }), s, strict, {}).observations.find((x) => x.key === 'water_class');
    expect(obs).toMatchObject({ cond: 'breach', detail: { cls: 'V', limiting: ['TN'] } });
  });

  it('water class worse than the target for 2 readings fires water_class', () => {
    const { events } = feed('hongyuan', [{ TP: 0.25 }, { TP: 0.25 }, { TP: 0.1 }, { TP: 0.1 }]);
    expect(events.filter((e) => e.key === 'water_class').map((e) => [e.kind, e.hour])).toEqual([
      ['firing', 1],
      ['resolved', 3],
    ]);
  });

  it('rising faster than the rate for two readings in a row fires; one jump does not', () => {
    const { events } = feed('hongyuan', [
      { NH3N: 0.1 },
      { NH3N: 0.2 },
      { NH3N: 0.9 },
      { NH3N: 0.2 },
      { NH3N: 0.8 },
      { NH3N: 1.4 },
      { NH3N: 1.4 },
    ]);
    expect(events.filter((e) => e.key === 'rate.NH3N').map((e) => [e.kind, e.hour])).toEqual([
      ['firing', 5],
      ['resolved', 6],
    ]);
  });

  it('toxic items fire on a single reading', () => {
    const { events } = feed('hongyuan', [{ Hg: 0.00005 }, { Hg: 0.0002 }]);
    expect(events.filter((e) => e.key === 'limit.Hg').map((e) => [e.kind, e.hour])).toEqual([['firing', 1]]);
  });

  it('inside a maintenance window events are muted; the state still moves', () => {
    const muted = (at: number) => at >= T0 + 2 * HOUR && at < T0 + 6 * HOUR;
    const { events, state } = feed(
      'hongyuan',
      [0.5, 0.5, 1.5, 1.5, 1.5, 0.5, 0.5, 0.5].map((v) => ({ NH3N: v })),
      muted,
    );
    // fires at h3 inside the window (muted); resolves at h6, after it: nothing to tell either.
    expect(events.filter((e) => e.key === 'limit.NH3N').map((e) => [e.kind, e.hour, e.muted])).toEqual([
      ['firing', 3, true],
      ['resolved', 6, true],
    ]);
    expect(state.keys['limit.NH3N']?.state).toBe('resolved');
  });

  it('an alert still firing when the window ends is told then', () => {
    const muted = (at: number) => at >= T0 + 2 * HOUR && at < T0 + 5 * HOUR;
    const { events } = feed(
      'hongyuan',
      [0.5, 0.5, 1.5, 1.5, 1.5, 1.5, 0.5, 0.5].map((v) => ({ NH3N: v })),
      muted,
    );
    expect(events.filter((e) => e.key === 'limit.NH3N').map((e) => [e.kind, e.hour, e.muted])).toEqual([
      ['firing', 3, true],
      ['reminder', 5, false],
      ['resolved', 7, false],
    ]);
  });

  it('readings at or before the applied event time are ignored (late or duplicate)', () => {
    const s = registry.get('hongyuan');
    if (!s) throw new Error();
    const ctx = { station: s, thresholds, isMuted: () => false };
    const a = applyReadings(emptySeriesState(), [reading('hongyuan', 5, { NH3N: 3 })], ctx);
    const b = applyReadings(a.state, [reading('hongyuan', 4, { NH3N: 3 }), reading('hongyuan', 5, { NH3N: 3 })], ctx);
    expect(b.state.lastTs).toBe(a.state.lastTs);
    expect(b.state.keys['limit.NH3N']).toEqual(a.state.keys['limit.NH3N']);
    expect(b.events).toEqual([]);
  });
});
