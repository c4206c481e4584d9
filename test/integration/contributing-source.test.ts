/**
 * CONTRIBUTING.md, recipe 1, followed to the end: the template source (test/templates/
 * source-template.ts) given to the real ingest as its one source, on real Redis and InfluxDB. A
 * gateway's lines come back `OK` once journaled, the readings land in InfluxDB once each, a line
 * for an unknown station is answered too (its dead letter is durable: sending it again would not
 * help) and is not stored, and /readyz carries the source's own check.
 */
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestService } from '../../ingest/ingest-service.js';
import { createLogger } from '../../lib/logger.js';
import { lineSource, type LineSource } from '../templates/source-template.js';
import { countPoints, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

let stack: IngestStack;
let ingest: IngestService;

beforeAll(async () => {
  stack = await startIngestStack();
  ingest = new IngestService({
    config: stack.config,
    env: stack.env,
    log: createLogger('contributing-source', process.env.LOG_LEVEL ?? 'error'),
    httpPort: 0,
    drainMs: 2000,
    healthIntervalMs: 0,
    sources: [lineSource({ host: '127.0.0.1', port: 0, maxLineBytes: 4096, maxConnections: 10, maxPendingPerConnection: 100 })],
  });
  await ingest.start();
}, 120_000);

afterAll(async () => {
  await ingest?.stop().catch(() => undefined);
  await stack?.stop();
});

describe('the template source inside the ingest', () => {
  it('journals, answers OK, stores each reading once; an unknown station is answered and dead-lettered', async () => {
    const port = ingest.source<LineSource>('tcp-lines')!.port!;
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
    });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    const lines = [0, 1, 2].map((i) => `water/zhaozhen ${JSON.stringify({ ts: t0 + i * 60_000, values: { NH3N: 0.4 + i / 10 } })}`);
    socket.write(`${lines.join('\n')}\nwater/nowhere ${JSON.stringify({ ts: t0, values: { NH3N: 1 } })}\n${lines[0]}\n`);
    await waitFor(() => text.split('\n').length - 1 >= 5, 30_000, 'five answers');
    expect(text).toBe('OK\nOK\nOK\nOK\nOK\n');
    // Three readings, the first sent twice: a redelivery maps onto the same point.
    expect(
      await waitFor(
        async () => (await countPoints(stack.influx, 'water_quality', 'NH3N', `"station" = 'zhaozhen' AND time >= ${t0}ms`)) === 3,
        30_000,
        'three points',
      ),
    ).toBe(true);
    expect(await countPoints(stack.influx, 'water_quality', 'NH3N', `"station" = 'nowhere'`)).toBe(0);
    const redis = new Redis(stack.env.REDIS_URL);
    const dead = await redis.xrange(stack.config.settings.journal.dead_letter_stream, '-', '+').finally(() => redis.quit());
    expect(dead.some(([, f]) => f.join(' ').includes('TJ_UNKNOWN_STATION') && f.join(' ').includes('nowhere'))).toBe(true);
    const ready = (await (await fetch(`http://127.0.0.1:${ingest.httpPort}/readyz`)).json()) as { checks: Record<string, boolean> };
    expect(ready.checks.tcp_lines).toBe(true);
    socket.destroy();
  }, 60_000);
});
