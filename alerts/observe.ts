/**
 * The rules: what one reading says about each alert key of its station, given the thresholds in
 * force. Pure, apart from the previous values the rate rule compares with (passed in and out), so
 * the same reading under the same thresholds always yields the same observations.
 */
import { PARAMETER_BY_KEY, POLLUTION_RELEVANT_FLAGS, type DataFlag } from '../lib/parameters.js';
import type { Reading } from '../lib/reading.js';
import type { Station } from '../lib/station-registry.js';
import {
  AQI_CATEGORIES,
  classIndex,
  computeAqi,
  isWorseThan,
  waterClass,
  type AqiInputs,
  type Limit,
  type WaterClass,
} from '../lib/standards/index.js';
import type { Condition, Observation, Timing } from './state-machine.js';
import { limitFor, limitRuleFor, type StationProfile } from './thresholds.js';

export type RuleName = 'limit' | 'rate' | 'water_class' | 'aqi' | 'equipment' | 'silence';

export interface RuleObservation extends Observation {
  /** State key within the series: `limit.NH3N`, `rate.NH3N`, `water_class`, `aqi`, `equipment`. */
  key: string;
  rule: RuleName;
  /** A parameter key, or `class` / `AQI` / `equipment` / `silence` for whole-station rules. */
  parameter: string;
  timing: Timing;
  /** Human detail for the notice: unit, the standard behind the limit, class, AQI category ... */
  detail: AlertDetail;
}

export interface AlertDetail {
  unit?: string;
  basis?: string;
  limitKind?: Limit['kind'];
  limitText?: string;
  cls?: WaterClass;
  target?: WaterClass;
  limiting?: string[];
  /** Class and AQI episodes: the deciding parameters when the episode fired. */
  cause?: string[];
  aqiStandard?: string;
  category?: string;
  categoryEn?: string;
  primary?: string[];
  faults?: Record<string, DataFlag>;
  ratePerHour?: number;
  /** Silence: when the station was last heard from (null: never since start-up). */
  lastSeenAt?: number | null;
}

/** The latest usable value of each parameter in a series, for the rate rule. */
export type PrevValues = Record<string, { v: number; ts: number }>;

/** Flags that mean the instrument or logger is not measuring (DOMAIN.md section 3). */
const EQUIPMENT_FLAGS: ReadonlySet<DataFlag> = new Set(['D', 'F', 'B']);

export function relevant(reading: Reading, param: string): boolean {
  const flag = reading.flags[param];
  return flag === undefined || POLLUTION_RELEVANT_FLAGS.has(flag);
}

/** breach/band/clear of a value against a limit with hysteresis h (limits are inclusive). */
export function classify(value: number, limit: Limit, h: number): Condition {
  switch (limit.kind) {
    case 'max':
      return value > limit.value ? 'breach' : value <= limit.value * (1 - h) ? 'clear' : 'band';
    case 'min':
      return value < limit.value ? 'breach' : value >= limit.value * (1 + h) ? 'clear' : 'band';
    case 'range':
      if (value < limit.min || value > limit.max) return 'breach';
      return value >= limit.min * (1 + h) && value <= limit.max * (1 - h) ? 'clear' : 'band';
  }
}

function limitValue(limit: Limit): number {
  return limit.kind === 'range' ? limit.max : limit.value;
}

function limitText(limit: Limit): string {
  return limit.kind === 'max' ? `≤ ${limit.value}` : limit.kind === 'min' ? `≥ ${limit.value}` : `${limit.min}–${limit.max}`;
}

function timingOf(
  r: { consecutive: number; duration_min?: number | null; clear_consecutive: number },
  profile: StationProfile,
): Timing {
  return {
    consecutive: r.consecutive,
    durationMs: r.duration_min ? r.duration_min * 60_000 : null,
    clearConsecutive: r.clear_consecutive,
    reminderMs: profile.reminderMin === null ? null : profile.reminderMin * 60_000,
  };
}

export interface ObserveResult {
  observations: RuleObservation[];
  prev: PrevValues;
}

/**
 * Observations of one reading. A parameter flagged anything but N or T gives no pollution
 * observation (its key's state stays as it was) and is not used by the rate, class or AQI rules.
 */
export function observe(reading: Reading, station: Station, profile: StationProfile, prev: PrevValues): ObserveResult {
  const out: RuleObservation[] = [];
  const nextPrev: PrevValues = { ...prev };
  const at = reading.ts;
  const valid: Record<string, number> = {};
  for (const [param, v] of Object.entries(reading.values)) if (relevant(reading, param) && Number.isFinite(v)) valid[param] = v;

  // limit
  if (profile.rules.limit.enabled) {
    for (const [param, v] of Object.entries(valid)) {
      const resolved = limitFor(profile, station, param, at, reading.period);
      if (!resolved) continue;
      const rule = limitRuleFor(profile, param);
      if (!rule.enabled) continue;
      out.push({
        key: `limit.${param}`, rule: 'limit', parameter: param, at,
        cond: classify(v, resolved.limit, rule.hysteresis), value: v, limit: limitValue(resolved.limit),
        timing: timingOf(rule, profile),
        detail: { unit: PARAMETER_BY_KEY.get(param)?.unit ?? '', basis: resolved.basis, limitKind: resolved.limit.kind, limitText: limitText(resolved.limit) },
      });
    }
  }

  // rate of rise, per hour, against the previous usable value of the same series
  const rate = profile.rules.rate;
  for (const [param, v] of Object.entries(valid)) {
    const max = rate.per_hour[param];
    const before = prev[param];
    nextPrev[param] = { v, ts: at };
    if (!rate.enabled || max === undefined || !before) continue;
    const dtMs = at - before.ts;
    if (dtMs <= 0 || dtMs > rate.max_gap_min * 60_000) continue;
    const perHour = (v - before.v) / (dtMs / 3_600_000);
    out.push({
      key: `rate.${param}`, rule: 'rate', parameter: param, at,
      cond: classify(perHour, { kind: 'max', value: max }, rate.hysteresis), value: round(perHour, 6), limit: max,
      timing: timingOf(rate, profile),
      detail: { unit: `${PARAMETER_BY_KEY.get(param)?.unit ?? ''}/h`, basis: 'thresholds', ratePerHour: round(perHour, 6), limitText: `≤ ${max}/h` },
    });
  }

  // water class against the section's target
  const target = profile.targetClass;
  if (station.kind === 'water' && profile.rules.water_class.enabled && target) {
    const res = waterClass(valid, { waterbody: profile.waterbody, policy: { referenceItems: profile.rules.water_class.reference_items } });
    if (res.class !== null) {
      out.push({
        key: 'water_class', rule: 'water_class', parameter: 'class', at,
        cond: isWorseThan(res.class, target) ? 'breach' : 'clear',
        value: classIndex(res.class) + 1, limit: classIndex(target) + 1,
        timing: timingOf(profile.rules.water_class, profile),
        detail: { cls: res.class, target, limiting: res.limiting, basis: 'GB3838-2002' },
      });
    }
  }

  // AQI category
  const aqiRule = profile.rules.aqi;
  if (station.kind === 'air' && aqiRule.enabled) {
    const obs = observeAqi(reading, valid, aqiRule.level, aqiRule.hysteresis);
    if (obs) out.push({ ...obs, key: 'aqi', rule: 'aqi', parameter: 'AQI', at, timing: timingOf(aqiRule, profile) });
  }

  // equipment: any D/F/B flag is a fault; a reading without one clears
  const eq = profile.rules.equipment;
  if (eq.enabled) {
    const faults: Record<string, DataFlag> = {};
    for (const [param, flag] of Object.entries(reading.flags)) if (EQUIPMENT_FLAGS.has(flag)) faults[param] = flag;
    const n = Object.keys(faults).length;
    out.push({
      key: 'equipment', rule: 'equipment', parameter: 'equipment', at,
      cond: n > 0 ? 'breach' : 'clear', value: n, limit: 0,
      timing: { consecutive: eq.consecutive, durationMs: null, clearConsecutive: eq.clear_consecutive, reminderMs: profile.reminderMin === null ? null : profile.reminderMin * 60_000 },
      detail: { faults },
    });
  }

  return { observations: out, prev: nextPrev };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** HJ 633 real-time AQI for real-time/minute/hourly readings, daily AQI for daily ones. */
function observeAqi(reading: Reading, valid: Record<string, number>, level: number, h: number): Pick<RuleObservation, 'cond' | 'value' | 'limit' | 'detail'> | undefined {
  const daily = reading.period === 'day';
  const inputs: AqiInputs = {};
  const put = (key: keyof AqiInputs, v: number | undefined): void => {
    if (v !== undefined) inputs[key] = v;
  };
  if (daily) {
    put('SO2_24h', valid.SO2);
    put('NO2_24h', valid.NO2);
    put('PM10_24h', valid.PM10);
    put('PM2_5_24h', valid.PM2_5);
    put('CO_24h', valid.CO);
    put('O3_8h', valid.O3);
    // A daily HJ 212 record's O3 maximum is the day's highest hourly value (HJ 633-2012 daily term).
    if (valid.O3 !== undefined) put('O3_1h', reading.extras?.O3_max);
  } else {
    put('SO2_1h', valid.SO2);
    put('NO2_1h', valid.NO2);
    put('PM10_1h', valid.PM10);
    put('PM2_5_1h', valid.PM2_5);
    put('CO_1h', valid.CO);
    put('O3_1h', valid.O3);
  }
  if (Object.keys(inputs).length === 0) return undefined;
  let res;
  try {
    res = computeAqi(inputs, { date: new Date(reading.ts), mode: daily ? 'daily' : 'hourly' });
  } catch {
    return undefined;
  }
  if (res.aqi === null || res.level === null) return undefined;
  const threshold = AQI_CATEGORIES.find((c) => c.level === level)?.min ?? 101;
  const cond: Condition = res.level >= level ? 'breach' : res.aqi <= (threshold - 1) * (1 - h) ? 'clear' : 'band';
  return {
    cond, value: res.aqi, limit: threshold,
    detail: { aqiStandard: res.standard, category: res.category ?? '', categoryEn: res.categoryEn ?? '', primary: res.primary, basis: res.standard, limitText: `AQI < ${threshold}` },
  };
}
