/**
 * A front faster than the configured velocity, with real Redis and a real SMTP server: it is the
 * same plume (no second 初报), the report after the early arrival says so, and the windows ahead
 * widen to hold both what was observed and what the river model says, so that the next arrival
 * (slower again) falls inside the window given for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseXml, validateCap, type XmlElement } from '../../alerts/notify/cap-validate.js';
import { IncidentStore } from '../../alerts/incidents/store.js';
import { arrives, replay, replayClock } from '../helpers/incident-events.js';
import { byIncident, expectOneThread, reportMails } from '../helpers/incident-mail.js';
import { ADDR, spillRegistry, startNotifyServices, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';

const H = 3_600_000;
let services: NotifyServices;

beforeAll(async () => {
  services = await startNotifyServices(false);
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
});

/** The arrival windows a CAP message gives (`tuojiang:arrival:{station}` = from/to), by station. */
function capWindows(xml: string): Record<string, { from: number; to: number }> {
  const info = parseXml(xml).children.find((c) => c.name === 'info') as XmlElement;
  const out: Record<string, { from: number; to: number }> = {};
  for (const p of info.children.filter((c) => c.name === 'parameter')) {
    const name = p.children.find((c) => c.name === 'valueName')?.text ?? '';
    const value = p.children.find((c) => c.name === 'value')?.text ?? '';
    if (!name.startsWith('tuojiang:arrival:')) continue;
    const [from = '', to = ''] = value.split('/');
    out[name.slice('tuojiang:arrival:'.length)] = { from: Date.parse(from), to: Date.parse(to) };
  }
  return out;
}

describe('a front faster than the configured velocity', () => {
  it('joins the incident, the next report names the miss, and the windows ahead widen', async () => {
    const registry = spillRegistry();
    const t0 = Math.floor(Date.now() / H) * H - 50 * H;
    const speed = 600;
    const clock = replayClock(speed);
    clock.set(t0);
    const stack = await startNotifyStack(services, {
      registry,
      incidents: true,
      notify: { now: clock.now, timeScale: speed },
      recipients: (r) => {
        r.incidents.reorder_s = 0;
        r.defaults.ack_timeout_min = 24 * 60;
      },
    });
    try {
      // Sections 12 km apart in the fast reach (configured 0.3–1.2 m/s: 2.8–11.1 h). The front does
      // sec-01 → sec-02 in 1 h (3.3 m/s, early), then sec-02 → sec-03 in 2.5 h (1.3 m/s).
      const arrivals = [
        ['sec-01', 0],
        ['sec-02', 1],
        ['sec-03', 3.5],
      ] as const;
      const events = arrivals.flatMap(([s, h]) => arrives(registry, s, t0 + h * H, 9));
      await replay(stack, clock, events);
      await stack.sink.waitFor(() => reportMails(stack.sink.to(ADDR.ziyang)).length >= 3, 30_000, 'three reports');
      await stack.idle();

      const incidents = await new IncidentStore(stack.redis, stack.prefix).list();
      expect(incidents).toHaveLength(1);
      const inc = incidents[0];
      if (!inc) throw new Error('no incident');
      expect(inc.misses.map((m) => m.station)).toEqual(['sec-02']);
      expect(inc.sections.find((s) => s.station === 'sec-02')?.miss).toBe('early');

      for (const addr of [ADDR.chengdu, ADDR.ziyang]) {
        const reports = reportMails(stack.sink.to(addr));
        expect(byIncident(reports).size).toBe(1);
        expectOneThread(reports);
        expect(reports.map((r) => r.kind)).toEqual(['initial', 'followup', 'followup']);
        const [, early] = reports;
        expect(early?.text).toContain('到达时间早于预计');
        expect(early?.text).toContain('arrived earlier than expected');
        expect(early?.text).toContain('后续预计已放宽');
        expect(early?.text).toContain('windows ahead widened');
        // The track table marks the section that was reached early.
        expect(early?.text).toMatch(/断面2 \| 成都市 \| 22 \| [^|]+ \| [^|]+（早于预计）/);
      }

      // The window given for sec-03 after the miss holds both the observed speed (±25%: 0.8–1.33 h
      // for 12 km) and the configured range (2.8–11.1 h), counted from sec-02's arrival.
      const store = stack.notify?.store;
      const r1 = (await store?.cap(`${inc.id}.r1`)) ?? '';
      const r2 = (await store?.cap(`${inc.id}.r2`)) ?? '';
      expect(validateCap(r2)).toEqual([]);
      const before = capWindows(r1)['sec-03'];
      const after = capWindows(r2)['sec-03'];
      if (!before || !after) throw new Error('no window for sec-03');
      const front = t0 + H;
      expect(after.from).toBeLessThanOrEqual(front + 0.8 * H);
      expect(after.to).toBeGreaterThanOrEqual(front + (12_000 / 0.3) * 1000 - 60_000);
      expect(after.to - after.from).toBeGreaterThan((12_000 / (3.3333 * 0.75) - 12_000 / (3.3333 * 1.25)) * 1000);
      // Anchored on the observed front, not on the first report's window.
      expect(after.from).toBeLessThan(before.from);
      // And the slower arrival that followed fell inside it.
      const s3 = inc.sections.find((s) => s.station === 'sec-03');
      expect(s3?.miss).toBeNull();
      expect(s3?.observedAt).toBe(t0 + 3.5 * H);
      expect(s3?.predicted).toEqual({ from: after.from, to: after.to });
    } finally {
      await stack.close();
    }
  }, 90_000);
});
