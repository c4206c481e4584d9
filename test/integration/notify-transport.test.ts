/**
 * The SMTP transport against a real SMTP server in-process: the commit gate holds the end of the
 * message until the commit has succeeded, and every failure says whether the message can have
 * been accepted (the mailer's retry/final/uncertain decision rests on it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpTransport, SendError, type OutgoingMail } from '../../alerts/notify/transport.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await startSmtpSink();
});
afterAll(async () => sink?.close());

const mail = (n: number): OutgoingMail => ({
  from: '沱江联合预警 <alerts@tuojiang.test>',
  to: { name: '值班室', address: 'duty@ziyang.test' },
  subject: '【警告·告警】宏缘 氨氮',
  text: '正文\n',
  html: '<p>正文</p>',
  messageId: `<batch.${n}@tuojiang.test>`,
  date: new Date(0),
  headers: { 'X-Tuojiang-Batch': `batch.${n}` },
  attachments: [{ filename: 'cap.xml', content: '<alert/>', contentType: 'application/cap+xml' }],
});

async function failure(p: Promise<unknown>): Promise<SendError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SendError) return e;
    throw e;
  }
  throw new Error('expected the send to fail');
}

describe('SMTP transport with the commit gate', () => {
  it('the server can complete the message only after the commit', async () => {
    const t = createSmtpTransport({ url: sink.url, timeoutMs: 5000 });
    const order: string[] = [];
    sink.afterStore(() => {
      order.push('stored by the server');
    });
    try {
      const res = await t.send(mail(1), async () => {
        order.push('commit begins');
        await new Promise((r) => setTimeout(r, 300));
        order.push('commit durable');
      });
      expect(order).toEqual(['commit begins', 'commit durable', 'stored by the server']);
      expect(res.response).toMatch(/^250/);
      const m = sink.messages.at(-1)!;
      expect(m.parsed.messageId).toBe('<batch.1@tuojiang.test>');
      expect(m.parsed.subject).toBe('【警告·告警】宏缘 氨氮');
      expect(m.envelope).toEqual({ from: 'alerts@tuojiang.test', to: ['duty@ziyang.test'] });
      expect(m.parsed.attachments.map((a) => a.contentType)).toEqual(['application/cap+xml']);
    } finally {
      sink.afterStore(undefined);
      await t.close();
    }
  });

  it('a failed commit means no message: the server never gets the end of the data', async () => {
    const t = createSmtpTransport({ url: sink.url, timeoutMs: 5000 });
    const before = sink.messages.length;
    const e = await failure(
      t.send(mail(2), async () => {
        throw new Error('lease lost');
      }),
    );
    expect(e.committed).toBe(false);
    expect(e.verdict).toBe('retry');
    await t.close();
    expect(sink.messages.length).toBe(before);
  });

  it('4xx at RCPT: retry, nothing handed over (the gate is not even read)', async () => {
    const t = createSmtpTransport({ url: sink.url, timeoutMs: 5000 });
    const stop = sink.refuse({ code: 451 });
    let commits = 0;
    const e = await failure(
      t.send(mail(3), async () => {
        commits++;
      }),
    );
    stop();
    await t.close();
    expect([e.responseCode, e.committed, e.verdict, commits]).toEqual([451, false, 'retry', 0]);
  });

  it('5xx after the data: refused for good', async () => {
    const t = createSmtpTransport({ url: sink.url, timeoutMs: 5000 });
    const stop = sink.refuse({ code: 554, at: 'data' });
    const e = await failure(t.send(mail(4), async () => undefined));
    stop();
    await t.close();
    expect([e.responseCode, e.committed, e.verdict]).toEqual([554, true, 'refused-permanently']);
  });

  it('4xx after the data: the server refused it, so it may be sent again', async () => {
    const t = createSmtpTransport({ url: sink.url, timeoutMs: 5000 });
    const stop = sink.refuse({ code: 452, at: 'data' });
    const e = await failure(t.send(mail(5), async () => undefined));
    stop();
    await t.close();
    expect([e.responseCode, e.committed, e.verdict]).toEqual([452, true, 'retry']);
  });

  it('no server: retry', async () => {
    const t = createSmtpTransport({ url: 'smtp://127.0.0.1:1', timeoutMs: 2000 });
    const e = await failure(t.send(mail(6), async () => undefined));
    await t.close();
    expect([e.committed, e.verdict]).toEqual([false, 'retry']);
  });

  it('aborted after the hand-over, before the reply: uncertain', async () => {
    const t = createSmtpTransport({ url: sink.url, timeoutMs: 5000 });
    const ac = new AbortController();
    // The server stores the message but its reply comes too late: the attempt gives up first.
    sink.afterStore(async () => {
      ac.abort();
      await new Promise((r) => setTimeout(r, 300));
    });
    const e = await failure(t.send(mail(7), async () => undefined, ac.signal));
    sink.afterStore(undefined);
    await t.close();
    expect([e.committed, e.verdict]).toEqual([true, 'uncertain']);
  });
});
