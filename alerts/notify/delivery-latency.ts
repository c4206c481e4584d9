/**
 * Where tuojiang_notify_delivery_seconds starts for one e-mail: when the earliest reading behind it
 * was handed to the checks. A batch holds transition notices (the reading rides on the event) or
 * one incident report (the reading that triggered the report rides on the report; a report a close
 * check issued has none, it was not caused by a reading). Escalations wait for an acknowledgement
 * timeout by design, so they would only bury the delivery latency: they are left out.
 */
import type { ReportItem } from '../incidents/render-report.js';
import type { NoticeItem } from './items.js';

function isReport(item: NoticeItem | ReportItem): item is ReportItem {
  return item.type === 'report';
}

/** Wall time the earliest reading behind these items was handed over; undefined when none is known. */
export function handedOverAt(items: ReadonlyArray<NoticeItem | ReportItem>): number | undefined {
  let earliest: number | undefined;
  for (const item of items) {
    if (item.type === 'escalation' || item.escalation !== undefined) continue;
    const t = isReport(item) ? item.report.enqueuedAt : item.event.enqueuedAt;
    if (t !== undefined && (earliest === undefined || t < earliest)) earliest = t;
  }
  return earliest;
}
