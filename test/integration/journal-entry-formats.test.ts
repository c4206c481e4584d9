/**
 * The writer reads both journal entry formats (ingest/journal-entry.ts) from a real Redis and
 * stores them in a real InfluxDB: rows, and 0.1.0's objects still in the stream after an upgrade.
 * An entry in neither is kept as a dead letter with its text, not skipped.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OBJECTS_FIELD, ROWS_FIELD, readingRows } from '../../ingest/journal-entry.js';
import type { IngestService } from '../../ingest/ingest-service.js';
import type { Reading } from '../../lib/reading.js';
import { deadLetters, eventually } from '../helpers/fixtures.js';
import { countPoints, startIngestStack, type IngestStack } from '../helpers/ingest-stack.js';

let stack: IngestStack;
let svc: IngestService;
let redis: Redis;

beforeAll(async () => {
  stack = await startIngestStack();
  svc = await stack.startIngest();
  redis = new Redis(stack.env.REDIS_URL);
}, 120_000);

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

it('stores readings journaled as rows and as 0.1.0 objects; dead-letters an entry in neither format', async () => {
  const station = stack.config.registry.stations.find((x) => x.kind === 'water')!;
  const t0 = Date.parse('2026-04-01T00:00:00Z');
  const reading = (ts: number, extra: Partial<Reading> = {}): Reading => ({
    station: station.id,
    city: station.city,
    medium: 'water',
    ts,
    period: 'rt',
    values: { NH3N: 0.4 },
    flags: {},
    source: 'json',
    ...extra,
  });
  const stream = svc.layout.journalStream;
  await redis.xadd(stream, '*', OBJECTS_FIELD, JSON.stringify([reading(t0), reading(t0 + 60_000)]));
  await redis.xadd(stream, '*', ROWS_FIELD, readingRows([reading(t0 + 120_000, { flags: { NH3N: 'M' }, extras: { NH3N_max: 0.6 } })]));
  await redis.xadd(stream, '*', 'x', '[1,2,3]');
  const where = `station = '${station.id}' AND time >= ${t0}ms AND time <= ${t0 + 120_000}ms`;
  await eventually(
    async () => ((await countPoints(stack.influx, 'water_quality', 'NH3N', where)) === 3 ? true : undefined),
    'three points',
  );
  expect(await countPoints(stack.influx, 'water_quality', 'NH3N_max', where)).toBe(1);
  const [dead] = await eventually(async () => {
    const l = await deadLetters(redis, 'TJ_INTERNAL');
    return l.length > 0 ? l : undefined;
  }, 'the dead letter of the unreadable entry');
  expect(dead!.message).toMatch(/unreadable journal entry .*field is "x"/);
  expect(dead!.payload).toBe('[1,2,3]');
  // Everything read was acknowledged: nothing left for the next start.
  await eventually(async () => ((await redis.xlen(stream)) === 0 ? true : undefined), 'an empty journal');
});
