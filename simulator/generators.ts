/**
 * Baseline readings for a healthy Tuojiang: what an automatic station would report on an ordinary
 * day, with the daily and seasonal rhythms analysts expect to see on a dashboard. Values are in the
 * catalogue's units (lib/parameters.ts); the encoder converts to what a station sends.
 *
 * Levels are "class III-ish": every graded item sits below its GB 3838 class III limit with room for
 * noise, so a plain simulation raises no pollution alert of its own and a scenario's plume stands
 * out. TN is kept under 1.0 mg/L, although the real Tuojiang often carries more, so that a
 * thresholds set with an explicit TN limit at a river section (GB 3838 limits TN for lakes and
 * reservoirs only) is quiet too.
 */
import type { Station } from '../config/station-registry.js';
import { HOUR_MS, cstDayOfYear, cstHourOfDay } from './clock.js';
import { normal, smoothNoise } from './random.js';

export const WATER_PARAMS = ['temp', 'pH', 'DO', 'cond', 'turb', 'CODMn', 'NH3N', 'TP', 'TN'] as const;
export const AIR_PARAMS = ['PM2_5', 'PM10', 'SO2', 'NO2', 'CO', 'O3'] as const;
export type WaterParam = (typeof WATER_PARAMS)[number];
export type AirParam = (typeof AIR_PARAMS)[number];

/** Decimals a logger reports, per parameter (catalogue unit). JSON and HJ 212 carry the same rounded value. */
export const DECIMALS: Readonly<Record<WaterParam | AirParam, number>> = {
  temp: 1,
  pH: 2,
  DO: 2,
  cond: 0,
  turb: 1,
  CODMn: 2,
  NH3N: 3,
  TP: 3,
  TN: 2,
  PM2_5: 0,
  PM10: 0,
  SO2: 0,
  NO2: 0,
  CO: 2,
  O3: 0,
};

export function roundTo(value: number, decimals: number): number {
  return Number(value.toFixed(decimals));
}

/** cos over the day, 1 at `peakHour` (CST), -1 twelve hours later. */
export function diurnal(ts: number, peakHour: number): number {
  return Math.cos((2 * Math.PI * (cstHourOfDay(ts) - peakHour)) / 24);
}

/** cos over the year, 1 on day `peakDay` (0 = 1 January). */
export function seasonal(ts: number, peakDay: number): number {
  return Math.cos((2 * Math.PI * (cstDayOfYear(ts) - peakDay)) / 365.25);
}

/** A bump centred on `hour` (CST) with width `sigma` hours, wrapping round midnight: a traffic rush. */
function rush(ts: number, hour: number, sigma: number): number {
  let d = Math.abs(cstHourOfDay(ts) - hour);
  d = Math.min(d, 24 - d);
  return Math.exp(-(d * d) / (2 * sigma * sigma));
}

/** Oxygen solubility in fresh water at 1 atm, mg/L (APHA polynomial, 0–40 °C). */
export function doSaturation(tempC: number): number {
  const t = Math.max(0, Math.min(40, tempC));
  return 14.652 - 0.41022 * t + 0.007991 * t * t - 0.000077774 * t * t * t;
}

const clamp = (v: number, lo: number, hi = Infinity): number => Math.min(hi, Math.max(lo, v));

/**
 * A water section's reading at `ts`. Water temperature peaks mid-afternoon (~16:00) and in early
 * August; dissolved oxygen follows photosynthesis (highest ~15:00, lowest before dawn) on top of the
 * saturation the temperature allows, and pH rises with it. Nutrients and organics increase slowly
 * downstream (river_km) as towns add their load.
 */
export function waterBaseline(station: Station, ts: number, seed: number): Record<WaterParam, number> {
  const km = station.river_km ?? 0;
  const n = (p: string) => normal(seed, station.id, p, ts);
  const s = (p: string, hours: number) => smoothNoise(seed, `${station.id}/${p}`, ts, hours * HOUR_MS);

  const temp = 17.5 + 8.5 * seasonal(ts, 215) + 1.0 * diurnal(ts, 16) + 0.4 * s('temp', 6) + 0.05 * n('temp');
  const photo = diurnal(ts, 15);
  const DO = 0.86 * doSaturation(temp) + 0.75 * photo - 0.002 * km + 0.2 * s('DO', 6) + 0.03 * n('DO');
  const pH = 7.75 + 0.15 * photo + 0.05 * s('pH', 8) + 0.01 * n('pH');
  const flood = 1 + 0.6 * Math.max(0, seasonal(ts, 200));
  const turb = 18 * flood * Math.exp(0.35 * s('turb', 8)) + 0.5 * n('turb');

  return {
    temp: roundTo(clamp(temp, 0.5, 35), DECIMALS.temp),
    pH: roundTo(clamp(pH, 6.5, 8.6), DECIMALS.pH),
    DO: roundTo(clamp(DO, 5.3, 14), DECIMALS.DO),
    cond: roundTo(clamp(380 + 0.6 * km + 20 * s('cond', 12) + 2 * n('cond'), 100), DECIMALS.cond),
    turb: roundTo(clamp(turb, 0.5), DECIMALS.turb),
    CODMn: roundTo(clamp(3.0 + 0.008 * km + 0.4 * s('CODMn', 8) + 0.03 * n('CODMn'), 0.5, 5.5), DECIMALS.CODMn),
    NH3N: roundTo(clamp(0.25 + 0.0025 * km + 0.08 * s('NH3N', 8) + 0.004 * n('NH3N'), 0.02, 0.85), DECIMALS.NH3N),
    TP: roundTo(clamp(0.09 + 0.0004 * km + 0.015 * s('TP', 8) + 0.002 * n('TP'), 0.01, 0.18), DECIMALS.TP),
    TN: roundTo(clamp(0.7 + 0.001 * km + 0.05 * s('TN', 8) + 0.005 * n('TN'), 0.2, 0.9), DECIMALS.TN),
  };
}

/**
 * An air station's hourly reading at `ts`. Particles are higher in winter (the Sichuan basin's
 * stagnant air) and at night; NO2 and CO peak with the morning and evening traffic (~08:30, ~19:00);
 * O3 is photochemical: near zero at night, highest mid-afternoon, much higher in summer.
 */
export function airBaseline(station: Station, ts: number, seed: number): Record<AirParam, number> {
  const n = (p: string) => normal(seed, station.id, p, ts);
  const s = (p: string, hours: number) => smoothNoise(seed, `${station.id}/${p}`, ts, hours * HOUR_MS);
  const winter = 1 + 0.35 * seasonal(ts, 15);
  const traffic = rush(ts, 8.5, 1.5) + 0.9 * rush(ts, 19, 2);
  const sun = Math.max(0, diurnal(ts, 15));

  const pm25 = 28 * winter + 6 * diurnal(ts, 22) + 8 * s('PM2_5', 12) + 1.5 * n('PM2_5');
  const pm10 = pm25 * (1.6 + 0.1 * s('PM10', 12)) + 3 * n('PM10');
  const o3 = 8 + (60 + 50 * seasonal(ts, 180)) * sun ** 1.5 + 6 * s('O3', 6) + 2 * n('O3');

  const PM2_5 = roundTo(clamp(pm25, 3, 58), DECIMALS.PM2_5);
  return {
    PM2_5,
    // PM10 includes PM2.5: a station reporting less PM10 than PM2.5 has a broken instrument.
    PM10: roundTo(clamp(pm10, PM2_5 + 2, 110), DECIMALS.PM10),
    SO2: roundTo(clamp(9 + 3 * diurnal(ts, 11) + 2 * s('SO2', 12) + 0.8 * n('SO2'), 2, 40), DECIMALS.SO2),
    NO2: roundTo(clamp(22 * winter + 16 * traffic + 4 * s('NO2', 6) + 2 * n('NO2'), 5, 120), DECIMALS.NO2),
    CO: roundTo(clamp(0.55 * winter + 0.3 * traffic + 0.08 * s('CO', 6) + 0.02 * n('CO'), 0.2, 3), DECIMALS.CO),
    O3: roundTo(clamp(o3, 2, 180), DECIMALS.O3),
  };
}
