/** water_class: the section's GB 3838 class (single-factor method) worse than its target class. */
import { z } from 'zod';
import { classIndex, isWorseThan, waterClass as classOf } from '../../lib/standards/index.js';
import { timingOf } from './common.js';
import { paramKey, timing } from './config-schema.js';
import type { AlertDetail, Rule } from './rule.js';

const schema = z
  .object({
    ...timing,
    /** GB 3838 items reported with their own class but not deciding the section's (national method: TN, fecal coliform). */
    reference_items: z.array(paramKey),
  })
  .strict();

/**
 * 主要污染指标: the items that put the section in its class, named only while that class is worse
 * than the target (a section meeting its target has no pollutant to name).
 */
export function mainPollutants(d: Pick<AlertDetail, 'cls' | 'target' | 'limiting'>): string[] {
  if (!d.cls || !d.target || !isWorseThan(d.cls, d.target)) return [];
  return d.limiting ?? [];
}

export const waterClass: Rule<'water_class', typeof schema> = {
  name: 'water_class',
  observe({ reading, station, profile, valid }) {
    const target = profile.targetClass;
    if (station.kind !== 'water' || !profile.rules.water_class.enabled || !target) return [];
    const res = classOf(valid, { waterbody: profile.waterbody, policy: { referenceItems: profile.rules.water_class.reference_items } });
    if (res.class === null) return [];
    return [
      {
        key: 'water_class',
        rule: 'water_class',
        parameter: 'class',
        at: reading.ts,
        cond: isWorseThan(res.class, target) ? 'breach' : 'clear',
        // The class as a number (I = 1 … 劣V = 6) so the state machine can keep a value and a limit.
        value: classIndex(res.class) + 1,
        limit: classIndex(target) + 1,
        timing: timingOf(profile.rules.water_class, profile),
        detail: { cls: res.class, target, limiting: res.limiting, basis: 'GB3838-2002' },
      },
    ];
  },
  wording(m) {
    const d = m.detail;
    const main = mainPollutants(d);
    return {
      zh: `水质 ${d.cls ?? '–'} 类，目标 ${d.target ?? '–'} 类${main.length ? `，主要污染指标 ${main.join(', ')}` : ''}`,
      en: `water class ${d.cls ?? '–'}, target ${d.target ?? '–'}${main.length ? `, main pollutants ${main.join(', ')}` : ''}`,
    };
  },
  cap: { event: { zh: '水质类别劣于目标', en: 'water class worse than target' }, category: 'Env', namesParameter: false },
  severity(e, station, p) {
    if (p.drinking_water_intake && station.drinking_water_intake) return 'severe';
    return e.detail.cls !== undefined && (p.water_classes as string[]).includes(e.detail.cls) ? 'severe' : 'warning';
  },
  travelsDownstream: true,
  config: {
    schema,
    defaults: {
      enabled: true,
      consecutive: 2,
      duration_min: null,
      clear_consecutive: 2,
      hysteresis: 0,
      reference_items: ['TN', 'fecal_coliform'],
    },
  },
};
