/**
 * OASIS CAP 1.2 messages for alert transitions: the firing is an Alert, reminders are Updates and
 * the resolve is a Cancel (with responseType AllClear), each Update/Cancel referencing every
 * earlier message of the same alert. Area = the affected reach: from the station down to the last
 * downstream section named in the notice (a bounding polygon of the sections, with their ids as
 * geocodes), or a circle around an air station. Two <info> blocks: zh-CN first, en-US second.
 *
 * Deterministic: identifier and sent come from the event (id and event time), so a message can be
 * rebuilt, and referenced, from the event alone.
 */
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import type { Station, StationRegistry } from '../../config/station-registry.js';
import type { RecipientsFile } from '../../config/recipients-schema.js';
import { ruleNamed } from '../rules/index.js';
import type { NoticeEvent } from './items.js';
import type { Routing } from './routing.js';
import type { Severity } from './severity.js';
import { exceedanceRatio } from './severity.js';
import { roundRange } from './travel-time.js';
import { cstIso } from '../../lib/cst.js';
import { escapeXml, num } from '../../lib/format.js';

export const CAP_NAMESPACE = 'urn:oasis:names:tc:emergency:cap:1.2';
export const CAP_MIME_TYPE = 'application/cap+xml';

export function capIdentifier(eventId: string): string {
  return `tuojiang.${eventId}`.replace(/[\s,<&]/g, '_');
}

/** CAP dateTime: seconds, explicit offset, never 'Z' (CAP 1.2 §3.3.2). China Standard Time. */
export function capTime(ms: number): string {
  return cstIso(ms);
}

export interface CapRef {
  eventId: string;
  at: number;
}

export interface CapInput {
  event: NoticeEvent;
  station: Station;
  registry: StationRegistry;
  routing: Routing;
  severity: Severity;
  /** Earlier messages of the same alert (its firing first). */
  references: CapRef[];
  config: RecipientsFile['cap'];
  web: string;
}

/** XML text escape for CAP elements. */
export const esc = escapeXml;

/** One CAP element on its own line. */
export function el(name: string, value: string | number, indent: string): string {
  return `${indent}<${name}>${esc(String(value))}</${name}>`;
}

function capSeverity(s: Severity, e: NoticeEvent): 'Extreme' | 'Severe' | 'Moderate' | 'Minor' {
  if (s === 'severe') {
    const r = e.rule === 'limit' ? exceedanceRatio(e) : null;
    return r !== null && r >= 10 ? 'Extreme' : 'Severe';
  }
  return s === 'warning' ? 'Moderate' : 'Minor';
}

function paramLabel(p: string, l: 'zh' | 'en'): string {
  const info = PARAMETER_BY_KEY.get(p);
  return info ? (l === 'zh' ? info.nameZh : info.nameEn) : p;
}

const fmt = (x: number | null): string => num(x);

/** Polygon of the reach (lat,lon pairs, closed), or a circle for a point. */
function area(input: CapInput, l: 'zh' | 'en', indent: string): string[] {
  const { station, registry, routing } = input;
  const out = [`${indent}<area>`];
  const sections = [station, ...routing.downstream.map((a) => registry.get(a.station)).filter((s): s is Station => s !== undefined)];
  const river = station.river ? (registry.rivers[station.river]?.[l] ?? station.river) : undefined;
  if (sections.length > 1 && river !== undefined) {
    const last = sections[sections.length - 1] as Station;
    const desc =
      l === 'zh'
        ? `${river} ${station.name.zh}（${station.river_km} km）至 ${last.name.zh}（${last.river_km} km）河段`
        : `${river} from ${station.name.en} (km ${station.river_km}) to ${last.name.en} (km ${last.river_km})`;
    out.push(el('areaDesc', desc, `${indent}  `));
    const m = 0.02;
    const lats = sections.map((s) => s.coordinates.lat);
    const lons = sections.map((s) => s.coordinates.lon);
    const [s0, n0, w0, e0] = [Math.min(...lats) - m, Math.max(...lats) + m, Math.min(...lons) - m, Math.max(...lons) + m].map((x) =>
      Number(x.toFixed(4)),
    ) as [number, number, number, number];
    out.push(el('polygon', `${s0},${w0} ${n0},${w0} ${n0},${e0} ${s0},${e0} ${s0},${w0}`, `${indent}  `));
    for (const s of sections)
      out.push(
        `${indent}  <geocode>`,
        el('valueName', 'tuojiang:station', `${indent}    `),
        el('value', s.id, `${indent}    `),
        `${indent}  </geocode>`,
      );
  } else {
    const desc =
      river !== undefined
        ? l === 'zh'
          ? `${river} ${station.name.zh} 断面`
          : `${river}, ${station.name.en} section`
        : l === 'zh'
          ? `${station.name.zh} 周边`
          : `around ${station.name.en}`;
    out.push(el('areaDesc', desc, `${indent}  `));
    out.push(el('circle', `${station.coordinates.lat},${station.coordinates.lon} ${station.kind === 'air' ? 5 : 1}`, `${indent}  `));
    out.push(
      `${indent}  <geocode>`,
      el('valueName', 'tuojiang:station', `${indent}    `),
      el('value', station.id, `${indent}    `),
      `${indent}  </geocode>`,
    );
  }
  out.push(`${indent}</area>`);
  return out;
}

function info(input: CapInput, l: 'zh' | 'en', msgType: 'Alert' | 'Update' | 'Cancel'): string[] {
  const { event: e, station, registry, routing, config } = input;
  const i = '    ';
  const resolved = e.kind === 'resolved';
  const rule = ruleNamed(e.rule);
  const param = rule.cap.namesParameter ? paramLabel(e.parameter, l) : '';
  const eventName =
    l === 'zh'
      ? `${station.kind === 'water' ? '水质' : '空气质量'}${param ? ` ${param}` : ''} ${rule.cap.event.zh}`
      : `${station.kind === 'water' ? 'Water quality' : 'Air quality'}${param ? `: ${param}` : ''} ${rule.cap.event.en}`;
  const stateWord = resolved
    ? l === 'zh'
      ? '已解除'
      : 'resolved'
    : e.kind === 'reminder'
      ? l === 'zh'
        ? '持续'
        : 'continuing'
      : l === 'zh'
        ? '告警'
        : 'alert';
  const headline = l === 'zh' ? `${station.name.zh} ${eventName}（${stateWord}）` : `${station.name.en}: ${eventName} (${stateWord})`;
  const unit = e.detail.unit ?? '';
  const value =
    l === 'zh'
      ? `数值 ${fmt(e.value)} ${unit}，限值 ${e.detail.limitText ?? fmt(e.limit)} ${unit}${e.detail.basis ? `（${e.detail.basis}）` : ''}；阈值版本 ${e.thresholdVersion}。`
      : `Value ${fmt(e.value)} ${unit}, limit ${e.detail.limitText ?? fmt(e.limit)} ${unit}${e.detail.basis ? ` (${e.detail.basis})` : ''}; thresholds version ${e.thresholdVersion}.`;
  const arrivals = routing.downstream.map((a) => {
    const r = roundRange(a);
    const s = registry.get(a.station);
    return l === 'zh'
      ? `${s?.name.zh ?? a.station}（下游 ${a.distanceKm} km）：${capTime(e.at + r.minMs)} 至 ${capTime(e.at + r.maxMs)}`
      : `${s?.name.en ?? a.station} (${a.distanceKm} km downstream): ${capTime(e.at + r.minMs)} to ${capTime(e.at + r.maxMs)}`;
  });
  const description = [
    value,
    ...(arrivals.length > 0
      ? [l === 'zh' ? `下游预计到达：${arrivals.join('；')}。` : `Expected downstream: ${arrivals.join('; ')}.`]
      : []),
  ].join(' ');
  const instruction = resolved
    ? l === 'zh'
      ? '上游已恢复正常；下游断面按上述时间范围陆续恢复。'
      : 'Back to normal upstream; downstream sections should follow within the times given.'
    : routing.downstream.some((a) => a.intake)
      ? l === 'zh'
        ? '下游饮用水取水口请在预计到达时间前做好应对准备。'
        : 'Downstream drinking-water intakes: prepare before the expected arrival.'
      : l === 'zh'
        ? '请关注监测数据并按预案处置。'
        : 'Watch the monitoring data and follow the response plan.';
  const audience = routing.bureaus.map((b) => registry.cities[b.bureau]?.[l] ?? b.bureau).join(l === 'zh' ? '、' : ', ');

  const out = [`  <info>`];
  out.push(el('language', l === 'zh' ? 'zh-CN' : 'en-US', i));
  out.push(el('category', rule.cap.category, i));
  out.push(el('event', eventName, i));
  out.push(el('responseType', resolved ? 'AllClear' : routing.downstream.some((a) => a.intake) ? 'Prepare' : 'Monitor', i));
  out.push(el('urgency', resolved ? 'Past' : 'Immediate', i));
  out.push(el('severity', resolved ? 'Minor' : capSeverity(input.severity, e), i));
  out.push(el('certainty', 'Observed', i));
  out.push(el('audience', l === 'zh' ? `${audience}生态环境局` : `Environment bureaus: ${audience}`, i));
  out.push(`${i}<eventCode>`, el('valueName', 'tuojiang:rule', `${i}  `), el('value', e.rule, `${i}  `), `${i}</eventCode>`);
  out.push(el('effective', capTime(e.at), i));
  out.push(el('onset', capTime(e.at), i));
  out.push(el('senderName', config.sender_name[l], i));
  out.push(el('headline', headline, i));
  out.push(el('description', description, i));
  out.push(el('instruction', instruction, i));
  out.push(el('web', input.web, i));
  const params: Array<[string, string]> = [
    ['tuojiang:station', station.id],
    ['tuojiang:parameter', e.parameter],
    ['tuojiang:value', fmt(e.value)],
    ['tuojiang:limit', fmt(e.limit)],
    ['tuojiang:thresholdVersion', e.thresholdVersion],
    ['tuojiang:state', e.kind],
    ['tuojiang:msgType', msgType],
  ];
  for (const a of routing.downstream) {
    const r = roundRange(a);
    params.push([`tuojiang:arrival:${a.station}`, `${capTime(e.at + r.minMs)}/${capTime(e.at + r.maxMs)}`]);
  }
  for (const [k, v] of params) out.push(`${i}<parameter>`, el('valueName', k, `${i}  `), el('value', v, `${i}  `), `${i}</parameter>`);
  out.push(...area(input, l, i));
  out.push('  </info>');
  return out;
}

export function capMsgType(e: NoticeEvent, references: readonly CapRef[]): 'Alert' | 'Update' | 'Cancel' {
  if (references.length === 0) return 'Alert';
  return e.kind === 'resolved' ? 'Cancel' : 'Update';
}

export function buildCap(input: CapInput): string {
  const { event: e, config } = input;
  const msgType = capMsgType(e, input.references);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<alert xmlns="${CAP_NAMESPACE}">`];
  lines.push(el('identifier', capIdentifier(e.id), '  '));
  lines.push(el('sender', config.sender, '  '));
  lines.push(el('sent', capTime(e.at), '  '));
  lines.push(el('status', 'Actual', '  '));
  lines.push(el('msgType', msgType, '  '));
  lines.push(el('source', `tuojiang thresholds v${e.thresholdVersion}`, '  '));
  lines.push(el('scope', config.scope, '  '));
  if (config.scope === 'Restricted') lines.push(el('restriction', config.restriction, '  '));
  if (input.references.length > 0) {
    lines.push(
      el('references', input.references.map((r) => `${config.sender},${capIdentifier(r.eventId)},${capTime(r.at)}`).join(' '), '  '),
    );
  }
  const alertId = input.references[0]?.eventId ?? e.id;
  lines.push(el('incidents', capIdentifier(alertId), '  '));
  lines.push(...info(input, 'zh', msgType), ...info(input, 'en', msgType));
  lines.push('</alert>', '');
  return lines.join('\n');
}
