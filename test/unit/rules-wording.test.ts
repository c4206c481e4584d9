/**
 * What each rule hands the notices: its one-line wording in both languages, its severity under a
 * policy, its CAP event, whether it travels downstream, its defaults and schema, and the shared
 * helpers (limit text, number format, exceedance, timing).
 */
import { describe, expect, it } from 'vitest';
import { aqi } from '../../alerts/rules/aqi.js';
import { classify, limitText, limitValue, num, reminderMs, round, timingOf } from '../../alerts/rules/common.js';
import { count, fraction, minutes, paramKey } from '../../alerts/rules/config-schema.js';
import { equipment } from '../../alerts/rules/equipment.js';
import { exceedanceMultiple, exceedanceRatio } from '../../alerts/rules/exceedance.js';
import { EVERY_RULE_LISTED, RULES, RULE_BY_NAME, ruleNamed } from '../../alerts/rules/index.js';
import { limit, localLimitPhrase } from '../../alerts/rules/limit.js';
import { rate } from '../../alerts/rules/rate.js';
import type { SeverityInput } from '../../alerts/rules/rule.js';
import { silence } from '../../alerts/rules/silence.js';
import { mainPollutants, waterClass } from '../../alerts/rules/water-class.js';
import type { StationProfile } from '../../alerts/station-profile.js';
import type { SeverityPolicy } from '../../config/recipients-schema.js';
import { loadConfig } from '../../config/load.js';
import { StationRegistry, type Station } from '../../config/station-registry.js';

const registry = new StationRegistry(loadConfig().registry);
const st = (id: string): Station => {
  const s = registry.get(id);
  if (!s) throw new Error(id);
  return s;
};
const WATER = st('hongyuan');
const INTAKE = st('shiqiao');
const AIR = st('ziyang-yanjiang');
const POLICY: SeverityPolicy = {
  ratio: 2,
  parameters: ['Hg', 'Cd'],
  water_classes: ['V', '劣V'],
  aqi_level: 5,
  drinking_water_intake: true,
};
const NO_INTAKE: SeverityPolicy = { ...POLICY, drinking_water_intake: false };

const ev = (e: Partial<SeverityInput>): SeverityInput => ({
  kind: 'firing',
  rule: 'limit',
  parameter: 'NH3N',
  value: 1.5,
  limit: 1,
  detail: {},
  ...e,
});

describe('the rule table', () => {
  it('lists every rule once, in observation order, by name', () => {
    expect(RULES.map((r) => r.name)).toEqual(['limit', 'rate', 'water_class', 'aqi', 'equipment', 'silence']);
    for (const r of RULES) {
      expect(RULE_BY_NAME[r.name]).toBe(r);
      expect(ruleNamed(r.name)).toBe(r);
    }
    expect(Object.isFrozen(RULE_BY_NAME)).toBe(true);
    expect(EVERY_RULE_LISTED).toBe(true);
  });

  it('river rules travel downstream; station-wide monitoring rules do not', () => {
    expect(Object.fromEntries(RULES.map((r) => [r.name, r.travelsDownstream]))).toEqual({
      limit: true,
      rate: true,
      water_class: true,
      aqi: false,
      equipment: false,
      silence: false,
    });
  });

  it('each rule has its CAP event, category and whether the event names the parameter', () => {
    expect(Object.fromEntries(RULES.map((r) => [r.name, r.cap]))).toEqual({
      limit: { event: { zh: '超标', en: 'limit exceeded' }, category: 'Env', namesParameter: true },
      rate: { event: { zh: '快速上升', en: 'rapid rise' }, category: 'Env', namesParameter: true },
      water_class: { event: { zh: '水质类别劣于目标', en: 'water class worse than target' }, category: 'Env', namesParameter: false },
      aqi: { event: { zh: '空气质量指数超标', en: 'AQI category exceeded' }, category: 'Env', namesParameter: false },
      equipment: { event: { zh: '监测设备故障', en: 'monitoring equipment fault' }, category: 'Env', namesParameter: false },
      silence: { event: { zh: '监测数据中断', en: 'monitoring data missing' }, category: 'Env', namesParameter: false },
    });
  });

  it("each rule's defaults pass its own schema, which refuses unknown settings", () => {
    expect(Object.fromEntries(RULES.map((r) => [r.name, r.config.defaults]))).toEqual({
      limit: { enabled: true, consecutive: 3, duration_min: 60, clear_consecutive: 2, hysteresis: 0.1 },
      rate: { enabled: true, consecutive: 2, duration_min: null, clear_consecutive: 1, hysteresis: 0, per_hour: {}, max_gap_min: 180 },
      water_class: {
        enabled: true,
        consecutive: 2,
        duration_min: null,
        clear_consecutive: 2,
        hysteresis: 0,
        reference_items: ['TN', 'fecal_coliform'],
      },
      aqi: { enabled: true, level: 3, consecutive: 2, duration_min: null, clear_consecutive: 2, hysteresis: 0 },
      equipment: { enabled: true, consecutive: 3, clear_consecutive: 1 },
      silence: { enabled: true, after_min: 30 },
    });
    for (const r of RULES) {
      expect(r.config.schema.safeParse(r.config.defaults).success, r.name).toBe(true);
      expect(r.config.schema.safeParse({ ...r.config.defaults, extra: 1 }).success, r.name).toBe(false);
    }
    expect(aqi.config.schema.safeParse({ ...aqi.config.defaults, level: 1 }).success).toBe(false);
    expect(aqi.config.schema.safeParse({ ...aqi.config.defaults, level: 7 }).success).toBe(false);
    expect(aqi.config.schema.safeParse({ ...aqi.config.defaults, level: 2.5 }).success).toBe(false);
    expect(rate.config.schema.safeParse({ ...rate.config.defaults, per_hour: { NH3N: 0 } }).success).toBe(false);
    expect(rate.config.schema.safeParse({ ...rate.config.defaults, per_hour: { nope: 1 } }).success).toBe(false);
  });
});

describe('config-schema pieces', () => {
  it('count is a whole number 1–1000, minutes positive up to 31 days, fraction 0–0.9', () => {
    const ok = (s: { safeParse: (v: unknown) => { success: boolean } }, v: unknown): boolean => s.safeParse(v).success;
    expect([0, 1, 1000, 1001, 1.5].map((v) => ok(count, v))).toEqual([false, true, true, false, false]);
    expect([0, 0.5, 44_640, 44_641].map((v) => ok(minutes, v))).toEqual([false, true, true, false]);
    expect([-0.01, 0, 0.9, 0.91].map((v) => ok(fraction, v))).toEqual([false, true, true, false]);
    expect(ok(paramKey, 'NH3N')).toBe(true);
    const bad = paramKey.safeParse('nh3n');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe('a canonical parameter key (README, Wire contract)');
  });
});

describe('wording', () => {
  it('limit: the parameter, value, unit and the limit with its basis', () => {
    expect(
      limit.wording({
        parameter: 'NH3N',
        kind: 'firing',
        value: 1.6,
        limit: 1,
        detail: { unit: 'mg/L', limitText: '≤ 1', basis: 'GB3838-2002 III' },
      }),
    ).toEqual({
      zh: '氨氮 1.6 mg/L，限值 ≤ 1（GB3838-2002 III）',
      en: 'Ammonia nitrogen 1.6 mg/L, limit ≤ 1 (GB3838-2002 III)',
    });
    expect(limit.wording({ parameter: 'XYZ', kind: 'firing', value: 2, limit: 1, detail: {} })).toEqual({
      zh: 'XYZ 2 ，限值 1（）',
      en: 'XYZ 2 , limit 1 ()',
    });
  });

  it('limit: a local limit stricter than the national one names both', () => {
    const d = {
      unit: 'mg/L',
      limitText: '≤ 0.8',
      basis: 'thresholds',
      nationalLimitText: '≤ 1',
      nationalBasis: 'GB3838-2002 III',
      nationalClass: 'III' as const,
    };
    expect(localLimitPhrase(d, 'mg/L', 'zh')).toBe('本地限值 ≤ 0.8 mg/L，国家 III 类 ≤ 1 mg/L（GB3838-2002）');
    expect(localLimitPhrase(d, 'mg/L', 'en')).toBe('local limit ≤ 0.8 mg/L (national class III: ≤ 1 mg/L, GB3838-2002)');
    const air = { limitText: '≤ 100', nationalLimitText: '≤ 150', nationalBasis: 'GB3095-2026' };
    expect(localLimitPhrase(air, '', 'zh')).toBe('本地限值 ≤ 100，国家标准 ≤ 150（GB3095-2026）');
    expect(localLimitPhrase(air, '', 'en')).toBe('local limit ≤ 100 (national: ≤ 150, GB3095-2026)');
    expect(localLimitPhrase({ nationalLimitText: '≤ 1', nationalClass: 'II' }, 'mg/L', 'en')).toBe(
      'local limit  mg/L (national class II: ≤ 1 mg/L, )',
    );
    expect(localLimitPhrase({ limitText: '≤ 1' }, 'mg/L', 'zh')).toBeUndefined();
    expect(limit.wording({ parameter: 'NH3N', kind: 'firing', value: 0.9, limit: 0.8, detail: d })).toEqual({
      zh: '氨氮 0.9 mg/L，本地限值 ≤ 0.8 mg/L，国家 III 类 ≤ 1 mg/L（GB3838-2002）',
      en: 'Ammonia nitrogen 0.9 mg/L, local limit ≤ 0.8 mg/L (national class III: ≤ 1 mg/L, GB3838-2002)',
    });
  });

  it('water class: class, target and the main pollutants only while worse than the target', () => {
    expect(
      waterClass.wording({
        parameter: 'class',
        kind: 'firing',
        value: 5,
        limit: 3,
        detail: { cls: 'V', target: 'III', limiting: ['NH3N', 'TP'] },
      }),
    ).toEqual({
      zh: '水质 V 类，目标 III 类，主要污染指标 NH3N, TP',
      en: 'water class V, target III, main pollutants NH3N, TP',
    });
    expect(
      waterClass.wording({
        parameter: 'class',
        kind: 'resolved',
        value: 3,
        limit: 3,
        detail: { cls: 'III', target: 'III', limiting: ['NH3N'] },
      }),
    ).toEqual({
      zh: '水质 III 类，目标 III 类',
      en: 'water class III, target III',
    });
    expect(waterClass.wording({ parameter: 'class', kind: 'firing', value: null, limit: null, detail: {} })).toEqual({
      zh: '水质 – 类，目标 – 类',
      en: 'water class –, target –',
    });
    expect(mainPollutants({ cls: 'IV', target: 'III' })).toEqual([]);
    expect(mainPollutants({ cls: 'IV', limiting: ['TP'] })).toEqual([]);
  });

  it('aqi: value, category, primary pollutants and the standard', () => {
    expect(
      aqi.wording({
        parameter: 'AQI',
        kind: 'firing',
        value: 119,
        limit: 101,
        detail: { category: '轻度污染', categoryEn: 'Lightly polluted', primary: ['PM2_5', 'PM10'], aqiStandard: 'HJ633-2026' },
      }),
    ).toEqual({
      zh: 'AQI 119（轻度污染），首要污染物 PM2_5, PM10（HJ633-2026）',
      en: 'AQI 119 (Lightly polluted), primary PM2_5, PM10 (HJ633-2026)',
    });
    expect(aqi.wording({ parameter: 'AQI', kind: 'resolved', value: 40, limit: 101, detail: { primary: [] } })).toEqual({
      zh: 'AQI 40（）（）',
      en: 'AQI 40 () ()',
    });
  });

  it('silence: minutes without data, since start-up, or reporting again', () => {
    expect(silence.wording({ parameter: 'silence', kind: 'firing', value: 45, limit: 30, detail: { lastSeenAt: 1 } })).toEqual({
      zh: '已 45 分钟无数据（限 30 分钟）',
      en: 'no reading for 45 min (limit 30 min)',
    });
    expect(silence.wording({ parameter: 'silence', kind: 'reminder', value: 45, limit: 30, detail: { lastSeenAt: null } })).toEqual({
      zh: '自启动以来无数据（45 分钟，限 30 分钟）',
      en: 'no reading since start-up (45 min, limit 30 min)',
    });
    expect(silence.wording({ parameter: 'silence', kind: 'resolved', value: 0, limit: 30, detail: { lastSeenAt: null } })).toEqual({
      zh: '恢复上报数据',
      en: 'reporting again',
    });
    expect(silence.observe({} as never)).toEqual([]);
  });
});

describe('severity', () => {
  it('limit: toxic item or intake severe at any exceedance; otherwise by ratio', () => {
    expect(limit.severity(ev({ parameter: 'Hg', value: 0.00011, limit: 0.0001 }), WATER, POLICY)).toBe('severe');
    expect(limit.severity(ev({ value: 1.1 }), INTAKE, POLICY)).toBe('severe');
    expect(limit.severity(ev({ value: 1.1 }), INTAKE, NO_INTAKE)).toBe('warning');
    expect(limit.severity(ev({ value: 1.99 }), WATER, POLICY)).toBe('warning');
    expect(limit.severity(ev({ value: 2 }), WATER, POLICY)).toBe('severe');
    expect(limit.severity(ev({ value: null }), WATER, POLICY)).toBe('warning');
  });

  it('limit: an alert under a lake-only limit at a river section is never severe, unless the thresholds set it', () => {
    expect(limit.severity(ev({ parameter: 'TN', value: 5, limit: 1, detail: { basis: 'GB3838-2002 III' } }), WATER, POLICY)).toBe(
      'warning',
    );
    expect(limit.severity(ev({ parameter: 'TN', value: 5, limit: 1, detail: { basis: 'thresholds' } }), WATER, POLICY)).toBe('severe');
    expect(
      limit.severity(
        ev({ parameter: 'TN', value: 5, limit: 1, detail: { basis: 'GB3838-2002 III' } }),
        { ...WATER, waterbody: 'lake' },
        POLICY,
      ),
    ).toBe('severe');
    expect(
      limit.severity(
        ev({ parameter: 'TN', value: 5, limit: 1, detail: { basis: 'GB3838-2002 III' } }),
        { ...WATER, waterbody: undefined },
        POLICY,
      ),
    ).toBe('warning');
    expect(limit.severity(ev({ parameter: 'TN', value: 5, limit: 1 }), { ...AIR }, POLICY)).toBe('severe');
  });

  it('rate: severe only at a drinking-water intake under a policy that says so', () => {
    expect(rate.severity(ev({ rule: 'rate' }), INTAKE, POLICY)).toBe('severe');
    expect(rate.severity(ev({ rule: 'rate' }), INTAKE, NO_INTAKE)).toBe('warning');
    expect(rate.severity(ev({ rule: 'rate' }), WATER, POLICY)).toBe('warning');
  });

  it("water class: by the policy's classes, or at an intake", () => {
    const wc = (cls: 'IV' | 'V' | undefined, s: Station, p: SeverityPolicy) =>
      waterClass.severity(ev({ rule: 'water_class', detail: cls ? { cls } : {} }), s, p);
    expect(wc('V', WATER, POLICY)).toBe('severe');
    expect(wc('IV', WATER, POLICY)).toBe('warning');
    expect(wc(undefined, WATER, POLICY)).toBe('warning');
    expect(wc('IV', INTAKE, POLICY)).toBe('severe');
    expect(wc('IV', INTAKE, NO_INTAKE)).toBe('warning');
  });

  it("aqi: severe from the policy's level; equipment and silence are information", () => {
    expect(aqi.severity(ev({ rule: 'aqi', value: 201 }), AIR, POLICY)).toBe('severe');
    expect(aqi.severity(ev({ rule: 'aqi', value: 200 }), AIR, POLICY)).toBe('warning');
    expect(aqi.severity(ev({ rule: 'aqi', value: null }), AIR, POLICY)).toBe('warning');
    expect(equipment.severity(ev({ rule: 'equipment' }), WATER, POLICY)).toBe('info');
    expect(silence.severity(ev({ rule: 'silence' }), WATER, POLICY)).toBe('info');
  });
});

describe('exceedance', () => {
  it('ratio: value / limit, or limit / value for a lower bound; none without both', () => {
    expect(exceedanceRatio({ value: 3, limit: 1.5, detail: {} })).toBe(2);
    expect(exceedanceRatio({ value: 3, limit: 1.5, detail: { limitKind: 'max' } })).toBe(2);
    expect(exceedanceRatio({ value: 2.5, limit: 5, detail: { limitKind: 'min' } })).toBe(2);
    expect(exceedanceRatio({ value: 0, limit: 5, detail: { limitKind: 'min' } })).toBe(Infinity);
    expect(exceedanceRatio({ value: -1, limit: 5, detail: { limitKind: 'min' } })).toBe(Infinity);
    expect(exceedanceRatio({ value: null, limit: 5, detail: {} })).toBeNull();
    expect(exceedanceRatio({ value: 1, limit: null, detail: {} })).toBeNull();
    expect(exceedanceRatio({ value: 1, limit: 0, detail: {} })).toBeNull();
  });

  it('multiple (超标倍数): (value − limit) / limit for an upper bound only', () => {
    expect(exceedanceMultiple(9.87, 1, 'max')).toBeCloseTo(8.87, 10);
    expect(exceedanceMultiple(3, 2, undefined)).toBe(0.5);
    expect(exceedanceMultiple(1, 2, 'max')).toBe(-0.5);
    expect(exceedanceMultiple(3, 2, 'min')).toBeNull();
    expect(exceedanceMultiple(3, 2, 'range')).toBeNull();
    expect(exceedanceMultiple(3, 0, 'max')).toBeNull();
    expect(exceedanceMultiple(3, -1, 'max')).toBeNull();
    expect(exceedanceMultiple(null, 1, 'max')).toBeNull();
    expect(exceedanceMultiple(1, null, 'max')).toBeNull();
  });
});

describe('shared helpers', () => {
  it('limit text and value of each kind of bound', () => {
    expect(limitText({ kind: 'max', value: 1 })).toBe('≤ 1');
    expect(limitText({ kind: 'min', value: 5 })).toBe('≥ 5');
    expect(limitText({ kind: 'range', min: 6, max: 9 })).toBe('6–9');
    expect(limitValue({ kind: 'range', min: 6, max: 9 })).toBe(9);
    expect(limitValue({ kind: 'min', value: 5 })).toBe(5);
  });

  it('num: six significant digits without trailing zeros; a dash for no value', () => {
    expect(num(1.23456789)).toBe('1.23457');
    expect(num(2.5)).toBe('2.5');
    expect(num(0)).toBe('0');
    expect(num(null)).toBe('–');
    expect(num(undefined)).toBe('–');
  });

  it('round to a number of decimals', () => {
    expect(round(0.1234565, 6)).toBe(0.123457);
    expect(round(2.5, 0)).toBe(3);
    expect(round(1.25, 1)).toBe(1.3);
  });

  it('timing and reminders from the profile', () => {
    const profile = { reminderMin: 240 } as StationProfile;
    expect(reminderMs(profile)).toBe(14_400_000);
    expect(reminderMs({ reminderMin: null } as StationProfile)).toBeNull();
    expect(timingOf({ consecutive: 3, duration_min: 60, clear_consecutive: 2 }, profile)).toEqual({
      consecutive: 3,
      durationMs: 3_600_000,
      clearConsecutive: 2,
      reminderMs: 14_400_000,
    });
    expect(timingOf({ consecutive: 1, duration_min: null, clear_consecutive: 1 }, profile).durationMs).toBeNull();
    expect(timingOf({ consecutive: 1, clear_consecutive: 1 }, profile).durationMs).toBeNull();
  });

  it('classify is re-exported by observe for its callers', async () => {
    const o = await import('../../alerts/observe.js');
    expect(o.classify).toBe(classify);
  });
});
