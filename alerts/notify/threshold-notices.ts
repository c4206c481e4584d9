/**
 * Tells the other city, by e-mail, at once, of every threshold change it did not make and of every
 * proposal waiting for its consent. The threshold store appends each applied version and each new
 * proposal, with the cities to tell, to its `changes` stream in the same script that commits it
 * (alerts/threshold-store/scripts.ts); this relay reads that stream through a consumer group (so any
 * number of notify processes share it, and an entry a dead process held is claimed by another) and
 * mails each announced bureau's duty list through the notify worker's SMTP transport.
 *
 * Never two e-mails per entry and recipient: a per-recipient mark is set by the transport's commit
 * gate just before the message is handed over, and an attempt that finds it set does not send.
 * A 4xx or connection failure leaves the entry pending, to be retried; a 5xx refusal is final
 * (logged, counted); after `delivery.give_up_after_h` an entry is given up (logged).
 * Entries older than that when first seen (a deployment's earlier history) are not mailed.
 */
import type { RedisClient } from '../../lib/redis-client.js';
import type { Counter } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import type { StationRegistry } from '../../config/station-registry.js';
import { ThresholdKeys } from '../threshold-store/scripts.js';
import type { Proposal, ThresholdVersion } from '../threshold-store/types.js';
import { bureauPolicy, type NotifyConfig } from './config.js';
import { renderThresholdNotice, type ThresholdNotice } from './threshold-notice-render.js';
import { SendError, type MailTransport } from './transport.js';

export const THRESHOLD_NOTICE_GROUP = 'notices';

type Entry = [id: string, fields: string[]];

export interface ThresholdNoticeRelayOptions {
  redis: RedisClient;
  prefix: string;
  registry: StationRegistry;
  config: NotifyConfig;
  transport: MailTransport;
  mailFrom: string;
  publicUrl: string;
  consumer: string;
  /** How often to look for new entries (ms). */
  pollMs?: number;
  /** An entry left unacknowledged this long (failed or its process died) is tried again. */
  retryMs?: number;
  now?: () => number;
  log?: Logger;
  sent?: Counter<'outcome'>;
  onSent?: (s: { entry: string; to: string; subject: string }) => void;
}

export class ThresholdNoticeRelay {
  private readonly keys: ThresholdKeys;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: ThresholdNoticeRelayOptions) {
    this.keys = new ThresholdKeys(o.prefix);
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .catch((e: unknown) => this.o.log?.warn({ err: (e as Error).message }, 'threshold notices: will retry'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.o.pollMs ?? 500);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private mark(entry: string, email: string): string {
    return `${this.keys.base}mailed:${entry}:${email.toLowerCase()}`;
  }

  /** One pass: entries this relay left or others abandoned, then new ones. */
  async runOnce(): Promise<void> {
    const r = this.o.redis;
    try {
      await r.xgroup('CREATE', this.keys.changes, THRESHOLD_NOTICE_GROUP, '0', 'MKSTREAM');
    } catch (e) {
      if (!String((e as Error).message).includes('BUSYGROUP')) throw e;
    }
    const retryMs = this.o.retryMs ?? this.o.config.recipients.delivery.retry_initial_s * 1000;
    const claimed = (await r.xautoclaim(this.keys.changes, THRESHOLD_NOTICE_GROUP, this.o.consumer, retryMs, '0-0', 'COUNT', 50)) as [
      string,
      Entry[],
    ];
    const fresh = (await r.xreadgroup(
      'GROUP',
      THRESHOLD_NOTICE_GROUP,
      this.o.consumer,
      'COUNT',
      50,
      'STREAMS',
      this.keys.changes,
      '>',
    )) as Array<[string, Entry[]]> | null;
    for (const entry of [...(claimed[1] ?? []), ...(fresh?.[0]?.[1] ?? [])]) {
      if (!Array.isArray(entry[1])) continue;
      if (await this.handle(entry)) await r.xack(this.keys.changes, THRESHOLD_NOTICE_GROUP, entry[0]);
    }
  }

  private async load(fields: string[]): Promise<ThresholdNotice | undefined> {
    const get = (k: string) => {
      const i = fields.indexOf(k);
      return i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
    };
    const version = get('version');
    if (version !== undefined) {
      const json = await this.o.redis.get(this.keys.version(Number(version)));
      if (json === null) return undefined;
      const v = JSON.parse(json) as ThresholdVersion;
      const parentJson = v.parent === null ? null : await this.o.redis.get(this.keys.version(v.parent));
      return { type: 'version', version: v, ...(parentJson ? { parent: JSON.parse(parentJson) as ThresholdVersion } : {}) };
    }
    const id = get('proposal');
    if (id === undefined) return undefined;
    const json = await this.o.redis.hget(this.keys.proposals, id);
    return json === null ? undefined : { type: 'proposal', proposal: JSON.parse(json) as Proposal };
  }

  /** Returns true when the entry is done with (every recipient mailed, refused for good, or given up). */
  private async handle([id, fields]: Entry): Promise<boolean> {
    const i = fields.indexOf('announce');
    const cities = (i >= 0 ? (fields[i + 1] ?? '') : '').split(',').filter(Boolean);
    if (cities.length === 0) return true;
    const now = (this.o.now ?? Date.now)();
    const delivery = this.o.config.recipients.delivery;
    if (now - Number(id.split('-')[0]) > delivery.give_up_after_h * 3_600_000) {
      this.o.log?.error({ entry: id, cities, code: 'TJ_MAIL_EXPIRED' }, 'threshold notice older than delivery.give_up_after_h: not mailed');
      this.o.sent?.inc({ outcome: 'expired' });
      return true;
    }
    let notice: ThresholdNotice | undefined;
    try {
      notice = await this.load(fields);
    } catch (e) {
      // A poison entry must not hold back every notice behind it.
      this.o.log?.error({ entry: id, err: (e as Error).message }, 'threshold notice unreadable: dropped');
      return true;
    }
    if (!notice) {
      this.o.log?.error({ entry: id }, 'threshold notice names a version or proposal that does not exist: dropped');
      return true;
    }
    let done = true;
    for (const city of cities) {
      const policy = bureauPolicy(this.o.config.recipients, city);
      if (!policy) {
        this.o.log?.warn({ entry: id, city }, 'threshold notice: no bureau for this city in recipients.yaml, not mailed');
        continue;
      }
      for (const person of policy.duty) {
        if (!(await this.sendOne(id, notice, policy, person))) done = false;
      }
    }
    return done;
  }

  private async sendOne(
    entry: string,
    notice: ThresholdNotice,
    policy: NonNullable<ReturnType<typeof bureauPolicy>>,
    person: { name: string; email: string; language?: 'zh-en' | 'zh' | 'en' | undefined },
  ): Promise<boolean> {
    const mark = this.mark(entry, person.email);
    if ((await this.o.redis.get(mark)) !== null) return true;
    const rendered = renderThresholdNotice(notice, {
      registry: this.o.registry,
      bureau: { id: policy.id, name: policy.name },
      recipientName: person.name,
      language: person.language ?? policy.language,
      publicUrl: this.o.publicUrl,
    });
    const ref = notice.type === 'version' ? `v${notice.version.version}` : notice.proposal.id;
    const domain = /@([^>\s]+)>?\s*$/.exec(this.o.mailFrom)?.[1] ?? 'tuojiang.invalid';
    const ttl = 30 * 86_400;
    let mine = false;
    try {
      await this.o.transport.send(
        {
          from: this.o.mailFrom,
          to: { name: person.name, address: person.email },
          subject: rendered.subject,
          text: rendered.text,
          html: rendered.html,
          messageId: `<thr.${entry}.${policy.id}.${Buffer.from(person.email.toLowerCase()).toString('hex').slice(0, 32)}@${domain}>`,
          date: new Date(notice.type === 'version' ? notice.version.at : notice.proposal.at),
          headers: { 'X-Tuojiang-Bureau': policy.id, 'X-Tuojiang-Threshold': ref, 'Auto-Submitted': 'auto-generated' },
          attachments: [],
        },
        async () => {
          if ((await this.o.redis.set(mark, 'committed', 'EX', ttl, 'NX')) !== 'OK')
            throw new Error('another attempt already handed this notice over');
          mine = true;
        },
      );
      await this.o.redis.set(mark, 'sent', 'EX', ttl);
      this.o.sent?.inc({ outcome: 'sent' });
      this.o.log?.info({ entry, ref, bureau: policy.id, to: person.email }, 'threshold notice sent');
      this.o.onSent?.({ entry, to: person.email, subject: rendered.subject });
      return true;
    } catch (e) {
      if (!(e instanceof SendError)) throw e;
      const error = `${e.responseCode ?? ''} ${e.message}`.trim();
      if (e.verdict === 'refused-permanently') {
        await this.o.redis.set(mark, 'failed', 'EX', ttl);
        this.o.sent?.inc({ outcome: 'failed' });
        this.o.log?.error(
          { entry, ref, to: person.email, err: error, code: 'TJ_SMTP_REJECTED' },
          'SMTP server refused the threshold notice for good',
        );
        return true;
      }
      if (e.verdict === 'uncertain') {
        this.o.sent?.inc({ outcome: 'uncertain' });
        this.o.log?.error(
          { entry, ref, to: person.email, err: error, code: 'TJ_MAIL_UNCERTAIN' },
          'no reply after the threshold notice was handed over: probably delivered, not re-sent',
        );
        return true;
      }
      // The server answered 4xx to our data: it did not take the message, so it may go again.
      if (mine) await this.o.redis.del(mark);
      this.o.sent?.inc({ outcome: 'retry' });
      this.o.log?.warn({ entry, ref, to: person.email, err: error }, 'threshold notice not delivered, will retry');
      return false;
    }
  }
}
