/**
 * The delivery guarantees of the per-transition path, held in incident mode, with real Redis, a
 * real SMTP server and `tuojiang api` for the signed links: an SMTP outage (4xx) delays every
 * report and loses or doubles none; duplicate events and jobs send nothing twice; one escalation
 * per bureau per incident when it is not acknowledged in time, none when it is (signed link); a
 * drain or a close check that runs before its time still does its work.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceOf } from '../../alerts/incidents/processor.js';
import { IncidentStore } from '../../alerts/incidents/store.js';
import { QUEUE_NOTIFY } from '../../alerts/keys.js';
import { QUEUE_ESCALATE, QUEUE_INCIDENT, QUEUE_MAIL } from '../../alerts/notify/keys.js';
import { startApiServer } from '../../api/server.js';
import { arrives, byTime, clears, replay, startReplayStack, transition } from '../helpers/incident-events.js';
import { byIncident, expectOneThread, reportMails } from '../helpers/incident-mail.js';
import {
  ACK_SECRET,
  ADDR,
  PUBLIC_URL,
  spillRegistry,
  startNotifyServices,
  startNotifyStack,
  type NotifyServices,
  type NotifyStack,
} from '../helpers/notify-stack.js';

const H = 3_600_000;
const MIN = 60_000;
let services: NotifyServices;

beforeAll(async () => {
  services = await startNotifyServices(false);
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
});

const registry = spillRegistry();

/** Every report of every incident once per duty address, in one thread each; returns the count per address. */
function expectEachReportOnce(stack: NotifyStack): Record<string, number> {
  const out: Record<string, number> = {};
  for (const addr of [ADDR.chengdu, ADDR.ziyang]) {
    const mails = stack.sink.to(addr);
    const reports = reportMails(mails);
    expect(reports).toHaveLength(mails.length);
    expect(new Set(reports.map((r) => r.messageId)).size, addr).toBe(reports.length);
    for (const thread of byIncident(reports).values()) expectOneThread(thread);
    out[addr] = reports.length;
  }
  return out;
}

describe('delivery in incident mode', () => {
  it('an SMTP server refusing with 4xx for a while: every report delivered once afterwards', async () => {
    const { t0, clock, stack } = await startReplayStack(services, { registry, hoursAgo: 40, speed: 1800 });
    try {
      // Down from before the 初报 until the plume has crossed three sections.
      const stop = stack.sink.refuse({ code: 451, message: '4.3.2 try again later' });
      await replay(
        stack,
        clock,
        byTime([
          ...arrives(registry, 'sec-01', t0, 14),
          ...arrives(registry, 'sec-02', t0 + 4 * H, 11),
          ...arrives(registry, 'sec-03', t0 + 8 * H, 8),
        ]),
      );
      await stack.sink.waitFor(() => stack.sink.refusals.filter((r) => r.to === ADDR.ziyang).length >= 3, 30_000, 'refusals');
      expect(stack.sink.messages).toHaveLength(0);
      stop();
      await replay(stack, clock, byTime(['sec-01', 'sec-02', 'sec-03'].flatMap((s, k) => clears(registry, s, t0 + 14 * H + k * MIN))));
      await stack.sink.waitFor(() => reportMails(stack.sink.to(ADDR.ziyang)).some((r) => r.kind === 'final'), 40_000, 'the final report');
      await stack.idle({ delayed: true });
      const counts = expectEachReportOnce(stack);
      // 初报, sec-02 and sec-03 reached, 终报.
      expect(counts).toEqual({ [ADDR.chengdu]: 4, [ADDR.ziyang]: 4 });
      expect(await stack.notify?.store.deadLetters()).toEqual([]);
    } finally {
      await stack.close();
    }
  }, 90_000);

  it('a duplicate event, a re-added job, a stray drain or close check: nothing sent twice', async () => {
    const { t0, clock, stack } = await startReplayStack(services, { registry, hoursAgo: 40, speed: 1800 });
    const notify = new Queue(QUEUE_NOTIFY, { connection: stack.redis, prefix: stack.prefix });
    const incident = new Queue(QUEUE_INCIDENT, { connection: stack.redis, prefix: stack.prefix });
    const mail = new Queue(QUEUE_MAIL, { connection: stack.redis, prefix: stack.prefix });
    try {
      const events = byTime([...arrives(registry, 'sec-01', t0, 14), ...arrives(registry, 'sec-02', t0 + 4 * H, 11)]);
      await replay(stack, clock, events, 2);
      await stack.sink.waitFor(() => reportMails(stack.sink.to(ADDR.ziyang)).length >= 2, 30_000, 'the 初报 and the 续报');
      await stack.idle();
      const before = expectEachReportOnce(stack);
      expect(before).toEqual({ [ADDR.chengdu]: 2, [ADDR.ziyang]: 2 });

      // The completed jobs are gone (removed by age): the relay hands every event over again.
      await notify.clean(0, 1000, 'completed');
      await stack.emit(...events);
      await stack.idle();
      // A drain and a close check nobody asked for, on the scope.
      const scope = 'r.tuojiang.nitrogen';
      await incident.add('drain', { scope, type: 'drain' }, { jobId: 'stray-drain' });
      await incident.add('tick', { scope, type: 'tick' }, { jobId: 'stray-tick' });
      await stack.idle();
      expect(expectEachReportOnce(stack)).toEqual(before);
      const incidents = await new IncidentStore(stack.redis, stack.prefix).list();
      expect(incidents.map((i) => [i.seq, i.status])).toEqual([[2, 'open']]);
      // Each report's mail job sent it at its first attempt (no failure after the send, no retry to find it sent).
      const jobs = await mail.getJobs(['completed', 'failed']);
      expect(jobs.map((j) => [j.returnvalue, j.failedReason ?? null])).toEqual(jobs.map(() => ['sent', null]));
      expect(jobs).toHaveLength(4);
    } finally {
      await notify.close();
      await incident.close();
      await mail.close();
      await stack.close();
    }
  }, 90_000);

  it('escalation per incident: one e-mail per bureau and incident not acknowledged in time, none after the signed link', async () => {
    // 0.1 min = 6 s to acknowledge; the notify clock is the wall clock.
    const t0 = Math.floor(Date.now() / MIN) * MIN - 3 * H;
    const stack = await startNotifyStack(services, {
      registry,
      incidents: true,
      recipients: (r) => {
        r.incidents.reorder_s = 0;
        r.defaults.ack_timeout_min = 0.1;
      },
    });
    const server = await startApiServer({
      store: stack.notify!.store,
      redis: stack.redis,
      ackSecret: ACK_SECRET,
      publicUrl: PUBLIC_URL,
      cities: registry.cities,
      port: 0,
      host: '127.0.0.1',
    });
    const escalate = new Queue(QUEUE_ESCALATE, { connection: stack.redis, prefix: stack.prefix });
    try {
      // Two incidents at once at sec-01: ammonia (nitrogen) and total phosphorus.
      await stack.emit(...arrives(registry, 'sec-01', t0, 9));
      await stack.emit(
        transition(registry, {
          station: 'sec-01',
          kind: 'firing',
          at: t0 + 20 * MIN,
          parameter: 'TP',
          value: 0.9,
          limit: 0.2,
          breachSince: t0 + 10 * MIN,
        }),
      );
      await stack.sink.waitFor(() => reportMails(stack.sink.to(ADDR.chengdu)).length >= 2, 30_000, 'two 初报 to Chengdu');
      const nitrogen = reportMails(stack.sink.to(ADDR.chengdu)).find((r) => r.incident.includes('.nitrogen.'));
      if (!nitrogen) throw new Error('no ammonia 初报');
      // Chengdu acknowledges the ammonia incident through the signed link in its e-mail; nobody acknowledges the phosphorus one.
      const m = /http:\/\/tuojiang-api\.test(\/ack\/[^\s]+)/.exec(nitrogen.text);
      if (!m) throw new Error('no acknowledgement link');
      const link = new URL(`${server.url}${m[1]}`);
      const post = await fetch(`${link.origin}${link.pathname}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ exp: Number(link.searchParams.get('exp')), sig: link.searchParams.get('sig'), by: '张伟' }),
      });
      expect(post.status).toBe(200);
      expect(await post.json()).toMatchObject({ status: 'recorded', ack: { by: '张伟', via: 'link' } });

      await stack.sink.waitFor(
        () => stack.sink.to(ADDR.ziyangHead).length >= 2 && stack.sink.to(ADDR.chengduHead).length >= 1,
        30_000,
        'escalations',
      );
      // The plume goes on after the escalations: more reports of the same incidents, no new acknowledgement clock.
      await stack.emit(...arrives(registry, 'sec-02', t0 + 2 * H, 8));
      await stack.sink.waitFor(() => reportMails(stack.sink.to(ADDR.ziyang)).length >= 3, 30_000, 'the 续报');
      await stack.idle({ delayed: true });
      // Every escalation check has run and none is pending: nothing more can come.
      const counts = await escalate.getJobCounts('delayed', 'waiting', 'active', 'completed');
      expect(counts).toMatchObject({ delayed: 0, waiting: 0, active: 0, completed: 4 });
      const outcomes = (await escalate.getJobs(['completed']))
        .map((j) => `${j.data.bureau} ${String(j.data.alertId).split('.')[3]} ${j.returnvalue}`)
        .sort();
      expect(outcomes).toEqual([
        'chengdu nitrogen acknowledged',
        'chengdu phosphorus escalated',
        'ziyang nitrogen escalated',
        'ziyang phosphorus escalated',
      ]);

      // One escalation notice per bureau and incident not acknowledged: the root of the escalation
      // list's own thread. Until the bureau acknowledges, the reports that change the stakes (an
      // intake or boundary reached, a miss, the final one) are copied to that thread.
      const isNotice = (x: { messageId: string; incident: string }): boolean => x.messageId.startsWith(`<${x.incident}.esc.`);
      const head = (addr: string) =>
        reportMails(stack.sink.to(addr))
          .filter(isNotice)
          .map((r) => `${r.incident.split('.')[3]} ${r.subject.startsWith('【升级】')}`)
          .sort();
      expect(head(ADDR.ziyangHead)).toEqual(['nitrogen true', 'phosphorus true']);
      expect(head(ADDR.chengduHead)).toEqual(['phosphorus true']);
      const zyHead = reportMails(stack.sink.to(ADDR.ziyangHead));
      for (const x of zyHead) {
        expect(x.text).toMatch(/资阳市生态环境局未在 .+内确认此事件，现升级通报/);
        if (isNotice(x)) continue;
        const notice = zyHead.find((y) => isNotice(y) && y.incident === x.incident);
        expect(x.inReplyTo).toBe(notice?.messageId);
      }
      const record = await stack.notify!.store.alert(nitrogen.incident);
      expect(Object.keys(record?.acks ?? {})).toEqual(['chengdu']);
      expect(Object.keys(record?.escalations ?? {})).toEqual(['ziyang']);
    } finally {
      await escalate.close();
      await server.close();
      await stack.close();
    }
  }, 90_000);

  it('a drain that runs before the evidence is ripe (the clocks disagree) still applies it', async () => {
    const t0 = Math.floor(Date.now() / MIN) * MIN - H;
    const stack = await startNotifyStack(services, {
      registry,
      incidents: true,
      recipients: (r) => {
        for (const b of Object.values(r.bureaus)) b.escalation = [];
      },
    });
    const incident = new Queue(QUEUE_INCIDENT, { connection: stack.redis, prefix: stack.prefix });
    try {
      // The route job's part by hand: evidence in the inbox for two seconds of reorder wait (Redis
      // time), and a drain job that, by its host's clock, is due at once.
      const scope = 'r.tuojiang.nitrogen';
      const [e] = arrives(registry, 'sec-10', t0, 5);
      if (!e) throw new Error('no event');
      await new IncidentStore(stack.redis, stack.prefix).enqueue(scope, evidenceOf(e, 'nitrogen'), 2000);
      await incident.add('drain', { scope, type: 'drain' }, { jobId: 'early-drain' });
      await stack.sink.waitFor(() => reportMails(stack.sink.to(ADDR.ziyang)).length >= 1, 30_000, 'the 初报');
      await stack.idle({ delayed: true });
      expect(reportMails(stack.sink.to(ADDR.ziyang)).map((r) => r.kind)).toEqual(['initial']);
      expect((await new IncidentStore(stack.redis, stack.prefix).snapshot(scope)).items).toEqual([]);
    } finally {
      await incident.close();
      await stack.close();
    }
  }, 60_000);

  it('a close check that runs before its due time (the clocks disagree) still closes the incident', async () => {
    const { t0, clock, stack } = await startReplayStack(services, { registry, hoursAgo: 40, speed: 3600 });
    try {
      // At the last section: the close is due two hours (the hold) after it is back within limits.
      await replay(stack, clock, [...arrives(registry, 'sec-10', t0, 5), ...clears(registry, 'sec-10', t0 + 3 * H)]);
      const backAt = t0 + 3 * H + 5 * MIN;
      // The close check was scheduled for two hours on; the notify clock is put back two hours, so it runs early.
      clock.set(backAt - 2 * H);
      await stack.sink.waitFor(() => reportMails(stack.sink.to(ADDR.ziyang)).some((r) => r.kind === 'final'), 30_000, 'the final report');
      const incidents = await new IncidentStore(stack.redis, stack.prefix).list();
      expect(incidents[0]?.closedAt).toBe(backAt + 120 * MIN);
    } finally {
      await stack.close();
    }
  }, 60_000);
});
