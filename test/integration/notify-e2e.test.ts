/**
 * End to end with real Mosquitto, Redis and InfluxDB and an in-process SMTP server: readings
 * published over MQTT go through ingest, the checks and the alert outbox to the notify workers,
 * and the tests assert on the e-mails the SMTP server received.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capSummary, validateCap } from '../../alerts/notify/cap-validate.js';
import { header, type ReceivedMail } from '../helpers/smtp-sink.js';
import { ADDR, spillRegistry, startNotifyServices, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00+08:00');

let services: NotifyServices;
beforeAll(async () => {
  services = await startNotifyServices(true);
}, 120_000);
afterAll(async () => services?.stopAll());

function caps(m: ReceivedMail): string[] {
  return m.parsed.attachments.filter((a) => a.contentType === 'application/cap+xml').map((a) => a.content.toString('utf8'));
}

function items(m: ReceivedMail): string[] {
  return header(m, 'x-tuojiang-items').split(' ').filter(Boolean);
}

describe('notifications end to end: MQTT -> ingest -> checks -> notify -> SMTP', () => {
  it("a sustained NH3-N exceedance upstream in Chengdu: one e-mail to each bureau, Ziyang's with an arrival estimate; recovery: one resolved e-mail each", async () => {
    const s = await startNotifyStack(services, { pipeline: true });
    try {
      // Hongyuan (Chengdu, km 52): NH3-N above the class III limit (1.0) for two hours in a row.
      for (const [h, v] of [
        [0, 0.4],
        [1, 1.5],
        [2, 1.6],
        [3, 1.7],
      ] as const)
        await s.publish('hongyuan', T0 + h * HOUR, { NH3N: v, DO: 7.5 });
      await s.sink.waitFor(() => s.sink.to(ADDR.chengdu).length >= 1 && s.sink.to(ADDR.ziyang).length >= 1, 30_000, 'firing e-mails');
      await s.idle({ delayed: true });
      const cd = s.sink.to(ADDR.chengdu);
      const zy = s.sink.to(ADDR.ziyang);
      expect(cd).toHaveLength(1);
      expect(zy).toHaveLength(1);
      // The limit and the water class fired on the same reading: one e-mail holds both.
      expect(items(zy[0]!).sort()).toEqual([
        `ev.hongyuan.rt.limit.NH3N.firing.${T0 + 2 * HOUR}`,
        `ev.hongyuan.rt.water_class.firing.${T0 + 2 * HOUR}`,
      ]);
      const subject = zy[0]!.parsed.subject ?? '';
      expect(subject).toMatch(
        /^【警告·告警】宏缘 氨氮 1\.6 mg\/L 等 2 条 \/ \[WARNING ALERT\] Hongyuan Ammonia nitrogen 1\.6 mg\/L \(\+1 more\)$/,
      );
      const zyText = zy[0]!.parsed.text ?? '';
      // Chinese first, English second.
      expect(zyText.indexOf('预计到达贵市首个断面 临江寺')).toBeGreaterThan(0);
      expect(zyText.indexOf('Expected at your first section Linjiangsi')).toBeGreaterThan(zyText.indexOf('预计到达贵市首个断面'));
      // 44 km of slow river (0.1–0.6 m/s): 20.4–122 h, a range rounded outwards, never one instant.
      expect(zyText).toContain('临江寺（下游 44 km）：约 20 小时 – 5.5 天后，即 05-01 22:00 至 05-06 14:00');
      expect(zyText).toContain('2026-05-01 02:00（北京时间）');
      expect(zyText).toContain('阈值版本: v1');
      expect(zyText).toContain('http://grafana.test/d/tuojiang-station/station?orgId=1&var-station=hongyuan');
      expect(zyText).toMatch(/http:\/\/tuojiang-api\.test\/ack\/ev\.hongyuan\.rt\.limit\.NH3N\.firing\.\d+\/ziyang\?exp=\d+&sig=[\w-]{43}/);
      expect(zy[0]!.parsed.html || '').toContain('<a href="http://tuojiang-api.test/ack/');
      const cdText = cd[0]!.parsed.text ?? '';
      expect(cdText).not.toContain('预计到达贵市首个断面');
      expect(cdText).toContain('下游断面预计到达');
      // CAP 1.2 attached, valid, one Alert per transition.
      const alerts = caps(zy[0]!);
      expect(alerts).toHaveLength(2);
      for (const x of alerts) expect(validateCap(x)).toEqual([]);
      expect(alerts.map((x) => capSummary(x).msgType)).toEqual(['Alert', 'Alert']);

      // Recovery: two readings at or below limit × (1 − h).
      for (const [h, v] of [
        [4, 0.5],
        [5, 0.4],
      ] as const)
        await s.publish('hongyuan', T0 + h * HOUR, { NH3N: v, DO: 7.5 });
      await s.sink.waitFor(() => s.sink.to(ADDR.chengdu).length >= 2 && s.sink.to(ADDR.ziyang).length >= 2, 30_000, 'resolved e-mails');
      await s.idle({ delayed: true });
      expect(s.sink.to(ADDR.chengdu)).toHaveLength(2);
      expect(s.sink.to(ADDR.ziyang)).toHaveLength(2);
      const resolved = s.sink.to(ADDR.ziyang)[1]!;
      expect(resolved.parsed.subject).toMatch(/^【解除】宏缘 氨氮 等 2 条 \/ \[RESOLVED\] Hongyuan Ammonia nitrogen \(\+1 more\)$/);
      expect(resolved.parsed.text).toContain('本次告警共持续 3 小时');
      // The checks track the episode's peak (1.7 at h 3, after the 1.6 that fired): the resolve says it.
      expect(resolved.parsed.text).toContain('峰值 1.7 mg/L');
      expect(resolved.parsed.text).toContain('最差 V 类');
      expect(resolved.parsed.text).toContain('临江寺（下游 44 km）预计于 05-02 01:00 至 05-06 17:00 间恢复');
      const cancels = caps(resolved).map((x) => ({ x, sum: capSummary(x) }));
      for (const { x, sum } of cancels) {
        expect(validateCap(x)).toEqual([]);
        expect(sum.msgType).toBe('Cancel');
      }
      // The Cancel references the Alert it ends (sender,identifier,sent).
      const alertIds = alerts.map((x) => capSummary(x)).map((a) => `${a.sender},${a.identifier},${a.sent}`);
      expect(cancels.flatMap((c) => c.sum.references).sort()).toEqual(alertIds.sort());
    } finally {
      await s.close();
    }
  });

  it('a spill crossing ten sections in one wave: one grouped e-mail per bureau per wave', async () => {
    const s = await startNotifyStack(services, {
      pipeline: true,
      registry: spillRegistry(),
      recipients: (r) => {
        r.defaults.group_wait_s = 3;
      },
    });
    try {
      const sections = s.registry.stations.filter((x) => x.kind === 'water').map((x) => x.id);
      expect(sections).toHaveLength(10);
      for (const id of sections) await s.publish(id, T0, { NH3N: 0.3, DO: 7.5 });
      // Wave 1: the plume at every section for two hours.
      for (const h of [1, 2]) for (const id of sections) await s.publish(id, T0 + h * HOUR, { NH3N: 5.1, DO: 7.5 });
      await s.sink.waitFor(() => s.sink.to(ADDR.chengdu).length >= 1 && s.sink.to(ADDR.ziyang).length >= 1, 40_000, 'wave 1');
      await s.idle({ delayed: true });
      expect(s.sink.to(ADDR.chengdu)).toHaveLength(1);
      expect(s.sink.to(ADDR.ziyang)).toHaveLength(1);
      const cd = s.sink.to(ADDR.chengdu)[0]!;
      const zy = s.sink.to(ADDR.ziyang)[0]!;
      // Chengdu: its five sections and the boundary section; Ziyang: all ten (downstream of Chengdu's).
      const stationsIn = (m: ReceivedMail) => [...new Set(items(m).map((i) => i.split('.')[1]))].sort();
      expect(stationsIn(cd)).toEqual(['sec-01', 'sec-02', 'sec-03', 'sec-04', 'sec-05', 'sec-06']);
      expect(stationsIn(zy)).toEqual(sections);
      expect(cd.parsed.subject).toMatch(/^【严重·告警】/);
      for (const x of caps(zy)) expect(validateCap(x)).toEqual([]);

      // Wave 2: it passes; every section recovers.
      for (const h of [3, 4]) for (const id of sections) await s.publish(id, T0 + h * HOUR, { NH3N: 0.3, DO: 7.5 });
      await s.sink.waitFor(() => s.sink.to(ADDR.chengdu).length >= 2 && s.sink.to(ADDR.ziyang).length >= 2, 40_000, 'wave 2');
      await s.idle({ delayed: true });
      expect(s.sink.to(ADDR.chengdu)).toHaveLength(2);
      expect(s.sink.to(ADDR.ziyang)).toHaveLength(2);
      expect(s.sink.to(ADDR.ziyang)[1]!.parsed.subject).toMatch(/^【解除】/);
      expect(stationsIn(s.sink.to(ADDR.ziyang)[1]!)).toEqual(sections);
    } finally {
      await s.close();
    }
  });

  // 20 s of refusals by default; NOTIFY_TEST_OUTAGE_S=120 runs the two minutes.
  const outageMs = Number(process.env.NOTIFY_TEST_OUTAGE_S ?? 20) * 1000;
  it('SMTP refusing (4xx) for a while: every notice is delivered once afterwards', { timeout: outageMs + 100_000 }, async () => {
    const s = await startNotifyStack(services, { pipeline: true, registry: spillRegistry() });
    try {
      const stop = s.sink.refuse({ code: 451, message: '4.3.2 try again later', until: Date.now() + outageMs });
      const sections = ['sec-02', 'sec-04', 'sec-07'];
      for (const h of [0, 1, 2]) for (const id of sections) await s.publish(id, T0 + h * HOUR, { NH3N: h === 0 ? 0.3 : 1.8, DO: 7.5 });
      // Refused while the outage lasts (the retries are real), then delivered.
      await s.sink.waitFor(() => s.sink.refusals.length >= 4, 30_000, 'refusals');
      await s.sink.waitFor(
        () => s.sink.to(ADDR.chengdu).length >= 1 && s.sink.to(ADDR.ziyang).length >= 1,
        outageMs + 30_000,
        'delivery after the outage',
      );
      stop();
      await s.idle({ delayed: true, timeoutMs: 30_000 });
      const all = [...s.sink.to(ADDR.chengdu), ...s.sink.to(ADDR.ziyang)];
      expect(s.sink.refusals.every((r) => r.code === 451)).toBe(true);
      expect(Math.min(...all.map((m) => m.receivedAt))).toBeGreaterThanOrEqual(Math.max(...s.sink.refusals.map((r) => r.t)) - 10);
      // Each (transition, recipient) exactly once.
      const pairs = all.flatMap((m) => items(m).map((i) => `${m.envelope.to[0]} ${i}`));
      expect(new Set(pairs).size).toBe(pairs.length);
      const firing = (sections: string[]) =>
        sections.flatMap((id) => [`ev.${id}.rt.limit.NH3N.firing.${T0 + 2 * HOUR}`, `ev.${id}.rt.water_class.firing.${T0 + 2 * HOUR}`]);
      expect(s.sink.to(ADDR.chengdu).flatMap(items).sort()).toEqual(firing(['sec-02', 'sec-04']).sort());
      expect(s.sink.to(ADDR.ziyang).flatMap(items).sort()).toEqual(firing(sections).sort());
    } finally {
      await s.close();
    }
  });
});
