/**
 * Issue 15: Redis killed (-9) mid-burst and restarted from its AOF, with the shipped `appendfsync
 * everysec` and with `always`: every reading stored once, none lost, none doubled, and the counters
 * exact (before the journal's appends were idempotent, a batch whose reply was lost in the crash was
 * journaled again and counted twice).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { metric } from '../helpers/fixtures.js';
import { compareBurst, makeBurst, storedValues } from '../helpers/burst.js';
import { countPoints, publishAll, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

const N = 10_000;
let stack: IngestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe.each([
  ['everysec', 2_000],
  ['always', 2_000],
  ['everysec', 20_000],
] as const)('Redis killed mid-burst (appendfsync %s, down %i ms)', (appendfsync, downMs) => {
  it('restarts from its AOF: every reading stored once, counters exact', async () => {
    stack = await startIngestStack({ appendfsync });
    const s = stack;
    const svc = await s.startIngest();
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${svc.httpPort}/metrics`)).text();
    const burst = makeBurst(N, Date.parse('2026-04-01T00:00:00Z') + (appendfsync === 'always' ? 1 : 2) * downMs * 1000);
    const pub = await s.publisher(`burst-redis-crash-${appendfsync}-${downMs}`);
    let restarted: Promise<void> | undefined;
    await publishAll(pub, burst, 500, (sent) => {
      if (!restarted && sent === N / 2) {
        restarted = (async () => {
          await s.services.redis.kill();
          await new Promise((r) => setTimeout(r, downMs));
          await s.services.redis.start();
        })();
      }
    });
    await restarted;

    const from = burst[0]!.ts;
    const to = burst[burst.length - 1]!.ts;
    const where = `time >= ${from}ms AND time <= ${to}ms`;
    await waitFor(
      async () => (await countPoints(s.influx, 'water_quality', 'NH3N', where)) >= N,
      120_000,
      `all ${N} readings in InfluxDB`,
      250,
    );
    expect(compareBurst(burst, await storedValues(s.influx, from, to))).toEqual({ missing: 0, doubled: 0, wrong: 0, extra: 0 });
    // Written once each: the counters tell the truth.
    await waitFor(async () => metric(await metrics(), 'tuojiang_readings_written_total') >= N, 30_000, 'the writer counting every reading');
    const text = await metrics();
    expect(metric(text, 'tuojiang_readings_journaled_total')).toBe(N);
    expect(metric(text, 'tuojiang_readings_written_total')).toBe(N);
  }, 240_000);
});
