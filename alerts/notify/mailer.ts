/**
 * The second step: one mail job per batch (one recipient, one group of notices), due when the
 * batch's group wait (or quiet hours) ends. It closes the batch, then sends it through the outbox
 * of ./store.ts so that the batch becomes at most one e-mail whatever happens to the workers:
 *
 *   begin   absent/retry -> sending (lease: owner token, expiry). Another live attempt: wait.
 *           sending whose lease expired: that attempt died before handing the message over:
 *           send. committing whose lease expired: it died after: uncertain, never re-sent.
 *   commit  sending -> committing, by the gate of ./transport.ts, just before the last bytes
 *           and the end-of-data dot go to the server.
 *   finish  -> sent, or retry (4xx, connection errors, anything before the commit: BullMQ retries
 *           with capped exponential backoff), or failed (5xx, or still failing after
 *           delivery.give_up_after_h: dead-lettered and logged), or uncertain (no reply after
 *           the commit: dead-lettered and logged, not re-sent).
 */
import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../../lib/logger.js';
import type { StationRegistry } from '../../config/station-registry.js';
import { CAP_MIME_TYPE } from './cap.js';
import { bureauPolicy, type NotifyConfig } from './config.js';
import type { NoticeItem, Recipient } from './items.js';
import type { MailJobData } from './router.js';
import { renderNotice } from './render.js';
import { renderReport, type ReportItem } from '../incidents/render-report.js';
import type { Language } from '../../config/recipients-schema.js';
import type { DeadLetter, NotifyStore } from './store.js';
import { envelopeFrom, SendError, type MailTransport, type OutgoingMail } from './transport.js';

export interface MailerContext {
  store: NotifyStore;
  registry: StationRegistry;
  config: NotifyConfig;
  transport: MailTransport;
  mailFrom: string;
  now: () => number;
  log?: Logger;
  onSent?: (s: SentNotice) => void;
  onDead?: (d: Omit<DeadLetter, 'id'>) => void;
}

export interface SentNotice {
  batchId: string;
  /** When this attempt began (wall clock). */
  startedAt: number;
  recipient: Recipient;
  items: NoticeItem[];
  messageId: string;
  at: number;
}

export type MailOutcome = 'sent' | 'already-sent' | 'failed' | 'uncertain' | 'empty';

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
    return { messageId: `<${inc.id}.esc${n}.${recipient.key}@${messageDomain(from)}>`, headers: { ...topic, 'In-Reply-To': root, References: root } };
  }
  const own = ids[n - 1] as string;
  const earlier = ids.slice(0, n - 1);
  return { messageId: own, headers: { ...topic, ...(earlier.length > 0 ? { 'In-Reply-To': earlier[earlier.length - 1] as string, References: earlier.join(' ') } : {}) } };
}

async function buildReportMail(ctx: MailerContext, batchId: string, recipient: Recipient, item: ReportItem, closedAt: number, language: Language): Promise<OutgoingMail> {
  const bureauNames: Record<string, { zh: string; en: string }> = {};
  for (const b of item.report.incident.sections.map((s) => s.city).concat(Object.keys(item.acks), [item.bureau])) {
    const p = bureauPolicy(ctx.config.recipients, b);
    if (p) bureauNames[b] = p.name;
  }
  const policy = bureauPolicy(ctx.config.recipients, recipient.bureau);
  const rendered = renderReport(item, {
    registry: ctx.registry, recipient, language, bureauNames,
    bureau: { id: recipient.bureau, name: policy?.name ?? { zh: recipient.bureau, en: recipient.bureau } },
  });
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

export async function buildMail(ctx: MailerContext, batchId: string, recipient: Recipient, items: NoticeItem[], closedAt: number): Promise<OutgoingMail> {
  const policy = bureauPolicy(ctx.config.recipients, recipient.bureau);
  const person = [...(policy?.duty ?? []), ...(policy?.escalation ?? [])].find((p) => p.email.toLowerCase() === recipient.email.toLowerCase());
  const report = items.find((i) => (i as unknown as { type: string }).type === 'report') as unknown as ReportItem | undefined;
  if (report) return buildReportMail(ctx, batchId, recipient, report, closedAt, person?.language ?? policy?.language ?? 'zh-en');
  const rendered = renderNotice(items, {
    registry: ctx.registry,
    bureau: { id: recipient.bureau, name: policy?.name ?? { zh: recipient.bureau, en: recipient.bureau } },
    recipient,
    language: person?.language ?? policy?.language ?? 'zh-en',
  });
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

export async function sendBatch(ctx: MailerContext, job: Pick<Job<MailJobData>, 'data' | 'timestamp' | 'moveToDelayed'>, token?: string): Promise<MailOutcome> {
  const { batchId } = job.data;
  const { store } = ctx;
  const startedAt = ctx.now();
  const delivery = ctx.config.recipients.delivery;
  const closed = await store.closeBatch(batchId, ctx.now());
  if (!closed || closed.items.length === 0) return 'empty';
  const { recipient, items } = closed;
  const alertIds = [...new Set(items.map((i) => i.alertId))];
  const attempt = randomUUID();
  const leaseMs = delivery.attempt_timeout_s * 1000;
  const begun = await store.begin(batchId, attempt, leaseMs);
  const dead = async (reason: DeadLetter['reason'], error: string, type: 'failed' | 'uncertain'): Promise<void> => {
    const d = { batchId, bureau: recipient.bureau, to: recipient.email, reason, error, items: items.map((i) => i.id), at: ctx.now() };
    await store.deadLetter(d, { alertIds, entry: { type, t: d.at, to: recipient.email, bureau: recipient.bureau, batchId, error } });
    ctx.onDead?.(d);
  };
  switch (begun.state) {
    case 'sent':
      return 'already-sent';
    case 'failed':
      return 'failed';
    case 'uncertain':
      return 'uncertain';
    case 'became-uncertain':
      ctx.log?.error({ batch: batchId, to: recipient.email, code: 'TJ_MAIL_UNCERTAIN' }, 'an attempt died after handing the message to the SMTP server: probably delivered, not re-sent');
      await dead('uncertain', 'a delivery attempt died after handing the message over, before the server replied', 'uncertain');
      return 'uncertain';
    case 'busy':
      // Another attempt holds the lease (a stalled worker still sending): look again when it ends.
      await job.moveToDelayed(begun.leaseUntil + 200, token);
      throw new DelayedError();
    case 'go':
      break;
  }

  let mail: OutgoingMail;
  try {
    mail = await buildMail(ctx, batchId, recipient, items, closed.closedAt);
  } catch (e) {
    await store.finish(batchId, attempt, 'retry', { error: (e as Error).message });
    throw e;
  }
  try {
    const res = await ctx.transport.send(
      mail,
      async () => {
        if (!(await store.commit(batchId, attempt))) throw new Error('outbox lease lost to another attempt: not handing the message over');
      },
      AbortSignal.timeout(Math.max(1000, leaseMs - 1000)),
    );
    const at = ctx.now();
    await store.finish(batchId, attempt, 'sent', { messageId: mail.messageId, response: res.response, to: recipient.email }, {
      alertIds, entry: { type: 'sent', t: at, to: recipient.email, bureau: recipient.bureau, list: recipient.list, messageId: mail.messageId, batchId, items: items.map((i) => i.id) },
    });
    ctx.onSent?.({ batchId, startedAt, recipient, items, messageId: mail.messageId, at });
    return 'sent';
  } catch (e) {
    if (!(e instanceof SendError)) {
      await store.finish(batchId, attempt, 'retry', { error: (e as Error).message });
      throw e;
    }
    const error = `${e.cause.code ?? ''} ${e.responseCode ?? ''} ${e.message}`.trim();
    switch (e.verdict) {
      case 'refused-permanently':
        await store.finish(batchId, attempt, 'failed', { error, responseCode: e.responseCode ?? 0 });
        await dead('rejected', error, 'failed');
        ctx.log?.error({ batch: batchId, to: recipient.email, err: error, code: 'TJ_SMTP_REJECTED' }, 'SMTP server refused the notice for good: dead-lettered');
        throw new UnrecoverableError(`SMTP ${e.responseCode}: ${e.message}`);
      case 'uncertain':
        await store.finish(batchId, attempt, 'uncertain', { error });
        await dead('uncertain', error, 'uncertain');
        ctx.log?.error({ batch: batchId, to: recipient.email, err: error, code: 'TJ_MAIL_UNCERTAIN' }, 'no reply after the message was handed over: probably delivered, not re-sent');
        return 'uncertain';
      case 'retry': {
        if (ctx.now() - job.timestamp > delivery.give_up_after_h * 3_600_000) {
          await store.finish(batchId, attempt, 'failed', { error });
          await dead('expired', error, 'failed');
          ctx.log?.error({ batch: batchId, to: recipient.email, err: error, code: 'TJ_MAIL_EXPIRED' }, 'notice still not delivered: given up, dead-lettered');
          throw new UnrecoverableError(`given up after ${delivery.give_up_after_h} h: ${error}`);
        }
        await store.finish(batchId, attempt, 'retry', { error, responseCode: e.responseCode ?? 0 });
        ctx.log?.warn({ batch: batchId, to: recipient.email, err: error }, 'notice not delivered, will retry');
        throw e;
      }
    }
  }
}

/** Capped exponential backoff for mail jobs (BullMQ custom strategy 'capped'). */
export function cappedBackoff(initialMs: number, maxMs: number): (attemptsMade: number) => number {
  return (attemptsMade) => {
    const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attemptsMade - 1));
    // A little jitter: recipients refused together do not all come back at the same instant.
    return Math.round(base * (0.9 + Math.random() * 0.2));
  };
}
