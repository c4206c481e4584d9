/**
 * The one-line text of an alert event, Chinese first and English second, for the InfluxDB
 * annotation and as the notify worker's starting point.
 */
import { PARAMETER_BY_KEY } from '../lib/parameters.js';
import type { Station } from '../lib/station-registry.js';
import type { AlertDetail, RuleName } from './observe.js';
import type { EventKind } from './state-machine.js';

const KIND: Record<EventKind, { zh: string; en: string }> = {
  firing: { zh: '告警', en: 'ALERT' },
  resolved: { zh: '解除', en: 'RESOLVED' },
  reminder: { zh: '持续', en: 'STILL FIRING' },
};

/** China Standard Time, the time the bureaus read. */
export function cst(ms: number): string {
  return `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ')} (UTC+8)`;
}

function num(x: number | null): string {
  return x === null ? '–' : String(Number(x.toPrecision(6)));
}

export interface MessageInput {
  station: Station;
  rule: RuleName;
  parameter: string;
  kind: EventKind;
  at: number;
  value: number | null;
  limit: number | null;
  detail: AlertDetail;
  catchUp: boolean;
  muted: boolean;
  thresholdVersion: string;
}

export function renderMessage(m: MessageInput): string {
  const k = KIND[m.kind];
  const info = PARAMETER_BY_KEY.get(m.parameter);
  const d = m.detail;
  const where = { zh: m.station.name.zh, en: m.station.name.en };
  let zh: string;
  let en: string;
  switch (m.rule) {
    case 'limit':
      zh = `${info?.nameZh ?? m.parameter} ${num(m.value)} ${d.unit ?? ''}，限值 ${d.limitText ?? num(m.limit)}（${d.basis ?? ''}）`;
      en = `${info?.nameEn ?? m.parameter} ${num(m.value)} ${d.unit ?? ''}, limit ${d.limitText ?? num(m.limit)} (${d.basis ?? ''})`;
      break;
    case 'rate':
      zh = `${info?.nameZh ?? m.parameter} 上升速率 ${num(m.value)} ${d.unit ?? ''}，限值 ${num(m.limit)}`;
      en = `${info?.nameEn ?? m.parameter} rising at ${num(m.value)} ${d.unit ?? ''}, limit ${num(m.limit)}`;
      break;
    case 'water_class':
      zh = `水质 ${d.cls ?? '–'} 类，目标 ${d.target ?? '–'} 类${d.limiting?.length ? `，定类因子 ${d.limiting.join(', ')}` : ''}`;
      en = `water class ${d.cls ?? '–'}, target ${d.target ?? '–'}${d.limiting?.length ? `, limiting ${d.limiting.join(', ')}` : ''}`;
      break;
    case 'aqi':
      zh = `AQI ${num(m.value)}（${d.category ?? ''}）${d.primary?.length ? `，首要污染物 ${d.primary.join(', ')}` : ''}（${d.aqiStandard ?? ''}）`;
      en = `AQI ${num(m.value)} (${d.categoryEn ?? ''})${d.primary?.length ? `, primary ${d.primary.join(', ')}` : ''} (${d.aqiStandard ?? ''})`;
      break;
    case 'equipment': {
      const faults = Object.entries(d.faults ?? {}).map(([p, f]) => `${p}=${f}`).join(', ');
      zh = `设备故障标记 ${faults || '已恢复'}`;
      en = `equipment fault flags ${faults || 'cleared'}`;
      break;
    }
    case 'silence':
      if (m.kind === 'resolved') {
        zh = '恢复上报数据';
        en = 'reporting again';
      } else if (d.lastSeenAt === null) {
        zh = `自启动以来无数据（${num(m.value)} 分钟，限 ${num(m.limit)} 分钟）`;
        en = `no reading since start-up (${num(m.value)} min, limit ${num(m.limit)} min)`;
      } else {
        zh = `已 ${num(m.value)} 分钟无数据（限 ${num(m.limit)} 分钟）`;
        en = `no reading for ${num(m.value)} min (limit ${num(m.limit)} min)`;
      }
      break;
  }
  const notes = [m.catchUp ? '维护期后补报 / after maintenance' : '', m.muted ? '维护期静默 / muted (maintenance)' : ''].filter(Boolean).join('; ');
  return `【${k.zh}】${where.zh} ${zh}，${cst(m.at)} / [${k.en}] ${where.en}: ${en}, ${cst(m.at)}; thresholds v${m.thresholdVersion}${notes ? `; ${notes}` : ''}`;
}
