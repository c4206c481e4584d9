import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoSummary } from '../../demo/run-demo.js';

/*
 * Issue #7: the demo end to end — real services, the spill replay, alerts and e-mails — asserting on
 * its summary and on the .eml files it saved. A shorter replay than `npm run demo` (20 s, not 60 s).
 */
const out = mkdtempSync(join(tmpdir(), 'tuojiang-demo-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run demo', () => {
  let summary: DemoSummary;
  const lines: string[] = [];

  it('replays the spill and stores every valid reading, rejecting only the deliberately broken ones', async () => {
    summary = await runDemo({ outDir: out, seconds: 20, settleSeconds: 60, seed: 2004, print: (l) => lines.push(l) });
    expect(summary.readings).toBeGreaterThan(1000);
    expect(summary.stored).toBe(summary.readings);
    expect(summary.rejected).toBe(summary.published - summary.readings);
    expect(lines.some((l) => l.startsWith('summary'))).toBe(true);
    expect(lines.at(-1)).toBe('stopping everything the demo started…');
  }, 240_000);

  it('raises alerts at the sections the plume passes and resolves them', () => {
    expect(summary.alerts['limit:firing'] ?? 0).toBeGreaterThanOrEqual(5);
    expect(summary.alerts['limit:resolved'] ?? 0).toBeGreaterThanOrEqual(5);
    const firing = lines.filter((l) => / ALERT FIRING \S+ NH3N \[limit\]/.test(l)).map((l) => l.split(' ALERT FIRING ')[1]!.split(' ')[0]);
    for (const s of ['hongyuan', 'shiqiao', 'linjiangsi', 'ziyang-city', 'gongchengpu']) expect(firing).toContain(s);
  });

  it('e-mails both bureaus, Ziyang with an arrival estimate for an upstream Chengdu section, and saves each e-mail', async () => {
    const ziyang = summary.emailsPerBureau['duty@sthj.ziyang.example'] ?? 0;
    const chengdu = summary.emailsPerBureau['duty@sthj.chengdu.example'] ?? 0;
    expect(ziyang).toBeGreaterThan(0);
    expect(chengdu).toBeGreaterThan(0);
    const files = readdirSync(summary.mailDir).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBe(summary.emails);
    const mails = await Promise.all(files.map(async (f) => simpleParser(readFileSync(join(summary.mailDir, f)))));
    const toZiyang = mails.filter((m) => JSON.stringify(m.to).includes('duty@sthj.ziyang.example'));
    const upstreamFiring = toZiyang.find((m) => /宏缘|Hongyuan/.test(m.subject ?? '') && !/解除|RESOLVED/.test(m.subject ?? ''));
    expect(upstreamFiring, 'a firing notice about Hongyuan (Chengdu) sent to Ziyang').toBeDefined();
    expect(upstreamFiring!.text).toMatch(/Expected at your first section/);
    // Resolutions are told too; at this replay speed they may share a grouped e-mail with other news.
    expect(mails.filter((m) => /解除|RESOLVED|[Rr]esolved/.test(m.text ?? ''))).not.toEqual([]);
    // Chinese first, English second.
    const text = upstreamFiring!.text ?? '';
    expect(text.search(/[\u4e00-\u9fff]/)).toBeLessThan(text.search(/Arrival|Expected/));
  });
});
