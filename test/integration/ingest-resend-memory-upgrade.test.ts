/**
 * An upgrade from 0.1.0, which kept the first values of each reading under a string key of its own:
 * the new ingest, started on that Redis, says it reads those keys, and a re-send of a reading
 * first stored by 0.1.0 is still a correction, against real Mosquitto, Redis and InfluxDB
 * (docs/decisions/0009-corrections.md, point 6).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readingLine } from '../../ingest/reading-to-point.js';
import { deadLetters, eventually, jsonPayload, pointsAt } from '../helpers/fixtures.js';
import { startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

let stack: IngestStack;
let redis: Redis;
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  stack = await startIngestStack();
  redis = new Redis(stack.env.REDIS_URL);
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  redis?.disconnect();
  await stack?.stop();
});

it('reads first values kept by 0.1.0 for one window, says so at start, and still records a re-send with other values as a correction', async () => {
  const stream = stack.config.settings.journal.stream;
  const ts = Date.parse('2025-09-02T05:00:00Z');
  const first = { station: 'hongyuan', city: 'chengdu', medium: 'water' as const, ts, period: 'rt' as const, source: 'json' as const };
  // What 0.1.0 left: the stored point and, under its key of one reading, the first values as text.
  await stack.influx.ensureDatabase();
  await stack.influx.writeLines([readingLine({ ...first, values: { NH3N: 51.3, pH: 7.1 }, flags: {} })]);
  await redis.set(`${stream}:first:hongyuan:rt:${ts}`, 'NH3N=51.3;pH=7.1', 'EX', 7 * 24 * 3600);

  child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'cli', 'main.ts'), 'ingest', '--no-checks'], {
    env: { ...stack.childEnv(), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [child.stdout!, child.stderr!]) s.setEncoding('utf8').on('data', (d: string) => (output += d));
  const line = await waitFor(
    () => output.split('\n').find((l) => l.includes('re-send memory')),
    60_000,
    'the ingest saying it reads the old keys',
  );
  const logged = JSON.parse(line!) as { legacyUntil: string; firstStart: boolean; msg: string };
  expect(logged.firstStart).toBe(true);
  const until = Date.parse(logged.legacyUntil);
  expect(until).toBeGreaterThan(Date.now() + 7 * 24 * 3600_000 - 120_000);
  expect(until).toBeLessThanOrEqual(Date.now() + 7 * 24 * 3600_000);
  expect(logged.msg).toContain('0.1.0');

  const pub = await stack.publisher();
  await pub.publishAsync('tuojiang/water/hongyuan', jsonPayload({ ts, values: { NH3N: 0.31, pH: 7.1, TP: 0.05 } }), { qos: 1 });
  const [c] = await eventually(async () => {
    const l = (await deadLetters(redis, 'TJ_READING_CORRECTED')).filter((d) => d.station === 'hongyuan');
    return l.length > 0 ? l : undefined;
  }, 'the correction record');
  expect(c).toMatchObject({ details: { changes: [{ parameter: 'NH3N', stored: '51.3', resent: '0.31' }] } });
  // The first value stays; the new parameter is merged.
  const rows = await eventually(async () => {
    const found = await pointsAt(stack.influx, 'water_quality', 'hongyuan', ts);
    return found[0]?.TP !== undefined ? found : undefined;
  }, 'TP merged into the stored point');
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ NH3N: 51.3, pH: 7.1, TP: 0.05 });
});
