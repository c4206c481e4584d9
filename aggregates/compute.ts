/**
 * The aggregates themselves, as pure functions of the data below them: an hour from the stored
 * readings, a day from its hours, a month or a year from its days, a city from its stations. The
 * standards' numbers come from lib/standards (waterClass, computeAqi, classLimit), the validity
 * rules from validity.ts; nothing here touches InfluxDB or Redis.
 */
import { parametersOf, type DataFlag, type Medium } from '../lib/parameters.js';
import type { Period } from '../lib/reading.js';
import {
  CLASS_ORDER,
  classIndex,
  classLimit,
  computeAqi,
  limitAppliesTo,
  waterClass,
  type AqiInputs,
  type AqiMode,
  type GradedClass,
  type Limit,
  type Waterbody,
} from '../lib/standards/index.js';
import { exactMean } from './mean.js';
import {
  MIN_VALID_DAYS_PER_YEAR,
  MIN_VALID_HOURS_PER_8H,
  MIN_VALID_HOURS_PER_DAY,
  MIN_VALID_MINUTES_PER_HOUR,
  MIN_VALID_O3_8H_WINDOWS,
  O3_8H_WINDOWS_PER_DAY,
  WATER_MIN_VALID_DAYS_PER_PERIOD,
  WATER_MIN_VALID_HOURS_PER_DAY,
  coveredMinutes,
  expectedPerHour,
  isValidFlag,
  minValidDaysPerMonth,
} from './validity.js';
import { HOUR_MS, type Window } from './windows.js';

export type Fields = Record<string, number | string>;

/** One stored reading as the aggregates read it back from InfluxDB. */
export interface RawRow {
  ts: number;
  period: Period;
  values: Record<string, number>;
  flags: Record<string, DataFlag>;
}

/** An aggregate point below the one being computed (hours of a day, days of a month …). */
export interface AggregateRow {
  ts: number;
  fields: Fields;
}

/** What the aggregates need to know of a station. */
export interface StationBasis {
  id: string;
  city: string;
  medium: Medium;
  /** Seconds between two regular reports (the registry's report_interval_s, or its default). */
  intervalS: number;
  waterbody: Waterbody;
  targetClass?: GradedClass | undefined;
  /** GB 3838 items reported with their class but not deciding the section's (thresholds.yaml). */
  referenceItems: readonly string[];
  /** A section's river km, kept in its daily points so an assessment can order sections down the river. */
  riverKm?: number | undefined;
}

export const POLLUTANTS = ['SO2', 'NO2', 'PM10', 'CO', 'O3', 'PM2_5'] as const;
const paramKeys = (m: Medium): string[] => parametersOf(m).map((p) => p.key);
const num = (f: Fields, k: string): number | undefined => (typeof f[k] === 'number' ? (f[k] as number) : undefined);

/** 1 = I … 6 = 劣V: the class as a number dashboards can colour and compare. */
export const classNumber = (c: (typeof CLASS_ORDER)[number]): number => classIndex(c) + 1;

// ---------------------------------------------------------------------------------------------
// Hours

/**
 * One station-hour from its stored readings. Real-time and minute readings make the mean when
 * they cover at least 45 minutes; where they do not, the station's own hourly value (HJ 212 CN
 * 2061, stored at the hour's start) stands in if it is valid. Day values (CN 2031) are not read:
 * days are made from hours.
 */
export function hourFields(st: StationBasis, start: number, rows: readonly RawRow[]): Fields {
  const fields: Fields = {};
  const slotMs = st.intervalS * 1000;
  const sub = rows.filter((r) => (r.period === 'rt' || r.period === 'min') && r.ts >= start && r.ts < start + HOUR_MS);
  const own = rows.find((r) => r.period === 'hour' && r.ts === start);
  const anySlots = new Set<number>();
  const means: Record<string, number> = {};
  const expected = expectedPerHour(st.intervalS);
  let ownUsed = false;
  for (const p of paramKeys(st.medium)) {
    const values: number[] = [];
    const slots = new Set<number>();
    for (const r of sub) {
      const v = r.values[p];
      if (v === undefined || !isValidFlag(r.flags[p])) continue;
      values.push(v);
      slots.add(Math.floor(r.ts / slotMs));
    }
    for (const s of slots) anySlots.add(s);
    if (slots.size > 0) fields[`n_${p}`] = slots.size;
    if (coveredMinutes(slots.size, st.intervalS) >= MIN_VALID_MINUTES_PER_HOUR) {
      means[p] = exactMean(values) as number;
    } else if (own && own.values[p] !== undefined && isValidFlag(own.flags[p])) {
      means[p] = own.values[p];
      fields[`n_${p}`] = Math.max(1, Math.round(expected));
      ownUsed = true;
    }
  }
  Object.assign(fields, means);
  fields.readings = ownUsed ? Math.max(anySlots.size, Math.max(1, Math.round(expected))) : anySlots.size;
  fields.expected = expected;
  Object.assign(fields, st.medium === 'water' ? waterClassFields(st, means) : aqiFields(hourlyInputs(means), start, 'hourly'));
  return fields;
}

function hourlyInputs(means: Record<string, number>): AqiInputs {
  const inputs: AqiInputs = {};
  for (const p of POLLUTANTS) if (means[p] !== undefined) inputs[`${p}_1h`] = means[p];
  return inputs;
}

function waterClassFields(st: StationBasis, means: Record<string, number>): Fields {
  const r = waterClass(means, { waterbody: st.waterbody, policy: { referenceItems: [...st.referenceItems] } });
  const out: Fields = {};
  for (const [p, c] of Object.entries(r.perParam)) out[`class_${p}`] = classNumber(c);
  if (r.class !== null) {
    out.class = classNumber(r.class);
    out.deciding = r.limiting.join(',');
  }
  return out;
}

function aqiFields(inputs: AqiInputs, start: number, mode: AqiMode): Fields {
  const r = computeAqi(inputs, { date: new Date(start), mode });
  const out: Fields = {};
  for (const [k, v] of Object.entries(r.iaqi)) out[`iaqi_${k}`] = v;
  if (r.aqi !== null) {
    out.aqi = r.aqi;
    out.level = r.level as number;
    out.primary = r.primary.join(',');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Days

/** The section's target-class limit for an item, where it decides the class (else undefined). */
function targetLimit(st: StationBasis, p: string): Limit | undefined {
  if (!st.targetClass || st.referenceItems.includes(p) || !limitAppliesTo(p, st.waterbody)) return undefined;
  return classLimit(p, st.targetClass, st.waterbody);
}

function breaks(limit: Limit, v: number): boolean {
  switch (limit.kind) {
    case 'max':
      return v > limit.value;
    case 'min':
      return v < limit.value;
    case 'range':
      return v < limit.min || v > limit.max;
  }
}

/** Exceedances of the target class among the valid hourly means of one item. */
function exceedances(st: StationBasis, p: string, hourly: readonly number[]): Fields {
  const limit = targetLimit(st, p);
  if (!limit) return {};
  const over = hourly.filter((v) => breaks(limit, v));
  const out: Fields = { [`exceed_${p}`]: over.length };
  if (limit.kind === 'max' && over.length > 0) {
    // 超标倍数 (C − S) / S (docs/domain.md §1); upper limits only, and S > 0 for every Table 1 item.
    const m = Math.max(...over.map((v) => (v - limit.value) / limit.value));
    out[`multiple_${p}`] = Math.round(m * 1000) / 1000;
  }
  return out;
}

/** Readings and expected readings summed over the rows below, for completeness. */
function completeness(rows: readonly AggregateRow[], expected: number): Fields {
  return { readings: rows.reduce((a, r) => a + (num(r.fields, 'readings') ?? 0), 0), expected };
}

/**
 * One station-day (CST) from its hourly aggregates. `expectedHours` is the hours of the day that
 * have begun (24 for a past day), so today's completeness is not understated.
 */
export function dayFields(st: StationBasis, start: number, hours: readonly AggregateRow[], expectedHours: number): Fields {
  const fields: Fields = { ...completeness(hours, expectedHours * expectedPerHour(st.intervalS)) };
  const minHours = st.medium === 'air' ? MIN_VALID_HOURS_PER_DAY : WATER_MIN_VALID_HOURS_PER_DAY;
  const means: Record<string, number> = {};
  for (const p of paramKeys(st.medium)) {
    const hourly = hours.map((h) => num(h.fields, p)).filter((v): v is number => v !== undefined);
    if (hourly.length === 0) continue;
    fields[`n_${p}`] = hourly.length;
    if (hourly.length >= minHours) means[p] = exactMean(hourly) as number;
    if (st.medium === 'water') Object.assign(fields, exceedances(st, p, hourly));
  }
  Object.assign(fields, means);
  if (st.medium === 'water') {
    if (st.riverKm !== undefined) fields.km = st.riverKm;
    Object.assign(fields, waterClassFields(st, means));
    return fields;
  }
  Object.assign(fields, o3Daily(start, hours));
  return Object.assign(fields, dailyAqi(fields, start));
}

/** The daily maximum 8-h O3 mean and the daily maximum hourly O3 (HJ 663-2013). */
function o3Daily(start: number, hours: readonly AggregateRow[]): Fields {
  const byHour = new Map<number, number>();
  for (const h of hours) {
    const v = num(h.fields, 'O3');
    if (v !== undefined) byHour.set(Math.round((h.ts - start) / HOUR_MS), v);
  }
  const out: Fields = {};
  const windows: number[] = [];
  for (let k = 0; k < O3_8H_WINDOWS_PER_DAY; k++) {
    const vs: number[] = [];
    for (let i = k; i < k + 8; i++) if (byHour.has(i)) vs.push(byHour.get(i) as number);
    if (vs.length >= MIN_VALID_HOURS_PER_8H) windows.push(exactMean(vs) as number);
  }
  if (windows.length > 0) out.n_O3_8h = windows.length;
  if (windows.length >= MIN_VALID_O3_8H_WINDOWS) out.O3_8h = Math.max(...windows);
  if (byHour.size >= MIN_VALID_HOURS_PER_DAY) out.O3_1h_max = Math.max(...byHour.values());
  return out;
}

function dailyAqi(f: Fields, start: number): Fields {
  const inputs: AqiInputs = {};
  for (const p of POLLUTANTS) {
    const v = num(f, p);
    if (v !== undefined && p !== 'O3') inputs[`${p}_24h`] = v;
  }
  if (num(f, 'O3_8h') !== undefined) inputs.O3_8h = num(f, 'O3_8h') as number;
  if (num(f, 'O3_1h_max') !== undefined) inputs.O3_1h = num(f, 'O3_1h_max') as number;
  const out = aqiFields(inputs, start, 'daily');
  if (typeof out.aqi === 'number') out.good = out.aqi <= 100 ? 1 : 0;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Months and years

/**
 * One station-month or station-year from its daily aggregates. Water: each item's mean of its
 * valid daily means, the class of those means against the target class (达标 = at or better),
 * exceedances summed and the largest multiple. Air: the pollutants' means where enough days
 * were valid, the 90th percentile of the daily maximum 8-h O3, good days among days with an AQI,
 * and days by primary pollutant.
 */
export function periodFields(
  st: StationBasis,
  w: Extract<Window, 'month' | 'year'>,
  start: number,
  days: readonly AggregateRow[],
  expectedHours: number,
): Fields {
  const fields: Fields = { ...completeness(days, expectedHours * expectedPerHour(st.intervalS)) };
  return Object.assign(fields, st.medium === 'water' ? waterPeriod(st, days) : airPeriod(w, start, days));
}

function waterPeriod(st: StationBasis, days: readonly AggregateRow[]): Fields {
  const fields: Fields = {};
  const means: Record<string, number> = {};
  for (const p of paramKeys('water')) {
    const daily = days.map((d) => num(d.fields, p)).filter((v): v is number => v !== undefined);
    if (daily.length > 0) fields[`n_${p}`] = daily.length;
    if (daily.length >= WATER_MIN_VALID_DAYS_PER_PERIOD) means[p] = exactMean(daily) as number;
    const exceed = days.map((d) => num(d.fields, `exceed_${p}`)).filter((v): v is number => v !== undefined);
    if (exceed.length > 0) fields[`exceed_${p}`] = exceed.reduce((a, v) => a + v, 0);
    const multiples = days.map((d) => num(d.fields, `multiple_${p}`)).filter((v): v is number => v !== undefined);
    if (multiples.length > 0) fields[`multiple_${p}`] = Math.max(...multiples);
  }
  Object.assign(fields, means, waterClassFields(st, means));
  if (st.riverKm !== undefined) fields.km = st.riverKm;
  fields.days = days.filter((d) => num(d.fields, 'class') !== undefined).length;
  if (st.targetClass) {
    fields.target = classNumber(st.targetClass);
    if (typeof fields.class === 'number') fields.meets = fields.class <= fields.target ? 1 : 0;
  }
  return fields;
}

/** HJ 663-2013 percentile: k = 1 + (n − 1)·p/100 on the ascending values, interpolated. */
export function percentile(values: readonly number[], pct: number): number | undefined {
  if (values.length === 0) return undefined;
  const xs = [...values].sort((a, b) => a - b);
  const k = 1 + (xs.length - 1) * (pct / 100);
  const s = Math.floor(k);
  const lo = xs[s - 1] as number;
  const hi = xs[Math.min(s, xs.length - 1)] as number;
  return Math.round((lo + (hi - lo) * (k - s)) * 10_000) / 10_000;
}

function airPeriod(w: 'month' | 'year', start: number, days: readonly AggregateRow[]): Fields {
  const fields: Fields = {};
  const minDays = w === 'month' ? minValidDaysPerMonth(start) : MIN_VALID_DAYS_PER_YEAR;
  for (const p of [...POLLUTANTS.filter((x) => x !== 'O3'), 'O3_8h']) {
    const daily = days.map((d) => num(d.fields, p)).filter((v): v is number => v !== undefined);
    if (daily.length === 0) continue;
    fields[`n_${p}`] = daily.length;
    if (daily.length < minDays) continue;
    if (p === 'O3_8h') fields.O3_8h_p90 = percentile(daily, 90) as number;
    else fields[p] = exactMean(daily) as number;
  }
  const rated = days.filter((d) => num(d.fields, 'aqi') !== undefined);
  const good = rated.filter((d) => (num(d.fields, 'aqi') as number) <= 100).length;
  fields.valid_days = rated.length;
  fields.good_days = good;
  if (rated.length > 0) fields.good_ratio = Math.round((good * 100_000) / rated.length) / 1000;
  for (const p of POLLUTANTS) {
    fields[`primary_${p}`] = rated.filter((d) =>
      String(d.fields.primary ?? '')
        .split(',')
        .includes(p),
    ).length;
  }
  for (let level = 1; level <= 6; level++) fields[`level_${level}`] = rated.filter((d) => num(d.fields, 'level') === level).length;
  return fields;
}

// ---------------------------------------------------------------------------------------------
// Cities (air)

/**
 * A city's hour or day: the mean of its stations' valid means per pollutant (the daily O3 8-h
 * value likewise), and the AQI of those means, as HJ 663 and HJ 633 make a city's figures.
 */
export function cityFields(w: Extract<Window, 'hour' | 'day'>, start: number, stations: readonly AggregateRow[]): Fields {
  const fields: Fields = {
    stations: stations.length,
    ...completeness(
      stations,
      stations.reduce((a, s) => a + (num(s.fields, 'expected') ?? 0), 0),
    ),
  };
  const keys = w === 'hour' ? POLLUTANTS : [...POLLUTANTS, 'O3_8h', 'O3_1h_max'];
  const means: Record<string, number> = {};
  for (const p of keys) {
    const vs = stations.map((s) => num(s.fields, p)).filter((v): v is number => v !== undefined);
    if (vs.length === 0) continue;
    fields[`n_${p}`] = vs.length;
    means[p] = exactMean(vs) as number;
  }
  Object.assign(fields, means);
  return Object.assign(fields, w === 'hour' ? aqiFields(hourlyInputs(means), start, 'hourly') : dailyAqi(fields, start));
}

/** A city's month or year from its days (expected readings: the sum over its days). */
export function cityPeriodFields(w: Extract<Window, 'month' | 'year'>, start: number, days: readonly AggregateRow[]): Fields {
  const expected = days.reduce((a, d) => a + (num(d.fields, 'expected') ?? 0), 0);
  return { ...completeness(days, expected), ...airPeriod(w, start, days) };
}
