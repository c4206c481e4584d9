/**
 * The timeline of an incident for the ack page: what happened on the river (first detection,
 * each section reached, the peak, each section back within limits, the close), which reports the
 * bureaus received, and what the bureaus did (acknowledgements, escalations). River events carry
 * event time, the bureaus' actions wall time; both are shown in China Standard Time. Pure.
 */
import type { StationRegistry } from '../../config/station-registry.js';
import type { AckRecord, EscalationRecord } from '../notify/store.js';
import { incidentPeak } from './engine.js';
import type { Incident } from './types.js';
import { num, overText, REPORT_KIND, shortName, stationName, unitOf, windowText, type L } from './wording.js';

export type TimelineKind = 'detected' | 'reached' | 'peak' | 'back' | 'report' | 'ack' | 'escalated' | 'closed';

export interface TimelineEntry {
  at: number;
  kind: TimelineKind;
  text: Record<L, string>;
}

/** Same-minute entries in the order they happen in. */
const ORDER: Record<TimelineKind, number> = { detected: 0, reached: 1, peak: 2, back: 3, closed: 4, report: 5, ack: 6, escalated: 7 };

export interface BureauActions {
  acks: Record<string, AckRecord>;
  escalations: Record<string, EscalationRecord>;
}

export function incidentTimeline(
  inc: Incident,
  actions: BureauActions | undefined,
  reg: StationRegistry,
  bureauNames: Record<string, { zh: string; en: string }>,
): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  const add = (at: number, kind: TimelineKind, zh: string, en: string): void => {
    out.push({ at, kind, text: { zh, en } });
  };
  const bureau = (id: string, l: L): string => bureauNames[id]?.[l] ?? reg.cities[id]?.[l] ?? id;

  add(
    inc.openedAt,
    'detected',
    `首次发现：${stationName(reg, inc.origin, 'zh')}超标`,
    `First detected over the limit at ${stationName(reg, inc.origin, 'en')}`,
  );
  for (const s of inc.sections) {
    if (s.observedAt === null || s.station === inc.origin) continue;
    const miss =
      s.miss && s.predicted
        ? {
            zh: `（${s.miss === 'early' ? '早于' : '晚于'}预计 ${windowText(s.predicted, 'zh')}）`,
            en: ` (${s.miss}; expected ${windowText(s.predicted, 'en')})`,
          }
        : { zh: '', en: '' };
    add(
      s.observedAt,
      'reached',
      `污染团到达 ${stationName(reg, s.station, 'zh')}${miss.zh}`,
      `The plume reached ${stationName(reg, s.station, 'en')}${miss.en}`,
    );
  }
  const p = incidentPeak(inc);
  if (p) {
    const t = inc.sections.find((s) => s.station === p.station)?.params[inc.parameter];
    const unit = unitOf(inc);
    const over = (l: L): string => (t ? overText(p.value, t.limit, t.limitKind, l) : '');
    add(
      p.at,
      'peak',
      `峰值 ${num(p.value)} ${unit}（${shortName(reg, p.station, 'zh')}）${over('zh') ? `，${over('zh')}` : ''}`,
      `Peak ${num(p.value)} ${unit} (${shortName(reg, p.station, 'en')})${over('en') ? `, ${over('en')}` : ''}`,
    );
  }
  for (const s of inc.sections) {
    if (s.observedAt === null || s.backAt === null || s.firing.length > 0) continue;
    add(
      s.backAt,
      'back',
      `${stationName(reg, s.station, 'zh')} 已恢复至限值以内`,
      `${stationName(reg, s.station, 'en')} back within limits`,
    );
  }
  if (inc.status === 'closed' && inc.closedAt !== null) {
    add(inc.closedAt, 'closed', '事件结束：所有受影响断面已持续恢复', 'Incident closed: every section reached stayed back within limits');
  }
  inc.reportTimes.forEach((at, i) => {
    const kind = i === 0 ? 'initial' : inc.status === 'closed' && i === inc.reportTimes.length - 1 ? 'final' : 'followup';
    add(at, 'report', `第 ${i + 1} 报 ${REPORT_KIND[kind].zh}`, `Report #${i + 1}: ${REPORT_KIND[kind].en}`);
  });
  for (const [b, a] of Object.entries(actions?.acks ?? {})) {
    add(a.at, 'ack', `${bureau(b, 'zh')} 确认收到（${a.by}）`, `${bureau(b, 'en')} acknowledged (${a.by})`);
  }
  // Who was on the escalation list is not shown: the page is reachable by whoever holds a link.
  for (const [b, e] of Object.entries(actions?.escalations ?? {})) {
    add(
      e.at,
      'escalated',
      `${bureau(b, 'zh')} 未按时确认，已升级通报（${e.to.length} 人）`,
      `${bureau(b, 'en')} did not acknowledge in time: escalated (${e.to.length} recipients)`,
    );
  }
  return out.sort((a, b) => a.at - b.at || ORDER[a.kind] - ORDER[b.kind]);
}
