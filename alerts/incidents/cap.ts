/**
 * CAP 1.2 for incidents: one <identifier> chain per incident — the 初报 is an Alert, each 续报 an
 * Update and the 终报 a Cancel (responseType AllClear), each referencing every earlier message —
 * and one <incidents> value for all of them. Every message <expires> (when the next scheduled
 * report is due, or a day after the final one). Urgency follows the time the front needs to the
 * next section ahead: Immediate under 3 hours, Expected under a day, Future beyond. The area is
 * the reach ahead of the front. Deterministic: rebuilt from the report alone.
 */
import type { RecipientsFile } from '../../config/recipients-schema.js';
import type { RiversFile } from '../../config/rivers-schema.js';
import type { Station, StationRegistry } from '../../lib/station-registry.js';
import { CAP_NAMESPACE, capTime } from '../notify/cap.js';
import type { Severity } from '../notify/severity.js';
import { front } from './track.js';
import type { Report } from './types.js';
import { intakeLine, paramName, peakLine, reasonText, stationName, subject, windowText, type L } from './wording.js';

export interface IncidentCapInput {
  report: Report;
  registry: StationRegistry;
  severity: Severity;
  config: RecipientsFile['cap'];
  web: string;
  rivers: RiversFile;
  bureaus: string[];
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function el(name: string, value: string | number, indent: string): string {
  return `${indent}<${name}>${esc(String(value))}</${name}>`;
}

export function reportIdentifier(incidentId: string, seq: number): string {
  return `tuojiang.${incidentId}.r${seq}`.replace(/[\s,<&]/g, '_');
}

export function capUrgency(r: Report): 'Immediate' | 'Expected' | 'Future' | 'Past' {
  if (r.kind === 'final') return 'Past';
  const ahead = Object.values(r.windows).map((w) => w.from - r.at);
  if (ahead.length === 0) return 'Immediate';
  const soonest = Math.min(...ahead);
  if (soonest < 3 * 3_600_000) return 'Immediate';
  return soonest < 24 * 3_600_000 ? 'Expected' : 'Future';
}

export function capExpires(r: Report, reportEveryMs = 6 * 3_600_000): number {
  return r.kind === 'final' ? r.at + 24 * 3_600_000 : r.at + reportEveryMs;
}

function areaOf(input: IncidentCapInput, l: L, indent: string): string[] {
  const { report: r, registry } = input;
  const inc = r.incident;
  const f = front(inc);
  const from = f ?? inc.sections[0];
  const ahead = inc.sections.filter((s) => from && s.riverKm !== null && from.riverKm !== null && s.riverKm >= from.riverKm && (s.station === from.station || r.windows[s.station] !== undefined));
  const stations = (ahead.length > 0 ? ahead : inc.sections).map((s) => registry.get(s.station)).filter((s): s is Station => s !== undefined);
  const out = [`${indent}<area>`];
  const first = stations[0] as Station;
  const last = stations[stations.length - 1] as Station;
  const river = inc.river ? registry.rivers[inc.river]?.[l] ?? inc.river : '';
  out.push(el('areaDesc', inc.kind === 'river'
    ? (l === 'zh' ? `${river} ${first.name.zh}（${first.river_km} km）至 ${last.name.zh}（${last.river_km} km）` : `${river} from ${first.name.en} (km ${first.river_km}) to ${last.name.en} (km ${last.river_km})`)
    : (l === 'zh' ? `${first.name.zh} 周边` : `around ${first.name.en}`), `${indent}  `));
  if (stations.length > 1) {
    const m = 0.02;
    const lats = stations.map((s) => s.coordinates.lat);
    const lons = stations.map((s) => s.coordinates.lon);
    const [s0, n0, w0, e0] = [Math.min(...lats) - m, Math.max(...lats) + m, Math.min(...lons) - m, Math.max(...lons) + m].map((x) => Number(x.toFixed(4))) as [number, number, number, number];
    out.push(el('polygon', `${s0},${w0} ${n0},${w0} ${n0},${e0} ${s0},${e0} ${s0},${w0}`, `${indent}  `));
  } else {
    out.push(el('circle', `${first.coordinates.lat},${first.coordinates.lon} ${first.kind === 'air' ? 5 : 1}`, `${indent}  `));
  }
  for (const s of stations) out.push(`${indent}  <geocode>`, el('valueName', 'tuojiang:station', `${indent}    `), el('value', s.id, `${indent}    `), `${indent}  </geocode>`);
  out.push(`${indent}</area>`);
  return out;
}

function info(input: IncidentCapInput, l: L, expires: number): string[] {
  const { report: r, registry, config } = input;
  const inc = r.incident;
  const i = '    ';
  const final = r.kind === 'final';
  const hasIntake = inc.sections.some((s) => s.intake && s.observedAt === null);
  const out = ['  <info>'];
  out.push(el('language', l === 'zh' ? 'zh-CN' : 'en-US', i));
  out.push(el('category', 'Env', i));
  out.push(el('event', l === 'zh' ? `${inc.kind === 'river' ? '水' : '空气'}污染事件 ${paramName(inc.parameter, l)}` : `${inc.kind === 'river' ? 'Water' : 'Air'} pollution incident: ${paramName(inc.parameter, l)}`, i));
  out.push(el('responseType', final ? 'AllClear' : hasIntake ? 'Prepare' : 'Monitor', i));
  out.push(el('urgency', capUrgency(r), i));
  out.push(el('severity', final ? 'Minor' : input.severity === 'severe' ? 'Severe' : input.severity === 'warning' ? 'Moderate' : 'Minor', i));
  out.push(el('certainty', 'Observed', i));
  out.push(el('audience', input.bureaus.map((b) => registry.cities[b]?.[l] ?? b).join(l === 'zh' ? '、' : ', '), i));
  out.push(`${i}<eventCode>`, el('valueName', 'tuojiang:family', `${i}  `), el('value', inc.family, `${i}  `), `${i}</eventCode>`);
  out.push(el('effective', capTime(r.at), i));
  out.push(el('onset', capTime(inc.openedAt), i));
  out.push(el('expires', capTime(expires), i));
  out.push(el('senderName', config.sender_name[l], i));
  out.push(el('headline', subject(r, registry, l), i));
  out.push(el('description', [intakeLine(r, registry, l), peakLine(inc, registry, l), ...reasonText(r, registry, l)].filter(Boolean).join(l === 'zh' ? '；' : '; '), i));
  out.push(el('instruction', final
    ? (l === 'zh' ? '事件已结束，各受影响断面已持续恢复。' : 'The incident is over; every section reached has stayed back within limits.')
    : hasIntake ? (l === 'zh' ? '下游饮用水取水口请在预计到达时间前做好应对准备。' : 'Downstream drinking-water intakes: prepare before the expected arrival.') : (l === 'zh' ? '请关注监测数据并按预案处置。' : 'Watch the monitoring data and follow the response plan.'), i));
  out.push(el('web', input.web, i));
  const params: Array<[string, string]> = [['tuojiang:incident', inc.id], ['tuojiang:report', `${r.kind}#${r.seq}`], ['tuojiang:origin', inc.origin]];
  for (const [station, w] of Object.entries(r.windows)) params.push([`tuojiang:arrival:${station}`, `${capTime(w.from)}/${capTime(w.to)}`]);
  for (const s of inc.sections) if (s.observedAt !== null) params.push([`tuojiang:observed:${s.station}`, capTime(s.observedAt)]);
  for (const [k, v] of params) out.push(`${i}<parameter>`, el('valueName', k, `${i}  `), el('value', v, `${i}  `), `${i}</parameter>`);
  out.push(...areaOf(input, l, i));
  out.push('  </info>');
  void windowText;
  void stationName;
  return out;
}

export function buildIncidentCap(input: IncidentCapInput): string {
  const { report: r, config } = input;
  const inc = r.incident;
  const msgType = r.seq === 1 ? 'Alert' : r.kind === 'final' ? 'Cancel' : 'Update';
  const expires = capExpires(r);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<alert xmlns="${CAP_NAMESPACE}">`];
  lines.push(el('identifier', reportIdentifier(inc.id, r.seq), '  '));
  lines.push(el('sender', config.sender, '  '));
  lines.push(el('sent', capTime(r.at), '  '));
  lines.push(el('status', 'Actual', '  '));
  lines.push(el('msgType', msgType, '  '));
  lines.push(el('source', 'tuojiang incidents', '  '));
  lines.push(el('scope', config.scope, '  '));
  if (config.scope === 'Restricted') lines.push(el('restriction', config.restriction, '  '));
  if (r.seq > 1) {
    const refs = inc.reportTimes.slice(0, r.seq - 1).map((at, k) => `${config.sender},${reportIdentifier(inc.id, k + 1)},${capTime(at)}`);
    lines.push(el('references', refs.join(' '), '  '));
  }
  lines.push(el('incidents', `tuojiang.${inc.id}`.replace(/[\s,<&]/g, '_'), '  '));
  lines.push(...info(input, 'zh', expires), ...info(input, 'en', expires));
  lines.push('</alert>', '');
  return lines.join('\n');
}
