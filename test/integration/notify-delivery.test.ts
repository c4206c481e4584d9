/**
 * Delivery guarantees with a real Redis and a real SMTP server: one e-mail per (transition,
 * recipient) when a notify worker is SIGKILLed right after the server accepted the message, or
 * before it handed the message over; 5xx is final and dead-lettered; duplicate jobs and events
 * send nothing twice; SMTP_URL with STARTTLS and a login.
 * Events are handed to the `notify` queue exactly as the alert outbox relay does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NOTIFY } from '../../alerts/keys.js';
import { QUEUE_MAIL } from '../../alerts/notify/keys.js';
import { startNotifyService } from '../../alerts/notify/service.js';
import { header } from '../helpers/smtp-sink.js';
import { ADDR, alertEvent, startNotifyServices, startNotifyStack, type NotifyServices, type NotifyStack } from '../helpers/notify-stack.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00+08:00');

let services: NotifyServices;
beforeAll(async () => {
  services = await startNotifyServices(false);
}, 120_000);
afterAll(async () => services?.stopAll());

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A notify worker in a child process (test/helpers/notify-child.ts), resolved when ready. */
async function childWorker(s: NotifyStack): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'test/helpers/notify-child.ts')], {
    env: { ...process.env, NT_REDIS_URL: services.redis.url, NT_PREFIX: s.prefix, NT_SMTP_URL: s.sink.url, LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`notify child exited ${code}: ${err}`)));
  });
  return child;
}

function killNow(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Gongchengpu is the last Ziyang section: its alerts go to the Ziyang bureau only. */
const ziyangOnly = (at: number) => alertEvent({ station: 'gongchengpu', kind: 'firing', at });

describe('delivery: one e-mail per (transition, recipient), never two', () => {
  it('a notify worker killed right after the SMTP server accepted the message: no second e-mail', async () => {
    const s = await startNotifyStack(services, { notify: false });
    try {
      const first = await childWorker(s);
      // The sink stores the message, then the worker dies before it can read the 250 reply.
      s.sink.afterStore(async () => {
        s.sink.afterStore(undefined);
        await killNow(first);
      });
      const e = ziyangOnly(T0);
      await s.emit(e);
      await s.sink.waitFor((m) => m.length >= 1, 30_000, 'the first delivery');
      // The sink lists the message before its hook has finished killing the worker: wait for the exit.
      await new Promise<void>((r) => (first.exitCode !== null || first.signalCode !== null ? r() : first.once('exit', () => r())));
      expect(first.signalCode).toBe('SIGKILL');

      // A worker starts again: the killed one's mail job is stalled and comes back to it.
      const second = await startNotifyService(s.notifyOptions());
      try {
        const batchId = header(s.sink.messages[0]!, 'x-tuojiang-batch');
        const outbox = async () => (await second.store.outbox(batchId)).state;
        const until = Date.now() + 40_000;
        while ((await outbox()) !== 'uncertain') {
          if (Date.now() > until) throw new Error(`outbox still ${await outbox()}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        await s.idle({ delayed: true });
        // And a later transition goes out normally.
        await s.emit(ziyangOnly(T0 + 5 * HOUR));
        await s.sink.waitFor((m) => m.length >= 2, 30_000, 'the next transition');
        await s.idle({ delayed: true });
        expect(s.sink.to(ADDR.ziyang).map((m) => header(m, 'x-tuojiang-items'))).toEqual([e.id, ziyangOnly(T0 + 5 * HOUR).id]);
        const dead = await second.store.deadLetters();
        expect(dead.map((d) => [d.reason, d.batchId])).toEqual([['uncertain', batchId]]);
        expect((await second.store.history(e.id)).map((h) => h.type)).toEqual(['firing', 'uncertain']);
      } finally {
        await second.close();
      }
    } finally {
      await s.close();
    }
  });

  it('a notify worker killed before it handed the message over: sent once by the next worker', async () => {
    const s = await startNotifyStack(services, { notify: false });
    try {
      const first = await childWorker(s);
      let rcpts = 0;
      s.sink.beforeRcptReply(async () => {
        rcpts++;
        if (rcpts === 1) await killNow(first);
      });
      const e = ziyangOnly(T0);
      await s.emit(e);
      const until = Date.now() + 30_000;
      while (first.signalCode === null) {
        if (Date.now() > until) throw new Error('the worker never reached RCPT');
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(s.sink.messages).toHaveLength(0);
      const second = await startNotifyService(s.notifyOptions());
      try {
        await s.sink.waitFor((m) => m.length >= 1, 40_000, 'delivery by the second worker');
        await s.idle({ delayed: true });
        expect(s.sink.to(ADDR.ziyang).map((m) => header(m, 'x-tuojiang-items'))).toEqual([e.id]);
        expect(rcpts).toBe(2);
        expect(await second.store.deadLetters()).toEqual([]);
      } finally {
        await second.close();
      }
    } finally {
      await s.close();
    }
  });

  it('5xx is final: dead-lettered and logged, never retried; the other bureau still gets its e-mail', async () => {
    const dead: string[] = [];
    const s = await startNotifyStack(services, { notify: { onDead: (d) => dead.push(`${d.reason} ${d.to}`) } });
    try {
      s.sink.refuse({ code: 550, message: '5.1.1 no such mailbox', to: ADDR.ziyang });
      const e = alertEvent({ station: 'hongyuan', kind: 'firing', at: T0 });
      await s.emit(e);
      await s.sink.waitFor(() => s.sink.to(ADDR.chengdu).length >= 1 && dead.length >= 1, 30_000, 'delivery and dead letter');
      await s.idle({ delayed: true });
      expect(s.sink.to(ADDR.ziyang)).toHaveLength(0);
      expect(s.sink.refusals.filter((r) => r.to === ADDR.ziyang)).toHaveLength(1);
      expect(dead).toEqual([`rejected ${ADDR.ziyang}`]);
      const letters = await s.notify!.store.deadLetters();
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ reason: 'rejected', to: ADDR.ziyang, bureau: 'ziyang', items: [e.id] });
      expect(letters[0]!.error).toContain('550');
      const mail = new Queue(QUEUE_MAIL, { connection: s.redis, prefix: s.prefix });
      const failed = await mail.getJobs(['failed']);
      await mail.close();
      expect(failed.map((j) => [j.data.batchId, j.attemptsMade])).toEqual([[letters[0]!.batchId, 1]]);
    } finally {
      await s.close();
    }
  });

  it('duplicate events and jobs (redelivered, re-added after the job was removed) send nothing twice', async () => {
    const s = await startNotifyStack(services);
    try {
      const e = alertEvent({ station: 'hongyuan', kind: 'firing', at: T0 });
      await s.emit(e);
      await s.emit(e);
      await s.sink.waitFor(() => s.sink.to(ADDR.chengdu).length >= 1 && s.sink.to(ADDR.ziyang).length >= 1, 30_000, 'first delivery');
      await s.idle({ delayed: true });
      // The completed job is gone (say, removed by age): the relay hands the event over again.
      const notify = new Queue(QUEUE_NOTIFY, { connection: s.redis, prefix: s.prefix });
      await notify.clean(0, 1000, 'completed');
      await notify.close();
      await s.emit(e, e);
      await s.idle({ delayed: true });
      expect(s.sink.to(ADDR.chengdu)).toHaveLength(1);
      expect(s.sink.to(ADDR.ziyang)).toHaveLength(1);
      expect((await s.notify!.store.history(e.id)).filter((h) => h.type === 'firing')).toHaveLength(1);
    } finally {
      await s.close();
    }
  });

  it('SMTP_URL with a login and STARTTLS', async () => {
    const s = await startNotifyStack(services, { sink: { starttls: true, auth: { user: 'tuojiang', pass: 'p@ss:word' } } });
    try {
      expect(s.sink.url).toMatch(/^smtp:\/\/tuojiang:p%40ss%3Aword@127\.0\.0\.1:\d+\?tls\.rejectUnauthorized=false$/);
      await s.emit(ziyangOnly(T0));
      const [m] = await s.sink.waitFor((x) => x.length >= 1, 30_000, 'delivery over STARTTLS');
      expect(m!.secure).toBe(true);
      expect(m!.user).toBe('tuojiang');
    } finally {
      await s.close();
    }
  });
});
