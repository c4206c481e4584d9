/**
 * A batch as words: the subject, plain text and HTML every channel starts from, in the language the
 * person asked for (recipients.yaml), with the links a reader acts on. One incident report is
 * rendered as a report; anything else as a notice of its transitions or escalations.
 */
import type { Language } from '../../../config/recipients-schema.js';
import { renderReport, type ReportItem } from '../../incidents/render-report.js';
import { bureauPolicy, type NotifyConfig } from '../config.js';
import type { NoticeItem, Recipient } from '../items.js';
import { renderNotice } from '../render.js';
import type { RenderContext } from './channel.js';

export interface BatchText {
  subject: string;
  text: string;
  html: string;
  language: Language;
  /** Set when the batch is one incident report. */
  report?: ReportItem;
  links: { ack: string | null; grafana: string | null };
}

/** The person of a bureau's lists a recipient stands for, by e-mail address. */
export function personOf(config: NotifyConfig, recipient: Recipient) {
  const policy = bureauPolicy(config.recipients, recipient.bureau);
  return [...(policy?.duty ?? []), ...(policy?.escalation ?? [])].find((p) => p.email.toLowerCase() === recipient.email.toLowerCase());
}

function isReport(i: NoticeItem | ReportItem): i is ReportItem {
  return (i as { type: string }).type === 'report';
}

export function renderBatchText(ctx: RenderContext, recipient: Recipient, items: readonly NoticeItem[]): BatchText {
  const policy = bureauPolicy(ctx.config.recipients, recipient.bureau);
  const language = personOf(ctx.config, recipient)?.language ?? policy?.language ?? 'zh-en';
  const bureau = { id: recipient.bureau, name: policy?.name ?? { zh: recipient.bureau, en: recipient.bureau } };
  const report = (items as ReadonlyArray<NoticeItem | ReportItem>).find(isReport);
  if (report) {
    const bureauNames: Record<string, { zh: string; en: string }> = {};
    for (const b of report.report.incident.sections.map((s) => s.city).concat(Object.keys(report.acks), [report.bureau])) {
      const p = bureauPolicy(ctx.config.recipients, b);
      if (p) bureauNames[b] = p.name;
    }
    const r = renderReport(report, { registry: ctx.registry, recipient, language, bureauNames, bureau });
    return { ...r, language, report, links: { ack: report.links.ack, grafana: report.links.grafana } };
  }
  const r = renderNotice(items, { registry: ctx.registry, bureau, recipient, language });
  const first = items[0];
  return { ...r, language, links: { ack: first?.links.ack ?? null, grafana: first?.links.grafana ?? null } };
}
