/**
 * Each rule on its own, through observe(): what it says about one reading, at and around its
 * thresholds, with the station's real profile (config/) changed one setting at a time.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { observe, relevant, type PrevValues, type RuleObservation } from '../../alerts/observe.js';
import { aqi, aqiLevel } from '../../alerts/rules/aqi.js';
import { equipment, EQUIPMENT_FLAGS } from '../../alerts/rules/equipment.js';
import { limit, localLimitPhrase } from '../../alerts/rules/limit.js';
import { rate } from '../../alerts/rules/rate.js';
import { waterClass } from '../../alerts/rules/water-class.js';
import type { StationProfile } from '../../alerts/station-profile.js';
import { loadThresholdsFile, stationProfile } from '../../alerts/thresholds.js';
import { loadConfig } from '../../config/load.js';
import type { DataFlag } from '../../lib/parameters.js';
import type { Period, Reading } from '../../lib/reading.js';
import { computeAqi } from '../../lib/standards/index.js';
import { StationRegistry, type Station } from '../../config/station-registry.js';

const { dir, registry: registryConfig } = loadConfig();
const registry = new StationRegistry(registryConfig);
const thresholds = loadThresholdsFile(join(dir, 'thresholds.yaml'), registryConfig);
const HOUR = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00+08:00');

function station(id: string): Station {
  const s = registry.get(id);
  if (!s) throw new Error(id);
  return s;
}
const WATER = station('hongyuan');
const AIR = station('ziyang-yanjiang');

function reading(
  s: Station,
  values: Record<string, number>,
  flags: Record<string, DataFlag> = {},
  period: Period = 'hour',
  ts = T0,
  extras?: Record<string, number>,
): Reading {
  return { station: s.id, city: s.city, medium: s.kind, ts, period, values, flags, ...(extras ? { extras } : {}), source: 'json' };
}

/** The station's profile with some rules' settings changed. */
function profileWith(s: Station, rules: Record<string, object> = {}, extra: Partial<StationProfile> = {}): StationProfile {
  const p = stationProfile(thresholds, s);
  const merged = { ...p.rules } as Record<string, object>;
  for (const [k, v] of Object.entries(rules)) merged[k] = { ...merged[k], ...v };
  return { ...p, ...extra, rules: merged as unknown as StationProfile['rules'] };
}

function obs(r: Reading, profile = profileWith(station(r.station)), prev: PrevValues = {}): Record<string, RuleObservation> {
  return Object.fromEntries(observe(r, station(r.station), profile, prev).observations.map((o) => [o.key, o]));
}

describe('aqi rule', () => {
  const clean = { PM2_5: 20, PM10: 30, SO2: 5, NO2: 20, CO: 0.4, O3: 50 };

  it('does not fire on clean air: clear, with the category and the standard named', () => {
    const o = obs(reading(AIR, clean)).aqi;
    expect(o).toMatchObject({ cond: 'clear', rule: 'aqi', parameter: 'AQI', key: 'aqi', at: T0, limit: 101 });
    expect(o?.value).toBeLessThanOrEqual(50);
    expect(o?.detail).toMatchObject({
      aqiStandard: 'HJ633-2026',
      basis: 'HJ633-2026',
      category: '优',
      categoryEn: 'Excellent',
      primary: [],
      limitText: 'AQI < 101',
    });
  });

  it('AQI 100 (良) does not fire at level 3; 101 does', () => {
    // PM2.5 1h 60 → IAQI 100 on the 2026 table; 61 → 101 (100 + 50/55).
    expect(obs(reading(AIR, { ...clean, PM2_5: 60 })).aqi).toMatchObject({ cond: 'clear', value: 100 });
    expect(obs(reading(AIR, { ...clean, PM2_5: 61 })).aqi).toMatchObject({
      cond: 'breach',
      value: 101,
      detail: { primary: ['PM2_5'], category: '轻度污染' },
    });
  });

  it('the level setting moves the threshold: level 4 lets 150 pass and fires at 151', () => {
    const p = profileWith(AIR, { aqi: { level: 4 } });
    expect(obs(reading(AIR, { ...clean, PM2_5: 115 }), p).aqi).toMatchObject({ cond: 'clear', value: 150, limit: 151 });
    expect(obs(reading(AIR, { ...clean, PM2_5: 116 }), p).aqi).toMatchObject({
      cond: 'breach',
      limit: 151,
      detail: { limitText: 'AQI < 151' },
    });
  });

  it('with hysteresis the band lies between the clear level (inclusive, exact) and the threshold', () => {
    // h = 0.34: clear at AQI ≤ 100 × 0.66 = 66 exactly (65.99999999999999 in doubles).
    const p = profileWith(AIR, { aqi: { hysteresis: 0.34 } });
    const pm = (aqiOf: number): number => ((aqiOf - 50) * 25) / 50 + 35; // PM2.5 giving that IAQI on 35–60
    expect(obs(reading(AIR, { ...clean, PM2_5: pm(66) }), p).aqi).toMatchObject({ cond: 'clear', value: 66 });
    expect(obs(reading(AIR, { ...clean, PM2_5: pm(68) }), p).aqi).toMatchObject({ cond: 'band', value: 68 });
    expect(obs(reading(AIR, { ...clean, PM2_5: 60 }), p).aqi).toMatchObject({ cond: 'band', value: 100 });
  });

  it('hourly readings use the 1-h values; daily readings the 24-h means (and O3 8h)', () => {
    // PM2.5 70 hourly (2026 hourly grades PM 1h on the daily table): 100 + 50 × 10/55 → 110.
    expect(obs(reading(AIR, { PM2_5: 70 })).aqi).toMatchObject({ value: 110, cond: 'breach' });
    expect(obs(reading(AIR, { PM2_5: 70 }, {}, 'min')).aqi).toMatchObject({ value: 110 });
    expect(obs(reading(AIR, { PM2_5: 70 }, {}, 'rt')).aqi).toMatchObject({ value: 110 });
    // Daily: the missing pollutants make an AQI ≤ 100 unpublishable (2026), above 100 it is published.
    expect(obs(reading(AIR, { PM2_5: 70 }, {}, 'day')).aqi).toMatchObject({ value: 110, detail: { aqiStandard: 'HJ633-2026' } });
    // Each pollutant feeds its own term: the 1-h value hourly, the 24-h mean (O3: 8-h) daily.
    const hourlyKey: Record<string, string> = {
      SO2: 'SO2_1h',
      NO2: 'NO2_1h',
      PM10: 'PM10_1h',
      PM2_5: 'PM2_5_1h',
      CO: 'CO_1h',
      O3: 'O3_1h',
    };
    const dailyKey: Record<string, string> = {
      SO2: 'SO2_24h',
      NO2: 'NO2_24h',
      PM10: 'PM10_24h',
      PM2_5: 'PM2_5_24h',
      CO: 'CO_24h',
      O3: 'O3_8h',
    };
    const expected = (values: Record<string, number>, keys: Record<string, string>, mode: 'hourly' | 'daily'): number | null =>
      computeAqi(Object.fromEntries(Object.entries(values).map(([k, v]) => [keys[k], v])), { date: new Date(T0), mode }).aqi;
    for (const [param, v] of [
      ['SO2', 600],
      ['NO2', 300],
      ['PM10', 200],
      ['PM2_5', 90],
      ['CO', 12],
      ['O3', 250],
    ] as const) {
      const values = { ...clean, [param]: v };
      const h = expected(values, hourlyKey, 'hourly');
      const d = expected(values, dailyKey, 'daily');
      if (param !== 'PM10' && param !== 'PM2_5') expect(h, `${param}: the two tables differ here`).not.toBe(d);
      expect(obs(reading(AIR, values)).aqi?.value, `${param} hourly`).toBe(h);
      expect(obs(reading(AIR, values, {}, 'day')).aqi?.value, `${param} daily`).toBe(d);
      expect(obs(reading(AIR, values)).aqi?.detail.primary, param).toEqual([param]);
    }
  });

  it("a daily record's O3 maximum counts as O3 1h only under 2012 and only with an O3 value", () => {
    const d2012 = Date.parse('2025-05-01T00:00:00+08:00');
    const day = (values: Record<string, number>, extras?: Record<string, number>): RuleObservation | undefined =>
      obs(reading(AIR, values, {}, 'day', d2012, extras)).aqi;
    expect(day({ ...clean, O3: 50 }, { O3_max: 300 })?.value).toBe(150);
    // Without the maximum the day is graded on the other pollutants: PM10 30 → 30.
    expect(day({ ...clean, O3: 50 })?.value).toBe(30);
    const { O3: _o3, ...noO3 } = clean;
    expect(day(noO3, { O3_max: 300 })?.value).toBe(30);
  });

  it('says nothing without any AQI input, for a flagged-out input, or at a water station', () => {
    expect(obs(reading(AIR, { temp: 20 } as Record<string, number>)).aqi).toBeUndefined();
    expect(obs(reading(AIR, { PM2_5: 300 }, { PM2_5: 'D' })).aqi).toBeUndefined();
    expect(
      aqi.observe({ reading: reading(AIR, { PM2_5: 300 }), station: WATER, profile: profileWith(AIR), prev: {}, valid: { PM2_5: 300 } }),
    ).toEqual([]);
    expect(obs(reading(AIR, { PM2_5: 300 }), profileWith(AIR, { aqi: { enabled: false } })).aqi).toBeUndefined();
  });

  it('an input the standard cannot read (a negative concentration) gives no AQI observation, not a crash', () => {
    expect(
      aqi.observe({ reading: reading(AIR, { PM2_5: -1 }), station: AIR, profile: profileWith(AIR), prev: {}, valid: { PM2_5: -1 } }),
    ).toEqual([]);
  });

  it("its timing is the profile's", () => {
    const o = obs(reading(AIR, clean), profileWith(AIR, { aqi: { consecutive: 4, duration_min: 30, clear_consecutive: 3 } }));
    expect(o.aqi?.timing).toEqual({ consecutive: 4, durationMs: 30 * 60_000, clearConsecutive: 3, reminderMs: 240 * 60_000 });
  });

  it('names the category level of an AQI value', () => {
    expect([0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500].map(aqiLevel)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
  });
});

describe('equipment rule', () => {
  it('D, F and B are faults; each is named with its flag', () => {
    expect([...EQUIPMENT_FLAGS].sort()).toEqual(['B', 'D', 'F']);
    for (const f of ['D', 'F', 'B'] as const) {
      expect(obs(reading(WATER, { NH3N: 0.5, DO: 7 }, { NH3N: f })).equipment, f).toMatchObject({
        key: 'equipment',
        rule: 'equipment',
        parameter: 'equipment',
        cond: 'breach',
        value: 1,
        limit: 0,
        at: T0,
        detail: { faults: { NH3N: f } },
      });
    }
    expect(obs(reading(WATER, { NH3N: 0.5, DO: 7 }, { NH3N: 'F', DO: 'B' })).equipment).toMatchObject({
      value: 2,
      detail: { faults: { NH3N: 'F', DO: 'B' } },
    });
  });

  it('other flags (N T M S C) and no flags clear', () => {
    for (const f of ['N', 'T', 'M', 'S', 'C'] as const) {
      expect(obs(reading(WATER, { NH3N: 0.5 }, { NH3N: f })).equipment, f).toMatchObject({
        cond: 'clear',
        value: 0,
        detail: { faults: {} },
      });
    }
  });

  it('its timing is its own count, without a duration; off when disabled', () => {
    const p = profileWith(WATER, { equipment: { consecutive: 5, clear_consecutive: 2 } }, { reminderMin: null });
    expect(obs(reading(WATER, { NH3N: 0.5 }), p).equipment?.timing).toEqual({
      consecutive: 5,
      durationMs: null,
      clearConsecutive: 2,
      reminderMs: null,
    });
    expect(
      obs(reading(WATER, { NH3N: 0.5 }, { NH3N: 'D' }), profileWith(WATER, { equipment: { enabled: false } })).equipment,
    ).toBeUndefined();
  });

  it('words the faults, or their end', () => {
    expect(
      equipment.wording({ parameter: 'equipment', kind: 'firing', value: 2, limit: 0, detail: { faults: { NH3N: 'D', DO: 'F' } } }),
    ).toEqual({
      zh: '设备故障标记 NH3N=D, DO=F',
      en: 'equipment fault flags NH3N=D, DO=F',
    });
    expect(equipment.wording({ parameter: 'equipment', kind: 'resolved', value: 0, limit: 0, detail: {} })).toEqual({
      zh: '设备故障标记 已恢复',
      en: 'equipment fault flags cleared',
    });
  });
});

describe('limit rule: pH range, both sides, with its hysteresis', () => {
  it('pH below 6 breaches; 6 up to the low clear level 6.6 is band; 6.6 is clear', () => {
    const ph = (v: number): RuleObservation | undefined =>
      obs(reading(WATER, { pH: v })).limit_pH ?? obs(reading(WATER, { pH: v }))['limit.pH'];
    expect(ph(5.99)).toMatchObject({
      cond: 'breach',
      limit: 9,
      detail: { limitKind: 'range', limitText: '6–9', basis: 'GB3838-2002 III' },
    });
    expect(ph(6)?.cond).toBe('band');
    expect(ph(6.5)?.cond).toBe('band');
    expect(ph(6.6)?.cond).toBe('clear');
    expect(ph(8.1)?.cond).toBe('clear');
    expect(ph(8.2)?.cond).toBe('band');
    expect(ph(9.01)?.cond).toBe('breach');
  });

  it('DO is a lower bound: below 5 breaches, 5 to 5.5 is band (h = 0.1), from 5.5 clear', () => {
    const d = (v: number): RuleObservation | undefined => obs(reading(WATER, { DO: v }))['limit.DO'];
    expect(d(4.9)).toMatchObject({ cond: 'breach', limit: 5, detail: { limitKind: 'min', limitText: '≥ 5', unit: 'mg/L' } });
    expect(d(5)?.cond).toBe('band');
    expect(d(5.5)?.cond).toBe('clear');
  });
});

describe('rate rule', () => {
  const at = (h: number): number => T0 + h * HOUR;
  const rateObs = (v: number, prev: PrevValues, ts = at(1), p = profileWith(WATER)): RuleObservation | undefined =>
    obs(reading(WATER, { NH3N: v }, {}, 'hour', ts), p, prev)['rate.NH3N'];

  it('compares with the previous value of the series, per hour', () => {
    expect(rateObs(0.9, { NH3N: { v: 0.3, ts: at(0) } })).toMatchObject({
      cond: 'breach',
      value: 0.6,
      limit: 0.5,
      rule: 'rate',
      parameter: 'NH3N',
      key: 'rate.NH3N',
      detail: { unit: 'mg/L/h', basis: 'thresholds', ratePerHour: 0.6, limitText: '≤ 0.5/h' },
    });
    expect(rateObs(0.8, { NH3N: { v: 0.3, ts: at(0) } })?.cond).toBe('clear'); // exactly 0.5/h meets the limit
    expect(rateObs(0.2, { NH3N: { v: 0.3, ts: at(0) } })).toMatchObject({ cond: 'clear', value: -0.1 });
    // 30 minutes: +0.3 is 0.6/h.
    expect(rateObs(0.6, { NH3N: { v: 0.3, ts: at(0.5) } })?.value).toBe(0.6);
  });

  it('a gap longer than max_gap_min is not a rise; exactly max_gap_min still is', () => {
    expect(rateObs(2.0, { NH3N: { v: 0.3, ts: at(-2) } }, at(1))).toMatchObject({ cond: 'breach' }); // 180 min
    expect(rateObs(2.0, { NH3N: { v: 0.3, ts: at(-2) - 1 } }, at(1))).toBeUndefined();
  });

  it('an earlier or same-time previous value (a resend) is not compared', () => {
    expect(rateObs(2.0, { NH3N: { v: 0.3, ts: at(1) } }, at(1))).toBeUndefined();
    expect(rateObs(2.0, { NH3N: { v: 0.3, ts: at(2) } }, at(1))).toBeUndefined();
  });

  it('only watched parameters, only with a previous value, only when enabled', () => {
    expect(obs(reading(WATER, { DO: 9 }, {}, 'hour', at(1)), undefined, { DO: { v: 1, ts: at(0) } })['rate.DO']).toBeUndefined();
    expect(rateObs(2.0, {})).toBeUndefined();
    expect(rateObs(2.0, { NH3N: { v: 0.3, ts: at(0) } }, at(1), profileWith(WATER, { rate: { enabled: false } }))).toBeUndefined();
  });

  it('rounds the rate to six decimals for the notice', () => {
    expect(rateObs(0.3 + 1 / 3, { NH3N: { v: 0.3, ts: at(0) } })?.value).toBe(0.333333);
  });

  it('with hysteresis: clear only at or below per_hour × (1 − h)', () => {
    const p = profileWith(WATER, { rate: { hysteresis: 0.2 } });
    expect(rateObs(0.7, { NH3N: { v: 0.3, ts: at(0) } }, at(1), p)?.cond).toBe('clear'); // 0.4 = 0.5 × 0.8
    expect(rateObs(0.75, { NH3N: { v: 0.3, ts: at(0) } }, at(1), p)?.cond).toBe('band');
  });

  it('words a rise, a slower rise once resolved, and a fall as a fall', () => {
    const w = (kind: 'firing' | 'resolved', value: number | null) =>
      rate.wording({ parameter: 'NH3N', kind, value, limit: 0.5, detail: { unit: 'mg/L/h' } });
    expect(w('firing', 0.8)).toEqual({ zh: '氨氮 上升速率 0.8 mg/L/h，限值 0.5', en: 'Ammonia nitrogen rising at 0.8 mg/L/h, limit 0.5' });
    expect(w('resolved', 0.2)).toEqual({
      zh: '氨氮 上升速率回落至 0.2 mg/L/h，限值 0.5',
      en: 'Ammonia nitrogen rise slowed to 0.2 mg/L/h, limit 0.5',
    });
    expect(w('resolved', 0)).toEqual({ zh: '氨氮 不再上升（持平），限值 0.5', en: 'Ammonia nitrogen no longer rising (flat), limit 0.5' });
    expect(w('resolved', -0.3)).toEqual({
      zh: '氨氮 不再上升（下降 0.3 mg/L/h），限值 0.5',
      en: 'Ammonia nitrogen no longer rising (falling at 0.3 mg/L/h), limit 0.5',
    });
    expect(rate.wording({ parameter: 'XYZ', kind: 'firing', value: null, limit: 1, detail: {} })).toEqual({
      zh: 'XYZ 上升速率 – ，限值 1',
      en: 'XYZ rising at – , limit 1',
    });
  });
});

describe('water class rule', () => {
  it('breaches when the class is worse than the target, with the class as a number', () => {
    expect(obs(reading(WATER, { NH3N: 1.2 })).water_class).toMatchObject({
      key: 'water_class',
      rule: 'water_class',
      parameter: 'class',
      cond: 'breach',
      value: 4,
      limit: 3,
      at: T0,
      detail: { cls: 'IV', target: 'III', limiting: ['NH3N'], basis: 'GB3838-2002' },
    });
    expect(obs(reading(WATER, { NH3N: 1.0 })).water_class).toMatchObject({ cond: 'clear', value: 3 });
  });

  it('reference items alone decide nothing; off when disabled, without a target, or at an air station', () => {
    expect(obs(reading(WATER, { TN: 5 })).water_class).toBeUndefined();
    expect(obs(reading(WATER, { NH3N: 3 }), profileWith(WATER, { water_class: { enabled: false } })).water_class).toBeUndefined();
    expect(obs(reading(WATER, { NH3N: 3 }), profileWith(WATER, {}, { targetClass: undefined })).water_class).toBeUndefined();
    expect(
      waterClass.observe({ reading: reading(WATER, { NH3N: 3 }), station: AIR, profile: profileWith(WATER), prev: {}, valid: { NH3N: 3 } }),
    ).toEqual([]);
  });

  it('the class never improves and the condition never eases as a pollutant rises (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), (a, b) => {
        const [lo, hi] = a <= b ? [a / 1000, b / 1000] : [b / 1000, a / 1000];
        const x = obs(reading(WATER, { NH3N: lo })).water_class;
        const y = obs(reading(WATER, { NH3N: hi })).water_class;
        expect(y?.value).toBeGreaterThanOrEqual(x?.value ?? 0);
        if (x?.cond === 'breach') expect(y?.cond).toBe('breach');
      }),
    );
  });
});

describe('observe', () => {
  it('a value flagged anything but N or T is not used by any pollution rule, and is still remembered only if usable', () => {
    expect(relevant(reading(WATER, { NH3N: 1 }, { NH3N: 'T' }), 'NH3N')).toBe(true);
    expect(relevant(reading(WATER, { NH3N: 1 }, { NH3N: 'N' }), 'NH3N')).toBe(true);
    expect(relevant(reading(WATER, { NH3N: 1 }), 'NH3N')).toBe(true);
    expect(relevant(reading(WATER, { NH3N: 1 }, { NH3N: 'M' }), 'NH3N')).toBe(false);
    const res = observe(reading(WATER, { NH3N: 1, DO: 7 }, { NH3N: 'M' }), WATER, profileWith(WATER), { NH3N: { v: 0.2, ts: T0 - HOUR } });
    expect(res.prev).toEqual({ NH3N: { v: 0.2, ts: T0 - HOUR }, DO: { v: 7, ts: T0 } });
  });

  it('remembers every usable value for the rate rule, watched or not, and skips non-finite ones', () => {
    const res = observe(reading(WATER, { NH3N: 1, DO: 7, pH: Number.NaN }), WATER, profileWith(WATER), {});
    expect(res.prev).toEqual({ NH3N: { v: 1, ts: T0 }, DO: { v: 7, ts: T0 } });
    expect(res.observations.map((o) => o.key)).not.toContain('limit.pH');
  });

  it('observes in the order of the rule table', () => {
    const res = observe(reading(WATER, { NH3N: 1, DO: 7 }), WATER, profileWith(WATER), { NH3N: { v: 0.9, ts: T0 - HOUR } });
    expect(res.observations.map((o) => o.rule)).toEqual(['limit', 'limit', 'rate', 'water_class', 'equipment']);
  });

  it('is pure: the same reading twice gives the same observations and leaves prev untouched (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 20_000 }), (nh3, d) => {
        const prev: PrevValues = { NH3N: { v: 0.5, ts: T0 - HOUR } };
        const copy = structuredClone(prev);
        const r = reading(WATER, { NH3N: nh3 / 1000, DO: d / 1000 });
        const a = observe(r, WATER, profileWith(WATER), prev);
        const b = observe(r, WATER, profileWith(WATER), prev);
        expect(b).toEqual(a);
        expect(prev).toEqual(copy);
        // Applied again on top of itself, the reading adds no rate (same time) and the same values.
        const again = observe(r, WATER, profileWith(WATER), a.prev);
        expect(again.prev).toEqual(a.prev);
        expect(again.observations.filter((o) => o.rule !== 'rate')).toEqual(a.observations.filter((o) => o.rule !== 'rate'));
        expect(again.observations.filter((o) => o.rule === 'rate')).toEqual([]);
      }),
    );
  });
});

describe('rules off, local limits, and AQIs that cannot be published', () => {
  const ctxOf = (s: Station, values: Record<string, number>, profile: StationProfile, prev: PrevValues = {}) => ({
    reading: reading(s, values),
    station: s,
    profile,
    prev,
    valid: values,
  });

  it('a rule switched off observes nothing at all', () => {
    expect(limit.observe(ctxOf(WATER, { NH3N: 5 }, profileWith(WATER, { limit: { enabled: false } })))).toEqual([]);
    expect(
      rate.observe(ctxOf(WATER, { NH3N: 5 }, profileWith(WATER, { rate: { enabled: false } }), { NH3N: { v: 0, ts: T0 - HOUR } })),
    ).toEqual([]);
    expect(equipment.observe(ctxOf(WATER, { NH3N: 5 }, profileWith(WATER, { equipment: { enabled: false } })))).toEqual([]);
    expect(waterClass.observe(ctxOf(WATER, { NH3N: 5 }, profileWith(WATER, { water_class: { enabled: false } })))).toEqual([]);
    expect(aqi.observe(ctxOf(AIR, { PM2_5: 300 }, profileWith(AIR, { aqi: { enabled: false } })))).toEqual([]);
  });

  it('one parameter switched off keeps the others', () => {
    const p = profileWith(WATER, {}, { parameters: { ...profileWith(WATER).parameters, NH3N: { enabled: false } } });
    expect(limit.observe(ctxOf(WATER, { NH3N: 5, DO: 7 }, p)).map((o) => o.key)).toEqual(['limit.DO']);
  });

  it('2026 with pollutants missing and the AQI not above 100: no AQI observation', () => {
    expect(obs(reading(AIR, { PM2_5: 20 })).aqi).toBeUndefined();
    expect(obs(reading(AIR, { PM2_5: 61 })).aqi).toMatchObject({ value: 101, cond: 'breach' });
  });

  it('the AQI clear level is below the threshold: 66 clears with h = 0.34, 67 does not', () => {
    const p = profileWith(AIR, { aqi: { hysteresis: 0.34 } });
    // PM10 1h 73 on the 2026 table: 50 + 50 × 23/70 = 66.4 → 67; 72 → 65.7 → 66.
    expect(obs(reading(AIR, { PM2_5: 20, PM10: 72, SO2: 5, NO2: 20, CO: 0.4, O3: 50 }), p).aqi).toMatchObject({ cond: 'clear', value: 66 });
    expect(obs(reading(AIR, { PM2_5: 20, PM10: 73, SO2: 5, NO2: 20, CO: 0.4, O3: 50 }), p).aqi).toMatchObject({ cond: 'band', value: 67 });
  });

  it('AQI wording without a primary pollutant', () => {
    expect(aqi.wording({ parameter: 'AQI', kind: 'resolved', value: 40, limit: 101, detail: {} }).en).toBe('AQI 40 () ()');
  });

  it('a local upper limit stricter than the national one names the national limit (Shiqiao NH3N 0.8 under class III 1)', () => {
    expect(obs(reading(station('shiqiao'), { NH3N: 0.9 }))['limit.NH3N']).toMatchObject({
      cond: 'breach',
      limit: 0.8,
      detail: {
        basis: 'thresholds',
        limitText: '≤ 0.8',
        nationalLimit: 1,
        nationalLimitText: '≤ 1',
        nationalBasis: 'GB3838-2002 III',
        nationalClass: 'III',
      },
    });
  });

  it('a local lower limit above the national one is stricter too; a looser or ranged one names no national limit', () => {
    const withLimits = (limits: Record<string, unknown>) => profileWith(WATER, {}, { limits: limits as StationProfile['limits'] });
    expect(obs(reading(WATER, { DO: 5.5 }), withLimits({ DO: { min: 6 } }))['limit.DO']?.detail).toMatchObject({
      nationalLimit: 5,
      nationalLimitText: '≥ 5',
      nationalClass: 'III',
    });
    for (const limits of [{ DO: { min: 4 } }, { DO: { min: 5 } }]) {
      expect(obs(reading(WATER, { DO: 5.5 }), withLimits(limits))['limit.DO']?.detail).not.toHaveProperty('nationalLimit');
    }
    for (const limits of [{ NH3N: 1.5 }, { NH3N: 1 }]) {
      expect(obs(reading(WATER, { NH3N: 0.5 }), withLimits(limits))['limit.NH3N']?.detail).not.toHaveProperty('nationalLimit');
    }
    expect(obs(reading(WATER, { NH3N: 0.5 }), withLimits({ NH3N: 0.9 }))['limit.NH3N']?.detail).toMatchObject({ nationalLimit: 1 });
    expect(obs(reading(WATER, { pH: 7 }), withLimits({ pH: { min: 6.5, max: 8.5 } }))['limit.pH']?.detail).not.toHaveProperty(
      'nationalLimit',
    );
    expect(obs(reading(WATER, { NH3N: 0.5 }), withLimits({ NH3N: { min: 0.1 } }))['limit.NH3N']?.detail).not.toHaveProperty(
      'nationalLimit',
    );
    // A bound of the other kind than the national one is never "stricter", whatever its value.
    expect(obs(reading(WATER, { NH3N: 2.5 }), withLimits({ NH3N: { min: 2 } }))['limit.NH3N']?.detail).not.toHaveProperty('nationalLimit');
    expect(obs(reading(WATER, { DO: 5.5 }), withLimits({ DO: { max: 6 } }))['limit.DO']?.detail).not.toHaveProperty('nationalLimit');
    expect(obs(reading(WATER, { DO: 2 }), withLimits({ DO: { max: 3 } }))['limit.DO']?.detail).not.toHaveProperty('nationalLimit');
  });

  it("an air station's stricter local limit names the national grade without a water class", () => {
    const p = profileWith(AIR, {}, { limits: { SO2: 100 } as StationProfile['limits'] });
    const d = obs(reading(AIR, { SO2: 120 }), p)['limit.SO2']?.detail;
    expect(d).toMatchObject({ nationalLimit: 500, nationalLimitText: '≤ 500' });
    expect(d).not.toHaveProperty('nationalClass');
  });

  it('a local-limit phrase without the local limit text still reads, in both languages', () => {
    expect(localLimitPhrase({ nationalLimitText: '≤ 1', nationalBasis: 'GB3838-2002 III', nationalClass: 'III' }, 'mg/L', 'zh')).toBe(
      '本地限值  mg/L，国家 III 类 ≤ 1 mg/L（GB3838-2002）',
    );
    expect(localLimitPhrase({ nationalLimitText: '≤ 150' }, '', 'zh')).toBe('本地限值 ，国家标准 ≤ 150（）');
  });

  it('a national basis that does not end in the class is printed whole', () => {
    expect(
      localLimitPhrase({ limitText: '≤ 0.8', nationalLimitText: '≤ 1', nationalBasis: 'GB3838-2002', nationalClass: 'III' }, 'mg/L', 'en'),
    ).toBe('local limit ≤ 0.8 mg/L (national class III: ≤ 1 mg/L, GB3838-2002)');
  });
});
