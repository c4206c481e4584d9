/**
 * A rule flapping at the threshold (fires, clears, fires again every 20 minutes for 13 hours),
 * with real Redis and a real SMTP server: one incident, a bounded number of e-mails (the 初报, a
 * follow-up at most every `report_every_min`, the 终报), never an all-clear between two flaps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../alerts/incidents/store.js';
import { replay, replayClock, transition } from '../helpers/incident-events.js';
import { byIncident, expectOneThread, reportMails } from '../helpers/incident-mail.js';
import { ADDR, spillRegistry, startNotifyServices, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';

const H = 3_600_000;
const MIN = 60_000;
let services: NotifyServices;

beforeAll(async () => {
  services = await startNotifyServices(false);
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
});

describe('a rule flapping at the threshold', () => {
  // At the last section (nothing ahead), so the close waits for the hold alone, not for a window downstream to pass.
  it('is one incident and no report storm', async () => {
    const registry = spillRegistry();
    const t0 = Math.floor(Date.now() / H) * H - 40 * H;
    // Slow enough that the two-hour hold (12 s of wall time) outlasts any pause of a loaded machine between two flaps.
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
      const cycles = 40;
      const events = [transition(registry, { station: 'sec-10', kind: 'firing', at: t0, value: 1.06, breachSince: t0 - 10 * MIN })];
      for (let k = 1; k <= cycles; k++) {
        events.push(transition(registry, { station: 'sec-10', kind: 'resolved', at: t0 + k * 20 * MIN, value: 0.94 }));
        if (k < cycles)
          events.push(
            transition(registry, { station: 'sec-10', kind: 'firing', at: t0 + k * 20 * MIN + 10 * MIN, value: 1.04 + (k % 3) * 0.01 }),
          );
      }
      await replay(stack, clock, events);
      // Every flap was handed over before the final report could be due.
      const last = events[events.length - 1]?.at as number;
      await stack.sink.waitFor(() => reportMails(stack.sink.to(ADDR.ziyang)).some((r) => r.kind === 'final'), 60_000, 'the final report');
      await stack.idle();

      const incidents = await new IncidentStore(stack.redis, stack.prefix).list();
      expect(incidents).toHaveLength(1);
      expect(incidents[0]?.closedAt).toBeGreaterThanOrEqual(last + 120 * MIN);
      const spanMin = (last - t0) / MIN;
      const policy = stack.config.recipients.incidents;
      const bound = 1 + Math.ceil(spanMin / policy.report_every_min) + 1;
      // The last section, in Ziyang: nothing downstream, so nobody upstream is told.
      expect(stack.sink.to(ADDR.chengdu)).toHaveLength(0);
      for (const addr of [ADDR.ziyang]) {
        const reports = reportMails(stack.sink.to(addr));
        expect(byIncident(reports).size).toBe(1);
        expectOneThread(reports);
        expect(reports.filter((r) => r.kind === 'initial')).toHaveLength(1);
        expect(reports.filter((r) => r.kind === 'final')).toHaveLength(1);
        expect(reports[reports.length - 1]?.kind).toBe('final');
        expect(reports.length, reports.map((r) => r.subject).join('\n')).toBeLessThanOrEqual(bound);
        // No e-mail of any other kind either (a per-transition notice would be one per flap).
        expect(stack.sink.to(addr)).toHaveLength(reports.length);
      }
    } finally {
      await stack.close();
    }
  }, 120_000);
});
