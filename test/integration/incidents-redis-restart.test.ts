/**
 * Issue 15: Redis restarted gracefully (from its AOF) in the middle of an incident, through the whole
 * pipeline (MQTT → ingest → checks → notify → SMTP): each bureau gets exactly the reports it would
 * have got without the restart — one 初报 and one 终报, nothing twice, nothing lost.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServices } from '../../devtools/local-services/index.js';
import { reportMails } from '../helpers/incident-mail.js';
import { ADDR, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';

const HOUR = 3_600_000;
let services: NotifyServices;

beforeAll(async () => {
  // As startNotifyServices(true), but Redis keeps its AOF across the restart (as in production).
  const users = [
    { username: 'ingest', password: randomBytes(12).toString('hex') },
    { username: 'simulator', password: randomBytes(12).toString('hex') },
  ];
  const s = await startServices({ mosquitto: { users }, redis: { appendonly: true }, influxdb: true });
  services = { ...s, users } as unknown as NotifyServices;
}, 120_000);
afterAll(async () => services?.stopAll());

describe('a graceful Redis restart in the middle of an incident', () => {
  it('sends the bureau exactly its 初报 and its 终报', async () => {
    const s = await startNotifyStack(services, {
      pipeline: true,
      incidents: true,
      recipients: (r) => {
        r.incidents.reorder_s = 0;
        for (const b of Object.values(r.bureaus)) b.escalation = [];
      },
    });
    try {
      // Ten hours ago at Gongchengpu (Ziyang, km 128, the last section: no window ahead to wait
      // for before the close): NH3-N above the limit for three hours.
      const t0 = Math.floor(Date.now() / HOUR) * HOUR - 10 * HOUR;
      // Its logger sends ammonia in µg/L (stations.yaml).
      for (const [h, v] of [
        [0, 400],
        [1, 1500],
        [2, 1600],
        [3, 1700],
      ] as const)
        await s.publish('gongchengpu', t0 + h * HOUR, { NH3N: v, DO: 7.5 });
      await s.sink.waitFor(() => s.sink.to(ADDR.ziyang).length >= 1, 30_000, 'the 初报');
      await s.idle();

      await services.redis.restart();

      // Back within limits (two readings at or below limit × (1 − h)): the hold has long passed, so
      // the close is due at once.
      for (const [h, v] of [
        [4, 500],
        [5, 400],
      ] as const)
        await s.publish('gongchengpu', t0 + h * HOUR, { NH3N: v, DO: 7.5 });
      await s.sink.waitFor(() => reportMails(s.sink.to(ADDR.ziyang)).some((r) => r.kind === 'final'), 60_000, 'the 终报');
      await s.idle({ delayed: true });
      expect(reportMails(s.sink.to(ADDR.ziyang)).map((r) => r.kind)).toEqual(['initial', 'final']);
      // Gongchengpu is Ziyang's own section with nothing of Chengdu's below it.
      expect(s.sink.to(ADDR.chengdu)).toEqual([]);
      // And no e-mail twice (by Message-ID).
      const ids = s.sink.messages.map((m) => m.parsed.messageId);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await s.close();
    }
  }, 180_000);
});
