/**
 * Acknowledgement and escalation with a real Redis, the notify workers, an in-process SMTP server
 * and `tuojiang api` (the HTTP server of the signed links and CAP documents); quiet hours.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acknowledge } from '../../alerts/notify/ack.js';
import { capSummary, validateCap } from '../../alerts/notify/cap-validate.js';
import { QUEUE_MAIL } from '../../alerts/notify/keys.js';
import { ackUrl } from '../../alerts/notify/links.js';
import { startApiServer, type ApiServer } from '../../api/server.js';
import { header } from '../helpers/smtp-sink.js';
import {
  ACK_SECRET,
  ADDR,
  PUBLIC_URL,
  alertEvent,
  shipped,
  startNotifyServices,
  startNotifyStack,
  type NotifyServices,
  type NotifyStack,
} from '../helpers/notify-stack.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00+08:00');

let services: NotifyServices;
beforeAll(async () => {
  services = await startNotifyServices(false);
}, 120_000);
afterAll(async () => services?.stopAll());

async function api(s: NotifyStack): Promise<ApiServer> {
  return startApiServer({
    store: s.notify!.store,
    redis: s.redis,
    ackSecret: ACK_SECRET,
    publicUrl: PUBLIC_URL,
    cities: shipped.registry.cities,
    port: 0,
    host: '127.0.0.1',
  });
}

/** The acknowledgement link of a mail, pointed at the test's API server. */
function ackLinkIn(text: string, server: ApiServer): string {
  const m = /http:\/\/tuojiang-api\.test(\/ack\/[^\s]+)/.exec(text);
  if (!m) throw new Error('no acknowledgement link in the mail');
  return `${server.url}${m[1]}`;
}

describe('acknowledgement, escalation, quiet hours', () => {
  it('a bureau that does not acknowledge in time is escalated; one that acknowledges through the signed link is not', async () => {
    // 0.1 min = 6 s to acknowledge.
    const s = await startNotifyStack(services, {
      recipients: (r) => {
        r.defaults.ack_timeout_min = 0.1;
      },
    });
    const server = await api(s);
    try {
      const e = alertEvent({ station: 'hongyuan', kind: 'firing', at: T0, value: 1.6 });
      await s.emit(e);
      await s.sink.waitFor(() => s.sink.to(ADDR.chengdu).length >= 1 && s.sink.to(ADDR.ziyang).length >= 1, 30_000, 'firing e-mails');

      // Chengdu follows the link in its e-mail: a page first (a GET never acknowledges), then the form.
      const link = ackLinkIn(s.sink.to(ADDR.chengdu)[0]!.parsed.text ?? '', server);
      const pageRes = await fetch(link);
      expect(pageRes.status).toBe(200);
      const html = await pageRes.text();
      expect(html).toContain('<form method="post">');
      expect((await s.notify!.store.alert(e.id))!.acks).toEqual({});
      const u = new URL(link);
      const post = await fetch(`${u.origin}${u.pathname}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ exp: u.searchParams.get('exp')!, sig: u.searchParams.get('sig')!, by: '张伟' }).toString(),
      });
      expect(post.status).toBe(200);
      expect(await post.json()).toMatchObject({ status: 'recorded', ack: { by: '张伟', via: 'link' } });

      // Ziyang does nothing: its escalation list hears of it, Chengdu's does not.
      await s.sink.waitFor(() => s.sink.to(ADDR.ziyangHead).length >= 1, 30_000, 'escalation');
      // Both bureaus' escalation checks have run (Chengdu's found the acknowledgement).
      const escalate = new Queue('notify-escalate', { connection: s.redis, prefix: s.prefix });
      const until = Date.now() + 30_000;
      while (((await escalate.getJobCounts('completed')).completed ?? 0) < 2) {
        if (Date.now() > until) throw new Error('escalation checks did not run');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await escalate.getJobs(['completed'])).map((j) => `${j.data.bureau} ${j.returnvalue}`).sort()).toEqual([
        'chengdu acknowledged',
        'ziyang escalated',
      ]);
      await escalate.close();
      await s.idle({ delayed: true });
      expect(s.sink.to(ADDR.chengduHead)).toHaveLength(0);
      const esc = s.sink.to(ADDR.ziyangHead);
      expect(esc).toHaveLength(1);
      expect(esc[0]!.parsed.subject).toMatch(
        /^【警告·升级】宏缘 氨氮 1\.6 mg\/L \/ \[WARNING ESCALATION\] Hongyuan Ammonia nitrogen 1\.6 mg\/L$/,
      );
      expect(esc[0]!.parsed.text).toContain('资阳市生态环境局未在 6 秒 内确认此告警');
      expect(esc[0]!.parsed.text).toContain('Ziyang Bureau has not acknowledged this alert within 6 s');
      expect(header(esc[0]!, 'x-tuojiang-items')).toBe(`esc.${e.id}.ziyang`);

      const a = await s.notify!.store.alert(e.id);
      expect(Object.keys(a!.acks)).toEqual(['chengdu']);
      expect(Object.keys(a!.escalations)).toEqual(['ziyang']);
      const history = (await s.notify!.store.history(e.id)).map((h) =>
        h.type === 'sent' ? `sent ${h.to}` : h.type === 'ack' || h.type === 'escalated' ? `${h.type} ${h.bureau}` : h.type,
      );
      expect(history.filter((h) => h !== `sent ${ADDR.chengdu}` && h !== `sent ${ADDR.ziyang}`)).toEqual([
        'firing',
        'ack chengdu',
        'escalated ziyang',
        `sent ${ADDR.ziyangHead}`,
      ]);

      // Acknowledging again says who did it first; another bureau's ack is separate.
      expect((await acknowledge(s.notify!.store, e.id, 'chengdu', 'someone else', 'cli')).ack.by).toBe('张伟');
      expect((await acknowledge(s.notify!.store, e.id, 'ziyang', '李娜', 'cli')).status).toBe('recorded');
    } finally {
      await server.close();
      await s.close();
    }
  });

  it('an alert resolved before the deadline is not escalated', async () => {
    const s = await startNotifyStack(services, {
      recipients: (r) => {
        r.defaults.ack_timeout_min = 0.05;
      },
    });
    try {
      await s.emit(alertEvent({ station: 'gongchengpu', kind: 'firing', at: T0 }));
      await s.emit(alertEvent({ station: 'gongchengpu', kind: 'resolved', at: T0 + HOUR, value: 0.4 }));
      await s.sink.waitFor(() => s.sink.to(ADDR.ziyang).length >= 1, 30_000, 'notices');
      const escalate = new Queue('notify-escalate', { connection: s.redis, prefix: s.prefix });
      const until = Date.now() + 30_000;
      while (((await escalate.getJobCounts('completed')).completed ?? 0) < 1) {
        if (Date.now() > until) throw new Error('escalation check did not run');
        await new Promise((r) => setTimeout(r, 200));
      }
      const [job] = await escalate.getJobs(['completed']);
      await escalate.close();
      expect(job?.returnvalue).toBe('resolved');
      expect(s.sink.to(ADDR.ziyangHead)).toHaveLength(0);
    } finally {
      await s.close();
    }
  });

  it('the signed link: forged or altered links are refused, expired ones too; CAP documents are served', async () => {
    const s = await startNotifyStack(services);
    const server = await api(s);
    try {
      const firing = alertEvent({ station: 'gongchengpu', kind: 'firing', at: T0 });
      const reminder = alertEvent({ station: 'gongchengpu', kind: 'reminder', at: T0 + 4 * HOUR, value: 1.9 });
      await s.emit(firing);
      await s.sink.waitFor((m) => m.length >= 1, 30_000, 'firing');
      await s.emit(reminder);
      await s.sink.waitFor((m) => m.length >= 2, 30_000, 'reminder');
      expect(s.sink.messages[1]!.parsed.text).toContain('较上次通知（2026-05-01 00:00，1.6 mg/L）上升 0.3 mg/L (+19%)');

      const exp = Date.now() + HOUR;
      const good = new URL(ackUrl(server.url, ACK_SECRET, firing.id, 'ziyang', exp));
      const forged = new URL(ackUrl(server.url, 'another-secret-0123456789', firing.id, 'ziyang', exp));
      const otherBureau = new URL(good.href.replace('/ziyang?', '/chengdu?'));
      const expired = new URL(ackUrl(server.url, ACK_SECRET, firing.id, 'ziyang', Date.now() - 1000));
      const post = (u: URL) =>
        fetch(`${u.origin}${u.pathname}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ exp: Number(u.searchParams.get('exp')), sig: u.searchParams.get('sig'), by: 'x' }),
        });
      expect((await post(forged)).status).toBe(403);
      expect((await post(otherBureau)).status).toBe(403);
      expect((await post(expired)).status).toBe(410);
      expect((await fetch(good)).status).toBe(200);
      expect((await s.notify!.store.alert(firing.id))!.acks).toEqual({});
      expect((await post(good)).status).toBe(200);
      expect((await s.notify!.store.alert(firing.id))!.acks.ziyang?.by).toBe('x');

      expect(await s.notify!.store.capsOf(firing.id)).toEqual([
        expect.objectContaining({ eventId: firing.id }),
        expect.objectContaining({ eventId: reminder.id }),
      ]);
      // CAP documents are Restricted: the bare URL is refused, the signed link of the e-mail works.
      expect((await fetch(`${server.url}/cap/${reminder.id}.xml`)).status).toBe(401);
      const capLink = /http:\/\/tuojiang-api\.test(\/cap\/[^\s]+)/.exec(s.sink.messages[1]!.parsed.text ?? '')?.[1];
      expect(capLink).toMatch(new RegExp(`^/cap/${reminder.id.replace(/\./g, '\\.')}\\.xml\\?exp=\\d+&sig=[A-Za-z0-9_-]{43}$`));
      const res = await fetch(`${server.url}${capLink}`);
      expect(res.headers.get('content-type')).toContain('application/cap+xml');
      const xml = await res.text();
      expect(validateCap(xml)).toEqual([]);
      const sum = capSummary(xml);
      expect(sum.msgType).toBe('Update');
      expect(sum.references).toEqual([`tuojiang-alerts@example.invalid,tuojiang.${firing.id},2026-05-01T00:00:00+08:00`]);
      expect(sum.languages).toEqual(['zh-CN', 'en-US']);
      expect((await fetch(`${server.url}/cap/nothing.xml`)).status).toBe(401);
    } finally {
      await server.close();
      await s.close();
    }
  });

  it('quiet hours hold a warning until they end; a severe alert goes out at once', async () => {
    // Quiet hours around now (China Standard Time), ending in about two hours.
    const cst = (ms: number) => new Date(ms + 8 * HOUR).toISOString().slice(11, 16);
    const now = Date.now();
    const s = await startNotifyStack(services, {
      recipients: (r) => {
        r.defaults.quiet_hours = { from: cst(now - HOUR), to: cst(now + 2 * HOUR) };
      },
    });
    try {
      const warning = alertEvent({ station: 'gongchengpu', kind: 'firing', at: T0, value: 1.6 });
      // Ziyang city is a drinking-water intake: any exceedance there is severe.
      const severe = alertEvent({ station: 'ziyang-city', kind: 'firing', at: T0, value: 1.2 });
      await s.emit(warning, severe);
      await s.sink.waitFor((m) => m.length >= 1, 30_000, 'the severe notice');
      await s.idle();
      expect(s.sink.messages).toHaveLength(1);
      expect(header(s.sink.messages[0]!, 'x-tuojiang-items')).toBe(severe.id);
      expect(s.sink.messages[0]!.parsed.subject).toMatch(/^【严重·告警】资阳城区/);
      const mail = new Queue(QUEUE_MAIL, { connection: s.redis, prefix: s.prefix });
      const held = await mail.getJobs(['delayed']);
      await mail.close();
      expect(held).toHaveLength(1);
      expect(held[0]!.data.batchId).toMatch(/^ziyang-[0-9a-f]{12}\.held\.\d+$/);
      const due = held[0]!.timestamp + held[0]!.delay;
      // Held until the minute the quiet hours end (then the group wait, 0.5 s).
      const quietEnd = Math.floor((now + 2 * HOUR) / 60_000) * 60_000;
      expect(Math.abs(due - (quietEnd + 500))).toBeLessThan(2000);
    } finally {
      await s.close();
    }
  });
});

describe('the API server', () => {
  it('hands requests it does not answer itself to extra routes (e.g. the thresholds API)', async () => {
    const s = await startNotifyStack(services);
    const server = await startApiServer({
      store: s.notify!.store,
      redis: s.redis,
      ackSecret: ACK_SECRET,
      publicUrl: PUBLIC_URL,
      cities: shipped.registry.cities,
      port: 0,
      host: '127.0.0.1',
      extraRoutes: [
        async (req, res) => {
          if (!req.url?.startsWith('/thresholds')) return false;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ method: req.method }));
          return true;
        },
      ],
    });
    try {
      expect(await (await fetch(`${server.url}/thresholds`, { method: 'POST' })).json()).toEqual({ method: 'POST' });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${server.url}/metrics`)).text()).toContain('tuojiang_api_acks_total');
      expect((await fetch(`${server.url}/other`)).status).toBe(404);
      expect((await fetch(`${server.url}/other`, { method: 'DELETE' })).status).toBe(405);
    } finally {
      await server.close();
      await s.close();
    }
  });
});
