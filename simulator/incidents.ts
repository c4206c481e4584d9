/**
 * What goes wrong at real stations, at configurable rates: an analyser under maintenance (its
 * readings flagged M, often showing a check standard's value rather than the river's), and a
 * station that drops off the network for a while (silence, which the alerts must notice).
 *
 * Windows are placed per station in fixed 6-hour blocks by hashing (seed, station, block): whether
 * a block holds a window, where it starts and how long it lasts. So "is station X silent at t?" is a
 * pure function, answered the same whatever else the run did.
 */
import { HOUR_MS } from './clock.js';
import { hash32, uniform } from './random.js';

export const BLOCK_MS = 6 * HOUR_MS;

export interface IncidentRates {
  /** Expected maintenance windows per station per simulated day (0 = never). */
  maintenancePerDay: number;
  /** Expected dropouts (silent windows) per station per simulated day (0 = never). */
  dropoutPerDay: number;
  /** Window lengths, simulated minutes [min, max]; at most 6 h. */
  maintenanceMinutes: readonly [number, number];
  dropoutMinutes: readonly [number, number];
}

export const DEFAULT_INCIDENTS: IncidentRates = {
  maintenancePerDay: 0.5,
  dropoutPerDay: 0.25,
  maintenanceMinutes: [20, 60],
  dropoutMinutes: [30, 120],
};

export type IncidentKind = 'maintenance' | 'dropout';

export interface IncidentWindow {
  kind: IncidentKind;
  station: string;
  from: number;
  to: number;
  /** Maintenance: which analyser (index into the station's groups). */
  group: number;
}

/** Analysers of a station, each maintained on its own. */
export const WATER_GROUPS: readonly (readonly string[])[] = [['temp', 'pH', 'DO', 'cond', 'turb'], ['NH3N'], ['CODMn'], ['TP', 'TN']];
export const AIR_GROUPS: readonly (readonly string[])[] = [
  ['PM2_5', 'PM10'],
  ['SO2', 'NO2', 'CO', 'O3'],
];

/**
 * What an analyser shows during a standard check (a solution of known concentration, or zero air).
 * Clearly out of the river's range on purpose: flagged M, it must not raise a pollution alert.
 */
export const CHECK_VALUES: Readonly<Record<string, number>> = {
  NH3N: 2.0,
  CODMn: 8.0,
  TP: 0.5,
  TN: 5.0,
  SO2: 0,
  NO2: 0,
  CO: 0,
  O3: 0,
};

function windowIn(
  seed: number,
  kind: IncidentKind,
  station: string,
  block: number,
  perDay: number,
  minutes: readonly [number, number],
  groups: number,
): IncidentWindow | undefined {
  const p = Math.min(1, (perDay * BLOCK_MS) / (24 * HOUR_MS));
  if (!(p > 0) || uniform(seed, kind, station, block, 'occurs') >= p) return undefined;
  const lo = Math.max(1, Math.min(minutes[0], minutes[1]));
  const hi = Math.min(BLOCK_MS / 60_000, Math.max(minutes[0], minutes[1]));
  const len = Math.round(lo + uniform(seed, kind, station, block, 'length') * (hi - lo)) * 60_000;
  const from = block * BLOCK_MS + Math.floor((uniform(seed, kind, station, block, 'start') * (BLOCK_MS - len)) / 60_000) * 60_000;
  return { kind, station, from, to: from + len, group: groups > 0 ? hash32(seed, kind, station, block, 'group') % groups : 0 };
}

/** The window of `kind` covering `ts` at `station` (from ≤ ts < to), if any. */
export function incidentAt(
  seed: number,
  kind: IncidentKind,
  station: string,
  groups: number,
  ts: number,
  rates: IncidentRates,
): IncidentWindow | undefined {
  const perDay = kind === 'maintenance' ? rates.maintenancePerDay : rates.dropoutPerDay;
  const minutes = kind === 'maintenance' ? rates.maintenanceMinutes : rates.dropoutMinutes;
  const block = Math.floor(ts / BLOCK_MS);
  // A window lies inside its own block, so only this block can cover ts.
  const w = windowIn(seed, kind, station, block, perDay, minutes, groups);
  return w && ts >= w.from && ts < w.to ? w : undefined;
}
