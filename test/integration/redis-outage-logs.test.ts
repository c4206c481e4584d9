import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../devtools/local-services/index.js';
import { makeBurst } from '../helpers/burst.js';
import { countPoints, publishAll, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

/*
 * Issue 15, item 5: during a Redis outage BullMQ's queue (the ingest's check enqueuer) and ioredis
 * printed raw stacks among the JSON log lines, several per second. Every line must be JSON, no
 * message may carry a stack, each source warns at most once per 10 s, and the end of the outage
 * is logged once with its duration.
 */
const N = 4000;
const ROOT = join(import.meta.dirname, '..', '..');
let stack: IngestStack | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stack?.stop();
  stack = undefined;
});

describe('logs during a Redis outage', () => {
  it('are JSON only, rate-limited per source, and say once when Redis is back and after how long', async () => {
    stack = await startIngestStack();
    const s = stack;
    const port = await freePort();
    // With checks on (the default): the check enqueuer's BullMQ queue is one of the noisy sources.
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), 'ingest'], {
      cwd: ROOT,
      env: { ...s.childEnv(), HTTP_PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000, 'ingest ready');

    const burst = makeBurst(N, Date.parse('2026-04-04T00:00:00Z'));
    const pub = await s.publisher('outage-logs-publisher');
    let stopped: Promise<void> | undefined;
    const publishing = publishAll(pub, burst, 500, (sent) => {
      if (sent === N / 4) stopped = s.services.redis.stop();
    });
    await publishing;
    await stopped;
    // Long enough for ioredis to fail many reconnects (every 50 ms to 2 s) on every connection.
    await new Promise((r) => setTimeout(r, 4000));
    await s.services.redis.start();
    const from = burst[0]!.ts;
    const to = burst[burst.length - 1]!.ts;
    await waitFor(
      async () => (await countPoints(s.influx, 'water_quality', 'NH3N', `time >= ${from}ms AND time <= ${to}ms`)) >= N,
      120_000,
      `all ${N} readings in InfluxDB`,
      250,
    );
    const outageLines = out.split('\n').filter((l) => l.trim() !== '');
    const notJson = outageLines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson.slice(0, 5)).toEqual([]);

    await waitFor(
      () =>
        /check enqueuer/.test(
          out
            .split('\n')
            .filter((l) => l.includes('redis reconnected after'))
            .join(''),
        ),
      30_000,
      'the reconnected lines',
    );
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    const records = lines.map((l) => JSON.parse(l) as { msg?: string; source?: string; err?: string; downS?: number });
    expect(records.filter((r) => /\n\s+at /.test(`${r.msg ?? ''}${r.err ?? ''}`))).toEqual([]);

    const warnings = records.filter((r) => /redis unavailable$/.test(r.msg ?? ''));
    expect(warnings.length).toBeGreaterThan(0);
    const perSource = new Map<string, number>();
    for (const w of warnings) perSource.set(w.source!, (perSource.get(w.source!) ?? 0) + 1);
    // The outage lasted about 5 s: at most one warning per 10 s window, so 1, or 2 across a boundary.
    for (const [source, n] of perSource) expect(n, source).toBeLessThanOrEqual(2);
    expect(perSource.has('checks queue')).toBe(true);

    const reconnected = records.filter((r) => /^redis reconnected after \d+(\.\d)? s$/.test(r.msg ?? ''));
    expect(reconnected.map((r) => r.source).sort()).toEqual(['check enqueuer', 'ingest']);
    for (const r of reconnected) expect(r.downS).toBeGreaterThan(1);
  }, 240_000);
});
