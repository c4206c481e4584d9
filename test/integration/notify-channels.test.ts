/**
 * The channels besides e-mail, against real Redis (and, end to end, real Mosquitto and InfluxDB)
 * and a real local HTTP server standing for WeCom and for a duty system's webhook. Each case checks
 * what the other side received: the bytes, the signature, how often — nothing twice, nothing lost —
 * and that e-mail still goes out beside them.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecipientsFile } from '../../config/recipients-schema.js';
import { header } from '../helpers/smtp-sink.js';
import { reportMails } from '../helpers/incident-mail.js';
import { startHttpRecorder, type HttpRecorder, type RecordedRequest } from '../helpers/http-recorder.js';
import {
  ADDR,
  alertEvent,
  spillRegistry,
  startNotifyServices,
  startNotifyStack,
  testNotifyConfig,
  type NotifyServices,
} from '../helpers/notify-stack.js';
import { startNotifyService } from '../../alerts/notify/service.js';

const H = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00+08:00');
const SECRET = 'whsec-0123456789abcdef-test';
const WECOM_OK = { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };

let services: NotifyServices;
let pipelineServices: NotifyServices;
beforeAll(async () => {
  [services, pipelineServices] = await Promise.all([startNotifyServices(false), startNotifyServices(true)]);
}, 180_000);
afterAll(async () => {
  await services?.stopAll();
  await pipelineServices?.stopAll();
});

const recorders: HttpRecorder[] = [];
afterAll(async () => {
  for (const r of recorders) await r.close();
});
async function recorder(defaultAnswer = { status: 200, body: '{}' }): Promise<HttpRecorder> {
  const r = await startHttpRecorder(defaultAnswer);
  recorders.push(r);
  return r;
}

/** Chengdu's duty person on the robot `cd-duty` (mentioning `zhangsan`), Ziyang's on the endpoint `zy-duty`. */
function withChannels(
  r: RecipientsFile,
  o: { wecomOn?: Array<'chengdu' | 'ziyang'>; webhookOn?: Array<'chengdu' | 'ziyang'>; perMinute?: number } = {},
): void {
  r.channels.wecom.robots = { 'cd-duty': { url_env: 'TJ_TEST_WECOM_URL' } };
  r.channels.wecom.per_minute = o.perMinute ?? 20;
  r.channels.webhook.endpoints = { 'zy-duty': { url_env: 'TJ_TEST_HOOK_URL', secret_env: 'TJ_TEST_HOOK_SECRET' } };
  for (const b of o.wecomOn ?? ['chengdu']) r.bureaus[b]!.duty[0]!.wecom = { robot: 'cd-duty', mention: 'zhangsan' };
  for (const b of o.webhookOn ?? ['ziyang']) r.bureaus[b]!.duty[0]!.webhook = 'zy-duty';
}

function env(wecom: HttpRecorder, hook: HttpRecorder): Record<string, string> {
  return {
    TJ_TEST_WECOM_URL: `${wecom.url}/cgi-bin/webhook/send?key=robot-key-not-for-logs`,
    TJ_TEST_HOOK_URL: `${hook.url}/tuojiang`,
    TJ_TEST_HOOK_SECRET: SECRET,
  };
}

/** What a subscriber does: recompute the signature over "<timestamp>.<body>" with the shared secret. */
function signatureValid(r: RecordedRequest): boolean {
  const ts = String(r.headers['x-tuojiang-timestamp']);
  const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.`).update(r.body).digest('hex')}`;
  return r.headers['x-tuojiang-signature'] === expected;
}

const json = (r: RecordedRequest): Record<string, unknown> => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>;
const markdown = (r: RecordedRequest): string => (json(r).markdown as { content: string }).content;

describe('channels end to end: MQTT reading -> incident -> WeCom robot and signed webhook', () => {
  it("the 初报 reaches Chengdu's WeCom group and Ziyang's duty system once each, beside the e-mails", async () => {
    const wecom = await recorder(WECOM_OK);
    const hook = await recorder();
    const s = await startNotifyStack(pipelineServices, {
      pipeline: true,
      registry: spillRegistry(),
      incidents: true,
      recipients: (r) => {
        r.defaults.ack_timeout_min = 24 * 60;
        withChannels(r);
      },
      notify: { channelEnv: env(wecom, hook) },
    });
    try {
      for (let h = 0; h <= 3; h++) await s.publish('sec-01', T0 + h * H, h >= 1 ? { NH3N: 5.1, DO: 7.5 } : { NH3N: 0.3, DO: 7.5 });
      await s.sink.waitFor(
        () => reportMails(s.sink.to(ADDR.chengdu)).length >= 1 && reportMails(s.sink.to(ADDR.ziyang)).length >= 1,
        60_000,
        'the 初报 e-mails',
      );
      await hook.waitFor(() => hook.requests.length >= 1, 30_000, 'the webhook request');
      await wecom.waitFor(() => wecom.requests.length >= 1, 30_000, 'the robot message');
      await s.idle({ delayed: true });

      // The duty system: one signed request per report Ziyang received, each key once.
      const zyReports = reportMails(s.sink.to(ADDR.ziyang));
      expect(hook.requests).toHaveLength(zyReports.length);
      expect(new Set(hook.requests.map((r) => r.headers['idempotency-key'])).size).toBe(hook.requests.length);
      const first = hook.requests[0]!;
      expect(signatureValid(first)).toBe(true);
      const body = json(first);
      expect(first.headers['idempotency-key']).toBe(body.id);
      expect(body.kind).toBe('incident-report');
      expect(String(body.subject)).toContain('初报');
      expect((body.incident as { id: string }).id).toBe(
        header(
          s.sink.to(ADDR.ziyang).find((m) => header(m, 'x-tuojiang-incident'))!,
          'x-tuojiang-incident',
        ),
      );
      expect((body.sent_for as { bureau: string }).bureau).toBe('ziyang');
      const cap = body.cap as Array<{ xml: string }>;
      expect(cap).toHaveLength(1);
      expect(cap[0]!.xml).toContain('<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">');

      // The WeCom group: one markdown message per report Chengdu received, with its link and mention.
      const cdReports = reportMails(s.sink.to(ADDR.chengdu));
      expect(wecom.requests).toHaveLength(cdReports.length);
      expect(wecom.requests[0]!.path).toBe('/cgi-bin/webhook/send?key=robot-key-not-for-logs');
      expect(json(wecom.requests[0]!).msgtype).toBe('markdown');
      const content = markdown(wecom.requests[0]!);
      expect(content).toMatch(/^## 【初报】沱江氨氮污染 断面1 /);
      expect(content).toContain('<@zhangsan>');
      expect(content).toMatch(/\[确认收到 Acknowledge\]\(http:\/\/tuojiang-api\.test\/ack\/inc\.[^)]+\/chengdu\?exp=\d+&sig=[\w-]{43}\)/);
      expect(Buffer.byteLength(content)).toBeLessThanOrEqual(4096);
      expect(await s.notify!.store.deadLetters()).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('the signed webhook', () => {
  it('503, then 429 with Retry-After, then 200: delivered once, the same key and bytes on every attempt, each signed', async () => {
    const wecom = await recorder(WECOM_OK);
    const hook = await recorder();
    hook.script({ status: 503 }, { status: 429, headers: { 'Retry-After': '1' } });
    const s = await startNotifyStack(services, {
      recipients: (r) => withChannels(r, { webhookOn: ['chengdu'], wecomOn: [] }),
      notify: { channelEnv: env(wecom, hook) },
    });
    try {
      const e = alertEvent({ station: 'hongyuan', kind: 'firing', at: T0 });
      await s.emit(e);
      await hook.waitFor(() => hook.requests.some((r) => r.answered === 200), 30_000, 'the accepted attempt');
      await s.idle({ delayed: true });
      expect(hook.requests.map((r) => r.answered)).toEqual([503, 429, 200]);
      expect(new Set(hook.requests.map((r) => r.headers['idempotency-key'])).size).toBe(1);
      expect(new Set(hook.requests.map((r) => r.body.toString('hex'))).size).toBe(1);
      expect(hook.requests.every(signatureValid)).toBe(true);
      const body = json(hook.requests[0]!);
      expect(body.kind).toBe('notices');
      expect((body.items as Array<{ id: string }>).map((i) => i.id)).toEqual([e.id]);
      // The history names the channel; the e-mail to the same person went out as well, once.
      const history = await s.notify!.store.history(e.id);
      expect(
        history
          .filter((h) => h.type === 'sent')
          .map((h) => (h as { to: string }).to)
          .sort(),
      ).toEqual([ADDR.chengdu, ADDR.ziyang, 'webhook:zy-duty']);
      expect(s.sink.to(ADDR.chengdu)).toHaveLength(1);
      expect(await s.notify!.store.deadLetters()).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('no answer after the body was sent: dead-lettered as uncertain, never sent again; a 400 is refused for good', async () => {
    const wecom = await recorder(WECOM_OK);
    const hook = await recorder();
    hook.script({ hangUp: true }, { status: 400, body: '{"error":"unknown subscriber"}' });
    const s = await startNotifyStack(services, {
      recipients: (r) => withChannels(r, { webhookOn: ['chengdu'], wecomOn: [] }),
      notify: { channelEnv: env(wecom, hook) },
    });
    try {
      await s.emit(alertEvent({ station: 'hongyuan', kind: 'firing', at: T0 }));
      await hook.waitFor(() => hook.requests.length >= 1, 30_000, 'the first request');
      await s.idle({ delayed: true });
      await s.emit(alertEvent({ station: 'hongyuan', kind: 'firing', at: T0, parameter: 'TP', value: 0.5, limit: 0.2 }));
      await hook.waitFor(() => hook.requests.length >= 2, 30_000, 'the second request');
      await s.idle({ delayed: true });
      expect(hook.requests.map((r) => r.answered)).toEqual(['hung-up', 400]);
      const dead = await s.notify!.store.deadLetters();
      expect(dead.map((d) => [d.to, d.reason]).sort()).toEqual([
        ['webhook:zy-duty', 'rejected'],
        ['webhook:zy-duty', 'uncertain'],
      ]);
    } finally {
      await s.close();
    }
  });

  it('an endpoint whose secret is not in the environment stops the notify worker at start, naming the variable', async () => {
    const wecom = await recorder(WECOM_OK);
    const hook = await recorder();
    const s = await startNotifyStack(services, { recipients: (r) => withChannels(r), notify: false });
    try {
      const e = env(wecom, hook);
      const start = startNotifyService(s.notifyOptions({ channelEnv: { ...e, TJ_TEST_HOOK_SECRET: undefined } }));
      await expect(start).rejects.toMatchObject({
        code: 'TJ_ENV_INVALID',
        message: expect.stringContaining('TJ_TEST_HOOK_SECRET is not set: recipients.yaml channels.webhook.endpoints.zy-duty'),
      });
      const bad = startNotifyService(s.notifyOptions({ channelEnv: { ...e, TJ_TEST_WECOM_URL: 'ftp://robot-key-not-for-logs@x' } }));
      await expect(bad).rejects.toMatchObject({ code: 'TJ_ENV_INVALID' });
      await expect(bad).rejects.not.toMatchObject({ message: expect.stringContaining('robot-key-not-for-logs') });
    } finally {
      await s.close();
    }
  });
});

describe('a channel no process runs', () => {
  it('its batches wait (retried, not dropped) and are dead-lettered as expired after delivery.give_up_after_h; e-mail is not held up', async () => {
    const wecom = await recorder(WECOM_OK);
    const hook = await recorder();
    // Routing with the robot configured places a WeCom batch; delivery runs in a process whose
    // recipients.yaml no longer has the robot (and gives up after 1.8 s).
    const s = await startNotifyStack(services, {
      recipients: (r) => withChannels(r, { webhookOn: [] }),
      notify: { channelEnv: env(wecom, hook), roles: ['route'] },
    });
    const mailOnly = await startNotifyService(
      s.notifyOptions({
        config: testNotifyConfig(undefined, (r) => {
          r.delivery.give_up_after_h = 0.0005;
        }),
        roles: ['mail'],
      }),
    );
    try {
      await s.emit(alertEvent({ station: 'hongyuan', kind: 'firing', at: T0 }));
      await s.sink.waitFor(() => s.sink.to(ADDR.chengdu).length >= 1, 30_000, 'the e-mail');
      let dead: Awaited<ReturnType<typeof mailOnly.store.deadLetters>> = [];
      const until = Date.now() + 30_000;
      while (dead.length === 0 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        dead = await mailOnly.store.deadLetters();
      }
      expect(dead.map((d) => [d.to, d.reason])).toEqual([['wecom:cd-duty', 'expired']]);
      expect(dead[0]!.error).toContain('for channel "wecom", which this notify process does not run');
      expect(wecom.requests).toHaveLength(0);
      expect(s.sink.to(ADDR.chengdu)).toHaveLength(1);
    } finally {
      await mailOnly.close();
      await s.close();
    }
  });
});

describe('the WeCom robot', () => {
  it('errcode 45009 (over the limit) is retried: one message in the group', async () => {
    const wecom = await recorder(WECOM_OK);
    const hook = await recorder();
    wecom.script({ status: 200, body: '{"errcode":45009,"errmsg":"api freq out of limit"}' });
    const s = await startNotifyStack(services, { recipients: (r) => withChannels(r), notify: { channelEnv: env(wecom, hook) } });
    try {
      await s.emit(alertEvent({ station: 'hongyuan', kind: 'firing', at: T0 }));
      await wecom.waitFor(() => wecom.requests.length >= 2, 30_000, 'the retry');
      await s.idle({ delayed: true });
      expect(wecom.requests).toHaveLength(2);
      expect(wecom.requests[0]!.body.equals(wecom.requests[1]!.body)).toBe(true);
      expect(await s.notify!.store.deadLetters()).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it("more notices than the robot's per-minute limit wait their turn: each delivered once, never more than the limit in a window", async () => {
    const wecom = await recorder(WECOM_OK);
    const hook = await recorder();
    const WINDOW = 1500;
    const LIMIT = 2;
    const s = await startNotifyStack(services, {
      recipients: (r) => {
        withChannels(r, { wecomOn: ['chengdu', 'ziyang'], webhookOn: [], perMinute: LIMIT });
        r.defaults.group_wait_s = 0;
      },
      notify: { channelEnv: env(wecom, hook), rateWindowMs: WINDOW },
    });
    try {
      const events = ['NH3N', 'TP', 'COD', 'CODMn', 'BOD5'].map((parameter) =>
        alertEvent({ station: 'hongyuan', kind: 'firing', at: T0, parameter }),
      );
      // One at a time, so that each is its own batch: five notices for each of the two bureaus, ten messages on one robot.
      for (const e of events) {
        await s.emit(e);
        await s.idle();
      }
      await wecom.waitFor(() => wecom.requests.length >= 10, 60_000, 'ten robot messages');
      await s.idle({ delayed: true });
      expect(wecom.requests).toHaveLength(10);
      // Every notice reached each bureau's group once.
      const seen = wecom.requests.map((r) => markdown(r));
      for (const bureau of ['成都市生态环境局', '资阳市生态环境局']) expect(seen.filter((c) => c.includes(bureau))).toHaveLength(5);
      // Never more than LIMIT within a window (the slots are taken in Redis time, a little before the
      // requests arrive: a quarter-second allowance for that).
      const at = wecom.requests.map((r) => r.at).sort((a, b) => a - b);
      for (let k = LIMIT; k < at.length; k++) expect(at[k]! - at[k - LIMIT]!).toBeGreaterThanOrEqual(WINDOW - 250);
      const metrics = await s.notify!.metrics.getSingleMetricAsString('tuojiang_notify_rate_waits_total');
      expect(Number(/channel="wecom"} (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
      expect(await s.notify!.store.deadLetters()).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
