/**
 * The Air Quality Index of HJ 633, both versions: HJ 633-2012 and HJ 633-2026 (in force from
 * 2026-03-01 China Standard Time). Every rule here is docs/domain.md §2; a reading is judged by
 * the version in force on its own date.
 */
import { TuojiangError } from '../errors.js';
import { AIR_2026_IN_FORCE_MS, assertValidDate } from './dates.js';
import { ceilDiv, compareToInt, roundHalfEven, toDecimal, type Decimal } from './decimal.js';

export type AqiStandard = 'HJ633-2012' | 'HJ633-2026';
export type AqiMode = 'hourly' | 'daily';
export type AirPollutant = 'SO2' | 'NO2' | 'CO' | 'O3' | 'PM10' | 'PM2_5';

export const AQI_INPUT_KEYS = [
  'SO2_24h',
  'SO2_1h',
  'NO2_24h',
  'NO2_1h',
  'PM10_24h',
  'PM10_1h',
  'PM2_5_24h',
  'PM2_5_1h',
  'CO_24h',
  'CO_1h',
  'O3_1h',
  'O3_8h',
] as const;
export type AqiInputKey = (typeof AQI_INPUT_KEYS)[number];
/** Concentrations in µg/m³ (CO mg/m³), keyed by pollutant and averaging period. */
export type AqiInputs = Partial<Record<AqiInputKey, number>>;

export function aqiStandardFor(date: Date): AqiStandard {
  assertValidDate(date, 'aqiStandardFor');
  return date.getTime() >= AIR_2026_IN_FORCE_MS ? 'HJ633-2026' : 'HJ633-2012';
}

/** The IAQI of each breakpoint row; a table's i-th concentration maps to IAQI_LEVELS[i]. */
export const IAQI_LEVELS: readonly number[] = [0, 50, 100, 150, 200, 300, 400, 500];

export type BreakpointTable =
  'SO2_24h' | 'SO2_1h' | 'NO2_24h' | 'NO2_1h' | 'PM10_24h' | 'CO_24h' | 'CO_1h' | 'O3_1h' | 'O3_8h' | 'PM2_5_24h';

const BREAKPOINTS_2012: Readonly<Record<BreakpointTable, readonly number[]>> = {
  SO2_24h: [0, 50, 150, 475, 800, 1600, 2100, 2620],
  // Ends at IAQI 200: above 800 the 1-h value is not used (rules in computeAqi).
  SO2_1h: [0, 150, 500, 650, 800],
  NO2_24h: [0, 40, 80, 180, 280, 565, 750, 940],
  NO2_1h: [0, 100, 200, 700, 1200, 2340, 3090, 3840],
  PM10_24h: [0, 50, 150, 250, 350, 420, 500, 600],
  CO_24h: [0, 2, 4, 14, 24, 36, 48, 60],
  CO_1h: [0, 5, 10, 35, 60, 90, 120, 150],
  O3_1h: [0, 160, 200, 300, 400, 800, 1000, 1200],
  // Ends at IAQI 300: above 800 the 8-h value is not used (rules in computeAqi).
  O3_8h: [0, 100, 160, 215, 265, 800],
  PM2_5_24h: [0, 35, 75, 115, 150, 250, 350, 500],
};

/** HJ 633-2026 moves only the IAQI-100 breakpoints of PM2.5 (75 → 60) and PM10 (150 → 120). */
const BREAKPOINTS_2026: Readonly<Record<BreakpointTable, readonly number[]>> = {
  ...BREAKPOINTS_2012,
  PM10_24h: [0, 50, 120, 250, 350, 420, 500, 600],
  PM2_5_24h: [0, 35, 60, 115, 150, 250, 350, 500],
};

export const IAQI_BREAKPOINTS: Readonly<Record<AqiStandard, Readonly<Record<BreakpointTable, readonly number[]>>>> = {
  'HJ633-2012': BREAKPOINTS_2012,
  'HJ633-2026': BREAKPOINTS_2026,
};

/**
 * IAQI by linear interpolation between neighbouring breakpoints, rounded up, computed exactly.
 * At or above the top of a table reaching IAQI 500 the IAQI is 500; above the top of a shorter
 * table (SO2 1h, O3 8h) it is undefined and the version's own rule applies.
 */
function iaqiOfDecimal(bps: readonly number[], c: Decimal): number | undefined {
  for (let i = 1; i < bps.length; i++) {
    const hi = bps[i] as number;
    if (compareToInt(c, hi) > 0) continue;
    const lo = bps[i - 1] as number;
    const iLo = IAQI_LEVELS[i - 1] as number;
    const iHi = IAQI_LEVELS[i] as number;
    const unit = 10n ** BigInt(c.scale);
    const num = BigInt(iHi - iLo) * (c.coef - BigInt(lo) * unit);
    const den = BigInt(hi - lo) * unit;
    return iLo + Number(ceilDiv(num, den));
  }
  return IAQI_LEVELS[bps.length - 1] === 500 ? 500 : undefined;
}

/** The IAQI of one concentration against one breakpoint table, without any version-specific rule. */
export function iaqiOf(standard: AqiStandard, table: BreakpointTable, concentration: number): number | undefined {
  checkConcentration(table, concentration);
  return iaqiOfDecimal(IAQI_BREAKPOINTS[standard][table], toDecimal(concentration));
}

interface Term {
  input: AqiInputKey;
  pollutant: AirPollutant;
  table: BreakpointTable;
}
const term = (input: AqiInputKey, pollutant: AirPollutant, table: BreakpointTable = input as BreakpointTable): Term => ({
  input,
  pollutant,
  table,
});

/**
 * Which inputs each report uses (docs/domain.md §2):
 * - HJ 633-2012 hourly (real-time): SO2, NO2, CO, O3 1-h values. There are no 1-h PM breakpoints, so
 *   PM uses the 24-h sliding means given as PM10_24h / PM2_5_24h. SO2_24h is read only as the
 *   fallback when SO2 1h exceeds 800. O3_8h is not part of the real-time AQI here.
 * - HJ 633-2012 daily: the 24-h means, plus O3 as both the daily maximum 1-h value and the daily
 *   maximum 8-h mean (HJ 633-2012's daily table has both; O3 8h above 800 falls back to O3 1h).
 * - HJ 633-2026 hourly: the six 1-h values; PM 1h is graded on the daily PM breakpoints.
 * - HJ 633-2026 daily: the 24-h means and O3 8h; the daily report drops O3 1h.
 */
export const AQI_TERMS: Readonly<Record<AqiStandard, Readonly<Record<AqiMode, readonly Term[]>>>> = {
  'HJ633-2012': {
    hourly: [
      term('SO2_1h', 'SO2'),
      term('NO2_1h', 'NO2'),
      term('PM10_24h', 'PM10'),
      term('CO_1h', 'CO'),
      term('O3_1h', 'O3'),
      term('PM2_5_24h', 'PM2_5'),
    ],
    daily: [
      term('SO2_24h', 'SO2'),
      term('NO2_24h', 'NO2'),
      term('PM10_24h', 'PM10'),
      term('CO_24h', 'CO'),
      term('O3_1h', 'O3'),
      term('O3_8h', 'O3'),
      term('PM2_5_24h', 'PM2_5'),
    ],
  },
  'HJ633-2026': {
    hourly: [
      term('SO2_1h', 'SO2'),
      term('NO2_1h', 'NO2'),
      term('PM10_1h', 'PM10', 'PM10_24h'),
      term('CO_1h', 'CO'),
      term('O3_1h', 'O3'),
      term('PM2_5_1h', 'PM2_5', 'PM2_5_24h'),
    ],
    daily: [
      term('SO2_24h', 'SO2'),
      term('NO2_24h', 'NO2'),
      term('PM10_24h', 'PM10'),
      term('CO_24h', 'CO'),
      term('O3_8h', 'O3'),
      term('PM2_5_24h', 'PM2_5'),
    ],
  },
};

export interface AqiCategory {
  level: number;
  min: number;
  max: number;
  zh: string;
  en: string;
  color: string;
}

/** HJ 633 categories (docs/domain.md §2); English names are our rendering. */
export const AQI_CATEGORIES: readonly AqiCategory[] = [
  { level: 1, min: 0, max: 50, zh: '优', en: 'Excellent', color: 'green' },
  { level: 2, min: 51, max: 100, zh: '良', en: 'Good', color: 'yellow' },
  { level: 3, min: 101, max: 150, zh: '轻度污染', en: 'Lightly polluted', color: 'orange' },
  { level: 4, min: 151, max: 200, zh: '中度污染', en: 'Moderately polluted', color: 'red' },
  { level: 5, min: 201, max: 300, zh: '重度污染', en: 'Heavily polluted', color: 'purple' },
  { level: 6, min: 301, max: Number.POSITIVE_INFINITY, zh: '严重污染', en: 'Severely polluted', color: 'maroon' },
];

/** The category of an (integer) AQI. */
export function aqiCategory(aqi: number): AqiCategory {
  const found = AQI_CATEGORIES.find((c) => aqi <= c.max);
  return found ?? (AQI_CATEGORIES[AQI_CATEGORIES.length - 1] as AqiCategory);
}

export interface AqiResult {
  standard: AqiStandard;
  /** null when nothing was computed, or (2026) a pollutant is missing and the AQI is ≤ 100. */
  aqi: number | null;
  /** Each used input's IAQI, keyed by input (e.g. SO2_24h when it stood in for SO2 1h above 800). */
  iaqi: Record<string, number>;
  /** Pollutant keys (lib/parameters.ts) with the highest IAQI, when the AQI exceeds 50. */
  primary: AirPollutant[];
  category: string | null;
  categoryEn: string | null;
  level: number | null;
  color: string | null;
  /** Pollutants of the report that have no IAQI. */
  missing: AirPollutant[];
}

const ALL_POLLUTANTS: readonly AirPollutant[] = ['SO2', 'NO2', 'PM10', 'CO', 'O3', 'PM2_5'];

function checkConcentration(what: string, value: number): void {
  if (!Number.isFinite(value)) {
    throw new TuojiangError('INVALID_VALUE', `${what}: ${String(value)} is not a finite number`, { input: what, value });
  }
  if (value < 0) {
    throw new TuojiangError('IMPOSSIBLE_VALUE', `${what}: a concentration cannot be negative (${value})`, { input: what, value });
  }
}

/** HJ 633-2026: GB/T 8170 half-to-even, to integers and CO to one decimal, before anything else. */
function readInput(standard: AqiStandard, key: AqiInputKey, value: number): Decimal {
  checkConcentration(key, value);
  const d = toDecimal(value);
  if (standard === 'HJ633-2012') return d;
  return roundHalfEven(d, key.startsWith('CO_') ? 1 : 0);
}

export function computeAqi(inputs: AqiInputs, opts: { date: Date; mode: AqiMode }): AqiResult {
  const standard = aqiStandardFor(opts.date);
  const terms = AQI_TERMS[standard][opts.mode];
  if (!terms) throw new TuojiangError('INVALID_VALUE', `unknown AQI mode: ${String(opts.mode)}`, { mode: opts.mode });
  const bps = IAQI_BREAKPOINTS[standard];
  const iaqi: Record<string, number> = {};
  const byPollutant = new Map<AirPollutant, number>();
  const record = (key: string, pollutant: AirPollutant, value: number): void => {
    iaqi[key] = value;
    byPollutant.set(pollutant, Math.max(byPollutant.get(pollutant) ?? 0, value));
  };

  // Every given input is checked, used by this report or not: garbage is an error, not ignored.
  for (const key of AQI_INPUT_KEYS) {
    const v = inputs[key];
    if (v !== undefined && v !== null) checkConcentration(key, v);
  }

  for (const t of terms) {
    const raw = inputs[t.input];
    if (raw === undefined || raw === null) continue;
    const c = readInput(standard, t.input, raw);
    const over800 = (t.input === 'SO2_1h' || t.input === 'O3_8h') && compareToInt(c, 800) > 0;
    if (!over800) {
      record(t.input, t.pollutant, iaqiOfDecimal(bps[t.table], c) as number);
      continue;
    }
    // Exactly 800 was computed normally above; these rules are for strictly above 800.
    if (standard === 'HJ633-2026') {
      record(t.input, t.pollutant, t.input === 'SO2_1h' ? 200 : 300);
      continue;
    }
    // Stryker disable next-line ConditionalExpression: the other over-800 input, 2012 O3 8h, is daily only, where SO2_24h is a term recorded under the same key with the same IAQI.
    if (t.input === 'SO2_1h') {
      // 2012: SO2 1h above 800 is not computed; the 24-h mean gives the SO2 IAQI.
      const fallback = inputs.SO2_24h;
      if (fallback !== undefined && fallback !== null) {
        record('SO2_24h', 'SO2', iaqiOfDecimal(bps.SO2_24h, readInput(standard, 'SO2_24h', fallback)) as number);
      }
    }
    // 2012: O3 8h above 800 is not computed; O3 1h, a term of the same report, gives the O3 IAQI.
  }

  // Every report of both versions has a term for each of the six pollutants today; the filter keeps
  // a future report without one from calling it missing.
  // Stryker disable next-line MethodExpression,ConditionalExpression,EqualityOperator: equivalent while every report covers all six.
  const wanted = ALL_POLLUTANTS.filter((p) => terms.some((t) => t.pollutant === p));
  const missing = wanted.filter((p) => !byPollutant.has(p));
  const empty: AqiResult = {
    standard,
    aqi: null,
    iaqi,
    primary: [],
    category: null,
    categoryEn: null,
    level: null,
    color: null,
    missing,
  };
  if (byPollutant.size === 0) return empty;

  const highest = Math.max(...byPollutant.values());
  // 2026: with a pollutant missing, an AQI of 100 or less might only reflect the gap (the missing
  // pollutant could be the worst), so it is not published; above 100 it is a true lower bound of
  // a polluted day and is published.
  if (standard === 'HJ633-2026' && missing.length > 0 && highest <= 100) return empty;
  // 2026: the AQI ranges 1–500, so clean air is 1, never 0.
  const aqi = standard === 'HJ633-2026' ? Math.max(1, highest) : highest;
  const primary = aqi > 50 ? wanted.filter((p) => byPollutant.get(p) === highest) : [];
  const cat = aqiCategory(aqi);
  return { standard, aqi, iaqi, primary, category: cat.zh, categoryEn: cat.en, level: cat.level, color: cat.color, missing };
}
