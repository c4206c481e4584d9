/**
 * The one-line text of an alert event, Chinese first and English second, for the InfluxDB
 * annotation and as the notify worker's starting point. The measurement's own words come from the
 * rule (alerts/rules/).
 */
import type { Station } from '../config/station-registry.js';
import { ruleNamed, type AlertDetail, type RuleName } from './rules/index.js';
import type { EventKind } from './state-machine.js';
import { cstMinute } from '../lib/cst.js';

const KIND: Record<EventKind, { zh: string; en: string }> = {
  firing: { zh: '告警', en: 'ALERT' },
  resolved: { zh: '解除', en: 'RESOLVED' },
  reminder: { zh: '持续', en: 'STILL FIRING' },
};

/** China Standard Time, the time the bureaus read. */
export function cst(ms: number): string {
  return `${cstMinute(ms)} (UTC+8)`;
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
  const where = { zh: m.station.name.zh, en: m.station.name.en };
  const { zh, en } = ruleNamed(m.rule).wording(m);
  const notes = [m.catchUp ? '维护期后补报 / after maintenance' : '', m.muted ? '维护期静默 / muted (maintenance)' : '']
    .filter(Boolean)
    .join('; ');
  return `【${k.zh}】${where.zh} ${zh}，${cst(m.at)} / [${k.en}] ${where.en}: ${en}, ${cst(m.at)}; thresholds v${m.thresholdVersion}${notes ? `; ${notes}` : ''}`;
}
