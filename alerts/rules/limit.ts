/**
 * limit: a parameter beyond its limit (GB 3838 class, GB 3095 grade, or an explicit limit of the
 * thresholds), for N readings or T minutes; per-parameter timing (toxic items fire at once).
 */
import { z } from 'zod';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import { limitFor, limitRuleFor } from '../station-profile.js';
import { classify, limitText, limitValue, num, timingOf } from './common.js';
import { timing } from './config-schema.js';
import { exceedanceRatio } from './exceedance.js';
import type { Rule, RuleObservation } from './rule.js';

const schema = z.object(timing).strict();

export const limit: Rule<'limit', typeof schema> = {
  name: 'limit',
  observe({ reading, station, profile, valid }) {
    if (!profile.rules.limit.enabled) return [];
    const out: RuleObservation[] = [];
    const at = reading.ts;
    for (const [param, v] of Object.entries(valid)) {
      const resolved = limitFor(profile, station, param, at, reading.period);
      if (!resolved) continue;
      const rule = limitRuleFor(profile, param);
      if (!rule.enabled) continue;
      out.push({
        key: `limit.${param}`, rule: 'limit', parameter: param, at,
        cond: classify(v, resolved.limit, rule.hysteresis), value: v, limit: limitValue(resolved.limit),
        timing: timingOf(rule, profile),
        detail: { unit: PARAMETER_BY_KEY.get(param)?.unit ?? '', basis: resolved.basis, limitKind: resolved.limit.kind, limitText: limitText(resolved.limit) },
      });
    }
    return out;
  },
  wording(m) {
    const info = PARAMETER_BY_KEY.get(m.parameter);
    const d = m.detail;
    return {
      zh: `${info?.nameZh ?? m.parameter} ${num(m.value)} ${d.unit ?? ''}，限值 ${d.limitText ?? num(m.limit)}（${d.basis ?? ''}）`,
      en: `${info?.nameEn ?? m.parameter} ${num(m.value)} ${d.unit ?? ''}, limit ${d.limitText ?? num(m.limit)} (${d.basis ?? ''})`,
    };
  },
  cap: { event: { zh: '超标', en: 'limit exceeded' }, category: 'Env', namesParameter: true },
  severity(e, station, p) {
    if (p.parameters.includes(e.parameter)) return 'severe';
    if (p.drinking_water_intake && station.drinking_water_intake) return 'severe';
    const ratio = exceedanceRatio(e);
    return ratio !== null && ratio >= p.ratio ? 'severe' : 'warning';
  },
  travelsDownstream: true,
  config: { schema, defaults: { enabled: true, consecutive: 3, duration_min: 60, clear_consecutive: 2, hysteresis: 0.1 } },
};
