/**
 * The sanity floor: the strictest limit one city may set alone. A limit stricter than the best
 * class of the national standards is not a standard anyone is held to; set on the other city's
 * stations it only makes their bureau's alerts fire on clean water (an alert storm). So a
 * tightening beyond the floor waits for the other city's consent like a loosening does.
 *
 *   water: GB 3838-2002 class I for the station's waterbody (DO ≥ 7.5, pH 6–9, NH3-N ≤ 0.15 …);
 *   air:   GB 3095 grade I on the date (1-h limits for hourly readings, 24-h / O3 8-h for daily;
 *          PM10 and PM2.5 have no 1-h limit, so their 24-h grade I limit is the hourly floor too:
 *          an hourly limit stricter than the cleanest daily mean fires on ordinary hours);
 *   no class I value (temperature, conductivity, turbidity): the table below, values that the
 *          Tuojiang's ordinary water exceeds, so an upper limit below them would fire on nature.
 * See docs/decisions/0007-threshold-store.md.
 */
import type { StationConfig } from '../../config/schema.js';
import type { Period } from '../../lib/reading.js';
import { airLimit, classLimit, type AirPollutant, type Limit } from '../../lib/standards/index.js';
import { stationProfile, type ThresholdSet } from '../thresholds.js';

/**
 * Upper-limit floors for water parameters GB 3838 does not grade: summer water of the Tuojiang
 * reaches 25–28 °C, its conductivity is some 300–700 µS/cm and its turbidity tens of NTU after
 * ordinary rain.
 */
export const UNGRADED_WATER_FLOOR: Readonly<Record<string, Limit>> = {
  temp: { kind: 'max', value: 30 },
  cond: { kind: 'max', value: 1000 },
  turb: { kind: 'max', value: 50 },
};

const AIR: ReadonlySet<string> = new Set(['SO2', 'NO2', 'CO', 'O3', 'PM10', 'PM2_5']);

export function sanityFloor(set: ThresholdSet, station: StationConfig, param: string, period: Period, at: number): Limit | undefined {
  if (station.kind === 'water') {
    return classLimit(param, 'I', stationProfile(set, station).waterbody) ?? UNGRADED_WATER_FLOOR[param];
  }
  if (!AIR.has(param)) return undefined;
  const p = param as AirPollutant;
  const date = new Date(at);
  const daily = p === 'O3' ? '8h' : '24h';
  const v = period === 'day' ? airLimit(p, daily, 1, date) : (airLimit(p, '1h', 1, date) ?? airLimit(p, daily, 1, date));
  return v === undefined ? undefined : { kind: 'max', value: v };
}
