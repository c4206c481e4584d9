/**
 * A sensor fault during an incident, through the real pipeline (readings published over MQTT to
 * Mosquitto, ingest, the checks on Redis, the alert outbox, the notify workers, a real SMTP
 * server): while the instrument at the section the plume has reached flags its NH3-N readings D
 * (fault), and the section upstream is back within limits, there is no all-clear and no new
 * incident. The 终报 comes only once the faulty section reads valid values back within limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../alerts/incidents/store.js';
import { header } from '../helpers/smtp-sink.js';
import { reportMails } from '../helpers/incident-mail.js';
import { ADDR, spillRegistry, startNotifyServices, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';

const H = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00+08:00');

let services: NotifyServices;
beforeAll(async () => {
  services = await startNotifyServices(true);
}, 120_000);
afterAll(async () => services?.stopAll());

describe('a sensor fault (D flags) at a section during an incident', () => {
  it('gives no all-clear and no new incident; the valid readings after it close the incident', async () => {
    const s = await startNotifyStack(services, {
      pipeline: true,
      registry: spillRegistry(),
      incidents: true,
      recipients: (r) => {
        r.defaults.ack_timeout_min = 24 * 60;
      },
    });
    try {
      const clean = { NH3N: 0.3, DO: 7.5 };
      const plume = { NH3N: 5.1, DO: 7.5 };
      // sec-01 (km 10) over the limit h1–h4; sec-02 (km 22, 12 km on: 2.8–11.1 h) from h4.
      for (let h = 0; h <= 9; h++) {
        await s.publish('sec-01', T0 + h * H, h >= 1 && h <= 4 ? plume : clean);
        if (h <= 3) await s.publish('sec-02', T0 + h * H, clean);
        else if (h <= 5) await s.publish('sec-02', T0 + h * H, plume);
        // h6–h9: the NH3-N analyser at sec-02 is faulty while the plume is there.
        else await s.publish('sec-02', T0 + h * H, { NH3N: 0.2, DO: 7.5 }, { NH3N: 'D' });
      }
      // Three D flags in a row: the equipment notice (about the monitoring, not the river) is how we know the pipeline has seen them.
      await s.sink.waitFor(() => s.sink.to(ADDR.chengdu).some((m) => !header(m, 'x-tuojiang-incident')), 60_000, 'the equipment notice');
      await s.sink.waitFor(() => reportMails(s.sink.to(ADDR.chengdu)).length >= 2, 30_000, 'the 初报 and the 续报 of sec-02');
      await s.idle({ delayed: true });

      const store = new IncidentStore(s.redis, s.prefix);
      let incidents = await store.list();
      expect(incidents).toHaveLength(1);
      const inc = incidents[0];
      const sec1 = inc?.sections.find((x) => x.station === 'sec-01');
      const sec2 = inc?.sections.find((x) => x.station === 'sec-02');
      // sec-01 is back within limits; sec-02 still counts as over the limit while its analyser is faulty.
      expect(sec1?.backAt).not.toBeNull();
      expect(sec2?.observedAt).toBe(T0 + 4 * H);
      expect(sec2?.firing).toContain('limit.NH3N');
      expect(sec2?.backAt).toBeNull();
      expect(inc?.status).toBe('open');
      for (const addr of [ADDR.chengdu, ADDR.ziyang]) {
        const reports = reportMails(s.sink.to(addr));
        expect(
          reports.map((r) => r.kind),
          addr,
        ).not.toContain('final');
        expect(
          reports.filter((r) => r.kind === 'initial'),
          addr,
        ).toHaveLength(1);
        expect(reports.every((r) => r.incident === inc?.id)).toBe(true);
        expect(reports.map((r) => r.subject).join('\n')).not.toMatch(/终报|解除|RESOLVED|Final report/);
      }

      // The analyser is repaired: two valid readings back within limits clear sec-02, and the incident closes.
      for (const h of [10, 11, 12]) {
        await s.publish('sec-01', T0 + h * H, clean);
        await s.publish('sec-02', T0 + h * H, clean);
      }
      await s.sink.waitFor(() => reportMails(s.sink.to(ADDR.ziyang)).some((r) => r.kind === 'final'), 60_000, 'the 终报');
      await s.idle({ delayed: true });
      incidents = await store.list();
      expect(incidents).toHaveLength(1);
      expect(incidents[0]?.status).toBe('closed');
      expect(incidents[0]?.sections.find((x) => x.station === 'sec-02')?.backAt).toBeGreaterThanOrEqual(T0 + 10 * H);
      for (const addr of [ADDR.chengdu, ADDR.ziyang]) {
        expect(
          reportMails(s.sink.to(addr)).filter((r) => r.kind === 'final'),
          addr,
        ).toHaveLength(1);
      }
    } finally {
      await s.close();
    }
  }, 150_000);
});
