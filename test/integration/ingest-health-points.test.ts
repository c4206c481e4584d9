/**
 * The ingest's health points (lib/health-reporter.ts), which the platform's Grafana rules read: a
 * partitioned process names its partition in them, and a process cut off from Redis (stopped, or
 * stalled) keeps writing them, saying it is not ready. Before, its sample waited on Redis commands queued behind the
 * reconnection, so it wrote nothing; with other ingests reporting ready, the readiness rule (the
 * lowest `ready` of any ingest) then stayed quiet. Real Mosquitto, Redis and InfluxDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

let stack: IngestStack;

beforeAll(async () => {
  stack = await startIngestStack();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

interface HealthRow {
  time: number;
  ready: number | null;
  partition_index: number | null;
  partition_count: number | null;
  partitions: string | null;
}

/** The points `instance` wrote after `since` (epoch ms), oldest first. */
async function points(instance: string, since: number): Promise<HealthRow[]> {
  const series = await stack.influx.query(
    `SELECT "ready", "partition_index", "partition_count", "partitions" FROM "pipeline_health" WHERE "instance" = '${instance}' AND time > ${since}ms`,
  );
  const s = series[0];
  if (!s) return [];
  return s.values.map((row) => {
    const at = (c: string) => row[s.columns.indexOf(c)];
    return {
      time: Date.parse(String(at('time'))),
      ready: at('ready') as number | null,
      partition_index: at('partition_index') as number | null,
      partition_count: at('partition_count') as number | null,
      partitions: at('partitions') as string | null,
    };
  });
}

describe("the ingest's health points", () => {
  it('name its partition, and keep coming with ready 0 while Redis is away or stalled, ready 1 once it is back', async () => {
    const instance = 'health-p1of2';
    await stack.startIngest({ instance, env: { INGEST_PARTITION: '1/2' } });
    const start = Date.now() - 1000;
    const first = await waitFor(async () => (await points(instance, start)).find((p) => p.ready === 1), 30_000, 'a ready point');
    // k and N as fields (the rule counts distinct k against N), N as the tag the rule groups by.
    expect(first).toMatchObject({ partition_index: 1, partition_count: 2, partitions: '2' });

    await stack.services.redis.stop();
    const down = Date.now();
    try {
      // Points every 500 ms in this stack: a few seconds without one is the stall this guards against.
      const notReady = async () => (await points(instance, down + 1000)).filter((p) => p.ready === 0);
      await waitFor(async () => (await notReady()).length >= 3, 20_000, 'points saying not ready while Redis is down');
      const during = await notReady();
      expect(during.every((p) => p.partitions === '2' && p.partition_index === 1)).toBe(true);
    } finally {
      await stack.services.redis.start();
    }
    const up = Date.now();
    await waitFor(async () => (await points(instance, up)).some((p) => p.ready === 1), 30_000, 'a ready point after Redis came back');

    // Stalled rather than gone (the connection stays up, commands get no answer): the sample's
    // questions to Redis time out instead of holding the point back.
    const pid = stack.services.redis.pid;
    if (pid === undefined) throw new Error('redis has no pid');
    process.kill(pid, 'SIGSTOP');
    const stalled = Date.now();
    try {
      await waitFor(
        async () => (await points(instance, stalled + 1000)).filter((p) => p.ready === 0).length >= 3,
        20_000,
        'points saying not ready while Redis is stalled',
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const resumed = Date.now();
    await waitFor(async () => (await points(instance, resumed)).some((p) => p.ready === 1), 30_000, 'a ready point after Redis resumed');
  }, 120_000);
});
