/**
 * Two unrelated spills at once, one on the Tuojiang and one on a tributary (the Qingbai, four
 * sections across both cities), with real Redis and a real SMTP server: two incidents, two
 * threads per bureau, and nothing of one spill in the other's reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentStore } from '../../alerts/incidents/store.js';
import { RegistrySchema, type RegistryConfig } from '../../config/schema.js';
import { arrives, byTime, clears, replay, replayClock } from '../helpers/incident-events.js';
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

/** The ten-section Tuojiang plus the Qingbai: km 5 and 15 in Chengdu, 25 and 35 in Ziyang. */
function twoRivers(): RegistryConfig {
  const base = spillRegistry();
  const qingbai = [5, 15, 25, 35].map((km, i) => ({
    id: `qb-0${i + 1}`,
    name: { zh: `青白${i + 1}号`, en: `Qingbai ${i + 1}` },
    city: i < 2 ? 'chengdu' : 'ziyang',
    kind: 'water' as const,
    river: 'qingbai',
    river_km: km,
    coordinates: { lat: 30.9 - i * 0.05, lon: 104.3 + i * 0.05 },
    mn: `QINGBAI${String(i + 1).padStart(5, '0')}`,
    target_class: 'III' as const,
    waterbody: 'river' as const,
    boundary: i === 2,
  }));
  return RegistrySchema.parse({
    ...base,
    rivers: { ...base.rivers, qingbai: { zh: '青白江', en: 'Qingbai River' } },
    stations: [...base.stations, ...qingbai],
  });
}

describe('two spills on two rivers at once', () => {
  it('are two incidents, two threads per bureau, and neither report names the other river', async () => {
    const registry = twoRivers();
    const t0 = Date.now() - 100 * H;
    const speed = 3600;
    const clock = replayClock(speed);
    clock.set(t0);
    const stack = await startNotifyStack(services, {
      registry,
      incidents: true,
      notify: { now: clock.now, timeScale: speed },
      rivers: { qingbai: { reaches: [{ from_km: 0, to_km: 40, velocity: { min_m_s: 0.3, max_m_s: 1.2 } }] } },
      recipients: (r) => {
        r.incidents.reorder_s = 0;
      },
    });
    try {
      // Tuojiang: km 46 → 58 → 70, 8 h apart (12 km of slow river: 5.6–33 h). Qingbai: km 5 → 35, 3 h apart (10 km: 2.3–9.3 h).
      const tuojiang = [
        ['sec-04', 0],
        ['sec-05', 8],
        ['sec-06', 16],
      ] as const;
      const qingbai = [
        ['qb-01', 1],
        ['qb-02', 4],
        ['qb-03', 7],
        ['qb-04', 10],
      ] as const;
      const events = byTime([
        ...tuojiang.flatMap(([s, h]) => arrives(registry, s, t0 + h * H, 12 - h / 4)),
        ...qingbai.flatMap(([s, h]) => arrives(registry, s, t0 + h * H, 6 - h / 4)),
        // Both plumes last; every section is back within limits three days in.
        ...[...tuojiang, ...qingbai].flatMap(([s], k) => clears(registry, s, t0 + 72 * H + k * 60_000)),
      ]);
      await replay(stack, clock, events);
      // Two final reports to each duty office (the escalation lists get copies of them too).
      const duty = new Set<string>([ADDR.chengdu, ADDR.ziyang]);
      await stack.sink.waitFor(
        (m) => reportMails(m.filter((x) => x.envelope.to.some((t) => duty.has(t)))).filter((r) => r.kind === 'final').length >= 4,
        40_000,
        'two final reports to each bureau',
      );
      await stack.idle();

      const store = new IncidentStore(stack.redis, stack.prefix);
      const incidents = await store.list();
      expect(incidents.map((i) => i.scope).sort()).toEqual(['r.qingbai.nitrogen', 'r.tuojiang.nitrogen']);
      const tj = incidents.find((i) => i.river === 'tuojiang');
      const qb = incidents.find((i) => i.river === 'qingbai');
      // Each track holds its own river's sections only, and saw exactly its own arrivals.
      expect(tj?.sections.filter((s) => s.observedAt !== null).map((s) => s.station)).toEqual(['sec-04', 'sec-05', 'sec-06']);
      expect(qb?.sections.map((s) => s.station)).toEqual(['qb-01', 'qb-02', 'qb-03', 'qb-04']);
      expect(qb?.sections.every((s) => s.observedAt !== null)).toBe(true);
      expect(incidents.every((i) => i.status === 'closed' && i.misses.length === 0)).toBe(true);

      for (const addr of [ADDR.chengdu, ADDR.ziyang]) {
        const threads = byIncident(reportMails(stack.sink.to(addr)));
        expect([...threads.keys()].sort(), addr).toEqual([qb?.id, tj?.id].sort());
        for (const [id, reports] of threads) {
          expectOneThread(reports);
          expect(
            reports.filter((r) => r.kind === 'initial'),
            `${addr} ${id}`,
          ).toHaveLength(1);
          expect(
            reports.filter((r) => r.kind === 'final'),
            `${addr} ${id}`,
          ).toHaveLength(1);
          const mine = id === tj?.id ? /沱江|Tuojiang/ : /青白江|Qingbai/;
          const other = id === tj?.id ? /青白|Qingbai|qb-0/ : /沱江|Tuojiang|断面\d|Section \d|sec-\d/;
          for (const r of reports) {
            expect(r.subject).toMatch(mine);
            expect(r.subject, r.subject).not.toMatch(other);
            expect(r.text, `${addr} ${r.subject}`).not.toMatch(other);
          }
        }
        // Every section reached got its 续报 in its own thread.
        const reached = (id: string | undefined) =>
          (threads.get(id ?? '') ?? [])
            .filter((r) => r.kind === 'followup')
            .map((r) => /污染团到达 (\S+)/.exec(r.text)?.[1])
            .filter(Boolean);
        expect(reached(tj?.id)).toEqual(['断面5', '断面6']);
        expect(reached(qb?.id)).toEqual(['青白2号', '青白3号', '青白4号']);
      }
    } finally {
      await stack.close();
    }
  }, 90_000);
});
