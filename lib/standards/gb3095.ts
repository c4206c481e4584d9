/**
 * GB 3095 ambient air quality limits, 2012 and 2026 versions (docs/domain.md §2). A reading is
 * judged by the limits in force on its own date: GB 3095-2012 before 2026-03-01, GB 3095-2026's
 * transition limits until 2030-12-31, its final limits from 2031-01-01 (all China Standard Time).
 */
import { AIR_2026_IN_FORCE_MS, GB3095_2026_FINAL_IN_FORCE_MS, assertValidDate } from './dates.js';
import type { AirPollutant } from './hj633.js';

export type Averaging = '1h' | '8h' | '24h';
export type AirGrade = 1 | 2;
export type Gb3095Version = 'GB3095-2012' | 'GB3095-2026';
/** The limit set in force: the version, and for 2026 which phase. Record it with every judgement. */
export type Gb3095LimitSet = 'GB3095-2012' | 'GB3095-2026-transition' | 'GB3095-2026-final';

type LimitTable = Readonly<Partial<Record<AirPollutant, Readonly<Partial<Record<Averaging, number>>>>>>;

/**
 * Grade I, from GB 3095-2012 (docs/domain.md §2). We apply the 2012 grade I values under
 * GB 3095-2026 too, believing them unchanged (secondary: not checked against the 2026 text).
 */
const GRADE_I: LimitTable = {
  SO2: { '24h': 50, '1h': 150 },
  NO2: { '24h': 80, '1h': 200 },
  CO: { '24h': 4, '1h': 10 },
  O3: { '8h': 100, '1h': 160 },
  PM10: { '24h': 50 },
  PM2_5: { '24h': 35 },
};

const GRADE_II: Readonly<Record<Gb3095LimitSet, LimitTable>> = {
  'GB3095-2012': {
    SO2: { '24h': 150, '1h': 500 },
    NO2: { '24h': 80, '1h': 200 },
    CO: { '24h': 4, '1h': 10 },
    O3: { '8h': 160, '1h': 200 },
    PM10: { '24h': 150 },
    PM2_5: { '24h': 75 },
  },
  'GB3095-2026-transition': {
    SO2: { '24h': 150, '1h': 500 },
    NO2: { '24h': 80, '1h': 200 },
    CO: { '24h': 4, '1h': 10 },
    O3: { '8h': 160, '1h': 200 },
    PM10: { '24h': 120 },
    PM2_5: { '24h': 60 },
  },
  'GB3095-2026-final': {
    SO2: { '24h': 50, '1h': 150 },
    NO2: { '24h': 50, '1h': 200 },
    CO: { '24h': 4, '1h': 10 },
    O3: { '8h': 160, '1h': 200 },
    PM10: { '24h': 100 },
    PM2_5: { '24h': 50 },
  },
};

export function gb3095VersionFor(date: Date): Gb3095Version {
  assertValidDate(date, 'gb3095VersionFor');
  return date.getTime() >= AIR_2026_IN_FORCE_MS ? 'GB3095-2026' : 'GB3095-2012';
}

export function gb3095LimitSetFor(date: Date): Gb3095LimitSet {
  assertValidDate(date, 'gb3095LimitSetFor');
  const t = date.getTime();
  if (t < AIR_2026_IN_FORCE_MS) return 'GB3095-2012';
  return t < GB3095_2026_FINAL_IN_FORCE_MS ? 'GB3095-2026-transition' : 'GB3095-2026-final';
}

/**
 * The concentration limit (µg/m³; CO mg/m³) in force on `date`, or undefined where the standard
 * sets none for that pollutant and averaging period (e.g. PM2.5 1h, O3 24h).
 */
export function airLimit(pollutant: AirPollutant, averaging: Averaging, grade: AirGrade, date: Date): number | undefined {
  const limitSet = gb3095LimitSetFor(date);
  const table = grade === 1 ? GRADE_I : grade === 2 ? GRADE_II[limitSet] : undefined;
  return table?.[pollutant]?.[averaging];
}
