/**
 * Where the aggregates live in InfluxDB (docs/decisions/0013-hourly-aggregates.md): one
 * measurement per medium and window, tagged by station and city (cities' own air aggregates in
 * `air_city_*`, tagged by city only). Field names, per parameter key p of lib/parameters.ts:
 *   p            the mean of the valid values (absent when too few were valid: see validity.ts)
 *   n_p          how many valid values (hour: reporting slots; day: hours; month/year: days)
 *   class_p      (water) the item's GB 3838 class, 1 = I … 6 = 劣V
 *   exceed_p     (water, day and longer) valid hourly means breaking the section's target-class limit
 *   multiple_p   (water, day and longer) the largest 超标倍数 (C − S) / S among them (upper limits only)
 *   iaqi_k       (air) the IAQI of input k (PM2_5_1h, O3_8h, …)
 * and per point: class, deciding (water); aqi, level, primary (air); readings and expected
 * (completeness); km, the section's river km (water days, months, years); for months and years target, meets (water) and good_days, valid_days,
 * good_ratio, primary_p (air).
 */
import type { Medium } from '../lib/parameters.js';
import type { Window } from './windows.js';

export const AGGREGATE_WINDOWS: readonly Window[] = ['hour', 'day', 'month', 'year'];

const SUFFIX: Readonly<Record<Window, string>> = { hour: 'hourly', day: 'daily', month: 'monthly', year: 'yearly' };

export function aggregateMeasurement(medium: Medium, w: Window): string {
  return `${medium}_${SUFFIX[w]}`;
}

export function cityMeasurement(w: Window): string {
  return `air_city_${SUFFIX[w]}`;
}
