/**
 * A journal read whose reply is lost: Redis delivered entries to the writer's consumer (they are in
 * its pending list, and in the AOF), then the connection dropped before the answer arrived — what a
 * Redis crash or a network cut does to the writer's blocking XREADGROUP. ioredis re-sends the read on
 * the new connection, which asks for entries never delivered (`>`), so those stayed pending until
 * another writer's XAUTOCLAIM after `claim_idle_ms` (a minute by default; a spill's alert with them).
 * After a reconnect the writer first reads back what is pending to itself.
 *
 * The lost reply is made exactly: one transaction adds an entry and reads it as the writer's
 * consumer (so the writer's own blocked read is not served it), then every client connection is
 * killed. `claim_idle_ms` is ten minutes, so only the writer's own read-back can store it in time.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../lib/reading.js';
import { countPoints, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

let stack: IngestStack | undefined;
let side: Redis | undefined;

afterEach(async () => {
  side?.disconnect();
  side = undefined;
  await stack?.stop();
  stack = undefined;
});

describe('journal writer, a read whose reply was lost', () => {
  it('stores the entries delivered to it once its connection is back, without waiting for a claim', async () => {
    stack = await startIngestStack();
    const s = stack;
    const base = s.config;
    const config = {
      ...base,
      settings: { ...base.settings, writer: { ...base.settings.writer, claim_idle_ms: 600_000 } },
    };
    const svc = await s.startIngest({ config });
    const station = base.registry.stations.find((x) => x.kind === 'water')!;
    const t0 = Date.parse('2026-05-01T00:00:00Z');
    const where = (ts: number): string => `station = '${station.id}' AND time = ${ts}ms`;

    // The writer is running and its group exists once a first reading is stored.
    const pub = await s.publisher();
    await pub.publishAsync(`tuojiang/water/${station.id}`, JSON.stringify({ ts: t0, values: { NH3N: 0.4 } }), { qos: 1 });
    await waitFor(async () => (await countPoints(s.influx, 'water_quality', 'NH3N', where(t0))) === 1, 30_000, 'the first reading');

    side = new Redis(s.services.redis.url);
    const lost: Reading = {
      station: station.id,
      city: station.city,
      medium: 'water',
      ts: t0 + 60_000,
      period: 'rt',
      values: { NH3N: 0.41 },
      flags: {},
      source: 'json',
    };
    const res = await side
      .multi()
      .xadd(svc.layout.journalStream, '*', 'b', JSON.stringify([lost]))
      .xreadgroup('GROUP', base.settings.journal.group, 'test', 'COUNT', 10, 'STREAMS', svc.layout.journalStream, '>')
      .exec();
    // Delivered to the writer's consumer (instance "test") and pending there: the writer never saw it.
    expect(JSON.stringify(res?.[1]?.[1])).toContain('0.41');
    const pending = (await side.xpending(svc.layout.journalStream, base.settings.journal.group)) as [number, ...unknown[]];
    expect(pending[0]).toBe(1);

    await side.client('KILL', 'TYPE', 'normal');

    await waitFor(
      async () => (await countPoints(s.influx, 'water_quality', 'NH3N', where(lost.ts))) === 1,
      30_000,
      'the reading whose read reply was lost, stored',
    );
    await waitFor(
      async () => ((await side!.xpending(svc.layout.journalStream, base.settings.journal.group)) as [number])[0] === 0,
      10_000,
      'nothing left pending',
    );
  }, 120_000);
});
