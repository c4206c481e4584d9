/**
 * silence: no reading from a station for `after_min` (stations never heard from since start-up
 * too). Time-driven, not reading-driven: alerts/silence.ts runs it on a schedule, so it observes
 * nothing here. About the monitoring, not the river.
 */
import { z } from 'zod';
import { num } from './common.js';
import { minutes } from './config-schema.js';
import type { Rule } from './rule.js';

const schema = z.object({ enabled: z.boolean(), after_min: minutes }).strict();

export const silence: Rule<'silence', typeof schema> = {
  name: 'silence',
  observe: () => [],
  wording(m) {
    if (m.kind === 'resolved') return { zh: '恢复上报数据', en: 'reporting again' };
    if (m.detail.lastSeenAt === null) {
      return {
        zh: `自启动以来无数据（${num(m.value)} 分钟，限 ${num(m.limit)} 分钟）`,
        en: `no reading since start-up (${num(m.value)} min, limit ${num(m.limit)} min)`,
      };
    }
    return {
      zh: `已 ${num(m.value)} 分钟无数据（限 ${num(m.limit)} 分钟）`,
      en: `no reading for ${num(m.value)} min (limit ${num(m.limit)} min)`,
    };
  },
  cap: { event: { zh: '监测数据中断', en: 'monitoring data missing' }, category: 'Env', namesParameter: false },
  severity: () => 'info',
  travelsDownstream: false,
  config: { schema, defaults: { enabled: true, after_min: 30 } },
};
