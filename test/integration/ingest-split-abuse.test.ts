/**
 * A station that sends HJ 212 split-packet parts which never complete must not cost any other
 * station its readings. Each such part is stored in Redis (split-packet-store.ts) and carries no
 * reading of its own; the ingest used to acknowledge it only with the next journal batch that had
 * items. With nothing else arriving, those parts filled the ingest's bound of held messages
 * (connections × receive_maximum) and it stopped reading: every station's readings stayed at the
 * broker, for as long as the parts kept coming.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hj212Frame, jsonPayload, MN } from '../helpers/fixtures.js';
import { countPoints, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';
import type { IngestService } from '../../ingest/ingest-service.js';

const RECEIVE_MAXIMUM = 10;
let stack: IngestStack;
let svc: IngestService;

beforeAll(async () => {
  stack = await startIngestStack();
  // One connection, a bound of 10 held messages: a few parts reach it.
  svc = await stack.startIngest({ connections: 1, receiveMaximum: RECEIVE_MAXIMUM });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('split-packet parts that never complete', () => {
  it("are acknowledged once stored, so they never hold up another station's readings", async () => {
    const ts = Date.parse('2026-03-01T02:00:00Z');
    const attacker = await stack.connectAs('zhaozhen');
    const victim = await stack.connectAs('huaikou');
    // Part 1 of 2, a new packet each time: each is stored and waits for a part 2 that never comes.
    const parts = Array.from({ length: 3 * RECEIVE_MAXIMUM }, (_, i) =>
      hj212Frame({
        mn: MN.zhaozhen,
        ts,
        qn: `2026030110${String(i).padStart(7, '0')}`,
        flag: 6,
        pnum: 2,
        pno: 1,
        items: { w21003: { Rtd: '0.5' } },
      }),
    );
    // Each publish resolves on the broker's PUBACK to the station, whatever the ingest does.
    await Promise.all(parts.map((p) => attacker.publishAsync('tuojiang/water/zhaozhen', p, { qos: 1 })));

    await victim.publishAsync('tuojiang/water/huaikou', jsonPayload({ ts, values: { NH3N: 0.31 } }), { qos: 1 });
    const stored = (): Promise<number> => countPoints(stack.influx, 'water_quality', 'NH3N', `"station"='huaikou' AND time = ${ts}ms`);
    await waitFor(async () => (await stored()) === 1, 20_000, "the other station's reading stored");
    expect(await stored()).toBe(1);
    // Every part reached the ingest as a part (each a split-store write), none is held any longer.
    expect((await svc.metrics.splitParts.get()).values[0]?.value).toBe(parts.length);
    await waitFor(() => svc.sources.every((src) => src.held === 0), 10_000, 'nothing held');
  }, 60_000);
});
