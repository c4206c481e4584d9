/**
 * The second step: one delivery job per batch (one recipient on one channel, one group of
 * notices), due when the batch's group wait (or quiet hours) ends. It closes the batch, then sends
 * it through the outbox of ./store.ts so that the batch becomes at most one message, whatever the
 * channel and whatever happens to the workers:
 *
 *   admit   a channel with a rate limit (WeCom) may say "not yet": the job waits, delayed, until
 *           a slot frees; it is never dropped.
 *   begin   absent/retry -> sending (lease: owner token, expiry). Another live attempt: wait.
 *           sending whose lease expired: that attempt died before handing the message over:
 *           send. committing whose lease expired: it died after: uncertain, never re-sent.
 *   commit  sending -> committing, by the channel just before the last bytes go out (the SMTP
 *           end-of-data dot, the last byte of an HTTP body).
 *   finish  -> sent, or retry (BullMQ retries with capped exponential backoff), or failed (refused
 *           for good, or still failing after delivery.give_up_after_h: dead-lettered and logged),
 *           or uncertain (no answer after the commit: dead-lettered and logged, not re-sent).
 */
import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { TuojiangError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { StationRegistry } from '../../config/station-registry.js';
import type { NotifyConfig } from './config.js';
import { channelOf, destinationOf, type ChannelName, type NoticeItem, type Recipient } from './items.js';
import type { MailJobData } from './router.js';
import type { DeadLetter, NotifyStore } from './store.js';
import { DeliveryError, type Batch, type Channel } from './channels/channel.js';

export interface DeliveryContext {
  store: NotifyStore;
  registry: StationRegistry;
  config: NotifyConfig;
  channels: ReadonlyMap<ChannelName, Channel>;
  mailFrom: string;
  now: () => number;
  log?: Logger;
  onSent?: (s: SentNotice) => void;
  onDead?: (d: Omit<DeadLetter, 'id'>) => void;
  /** Every end of a job, for the metrics: an outcome, `retry` (thrown, BullMQ retries), `waiting` (rate limit, lease). */
  onOutcome?: (channel: ChannelName | 'unknown', outcome: DeliveryOutcome | 'retry' | 'waiting' | 'rate-limited') => void;
}

export interface SentNotice {
  batchId: string;
  channel: ChannelName;
  /** When this attempt began (wall clock). */
  startedAt: number;
  recipient: Recipient;
  items: NoticeItem[];
  /** Message-ID (e-mail) or idempotency key (webhooks). */
  messageId: string;
  at: number;
}

export type DeliveryOutcome = 'sent' | 'already-sent' | 'failed' | 'uncertain' | 'empty';

export class UnknownChannel extends Error {
  constructor(channel: string, batchId: string) {
    super(`batch ${batchId} is for channel "${channel}", which this notify process does not run`);
    this.name = 'UnknownChannel';
  }
}

type DeliveryJob = Pick<Job<MailJobData>, 'data' | 'timestamp' | 'moveToDelayed'>;
interface Seen {
  channel: ChannelName | 'unknown';
  rateLimited: boolean;
}

export async function deliverBatch(ctx: DeliveryContext, job: DeliveryJob, token?: string): Promise<DeliveryOutcome> {
  const seen: Seen = { channel: 'unknown', rateLimited: false };
  try {
    const outcome = await deliverOnce(ctx, job, token, seen);
    ctx.onOutcome?.(seen.channel, outcome);
    return outcome;
  } catch (e) {
    const name = (e as Error).name;
    ctx.onOutcome?.(
      seen.channel,
      name === 'DelayedError' ? (seen.rateLimited ? 'rate-limited' : 'waiting') : name === 'UnrecoverableError' ? 'failed' : 'retry',
    );
    throw e;
  }
}

async function deliverOnce(ctx: DeliveryContext, job: DeliveryJob, token: string | undefined, seen: Seen): Promise<DeliveryOutcome> {
  const { batchId } = job.data;
  const { store } = ctx;
  const startedAt = ctx.now();
  const delivery = ctx.config.recipients.delivery;
  const closed = await store.closeBatch(batchId, ctx.now());
  if (!closed || closed.items.length === 0) return 'empty';
  const { recipient, items } = closed;
  const channelName = channelOf(recipient);
  seen.channel = channelName;
  const channel = ctx.channels.get(channelName);
  const to = destinationOf(recipient);
  if (!channel) {
    // Retried with backoff, not dropped: a process started without the channel's URL cannot send
    // it, another one (or this one, restarted with it) can; dead-lettered once it is too old.
    if (ctx.now() - job.timestamp > delivery.give_up_after_h * 3_600_000) {
      const d = {
        batchId,
        bureau: recipient.bureau,
        to,
        reason: 'expired' as const,
        error: new UnknownChannel(channelName, batchId).message,
        items: items.map((i) => i.id),
        at: ctx.now(),
      };
      await store.deadLetter(d, {
        alertIds: [...new Set(items.map((i) => i.alertId))],
        entry: { type: 'failed', t: d.at, to, bureau: recipient.bureau, batchId, error: d.error },
      });
      ctx.onDead?.(d);
      ctx.log?.error(
        { batch: batchId, channel: channelName, to, code: 'TJ_ENV_INVALID' },
        'no process runs this channel: given up, dead-lettered',
      );
      throw new UnrecoverableError(d.error);
    }
    throw new UnknownChannel(channelName, batchId);
  }
  const batch: Batch = { batchId, recipient, items, closedAt: closed.closedAt };
  const alertIds = [...new Set(items.map((i) => i.alertId))];

  const admitted = channel.admit ? await channel.admit(batch) : { ok: true as const };
  if (!admitted.ok) {
    // Queued, not dropped: the job comes back when the channel has room (and does not count as an attempt).
    seen.rateLimited = true;
    await job.moveToDelayed(admitted.retryAt, token);
    throw new DelayedError();
  }

  const attempt = randomUUID();
  const leaseMs = delivery.attempt_timeout_s * 1000;
  const begun = await store.begin(batchId, attempt, leaseMs);
  const dead = async (reason: DeadLetter['reason'], error: string, type: 'failed' | 'uncertain'): Promise<void> => {
    const d = { batchId, bureau: recipient.bureau, to, reason, error, items: items.map((i) => i.id), at: ctx.now() };
    await store.deadLetter(d, { alertIds, entry: { type, t: d.at, to, bureau: recipient.bureau, batchId, error } });
    ctx.onDead?.(d);
  };
  const log = { batch: batchId, channel: channelName, to };
  switch (begun.state) {
    case 'sent':
      return 'already-sent';
    case 'failed':
      return 'failed';
    case 'uncertain':
      return 'uncertain';
    case 'became-uncertain':
      ctx.log?.error(
        { ...log, code: channel.codes.uncertain },
        'an attempt died after handing the message over: probably delivered, not re-sent',
      );
      await dead('uncertain', 'a delivery attempt died after handing the message over, before the other side replied', 'uncertain');
      return 'uncertain';
    case 'busy':
      // Another attempt holds the lease (a stalled worker still sending): look again when it ends.
      await job.moveToDelayed(begun.leaseUntil + 200, token);
      throw new DelayedError();
    case 'go':
      break;
  }

  let rendered: unknown;
  try {
    rendered = await channel.render({ store, registry: ctx.registry, config: ctx.config, mailFrom: ctx.mailFrom }, batch);
  } catch (e) {
    await store.finish(batchId, attempt, 'retry', { error: (e as Error).message });
    throw e;
  }
  try {
    const res = await channel.send(
      rendered,
      batch,
      async () => {
        if (!(await store.commit(batchId, attempt))) throw new Error('outbox lease lost to another attempt: not handing the message over');
      },
      AbortSignal.timeout(Math.max(1000, leaseMs - 1000)),
    );
    const at = ctx.now();
    await store.finish(
      batchId,
      attempt,
      'sent',
      { messageId: res.ref, response: res.response, to },
      {
        alertIds,
        entry: {
          type: 'sent',
          t: at,
          to,
          bureau: recipient.bureau,
          list: recipient.list,
          messageId: res.ref,
          batchId,
          items: items.map((i) => i.id),
        },
      },
    );
    if (!(await store.finalMarkReplicated(batchId))) {
      const err = new TuojiangError(
        'NOTIFY_SENT_NOT_REPLICATED',
        'sent, but its "sent" mark is not on a Redis replica yet: a failover now would make a next attempt dead-letter this delivered notice as uncertain (it is never sent twice)',
      );
      ctx.log?.warn({ ...log, messageId: res.ref, code: err.code, hint: err.hint }, err.message);
    }
    ctx.onSent?.({ batchId, channel: channelName, startedAt, recipient, items, messageId: res.ref, at });
    return 'sent';
  } catch (e) {
    if (!(e instanceof DeliveryError)) {
      await store.finish(batchId, attempt, 'retry', { error: (e as Error).message });
      throw e;
    }
    const error = e.message;
    switch (e.verdict) {
      case 'refused-permanently':
        await store.finish(batchId, attempt, 'failed', { error, responseCode: Number(e.reply ?? 0) || 0 });
        await dead('rejected', error, 'failed');
        ctx.log?.error({ ...log, err: error, code: channel.codes.rejected }, `${channelName}: refused for good: dead-lettered`);
        throw new UnrecoverableError(`${channelName} ${e.reply ?? ''}: ${error}`);
      case 'uncertain':
        await store.finish(batchId, attempt, 'uncertain', { error });
        await dead('uncertain', error, 'uncertain');
        ctx.log?.error(
          { ...log, err: error, code: channel.codes.uncertain },
          'no reply after the message was handed over: probably delivered, not re-sent',
        );
        return 'uncertain';
      case 'retry': {
        if (ctx.now() - job.timestamp > delivery.give_up_after_h * 3_600_000) {
          await store.finish(batchId, attempt, 'failed', { error });
          await dead('expired', error, 'failed');
          ctx.log?.error({ ...log, err: error, code: channel.codes.expired }, 'notice still not delivered: given up, dead-lettered');
          throw new UnrecoverableError(`given up after ${delivery.give_up_after_h} h: ${error}`);
        }
        await store.finish(batchId, attempt, 'retry', { error, responseCode: Number(e.reply ?? 0) || 0 });
        ctx.log?.warn({ ...log, err: error }, 'notice not delivered, will retry');
        if (e.retryAfterMs !== undefined) {
          // The other side said when: wait that long (at most the backoff's cap) instead of the backoff.
          await job.moveToDelayed(Date.now() + Math.min(e.retryAfterMs, delivery.retry_max_s * 1000), token);
          throw new DelayedError();
        }
        throw e;
      }
    }
  }
}

/** Capped exponential backoff for delivery jobs (BullMQ custom strategy 'capped'). */
export function cappedBackoff(initialMs: number, maxMs: number): (attemptsMade: number) => number {
  return (attemptsMade) => {
    const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attemptsMade - 1));
    // A little jitter: recipients refused together do not all come back at the same instant.
    return Math.round(base * (0.9 + Math.random() * 0.2));
  };
}
