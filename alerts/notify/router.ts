/**
 * The first step of a notification: one `notify` job per alert transition (added by the alerts
 * outbox relay with the event id as job id). It finds the alert the transition belongs to, routes
 * it along the river, records it, writes its CAP message, and places one notice item per duty
 * recipient of every bureau routed into that recipient's open batch (grouping), scheduling the
 * batch's mail job and, for a new alert, each bureau's escalation check.
 * Every step is idempotent, so a job that runs twice (a worker died, a duplicate event) changes
 * nothing the second time.
 */
import type { Queue } from 'bullmq';
import type { PersonConfig } from '../../config/recipients-schema.js';
import type { Logger } from '../../lib/logger.js';
import type { StationRegistry } from '../../config/station-registry.js';
import type { AlertEvent } from '../events.js';
import { eventId } from '../events.js';
import { buildCap } from './cap.js';
import { bureauPolicy, type NotifyConfig } from './config.js';
import { noticeEventOf, type NoticeEvent, type NoticeItem, type Recipient } from './items.js';
import { recipientKey, type Lane } from './keys.js';
import { ackUrl, capUrl, grafanaUrl } from './links.js';
import { quietUntil } from './quiet-hours.js';
import { routeEvent } from './routing.js';
import { severityOf } from './severity.js';
import type { NotifyStore } from './store.js';

export interface MailJobData {
  batchId: string;
}

export interface EscalateJobData {
  alertId: string;
  bureau: string;
  /** The firing notice the bureau received: the escalation notice is built from it. */
  item: NoticeItem;
}

export interface NotifyLinks {
  publicUrl: string;
  grafanaUrl: string;
  ackSecret: string;
}

export interface NotifyContext {
  store: NotifyStore;
  registry: StationRegistry;
  config: NotifyConfig;
  links: NotifyLinks;
  mailQueue: Queue<MailJobData>;
  escalateQueue: Queue<EscalateJobData>;
  /** Wall clock (quiet hours, group waits, escalation timers); the demo's runs on the simulator's clock. */
  now: () => number;
  /** Clock milliseconds per wall millisecond (1, or the demo's replay speed): BullMQ delays are wall time. */
  timeScale?: number;
  log?: Logger;
}

/** Job attempts a reminder/resolve waits for its firing to be handled first before it stands alone. */
export const EPISODE_PATIENCE = 3;

export class EpisodeNotYetKnown extends Error {
  constructor(e: AlertEvent) {
    super(`no firing recorded yet for ${e.station}/${e.period}/${e.key} before ${e.at}: waiting for it (notify jobs may run out of order)`);
    this.name = 'EpisodeNotYetKnown';
  }
}

export interface RouteOutcome {
  status: 'routed' | 'unknown-station' | 'no-bureau';
  alertId?: string;
  bureaus?: string[];
  batches?: string[];
}

export function mailJobId(batchId: string): string {
  return `mail.${batchId}`;
}

export function escalateJobId(alertId: string, bureau: string): string {
  return `esc.${alertId}.${bureau}`;
}

/**
 * A person's delivery addresses: their e-mail, and their WeCom robot and webhook endpoint when they
 * have them. The key of an e-mail recipient is what it always was (threads and in-flight batches
 * keep it); a robot or an endpoint is keyed by itself, so two people of a list on one robot get
 * one message in the group, not two.
 */
export function recipientsOf(bureau: string, list: 'duty' | 'escalation', person: PersonConfig): Recipient[] {
  const base = { bureau, name: person.name, email: person.email, list };
  const out: Recipient[] = [{ ...base, key: recipientKey(bureau, person.email) }];
  if (person.wecom)
    out.push({
      ...base,
      key: recipientKey(bureau, `wecom:${person.wecom.robot}`),
      channel: 'wecom',
      address: person.wecom.robot,
      ...(person.wecom.mention ? { mention: person.wecom.mention } : {}),
    });
  if (person.webhook !== undefined)
    out.push({ ...base, key: recipientKey(bureau, `webhook:${person.webhook}`), channel: 'webhook', address: person.webhook });
  return out;
}

/** Places one item for every person of a list and makes sure each batch's mail job exists. */
export async function placeForList(
  ctx: NotifyContext,
  bureau: string,
  list: 'duty' | 'escalation',
  item: NoticeItem,
  /** Items with their own lane are never grouped with others: one message each (incident reports). */
  ownLane?: string,
): Promise<{ batches: string[]; deliverAt: number }> {
  const policy = bureauPolicy(ctx.config.recipients, bureau);
  if (!policy) return { batches: [], deliverAt: ctx.now() };
  const now = ctx.now();
  // A severe notice is never held by quiet hours.
  const held = item.severity === 'severe' ? null : quietUntil(now, policy.quietHours);
  // An own lane is per item: two incidents' reports placed within one group wait for the same
  // address would otherwise share a batch, and a batch renders one report.
  const lane = `${held === null ? 'now' : 'held'}${ownLane ? `-${ownLane}-${item.id}` : ''}` as Lane;
  // The group wait gathers notices into one message; an item in its own lane is never gathered, so
  // waiting would only delay it (an incident's 初报 by the whole group wait).
  const flushAt = (held ?? now) + (ownLane ? 0 : policy.groupWaitMs);
  const batches: string[] = [];
  for (const recipient of (list === 'duty' ? policy.duty : policy.escalation).flatMap((p) => recipientsOf(bureau, list, p))) {
    const placed = await ctx.store.place(recipient, lane, item, flushAt, now);
    // Added every time (a no-op while the job exists): a crash between placing and adding must
    // not leave a batch without its mail job.
    await ctx.mailQueue.add(
      'mail',
      { batchId: placed.batchId },
      { jobId: mailJobId(placed.batchId), delay: Math.max(0, Math.ceil((placed.flushAt - now) / (ctx.timeScale ?? 1))) },
    );
    batches.push(placed.batchId);
  }
  return { batches, deliverAt: flushAt };
}

export async function routeTransition(
  ctx: NotifyContext,
  event: AlertEvent & { breachSince?: number; episodeAt?: number; peak?: number },
  attemptsMade = 0,
): Promise<RouteOutcome> {
  const { store, registry, config } = ctx;
  const station = registry.get(event.station);
  if (!station) {
    ctx.log?.warn({ event: event.id, station: event.station }, 'notify: station not in the registry, transition not routed');
    return { status: 'unknown-station' };
  }
  const routing = routeEvent(station, event.rule, registry, config.rivers, new Set(Object.keys(config.recipients.bureaus)));
  if (routing.bureaus.length === 0) {
    ctx.log?.warn({ event: event.id, city: station.city }, 'notify: no bureau configured for this station');
    return { status: 'no-bureau' };
  }

  let alertId: string;
  if (event.kind === 'firing') alertId = event.id;
  else {
    const found =
      event.episodeAt !== undefined
        ? eventId({ station: event.station, period: event.period, key: event.key, kind: 'firing', at: event.episodeAt })
        : await store.findEpisode(event.station, event.period, event.key, event.at);
    if (found) alertId = found;
    // A catch-up notice after maintenance starts what the bureaus hear of an alert that fired muted.
    else if (event.catchUp || attemptsMade >= EPISODE_PATIENCE) alertId = event.id;
    else throw new EpisodeNotYetKnown(event);
  }
  const firstAtGuess = event.kind === 'firing' ? event.at : (event.episodeAt ?? event.at);
  const severity = severityOf(event, station, config.recipients.severity);
  const now = ctx.now();
  const rec = await store.recordEvent(
    {
      alertId,
      station: station.id,
      city: station.city,
      period: event.period,
      key: event.key,
      rule: event.rule,
      parameter: event.parameter,
      firstAt: firstAtGuess,
      bureaus: routing.bureaus.map((b) => b.bureau),
      severity,
    },
    {
      id: event.id,
      kind: event.kind,
      at: event.at,
      value: event.value,
      limit: event.limit,
      catchUp: event.catchUp,
      worse: event.detail.limitKind === 'min' ? 'min' : 'max',
    },
    now,
  );
  const firstAt = rec.info.firstAt;

  // CAP: Alert for the firing, Update/Cancel referencing every earlier message of the alert.
  const earlier = (await store.capsOf(alertId)).filter((c) => c.eventId !== event.id && c.at <= event.at);
  const links = config.recipients.links;
  const windowMs = links.grafana_window_h * 3_600_000;
  const grafana = grafanaUrl(ctx.links.grafanaUrl, links.grafana_path, {
    station: station.id,
    city: station.city,
    parameter: event.parameter,
    from: firstAt - windowMs,
    to: event.at + windowMs,
  });
  const notice: NoticeEvent = noticeEventOf(event);
  await store.saveCap(
    event.id,
    buildCap({ event: notice, station, registry, routing, severity, references: earlier, config: config.recipients.cap, web: grafana }),
  );

  const exp = rec.createdAt + links.ack_link_valid_days * 24 * 3_600_000;
  const batches: string[] = [];
  for (const route of routing.bureaus) {
    const item: NoticeItem = {
      id: event.id,
      type: 'transition',
      alertId,
      bureau: route.bureau,
      roles: route.roles,
      severity,
      event: notice,
      firstAt,
      previous: rec.previous,
      peak: event.peak ?? rec.peak,
      downstream: routing.downstream,
      ...(route.arrival ? { arrival: route.arrival } : {}),
      links: {
        grafana,
        ack: ackUrl(ctx.links.publicUrl, ctx.links.ackSecret, alertId, route.bureau, exp),
        cap: capUrl(ctx.links.publicUrl, ctx.links.ackSecret, event.id, exp),
      },
    };
    const placed = await placeForList(ctx, route.bureau, 'duty', item);
    batches.push(...placed.batches);
    // The start of an alert (its firing, or a catch-up that stands for it) starts each bureau's
    // acknowledgement clock, from when its notice goes out.
    const policy = bureauPolicy(config.recipients, route.bureau);
    if (policy && policy.escalation.length > 0 && event.kind !== 'resolved' && alertId === event.id) {
      await ctx.escalateQueue.add(
        'escalate',
        { alertId, bureau: route.bureau, item },
        {
          jobId: escalateJobId(alertId, route.bureau),
          delay: Math.ceil((Math.max(0, placed.deliverAt - now) + policy.ackTimeoutMs) / (ctx.timeScale ?? 1)),
        },
      );
    }
  }
  return { status: 'routed', alertId, bureaus: routing.bureaus.map((b) => b.bureau), batches };
}
