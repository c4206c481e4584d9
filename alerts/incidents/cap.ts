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
import type { Station, StationRegistry } from '../../config/station-registry.js';
import { CAP_NAMESPACE, capTime, el } from '../notify/cap.js';
import type { Severity } from '../notify/severity.js';
import { front } from './track.js';
import type { Report } from './types.js';
import { actionText, intakeLine, paramName, peakLine, reasonText, subject, type L } from './wording.js';

export interface IncidentCapInput {
  report: Report;
  registry: StationRegistry;
  severity: Severity;
  config: RecipientsFile['cap'];
  web: string;
  rivers: RiversFile;
  bureaus: string[];
  /** incidents.report_every_min: when the next report is due at the latest. */
  reportEveryMs: number;
}

export function reportIdentifier(incidentId: string, seq: number): string {
  return `tuojiang.${incidentId}.r${seq}`.replace(/[\s,<&]/g, '_');
}

/** A drinking-water intake over the limit now. */
export function intakeAffected(r: Report): boolean {
  return r.receptors.some((x) => x.kind === 'drinking_water_intake' && x.affected);
}

/**
 * Immediate: an intake is affected now, or the plume may reach the next section within 3 hours;
 * Expected within a day (or nothing left ahead while it lasts); Future beyond; Past once closed.
 */
export function capUrgency(r: Report): 'Immediate' | 'Expected' | 'Future' | 'Past' {
  if (r.kind === 'final') return 'Past';
  if (intakeAffected(r)) return 'Immediate';
  const ahead = Object.values(r.windows).map((w) => w.from - r.at);
  if (ahead.length === 0) return 'Expected';
  const soonest = Math.min(...ahead);
  if (soonest < 3 * 3_600_000) return 'Immediate';
  return soonest < 24 * 3_600_000 ? 'Expected' : 'Future';
}

/** Valid until the next report is due at the latest (the scheduled follow-up), or a day after the final one. */
export function capExpires(r: Report, reportEveryMs: number): number {
  return r.kind === 'final' ? r.at + 24 * 3_600_000 : r.at + reportEveryMs;
}

function areaOf(input: IncidentCapInput, l: L, indent: string): string[] {
  const { report: r, registry } = input;
  const inc = r.incident;
  const f = front(inc);
  const from = f ?? inc.sections[0];
  // While open: the reach ahead of the front. Once closed: the whole reach the plume affected.
  const ahead =
    r.kind === 'final'
      ? inc.sections.filter((s) => s.observedAt !== null)
      : inc.sections.filter(
          (s) =>
            from &&
            s.riverKm !== null &&
            from.riverKm !== null &&
            s.riverKm >= from.riverKm &&
            (s.station === from.station || r.windows[s.station] !== undefined),
        );
  const stations = (ahead.length > 0 ? ahead : inc.sections)
    .map((s) => registry.get(s.station))
    .filter((s): s is Station => s !== undefined);
  const out = [`${indent}<area>`];
  const first = stations[0] as Station;
  const last = stations[stations.length - 1] as Station;
  const river = inc.river ? (registry.rivers[inc.river]?.[l] ?? inc.river) : '';
  out.push(
    el(
      'areaDesc',
      inc.kind === 'river'
        ? first === last
          ? l === 'zh'
            ? `${river} ${first.name.zh}（${first.river_km} km）`
            : `${river} at ${first.name.en} (km ${first.river_km})`
          : l === 'zh'
            ? `${river} ${first.name.zh}（${first.river_km} km）至 ${last.name.zh}（${last.river_km} km）`
            : `${river} from ${first.name.en} (km ${first.river_km}) to ${last.name.en} (km ${last.river_km})`
        : l === 'zh'
          ? `${first.name.zh} 周边`
          : `around ${first.name.en}`,
      `${indent}  `,
    ),
  );
  if (stations.length > 1) {
    const m = 0.02;
    const lats = stations.map((s) => s.coordinates.lat);
    const lons = stations.map((s) => s.coordinates.lon);
    const [s0, n0, w0, e0] = [Math.min(...lats) - m, Math.max(...lats) + m, Math.min(...lons) - m, Math.max(...lons) + m].map((x) =>
      Number(x.toFixed(4)),
    ) as [number, number, number, number];
    out.push(el('polygon', `${s0},${w0} ${n0},${w0} ${n0},${e0} ${s0},${e0} ${s0},${w0}`, `${indent}  `));
  } else {
    out.push(el('circle', `${first.coordinates.lat},${first.coordinates.lon} ${first.kind === 'air' ? 5 : 1}`, `${indent}  `));
  }
  for (const s of stations)
    out.push(
      `${indent}  <geocode>`,
      el('valueName', 'tuojiang:station', `${indent}    `),
      el('value', s.id, `${indent}    `),
      `${indent}  </geocode>`,
    );
  out.push(`${indent}</area>`);
  return out;
}

function info(input: IncidentCapInput, l: L, expires: number): string[] {
  const { report: r, registry, config } = input;
  const inc = r.incident;
  const i = '    ';
  const final = r.kind === 'final';
  const hasIntake = r.receptors.some((x) => x.kind === 'drinking_water_intake' && !x.reached);
  const hit = intakeAffected(r);
  const out = ['  <info>'];
  out.push(el('language', l === 'zh' ? 'zh-CN' : 'en-US', i));
  out.push(el('category', 'Env', i));
  out.push(
    el(
      'event',
      l === 'zh'
        ? `${inc.kind === 'river' ? '水' : '空气'}污染事件 ${paramName(inc.parameter, l)}`
        : `${inc.kind === 'river' ? 'Water' : 'Air'} pollution incident: ${paramName(inc.parameter, l)}`,
      i,
    ),
  );
  out.push(el('responseType', final ? 'AllClear' : hit ? 'Execute' : hasIntake ? 'Prepare' : 'Monitor', i));
  out.push(el('urgency', capUrgency(r), i));
  out.push(
    el('severity', final ? 'Minor' : input.severity === 'severe' ? 'Severe' : input.severity === 'warning' ? 'Moderate' : 'Minor', i),
  );
  out.push(el('certainty', 'Observed', i));
  out.push(el('audience', input.bureaus.map((b) => registry.cities[b]?.[l] ?? b).join(l === 'zh' ? '、' : ', '), i));
  out.push(`${i}<eventCode>`, el('valueName', 'tuojiang:family', `${i}  `), el('value', inc.family, `${i}  `), `${i}</eventCode>`);
  out.push(el('effective', capTime(r.at), i));
  out.push(el('onset', capTime(inc.openedAt), i));
  out.push(el('expires', capTime(expires), i));
  out.push(el('senderName', config.sender_name[l], i));
  out.push(el('headline', subject(r, registry, l), i));
  out.push(
    el(
      'description',
      [intakeLine(r, registry, l), peakLine(inc, registry, l), ...reasonText(r, registry, l)]
        .filter(Boolean)
        .join(l === 'zh' ? '；' : '; '),
      i,
    ),
  );
  out.push(
    el(
      'instruction',
      actionText(r, l) ||
        (final
          ? l === 'zh'
            ? '事件已结束，各受影响断面已持续恢复。'
            : 'The incident is over; every section reached has stayed back within limits.'
          : ''),
      i,
    ),
  );
  out.push(el('web', input.web, i));
  const params: Array<[string, string]> = [
    ['tuojiang:incident', inc.id],
    ['tuojiang:report', `${r.kind}#${r.seq}`],
    ['tuojiang:origin', inc.origin],
  ];
  for (const [station, w] of Object.entries(r.windows)) params.push([`tuojiang:arrival:${station}`, `${capTime(w.from)}/${capTime(w.to)}`]);
  for (const s of inc.sections) if (s.observedAt !== null) params.push([`tuojiang:observed:${s.station}`, capTime(s.observedAt)]);
  for (const [k, v] of params) out.push(`${i}<parameter>`, el('valueName', k, `${i}  `), el('value', v, `${i}  `), `${i}</parameter>`);
  out.push(...areaOf(input, l, i));
  out.push('  </info>');
  return out;
}

export function buildIncidentCap(input: IncidentCapInput): string {
  const { report: r, config } = input;
  const inc = r.incident;
  const msgType = r.seq === 1 ? 'Alert' : r.kind === 'final' ? 'Cancel' : 'Update';
  const expires = capExpires(r, input.reportEveryMs);
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
