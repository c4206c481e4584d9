/**
 * aqi: the HJ 633 category at or above `level` at an air station: the real-time AQI for
 * real-time, minute and hourly readings, the daily AQI for daily ones.
 */
import { z } from 'zod';
import { compareToScaled } from '../../lib/standards/decimal.js';
import { AQI_CATEGORIES, computeAqi, type AqiCategory, type AqiInputs } from '../../lib/standards/index.js';
import type { Condition } from '../state-machine.js';
import { num, timingOf } from './common.js';
import { timing } from './config-schema.js';
import type { ObserveContext, Rule, RuleObservation } from './rule.js';

const schema = z
  .object({
    ...timing,
    /** HJ 633 category level at or above which the rule breaches: 3 = 轻度污染 (AQI > 100). */
    level: z.number().int().min(2).max(6),
  })
  .strict();

/** HJ 633 category level of an AQI value (1 优 … 6 严重污染). */
export function aqiLevel(aqi: number): number {
  if (aqi <= 50) return 1;
  if (aqi <= 100) return 2;
  if (aqi <= 150) return 3;
  if (aqi <= 200) return 4;
  if (aqi <= 300) return 5;
  return 6;
}

function observeAqi(
  { reading, valid }: ObserveContext,
  level: number,
  h: number,
): Pick<RuleObservation, 'cond' | 'value' | 'limit' | 'detail'> | undefined {
  const daily = reading.period === 'day';
  const inputs: AqiInputs = {};
  const put = (key: keyof AqiInputs, v: number | undefined): void => {
    // Stryker disable next-line ConditionalExpression: computeAqi reads an undefined input as absent, so writing it changes nothing.
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
  let res;
  try {
    res = computeAqi(inputs, { date: new Date(reading.ts), mode: daily ? 'daily' : 'hourly' });
  } catch {
    return undefined;
  }
  // No inputs, or (HJ 633-2026) a pollutant missing and the AQI not above 100: nothing to say.
  if (res.aqi === null) return undefined;
  // AQI_CATEGORIES is in level order, and `level` is 2–6 (the schema).
  const threshold = (AQI_CATEGORIES[level - 1] as AqiCategory).min;
  const cond: Condition = aqiLevel(res.aqi) >= level ? 'breach' : compareToScaled(res.aqi, threshold - 1, h, -1) <= 0 ? 'clear' : 'band';
  return {
    cond,
    value: res.aqi,
    limit: threshold,
    detail: {
      aqiStandard: res.standard,
      category: res.category ?? '',
      categoryEn: res.categoryEn ?? '',
      primary: res.primary,
      basis: res.standard,
      limitText: `AQI < ${threshold}`,
    },
  };
}

export const aqi: Rule<'aqi', typeof schema> = {
  name: 'aqi',
  observe(ctx) {
    const r = ctx.profile.rules.aqi;
    if (ctx.station.kind !== 'air' || !r.enabled) return [];
    const obs = observeAqi(ctx, r.level, r.hysteresis);
    return obs ? [{ ...obs, key: 'aqi', rule: 'aqi', parameter: 'AQI', at: ctx.reading.ts, timing: timingOf(r, ctx.profile) }] : [];
  },
  wording(m) {
    const d = m.detail;
    return {
      zh: `AQI ${num(m.value)}（${d.category ?? ''}）${d.primary?.length ? `，首要污染物 ${d.primary.join(', ')}` : ''}（${d.aqiStandard ?? ''}）`,
      en: `AQI ${num(m.value)} (${d.categoryEn ?? ''})${d.primary?.length ? `, primary ${d.primary.join(', ')}` : ''} (${d.aqiStandard ?? ''})`,
    };
  },
  cap: { event: { zh: '空气质量指数超标', en: 'AQI category exceeded' }, category: 'Env', namesParameter: false },
  severity(e, _station, p) {
    return e.value !== null && aqiLevel(e.value) >= p.aqi_level ? 'severe' : 'warning';
  },
  travelsDownstream: false,
  config: { schema, defaults: { enabled: true, level: 3, consecutive: 2, duration_min: null, clear_consecutive: 2, hysteresis: 0 } },
};
