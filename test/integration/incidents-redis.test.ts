/**
 * The incident model on real Redis and a real SMTP server: transitions in through the notify
 * queue as the outbox relay hands them over, reports out as e-mails. The spill, exactly-once under
 * several workers with duplicated and shuffled evidence, one thread per bureau, the close.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../alerts/events.js';
import { IncidentStore } from '../../alerts/incidents/store.js';
import { ADDR, alertEvent, startNotifyServices, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';
import { replay, replayClock } from '../helpers/incident-events.js';

const H = 3_600_000;
let services: NotifyServices;

beforeAll(async () => {
  services = await startNotifyServices(false);
});
afterAll(async () => {
  await services?.stopAll();
});

/** The demo's spill as transitions: NH3-N limit and class rules at five sections, hours apart. */
function spillEvents(t0: number): AlertEvent[] {
  const arrivals: Record<string, number> = { hongyuan: 0, shiqiao: 12, linjiangsi: 35, 'ziyang-city': 48, gongchengpu: 61 };
  const out: AlertEvent[] = [];
  for (const [station, h] of Object.entries(arrivals)) {
    const at = t0 + h * H;
    out.push({ ...alertEvent({ station, kind: 'firing', at, value: 40 / (1 + h / 20) }), breachSince: at - 600_000 });
    out.push(
      alertEvent({
        station,
        kind: 'firing',
        at: at + 300_000,
        rule: 'water_class',
        parameter: 'class',
        value: 6,
        limit: 3,
        detail: { cls: '劣V', target: 'III', limiting: ['NH3N'], basis: 'GB3838-2002' },
      }),
    );
    out.push(alertEvent({ station, kind: 'resolved', at: at + 6 * H, value: 0.6 }));
    out.push(
      alertEvent({
        station,
        kind: 'resolved',
        at: at + 6 * H + 300_000,
        rule: 'water_class',
        parameter: 'class',
        value: 3,
        limit: 3,
        detail: { cls: 'III', target: 'III', limiting: [], cause: ['NH3N'], basis: 'GB3838-2002' },
      }),
    );
  }
  return out;
}

describe('incidents on real Redis', () => {
  it('the spill: one incident, reports in one thread per bureau, a final report after the hold', async () => {
    const t0 = Date.now() - 70 * H;
    const speed = 3600;
    const clock = replayClock(speed);
    clock.set(t0);
    const stack = await startNotifyStack(services, {
      notify: { now: clock.now, timeScale: speed },
      incidents: true,
      recipients: (r) => {
        r.incidents.reorder_s = 0;
      },
    });
    try {
      await replay(stack, clock, spillEvents(t0));
      await stack.sink.waitFor(
        () => [ADDR.chengdu, ADDR.ziyang].every((a) => stack.sink.to(a).some((x) => /终报/.test(x.parsed.subject ?? ''))),
        30_000,
        'the final report to both duty offices',
      );
      await stack.idle();
      const duty = stack.sink.to(ADDR.ziyang);
      const subjects = duty.map((m) => m.parsed.subject ?? '');
      expect(subjects[0]).toMatch(/^【初报】沱江氨氮污染 宏缘 峰值 40 mg\/L 超标 39 倍/);
      expect(subjects.filter((s) => /终报/.test(s))).toHaveLength(1);
      expect(subjects[subjects.length - 1]).toMatch(/终报/);
      // one thread: every report after the first refers to the first
      const first = duty[0]?.parsed.messageId;
      for (const m of duty.slice(1)) expect(String(m.parsed.headers.get('references') ?? '')).toContain(first);
      const store = new IncidentStore(stack.redis, stack.prefix);
      const list = await store.list();
      expect(list).toHaveLength(1);
      expect(list[0]?.status).toBe('closed');
    } finally {
      await stack.close();
    }
  });
});
