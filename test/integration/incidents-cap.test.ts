/**
 * CAP 1.2 of an incident, as the notify workers store and attach it (real Redis, real SMTP
 * server): every message valid; one identifier chain, Alert → Update … → Cancel, each
 * referencing every earlier message; one <incidents> value; <expires> on every message; urgency
 * Immediate exactly when the next section's window starts within 3 hours of the report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capSummary, parseXml, validateCap, type XmlElement } from '../../alerts/notify/cap-validate.js';
import { IncidentStore } from '../../alerts/incidents/store.js';
import { arrives, byTime, clears, replay, startReplayStack } from '../helpers/incident-events.js';
import { reportMails } from '../helpers/incident-mail.js';
import { ADDR, spillRegistry, startNotifyServices, type NotifyServices } from '../helpers/notify-stack.js';

const H = 3_600_000;
let services: NotifyServices;

beforeAll(async () => {
  services = await startNotifyServices(false);
}, 120_000);
afterAll(async () => {
  await services?.stopAll();
});

const child = (e: XmlElement, name: string): XmlElement[] => e.children.filter((c) => c.name === name);
const textOf = (e: XmlElement, name: string): string | undefined => child(e, name)[0]?.text;

function parameters(info: XmlElement): Array<[string, string]> {
  return child(info, 'parameter').map((p) => [textOf(p, 'valueName') ?? '', textOf(p, 'value') ?? '']);
}

describe('the CAP messages of an incident', () => {
  it('are valid and form one chain: Alert, Updates, Cancel; expires on each; urgency by the time to the next section', async () => {
    const registry = spillRegistry();
    const { t0, clock, stack } = await startReplayStack(services, { registry, hoursAgo: 50, speed: 1800 });
    try {
      // 12 km in 8 h (0.42 m/s): the first window (configured, from 2.8 h) is under 3 h away, the
      // ones from the observed speed are not.
      const events = byTime([
        ...arrives(registry, 'sec-01', t0, 12),
        ...arrives(registry, 'sec-02', t0 + 8 * H, 10),
        ...arrives(registry, 'sec-03', t0 + 16 * H, 8),
        ...['sec-01', 'sec-02', 'sec-03'].flatMap((s, k) => clears(registry, s, t0 + 22 * H + k * 60_000)),
      ]);
      await replay(stack, clock, events);
      await stack.sink.waitFor(() => reportMails(stack.sink.to(ADDR.ziyang)).some((r) => r.kind === 'final'), 40_000, 'the final report');
      await stack.idle();

      const [inc] = await new IncidentStore(stack.redis, stack.prefix).list();
      if (!inc) throw new Error('no incident');
      expect(inc.seq).toBeGreaterThanOrEqual(4);
      const docs: string[] = [];
      for (let n = 1; n <= inc.seq; n++) docs.push((await stack.notify?.store.cap(`${inc.id}.r${n}`)) ?? '');
      // The e-mails carry the same documents.
      for (const m of reportMails(stack.sink.to(ADDR.ziyang))) {
        const att = m.mail.parsed.attachments.filter((a) => a.contentType === 'application/cap+xml').map((a) => a.content.toString('utf8'));
        expect(att).toEqual([docs[m.seq - 1]]);
      }

      const summaries = docs.map((x) => capSummary(x));
      for (const x of docs) expect(validateCap(x)).toEqual([]);
      expect(summaries.map((s) => s.msgType)).toEqual(['Alert', ...Array.from({ length: inc.seq - 2 }, () => 'Update'), 'Cancel']);
      expect(new Set(summaries.map((s) => s.identifier)).size).toBe(inc.seq);
      summaries.forEach((s, k) => {
        expect(s.references).toEqual(summaries.slice(0, k).map((e) => `${e.sender},${e.identifier},${e.sent}`));
      });
      const roots = docs.map((x) => parseXml(x));
      expect(new Set(roots.map((r) => textOf(r, 'incidents'))).size).toBe(1);
      expect(roots.every((r) => child(r, 'incidents').length === 1)).toBe(true);

      const urgencies: string[] = [];
      roots.forEach((root, k) => {
        const infos = child(root, 'info');
        expect(infos.length).toBeGreaterThan(0);
        for (const info of infos) {
          const effective = Date.parse(textOf(info, 'effective') ?? '');
          const expires = Date.parse(textOf(info, 'expires') ?? '');
          expect(expires, `message ${k + 1}`).toBeGreaterThan(effective);
          const urgency = textOf(info, 'urgency');
          if (k === roots.length - 1) {
            expect(urgency).toBe('Past');
            expect(textOf(info, 'responseType')).toBe('AllClear');
            continue;
          }
          const starts = parameters(info)
            .filter(([n]) => n.startsWith('tuojiang:arrival:'))
            .map(([, v]) => Date.parse(v.split('/')[0] ?? ''));
          expect(starts.length, `message ${k + 1} gives windows ahead`).toBeGreaterThan(0);
          const soonest = Math.min(...starts) - effective;
          expect(urgency, `message ${k + 1}: next window ${soonest / H} h away`).toBe(soonest < 3 * H ? 'Immediate' : 'Expected');
        }
        urgencies.push(textOf(infos[0] as XmlElement, 'urgency') ?? '');
      });
      // Both sides of the 3 h line occur in this spill.
      expect(urgencies).toContain('Immediate');
      expect(urgencies).toContain('Expected');
    } finally {
      await stack.close();
    }
  }, 90_000);
});
