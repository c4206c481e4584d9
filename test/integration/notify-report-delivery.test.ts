/**
 * Incident reports through the mail workers, on real Redis and a real SMTP server: each report is
 * its own e-mail even when two incidents open within one group wait, and the delivery metrics
 * (tuojiang_notify_delivery_seconds, tuojiang_notify_emails_total) count report e-mails as they
 * count the per-transition notices, and the group wait never holds a report.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_MAIL } from '../../alerts/notify/keys.js';
import type { RecipientsFile } from '../../config/recipients-schema.js';
import type { SentNotice } from '../../alerts/notify/deliver.js';
import { ADDR, alertEvent, startNotifyServices, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';
import { header } from '../helpers/smtp-sink.js';

let services: NotifyServices;

beforeAll(async () => {
  services = await startNotifyServices(false);
});
afterAll(async () => {
  await services?.stopAll();
});

/** The value of one sample in Prometheus text format (0 when absent). */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('incident report e-mails', () => {
  it('are observed in the delivery latency from the triggering reading, counted as sent, and passed to onSent; escalations are not latency', async () => {
    const sent: SentNotice[] = [];
    const stack = await startNotifyStack(services, {
      incidents: true,
      notify: { onSent: (s) => sent.push(s) },
      // An escalation within a second or two: it must not count as delivery latency.
      recipients: (r) => {
        r.incidents.reorder_s = 0;
        r.defaults.ack_timeout_min = 0.02;
      },
    });
    try {
      // The reading behind the firing was handed to the checks 5 s ago.
      const handedOver = Date.now() - 5000;
      await stack.emit({ ...alertEvent({ station: 'hongyuan', kind: 'firing', at: Date.now() - 3_600_000 }), enqueuedAt: handedOver });
      await stack.sink.waitFor((m) => m.length >= 4, 30_000, 'the 初报 to both duty lists and both escalations');
      await stack.idle({ delayed: true });
      const duty = [...stack.sink.to(ADDR.chengdu), ...stack.sink.to(ADDR.ziyang)];
      expect(duty.map((m) => header(m, 'x-tuojiang-report'))).toEqual(['initial 1', 'initial 1']);
      expect(stack.sink.to(ADDR.chengduHead)).toHaveLength(1);
      expect(stack.sink.to(ADDR.ziyangHead)).toHaveLength(1);

      const text = await stack.notify!.metrics.metrics();
      expect(sample(text, 'tuojiang_notify_emails_total', '{outcome="sent"}')).toBe(4);
      expect(sample(text, 'tuojiang_notify_emails_total', '{outcome="retry"}')).toBe(0);
      // The two duty e-mails, measured from the reading (at least 5 s ago), not the escalations.
      expect(sample(text, 'tuojiang_notify_delivery_seconds_count')).toBe(2);
      expect(sample(text, 'tuojiang_notify_delivery_seconds_bucket', '{le="1"}')).toBe(0);
      expect(sample(text, 'tuojiang_notify_delivery_seconds_sum')).toBeGreaterThanOrEqual(10);
      expect(sent.filter((s) => s.recipient.list === 'duty')).toHaveLength(2);
    } finally {
      await stack.close();
    }
  });

  it('two incidents opened within one group wait: one e-mail per 初报, none lost in a shared batch', async () => {
    const stack = await startNotifyStack(services, {
      incidents: true,
      recipients: (r) => {
        r.incidents.reorder_s = 0;
        r.defaults.group_wait_s = 2;
      },
    });
    try {
      const at = Date.now() - 3_600_000;
      // Ammonia and phosphorus at one section: two pollutant families, two incidents.
      await stack.emit(
        alertEvent({ station: 'hongyuan', kind: 'firing', at }),
        alertEvent({
          station: 'hongyuan',
          kind: 'firing',
          at,
          parameter: 'TP',
          value: 0.5,
          limit: 0.2,
          detail: { unit: 'mg/L', basis: 'GB3838-2002 III', limitKind: 'max', limitText: '≤ 0.2' },
        }),
      );
      await stack.sink.waitFor((m) => m.length >= 2, 30_000, 'the first reports');
      await stack.idle({ delayed: true });
      for (const addr of [ADDR.chengdu, ADDR.ziyang]) {
        const mails = stack.sink.to(addr);
        expect(mails.map((m) => header(m, 'x-tuojiang-report'))).toEqual(['initial 1', 'initial 1']);
        expect(new Set(mails.map((m) => header(m, 'x-tuojiang-incident'))).size).toBe(2);
        const subjects = mails.map((m) => m.parsed.subject ?? '');
        expect(subjects.filter((s) => /^【初报】沱江氨氮污染/.test(s))).toHaveLength(1);
        expect(subjects.filter((s) => /^【初报】沱江总磷污染/.test(s))).toHaveLength(1);
      }
    } finally {
      await stack.close();
    }
  });
});

describe('the group wait', () => {
  /** Delays (ms) of the mail jobs of a stack, by batch. */
  async function mailDelays(stack: Awaited<ReturnType<typeof startNotifyStack>>): Promise<number[]> {
    const q = new Queue(QUEUE_MAIL, { connection: stack.redis, prefix: stack.prefix });
    try {
      return (await q.getJobs(['completed', 'delayed', 'waiting', 'active', 'failed'])).map((j) => j.opts.delay ?? 0);
    } finally {
      await q.close();
    }
  }

  it('holds per-transition notices to gather them, never an incident report, which is one e-mail anyway', async () => {
    const groupWait = (r: RecipientsFile) => {
      r.defaults.group_wait_s = 600;
      r.incidents.reorder_s = 0;
    };
    const at = Date.now() - 3_600_000;
    const reports = await startNotifyStack(services, { incidents: true, recipients: groupWait });
    try {
      await reports.emit(alertEvent({ station: 'hongyuan', kind: 'firing', at }));
      await reports.sink.waitFor((m) => m.length >= 2, 30_000, 'the 初报 to both bureaus, without the 10 min group wait');
      expect(await mailDelays(reports)).toEqual([0, 0]);
    } finally {
      await reports.close();
    }
    const notices = await startNotifyStack(services, { incidents: false, recipients: groupWait });
    try {
      await notices.emit(alertEvent({ station: 'hongyuan', kind: 'firing', at }));
      await notices.idle();
      const delays = await mailDelays(notices);
      expect(delays).toHaveLength(2);
      for (const d of delays) expect(d).toBeGreaterThan(590_000);
      expect(notices.sink.messages).toHaveLength(0);
    } finally {
      await notices.close();
    }
  });
});
