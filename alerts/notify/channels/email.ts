/**
 * E-mail: one message per batch through the pooled SMTP transport of ../transport.ts, whose commit
 * gate holds back the end-of-data dot until the outbox is marked `committing`. All reports of an
 * incident are one thread per address (Message-ID, In-Reply-To, References); the CAP message of
 * every transition or report rides along as an attachment.
 */
import { ERRORS } from '../../../lib/errors.js';
import { CAP_MIME_TYPE } from '../cap.js';
import type { NoticeItem, Recipient } from '../items.js';
import type { ReportItem } from '../../incidents/render-report.js';
import { renderBatchText, type BatchText } from './batch-text.js';
import { envelopeFrom, SendError, type MailTransport, type OutgoingMail } from '../transport.js';
import { DeliveryError, type Channel, type RenderContext } from './channel.js';

function messageDomain(from: string): string {
  return envelopeFrom(from).split('@')[1] ?? 'tuojiang.invalid';
}

export function messageIdFor(batchId: string, from: string): string {
  return `<${batchId}@${messageDomain(from)}>`;
}

/**
 * Message-ID of one incident report for one address. All reports of an incident are one thread:
 * each names the one before as In-Reply-To and every earlier one in References, so a mail client
 * shows 初报, 续报 … 终报 together, and an escalation answers the report it escalates.
 */
export function reportMessageId(incidentId: string, n: number, recipientKey: string, from: string): string {
  return `<${incidentId}.n${n}.${recipientKey}@${messageDomain(from)}>`;
}

function threadHeaders(item: ReportItem, recipient: Recipient, from: string): { messageId: string; headers: Record<string, string> } {
  const inc = item.report.incident;
  // Numbered per bureau: the report before is always one this recipient received.
  const n = item.number ?? item.report.seq;
  const ids = Array.from({ length: n }, (_, k) => reportMessageId(inc.id, k + 1, recipient.key, from));
  const topic = { 'Thread-Topic': `tuojiang ${inc.id}` };
  if (item.escalation) {
    // The escalation list's own thread: the escalation notice, then the reports copied to it.
    const root = `<${inc.id}.esc.${recipient.key}@${messageDomain(from)}>`;
    if (item.id.startsWith('esc.')) return { messageId: root, headers: topic };
    return {
      messageId: `<${inc.id}.esc${n}.${recipient.key}@${messageDomain(from)}>`,
      headers: { ...topic, 'In-Reply-To': root, References: root },
    };
  }
  const own = ids[n - 1] as string;
  const earlier = ids.slice(0, n - 1);
  return {
    messageId: own,
    headers: {
      ...topic,
      ...(earlier.length > 0 ? { 'In-Reply-To': earlier[earlier.length - 1] as string, References: earlier.join(' ') } : {}),
    },
  };
}

async function buildReportMail(
  ctx: RenderContext,
  batchId: string,
  recipient: Recipient,
  item: ReportItem,
  closedAt: number,
  rendered: BatchText,
): Promise<OutgoingMail> {
  const xml = await ctx.store.cap(item.report.id);
  const thread = threadHeaders(item, recipient, ctx.mailFrom);
  return {
    from: ctx.mailFrom,
    to: { name: recipient.name, address: recipient.email },
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    messageId: thread.messageId,
    date: new Date(closedAt),
    headers: {
      ...thread.headers,
      'X-Tuojiang-Batch': batchId,
      'X-Tuojiang-Bureau': recipient.bureau,
      'X-Tuojiang-Incident': item.report.incident.id,
      'X-Tuojiang-Report': `${item.report.kind} ${item.report.seq}`,
      'X-Tuojiang-Report-At': String(item.report.at),
      'X-Tuojiang-Items': item.id,
      'Auto-Submitted': 'auto-generated',
    },
    attachments: xml ? [{ filename: `cap-${item.report.id}.xml`, content: xml, contentType: CAP_MIME_TYPE }] : [],
  };
}

export async function buildMail(
  ctx: RenderContext,
  batchId: string,
  recipient: Recipient,
  items: NoticeItem[],
  closedAt: number,
): Promise<OutgoingMail> {
  const rendered = renderBatchText(ctx, recipient, items);
  if (rendered.report) return buildReportMail(ctx, batchId, recipient, rendered.report, closedAt, rendered);
  const transitions = items.filter((i) => i.type === 'transition');
  const xmls = await ctx.store.caps(transitions.map((i) => i.id));
  const attachments: OutgoingMail['attachments'] = [];
  transitions.forEach((item, k) => {
    const xml = xmls[k];
    if (xml) attachments.push({ filename: `cap-${item.id}.xml`, content: xml, contentType: CAP_MIME_TYPE });
  });
  return {
    from: ctx.mailFrom,
    to: { name: recipient.name, address: recipient.email },
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    messageId: messageIdFor(batchId, ctx.mailFrom),
    date: new Date(closedAt),
    headers: {
      'X-Tuojiang-Batch': batchId,
      'X-Tuojiang-Bureau': recipient.bureau,
      'X-Tuojiang-Alerts': [...new Set(items.map((i) => i.alertId))].join(' '),
      'X-Tuojiang-Items': items.map((i) => i.id).join(' '),
      'Auto-Submitted': 'auto-generated',
    },
    attachments,
  };
}

export function emailChannel(transport: MailTransport): Channel<OutgoingMail> {
  return {
    name: 'email',
    codes: { rejected: ERRORS.SMTP_REJECTED.code, uncertain: ERRORS.MAIL_UNCERTAIN.code, expired: ERRORS.MAIL_EXPIRED.code },
    render: (ctx, b) => buildMail(ctx, b.batchId, b.recipient, b.items, b.closedAt),
    async send(mail, _batch, commit, signal) {
      try {
        const res = await transport.send(mail, commit, signal);
        return { ref: mail.messageId, response: res.response };
      } catch (e) {
        if (!(e instanceof SendError)) throw e;
        const reply = e.responseCode !== undefined ? String(e.responseCode) : undefined;
        throw new DeliveryError(`${e.cause.code ?? ''} ${e.responseCode ?? ''} ${e.message}`.trim(), e.verdict, reply);
      }
    },
    close: () => transport.close(),
  };
}
