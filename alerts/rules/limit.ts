/**
 * limit: a parameter beyond its limit (GB 3838 class, GB 3095 grade, or an explicit limit of the
 * thresholds), for N readings or T minutes; per-parameter timing (toxic items fire at once).
 * Total nitrogen at a river section has no national limit to alert on (GB 3838 limits it for lakes
 * and reservoirs): only an explicit TN limit in the thresholds makes it one.
 */
import { z } from 'zod';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import { limitAppliesTo } from '../../lib/standards/index.js';
import { limitFor, limitRuleFor, type ResolvedLimit } from '../station-profile.js';
import { classify, limitText, limitValue, num, timingOf } from './common.js';
import { timing } from './config-schema.js';
import { exceedanceRatio } from './exceedance.js';
import type { AlertDetail, Rule, RuleObservation } from './rule.js';

const schema = z.object(timing).strict();

/** The national limit, where the one in force is an explicit limit stricter than it. */
function stricterNational(r: ResolvedLimit): Partial<AlertDetail> {
  const n = r.national;
  if (!n) return {};
  const local = r.limit;
  const stricter =
    local.kind === 'max' && n.limit.kind === 'max'
      ? local.value < n.limit.value
      : local.kind === 'min' && n.limit.kind === 'min'
        ? local.value > n.limit.value
        : false;
  if (!stricter) return {};
  return {
    nationalLimit: limitValue(n.limit),
    nationalLimitText: limitText(n.limit),
    nationalBasis: n.basis,
    ...(n.cls ? { nationalClass: n.cls } : {}),
  };
}

/**
 * "本地限值 ≤ 0.8 mg/L，国家 III 类 ≤ 1 mg/L（GB3838-2002）" / "local limit ≤ 0.8 mg/L (national class
 * III: ≤ 1 mg/L, GB3838-2002)" where a local limit stricter than the national one is in force, so a
 * bureau reading "exceeded" knows the national standard may still be met. Undefined otherwise.
 */
export function localLimitPhrase(d: AlertDetail, unit: string, l: 'zh' | 'en'): string | undefined {
  if (d.nationalLimitText === undefined) return undefined;
  const u = unit ? ` ${unit}` : '';
  const cls = d.nationalClass;
  const standard = cls && d.nationalBasis?.endsWith(` ${cls}`) ? d.nationalBasis.slice(0, -cls.length - 1) : (d.nationalBasis ?? '');
  if (l === 'zh') return `本地限值 ${d.limitText ?? ''}${u}，国家${cls ? ` ${cls} 类` : '标准'} ${d.nationalLimitText}${u}（${standard}）`;
  return `local limit ${d.limitText ?? ''}${u} (national${cls ? ` class ${cls}` : ''}: ${d.nationalLimitText}${u}, ${standard})`;
}

export const limit: Rule<'limit', typeof schema> = {
  name: 'limit',
  observe({ reading, station, profile, valid }) {
    if (!profile.rules.limit.enabled) return [];
    const out: RuleObservation[] = [];
    const at = reading.ts;
    for (const [param, v] of Object.entries(valid)) {
      const resolved = limitFor(profile, station, param, at, reading.period);
      if (!resolved || resolved.reference) continue;
      const rule = limitRuleFor(profile, param);
      if (!rule.enabled) continue;
      out.push({
        key: `limit.${param}`,
        rule: 'limit',
        parameter: param,
        at,
        cond: classify(v, resolved.limit, rule.hysteresis),
        value: v,
        limit: limitValue(resolved.limit),
        timing: timingOf(rule, profile),
        detail: {
          // Stryker disable next-line OptionalChaining: a parameter with a limit is a catalogue key.
          unit: PARAMETER_BY_KEY.get(param)?.unit ?? '',
          basis: resolved.basis,
          limitKind: resolved.limit.kind,
          limitText: limitText(resolved.limit),
          ...stricterNational(resolved),
        },
      });
    }
    return out;
  },
  wording(m) {
    const info = PARAMETER_BY_KEY.get(m.parameter);
    const d = m.detail;
    const unit = d.unit ?? '';
    return {
      zh: `${info?.nameZh ?? m.parameter} ${num(m.value)} ${unit}，${localLimitPhrase(d, unit, 'zh') ?? `限值 ${d.limitText ?? num(m.limit)}（${d.basis ?? ''}）`}`,
      en: `${info?.nameEn ?? m.parameter} ${num(m.value)} ${unit}, ${localLimitPhrase(d, unit, 'en') ?? `limit ${d.limitText ?? num(m.limit)} (${d.basis ?? ''})`}`,
    };
  },
  cap: { event: { zh: '超标', en: 'limit exceeded' }, category: 'Env', namesParameter: true },
  severity(e, station, p) {
    // An alert under a limit the standard does not set for rivers (it fired before TN at rivers
    // stopped being alerted on, or under an older version) is never the reason to wake anyone.
    if (e.detail.basis !== 'thresholds' && !limitAppliesTo(e.parameter, station.waterbody ?? 'river') && station.kind === 'water')
      return 'warning';
    if (p.parameters.includes(e.parameter)) return 'severe';
    if (p.drinking_water_intake && station.drinking_water_intake) return 'severe';
    const ratio = exceedanceRatio(e);
    return ratio !== null && ratio >= p.ratio ? 'severe' : 'warning';
  },
  travelsDownstream: true,
  config: { schema, defaults: { enabled: true, consecutive: 3, duration_min: 60, clear_consecutive: 2, hysteresis: 0.1 } },
};
