/**
 * Escalation: one delayed BullMQ job per (alert, bureau), due when the bureau's acknowledgement
 * time has passed since its notice went out. If the alert is still firing and that bureau has not
 * acknowledged, its escalation list gets an escalation notice (grouped like any notice), once.
 */
import { currentReport } from '../incidents/current-report.js';
import type { ReportItem } from '../incidents/render-report.js';
import type { IncidentStore } from '../incidents/store.js';
import type { NoticeItem } from './items.js';
import { bureauPolicy } from './config.js';
import { placeForList, type EscalateJobData, type NotifyContext } from './router.js';

export type EscalationOutcome = 'escalated' | 'acknowledged' | 'resolved' | 'unknown-alert' | 'no-list';

export async function runEscalation(ctx: NotifyContext, job: EscalateJobData): Promise<EscalationOutcome> {
  const a = await ctx.store.alert(job.alertId);
  if (!a) return 'unknown-alert';
  if (a.state !== 'firing') return 'resolved';
  if (a.acks[job.bureau]) return 'acknowledged';
  const policy = bureauPolicy(ctx.config.recipients, job.bureau);
  if (!policy || policy.escalation.length === 0) return 'no-list';
  const now = ctx.now();
  if ((job.item as unknown as { type: string }).type === 'report') {
    // An incident: the escalation notice is the report the bureau did not acknowledge, with the
    // acknowledgements as they stand now.
    const rep = job.item as unknown as ReportItem;
    // The incident as it stands now, not the report the bureau left unacknowledged.
    const inc =
      'incidents' in ctx ? await (ctx as NotifyContext & { incidents: IncidentStore }).incidents.incident(job.alertId) : undefined;
    const report = inc
      ? {
          ...currentReport(inc, { registry: ctx.registry, rivers: ctx.config.rivers, policy: ctx.config.recipients.incidents }),
          at: Math.max(now, rep.report.at),
        }
      : rep.report;
    const escItem: ReportItem = {
      ...rep,
      report,
      id: `esc.${job.alertId}.${job.bureau}`,
      acks: a.acks,
      escalation: { ackTimeoutMs: policy.ackTimeoutMs, firedNotifiedAt: a.createdAt },
    };
    // A lane per incident: escalations of two incidents due together must be two e-mails.
    await placeForList(ctx, job.bureau, 'escalation', escItem as unknown as NoticeItem, `esc.${job.alertId}`);
    if (await ctx.store.markEscalated(job.alertId, job.bureau, { at: now, to: policy.escalation.map((p) => p.email) })) {
      ctx.log?.warn({ incident: job.alertId, bureau: job.bureau }, 'incident not acknowledged in time: escalated');
    }
    return 'escalated';
  }
  const item: NoticeItem = {
    ...job.item,
    id: `esc.${job.alertId}.${job.bureau}`,
    type: 'escalation',
    // The latest the bureaus were told, not the firing value alone.
    event:
      a.last && a.last.value !== null
        ? { ...job.item.event, value: a.last.value, at: Math.max(job.item.event.at, a.last.at) }
        : job.item.event,
    peak: a.peak,
    escalation: { ackTimeoutMs: policy.ackTimeoutMs, firedNotifiedAt: a.createdAt },
  };
  // Place first (idempotent), then record: a crash in between escalates on the retry, not never.
  await placeForList(ctx, job.bureau, 'escalation', item);
  if (await ctx.store.markEscalated(job.alertId, job.bureau, { at: now, to: policy.escalation.map((p) => p.email) })) {
    ctx.log?.warn({ alert: job.alertId, bureau: job.bureau }, 'alert not acknowledged in time: escalated');
  }
  return 'escalated';
}
