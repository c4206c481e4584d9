/**
 * equipment: a run of D/F/B flags (instrument fault, stopped, communication fault) on any
 * parameter; a reading without one clears. About the monitoring, not the river.
 */
import { z } from 'zod';
import type { DataFlag } from '../../lib/parameters.js';
import { reminderMs } from './common.js';
import { count } from './config-schema.js';
import type { Rule } from './rule.js';

const schema = z.object({ enabled: z.boolean(), consecutive: count, clear_consecutive: count }).strict();

/** Flags that mean the instrument or logger is not measuring. */
export const EQUIPMENT_FLAGS: ReadonlySet<DataFlag> = new Set(['D', 'F', 'B']);

export const equipment: Rule<'equipment', typeof schema> = {
  name: 'equipment',
  observe({ reading, profile }) {
    const eq = profile.rules.equipment;
    if (!eq.enabled) return [];
    const faults: Record<string, DataFlag> = {};
    for (const [param, flag] of Object.entries(reading.flags)) if (EQUIPMENT_FLAGS.has(flag)) faults[param] = flag;
    const n = Object.keys(faults).length;
    return [
      {
        key: 'equipment',
        rule: 'equipment',
        parameter: 'equipment',
        at: reading.ts,
        cond: n > 0 ? 'breach' : 'clear',
        value: n,
        limit: 0,
        timing: { consecutive: eq.consecutive, durationMs: null, clearConsecutive: eq.clear_consecutive, reminderMs: reminderMs(profile) },
        detail: { faults },
      },
    ];
  },
  wording(m) {
    const faults = Object.entries(m.detail.faults ?? {})
      .map(([p, f]) => `${p}=${f}`)
      .join(', ');
    return { zh: `设备故障标记 ${faults || '已恢复'}`, en: `equipment fault flags ${faults || 'cleared'}` };
  },
  cap: { event: { zh: '监测设备故障', en: 'monitoring equipment fault' }, category: 'Env', namesParameter: false },
  severity: () => 'info',
  travelsDownstream: false,
  config: { schema, defaults: { enabled: true, consecutive: 3, clear_consecutive: 1 } },
};
