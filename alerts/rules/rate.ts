/**
 * rate: a parameter rising faster than `per_hour` between two readings of the same series no
 * further apart than `max_gap_min` (a gap is not a rise), for N readings in a row.
 */
import { z } from 'zod';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import { classify, num, round, timingOf } from './common.js';
import { minutes, paramKey, timing } from './config-schema.js';
import type { Rule, RuleObservation } from './rule.js';

const schema = z
  .object({
    ...timing,
    /** Maximum rise per hour, in the parameter's unit, for each parameter watched. */
    per_hour: z.record(paramKey, z.number().positive()),
    /** Two readings further apart than this are not compared (a gap is not a rise). */
    max_gap_min: minutes,
  })
  .strict();

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
        key: `rate.${param}`, rule: 'rate', parameter: param, at,
        cond: classify(perHour, { kind: 'max', value: max }, r.hysteresis), value: round(perHour, 6), limit: max,
        timing: timingOf(r, profile),
        detail: { unit: `${PARAMETER_BY_KEY.get(param)?.unit ?? ''}/h`, basis: 'thresholds', ratePerHour: round(perHour, 6), limitText: `≤ ${max}/h` },
      });
    }
    return out;
  },
  wording(m) {
    const info = PARAMETER_BY_KEY.get(m.parameter);
    const unit = m.detail.unit ?? '';
    return {
      zh: `${info?.nameZh ?? m.parameter} 上升速率 ${num(m.value)} ${unit}，限值 ${num(m.limit)}`,
      en: `${info?.nameEn ?? m.parameter} rising at ${num(m.value)} ${unit}, limit ${num(m.limit)}`,
    };
  },
  cap: { event: { zh: '快速上升', en: 'rapid rise' }, category: 'Env', namesParameter: true },
  severity(_e, station, p) {
    return p.drinking_water_intake && station.drinking_water_intake ? 'severe' : 'warning';
  },
  travelsDownstream: true,
  config: { schema, defaults: { enabled: true, consecutive: 2, duration_min: null, clear_consecutive: 1, hysteresis: 0, per_hour: {}, max_gap_min: 180 } },
};
