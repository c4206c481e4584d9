/**
 * rate: a parameter rising faster than `per_hour` between two readings of the same series no
 * further apart than `max_gap_min` (a gap is not a rise), for N readings in a row.
 */
import { z } from 'zod';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import { classify, num, round, timingOf } from './common.js';
import { minutes, paramKey, timing } from './config-schema.js';
import type { Rule, RuleObservation, WordingInput } from './rule.js';

const schema = z
  .object({
    ...timing,
    /** Maximum rise per hour, in the parameter's unit, for each parameter watched. */
    per_hour: z.record(paramKey, z.number().positive()),
    /** Two readings further apart than this are not compared (a gap is not a rise). */
    max_gap_min: minutes,
  })
  .strict();

/**
 * The rate in words, without the limit: a rise while it is one ("上升速率 0.8 mg/L/h"), a slower
 * rise once resolved ("上升速率回落至 0.2 mg/L/h"), and for a flat or falling value "不再上升" with
 * the fall as a fall: a negative number is never printed as a rise.
 */
export function risePhrase(m: Pick<WordingInput, 'parameter' | 'kind' | 'value'>, unit: string, l: 'zh' | 'en'): string {
  const info = PARAMETER_BY_KEY.get(m.parameter);
  const name = (l === 'zh' ? info?.nameZh : info?.nameEn) ?? m.parameter;
  const v = m.value;
  if (v !== null && v <= 0) {
    const how = v === 0 ? (l === 'zh' ? '持平' : 'flat') : l === 'zh' ? `下降 ${num(-v)} ${unit}` : `falling at ${num(-v)} ${unit}`;
    return l === 'zh' ? `${name} 不再上升（${how}）` : `${name} no longer rising (${how})`;
  }
  if (m.kind === 'resolved') return l === 'zh' ? `${name} 上升速率回落至 ${num(v)} ${unit}` : `${name} rise slowed to ${num(v)} ${unit}`;
  return l === 'zh' ? `${name} 上升速率 ${num(v)} ${unit}` : `${name} rising at ${num(v)} ${unit}`;
}

export const rate: Rule<'rate', typeof schema> = {
  name: 'rate',
  observe({ reading, profile, prev, valid }) {
    const r = profile.rules.rate;
    if (!r.enabled) return [];
    const out: RuleObservation[] = [];
    const at = reading.ts;
    for (const [param, v] of Object.entries(valid)) {
      const max = r.per_hour[param];
      const before = prev[param];
      if (max === undefined || !before) continue;
      const dtMs = at - before.ts;
      if (dtMs <= 0 || dtMs > r.max_gap_min * 60_000) continue;
      const perHour = (v - before.v) / (dtMs / 3_600_000);
      out.push({
        key: `rate.${param}`,
        rule: 'rate',
        parameter: param,
        at,
        cond: classify(perHour, { kind: 'max', value: max }, r.hysteresis),
        value: round(perHour, 6),
        limit: max,
        timing: timingOf(r, profile),
        detail: {
          // Stryker disable next-line OptionalChaining: per_hour keys are catalogue keys (the schema).
          unit: `${PARAMETER_BY_KEY.get(param)?.unit ?? ''}/h`,
          basis: 'thresholds',
          ratePerHour: round(perHour, 6),
          limitText: `≤ ${max}/h`,
        },
      });
    }
    return out;
  },
  wording(m) {
    return {
      zh: `${risePhrase(m, m.detail.unit ?? '', 'zh')}，限值 ${num(m.limit)}`,
      en: `${risePhrase(m, m.detail.unit ?? '', 'en')}, limit ${num(m.limit)}`,
    };
  },
  cap: { event: { zh: '快速上升', en: 'rapid rise' }, category: 'Env', namesParameter: true },
  severity(_e, station, p) {
    return p.drinking_water_intake && station.drinking_water_intake ? 'severe' : 'warning';
  },
  travelsDownstream: true,
  config: {
    schema,
    defaults: { enabled: true, consecutive: 2, duration_min: null, clear_consecutive: 1, hysteresis: 0, per_hour: {}, max_gap_min: 180 },
  },
};
