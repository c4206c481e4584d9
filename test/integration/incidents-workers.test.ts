/**
 * Exactly once, whatever the number of workers: a spill's transitions handed over twice, in a
 * shuffled order, within the reorder window (`reorder_s`), to four notify workers on one prefix,
 * give the same incident and the same reports — ids, kinds, seq, subjects, text, CAP — per bureau
 * as one worker fed the same transitions once and in order on another prefix. Real Redis, real
 * SMTP server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../alerts/events.js';
import { IncidentStore } from '../../alerts/incidents/store.js';
import { startNotifyService, type NotifyService } from '../../alerts/notify/service.js';
import { createNotifyQueue } from '../../alerts/outbox-relay.js';
import type { RecipientsFile } from '../../config/recipients-schema.js';
import { arrives, byTime, clears, replayClock } from '../helpers/incident-events.js';
import { byIncident, expectOneThread, reportMails, type ReportMail } from '../helpers/incident-mail.js';
import {
  ADDR,
  spillRegistry,
  startNotifyServices,
  startNotifyStack,
  type NotifyServices,
  type NotifyStack,
} from '../helpers/notify-stack.js';

const H = 3_600_000;
const SPEED = 1800;
let services: NotifyServices;

beforeAll(async () => {
  services = await startNotifyServices(false);
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
});

const registry = spillRegistry();
const t0 = Math.floor(Date.now() / H) * H - 30 * H;

/** Four sections 12 km apart, 4 h apart, each over the limit for 6 h (limit and class rules each). */
function spill(): AlertEvent[] {
  const arrivals = [
    ['sec-01', 0],
    ['sec-02', 4],
    ['sec-03', 8],
    ['sec-04', 12],
  ] as const;
  return byTime(
    arrivals.flatMap(([s, h], k) => [...arrives(registry, s, t0 + h * H, 20 - 3 * k), ...clears(registry, s, t0 + (h + 6) * H)]),
  );
}

const recipients = (r: RecipientsFile): void => {
  r.incidents.reorder_s = 1;
  // Escalations are another test's business (incidents-delivery): none here.
  for (const b of Object.values(r.bureaus)) b.escalation = [];
};

/** Deterministic shuffle (mulberry32), so a failure can be replayed. */
function shuffle<T>(xs: T[], seed: number): T[] {
  let a = seed;
  const rnd = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface Outcome {
  reports: Record<string, Array<Pick<ReportMail, 'incident' | 'kind' | 'seq' | 'subject' | 'messageId' | 'inReplyTo'> & { text: string }>>;
  incidents: unknown[];
  caps: Record<string, string | null>;
}

/** What a run left behind: the reports per duty address (links, which carry wall-clock expiries, left out), the incidents, their CAP documents. */
async function outcome(stack: NotifyStack, store: NotifyService['store']): Promise<Outcome> {
  const reports: Outcome['reports'] = {};
  const caps: Outcome['caps'] = {};
  for (const addr of [ADDR.chengdu, ADDR.ziyang]) {
    const mails = reportMails(stack.sink.to(addr)).sort((a, b) => a.incident.localeCompare(b.incident) || a.seq - b.seq);
    reports[addr] = mails.map((m) => ({
      incident: m.incident,
      kind: m.kind,
      seq: m.seq,
      subject: m.subject,
      messageId: m.messageId,
      inReplyTo: m.inReplyTo,
      text: m.text.replace(/https?:\/\/\S+/g, '<link>'),
    }));
    for (const m of mails) caps[`${m.incident}.r${m.seq}`] ??= await store.cap(`${m.incident}.r${m.seq}`);
  }
  return { reports, incidents: await new IncidentStore(stack.redis, stack.prefix).list(), caps };
}

async function finalReports(stack: NotifyStack): Promise<void> {
  await stack.sink.waitFor(
    () => [ADDR.chengdu, ADDR.ziyang].every((a) => reportMails(stack.sink.to(a)).some((r) => r.kind === 'final')),
    40_000,
    'the final reports',
  );
  await stack.idle({ delayed: true });
}

describe('four workers, transitions delivered twice and shuffled', () => {
  it('give the same reports as one in-order worker', async () => {
    const events = spill();

    // Reference: one worker, each transition once, in order, the clock at its time.
    const refClock = replayClock(SPEED);
    refClock.set(t0);
    const ref = await startNotifyStack(services, {
      registry,
      incidents: true,
      notify: { now: refClock.now, timeScale: SPEED },
      recipients,
    });
    let expected: Outcome;
    try {
      for (const e of events) {
        refClock.set(e.at);
        await ref.emit(e);
        await ref.idle({ delayed: true });
      }
      await finalReports(ref);
      expected = await outcome(ref, ref.notify?.store as NotifyService['store']);
    } finally {
      await ref.close();
    }
    expect(expected.incidents).toHaveLength(1);
    expect(expected.reports[ADDR.ziyang]?.map((r) => r.kind)).toEqual(['initial', 'followup', 'followup', 'followup', 'final']);

    // Four workers on one prefix; the transitions in batches of five consecutive ones (what one
    // reorder window may hold), each batch handed over twice (the second copy under another job
    // id, as after a relay restart), shuffled.
    const clock = replayClock(SPEED);
    clock.set(t0);
    const stack = await startNotifyStack(services, { registry, incidents: true, notify: false, recipients });
    const workers: NotifyService[] = [];
    const queue = createNotifyQueue(stack.redis, stack.prefix);
    try {
      const routed = [0, 0, 0, 0];
      for (let k = 0; k < 4; k++)
        workers.push(
          await startNotifyService(
            stack.notifyOptions({
              now: clock.now,
              timeScale: SPEED,
              onRouted: () => {
                routed[k] = (routed[k] ?? 0) + 1;
              },
            }),
          ),
        );
      for (let b = 0; b < events.length; b += 5) {
        const batch = events.slice(b, b + 5);
        clock.set(Math.max(...batch.map((e) => e.at)));
        const copies = shuffle([...batch.map((e) => ({ e, jobId: e.id })), ...batch.map((e) => ({ e, jobId: `${e.id}.again` }))], b + 1);
        await queue.addBulk(copies.map(({ e, jobId }) => ({ name: e.kind, data: e, opts: { jobId } })));
        await stack.idle({ delayed: true });
      }
      await finalReports(stack);
      // And once more, long after: every transition handed over a third time changes nothing.
      await queue.addBulk(shuffle(events, 99).map((e) => ({ name: e.kind, data: e, opts: { jobId: `${e.id}.late` } })));
      await stack.idle({ delayed: true });

      const got = await outcome(stack, (workers[0] as NotifyService).store);
      expect(got.reports).toEqual(expected.reports);
      expect(got.incidents).toEqual(expected.incidents);
      expect(got.caps).toEqual(expected.caps);
      expect(Object.values(got.caps).every((x) => x !== null)).toBe(true);
      for (const addr of [ADDR.chengdu, ADDR.ziyang]) {
        const mails = reportMails(stack.sink.to(addr));
        // One e-mail per report: no seq twice, and nothing that is not a report.
        expect(stack.sink.to(addr)).toHaveLength(mails.length);
        for (const thread of byIncident(mails).values()) expectOneThread(thread);
      }
      // Every copy was taken as evidence, and by more than one worker.
      expect(routed.reduce((a, b) => a + b, 0)).toBe(3 * events.length);
      expect(routed.filter((n) => n > 0).length).toBeGreaterThan(1);
    } finally {
      await queue.close();
      for (const w of workers) await w.close();
      await stack.close();
    }
  }, 120_000);
});
