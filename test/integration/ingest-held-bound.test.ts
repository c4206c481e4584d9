import { afterEach, describe, expect, it } from 'vitest';
import { compareBurst, makeBurst, storedValues } from '../helpers/burst.js';
import { metric } from '../helpers/fixtures.js';
import { countPoints, publishAll, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';
import type { IngestService } from '../../ingest/ingest-service.js';

/*
 * Issue 15, item 3: the ingest holds at most connections × receive_maximum messages it has not
 * journaled, whatever the broker sends. Redis goes away in the middle of a 20,000 burst, so the
 * journal stops while PUBACKs had been arriving at the broker in batches (the case where Mosquitto
 * 2.0 sent one connection ten times its Receive Maximum).
 */
const N = 20_000;
const CONNECTIONS = 2;
const RECEIVE_MAXIMUM = 100;
const BOUND = CONNECTIONS * RECEIVE_MAXIMUM;
let stack: IngestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function sum(svc: IngestService, name: 'readingsIn' | 'readingsJournaled' | 'readingsRejected'): Promise<number> {
  return (await svc.metrics[name].get()).values.reduce((a, v) => a + v.value, 0);
}

/** Received and not yet journaled, from counters that exist whether or not the source counts. */
async function heldNow(svc: IngestService): Promise<number> {
  return (await sum(svc, 'readingsIn')) - (await sum(svc, 'readingsJournaled')) - (await sum(svc, 'readingsRejected'));
}

describe('ingest in-flight bound', () => {
  it('never holds more than connections × receive_maximum un-journaled messages with Redis down mid-burst, then stores every reading once', async () => {
    stack = await startIngestStack();
    const s = stack;
    const svc = await s.startIngest({ connections: CONNECTIONS, receiveMaximum: RECEIVE_MAXIMUM });
    const burst = makeBurst(N, Date.parse('2026-04-02T00:00:00Z'));
    const pub = await s.publisher('held-bound-publisher');

    let peakSampled = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakSampled = Math.max(peakSampled, await heldNow(svc));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    let redisStopped: Promise<void> | undefined;
    await publishAll(pub, burst, 1000, (sent) => {
      if (sent === 4000) redisStopped = s.services.redis.stop();
    });
    await redisStopped;
    // Everything is at the broker now; let the ingest take all the broker will give it.
    await waitFor(
      async () => (await svc.metrics.readPauses.get()).values[0]?.value ?? 0,
      30_000,
      'the ingest to stop reading at the bound',
    );
    await new Promise((r) => setTimeout(r, 2000));
    const heldWhileDown = await heldNow(svc);
    expect(heldWhileDown).toBeGreaterThan(0);
    expect(heldWhileDown).toBeLessThanOrEqual(BOUND);

    await s.services.redis.start();
    const from = burst[0]!.ts;
    const to = burst[burst.length - 1]!.ts;
    const where = `time >= ${from}ms AND time <= ${to}ms`;
    await waitFor(
      async () => (await countPoints(s.influx, 'water_quality', 'NH3N', where)) >= N,
      120_000,
      `all ${N} readings in InfluxDB`,
      250,
    );
    sampling = false;
    await sampler;

    expect(peakSampled).toBeLessThanOrEqual(BOUND);
    const peakGauge = (await svc.metrics.messagesHeldPeak.get()).values[0]?.value ?? -1;
    expect(peakGauge).toBeGreaterThan(0);
    expect(peakGauge).toBeLessThanOrEqual(BOUND);
    // The scrape reads the held count as it is now: nothing held once every reading is stored.
    const scraped = await svc.metrics.registry.metrics();
    expect(metric(scraped, 'tuojiang_ingest_messages_held')).toBe(0);
    expect(metric(scraped, 'tuojiang_ingest_messages_held_peak')).toBe(peakGauge);
    expect(compareBurst(burst, await storedValues(s.influx, from, to))).toEqual({ missing: 0, doubled: 0, wrong: 0, extra: 0 });
  }, 240_000);
});
