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
    // The checks read the thresholds from the versioned store, as in production, not the file.
    expect(summary.thresholdVersion).toBe(1);
    expect(lines).toContain('thresholds: version 1 of the store (seeded from config/thresholds.yaml)');
    // Ziyang's air stations reported as HJ 212 loggers over TCP (stored above with everything else).
    expect(lines.some((l) => /^HJ 212 over TCP on 127\.0\.0\.1:\d+: ziyang-shijian, ziyang-yanjiang report/.test(l))).toBe(true);
    expect(lines.at(-1)).toBe('stopping everything the demo started…');
  }, 240_000);

  it('raises alerts at the sections the plume passes and resolves them', () => {
    expect(summary.alerts['limit:firing'] ?? 0).toBeGreaterThanOrEqual(5);
    expect(summary.alerts['limit:resolved'] ?? 0).toBeGreaterThanOrEqual(5);
    const firing = lines.filter((l) => / ALERT FIRING \S+ NH3N \[limit\]/.test(l)).map((l) => l.split(' ALERT FIRING ')[1]!.split(' ')[0]);
    for (const s of ['hongyuan', 'shiqiao', 'linjiangsi', 'ziyang-city', 'gongchengpu']) expect(firing).toContain(s);
    // Values as a person reads them: 8.149, not the sum's 8.149000000000001.
    const alertLines = lines.filter((l) => / ALERT (FIRING|RESOLVED) /.test(l));
    expect(alertLines.length).toBeGreaterThan(0);
    for (const l of alertLines) expect(l).not.toMatch(/\d\.\d{7,}/);
  });

  it('tells each bureau of the spill as one incident: few e-mails, one thread, 初报 … 终报', async () => {
    const cd = summary.bureaus.chengdu;
    const zy = summary.bureaus.ziyang;
    expect(cd?.incidents).toBe(1);
    expect(zy?.incidents).toBe(1);
    // Issue 10's budget for the duty lists (escalations counted apart).
    expect(cd?.dutyEmails).toBeGreaterThan(0);
    expect(cd?.dutyEmails).toBeLessThanOrEqual(8);
    expect(zy?.dutyEmails).toBeLessThanOrEqual(11);
    expect(cd?.threads).toBe(1);
    expect(zy?.threads).toBe(1);
    for (const b of [cd, zy]) {
      expect(b?.reports.initial).toBe(1);
      expect(b?.reports.final).toBe(1);
    }
    const files = readdirSync(summary.mailDir).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBe(summary.emails);
  });

  it('Ziyang reads the intake window in every report before the front reaches it, and no all-clear comes early', async () => {
    const files = readdirSync(summary.mailDir)
      .filter((f) => f.endsWith('.eml'))
      .sort();
    const mails = await Promise.all(files.map(async (f) => simpleParser(readFileSync(join(summary.mailDir, f)))));
    const toZiyang = mails.filter((m) => JSON.stringify(m.to).includes('duty@sthj.ziyang.example'));
    const seq = (m: (typeof mails)[number]): number => Number(String(m.headers.get('x-tuojiang-report') ?? '').split(' ')[1] ?? 0);
    toZiyang.sort((a, b) => seq(a) - seq(b));
    const first = toZiyang[0];
    expect(first?.subject).toMatch(/^【初报】沱江氨氮污染 宏缘/);
    // Chinese first, English second.
    const text = first?.text ?? '';
    expect(text.search(/[\u4e00-\u9fff]/)).toBeLessThan(text.search(/Next intake|Summary/));
    const reached = summary.incidents[0]?.sections.find((s) => s.station === 'ziyang-city')?.observedAt ?? Infinity;
    for (const m of toZiyang) {
      const at = Number(String(m.headers.get('x-tuojiang-report-at') ?? '0'));
      if (at < reached) expect(m.text, m.subject).toMatch(/贵市取水口 资阳城区取水口：预计 \d\d-\d\d \d\d:\d\d–/);
    }
    // The final report comes last, after every section the plume reached was back within limits.
    const last = toZiyang[toZiyang.length - 1];
    expect(last?.subject).toMatch(/^【终报】/);
    const inc = summary.incidents[0];
    expect(inc?.status).toBe('closed');
    for (const s of inc?.sections ?? []) {
      if (s.observedAt === null) continue;
      expect(s.backAt, s.station).not.toBeNull();
      expect(inc?.closedAt as number).toBeGreaterThanOrEqual(s.backAt as number);
    }
  });

  it('every observed arrival falls inside the window of the report before it', () => {
    const inc = summary.incidents[0];
    const reached = (inc?.sections ?? []).filter((s) => s.observedAt !== null && s.station !== inc?.origin);
    expect(reached.map((s) => s.station)).toEqual(['shiqiao', 'linjiangsi', 'ziyang-city', 'gongchengpu']);
    for (const s of reached) {
      expect(s.predicted, s.station).not.toBeNull();
      expect(s.observedAt as number, s.station).toBeGreaterThanOrEqual(s.predicted?.from as number);
      expect(s.observedAt as number, s.station).toBeLessThanOrEqual(s.predicted?.to as number);
    }
  });
});
