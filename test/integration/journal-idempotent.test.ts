/**
 * Issue 15, item 4: a journal append whose reply is lost (Redis wrote the batch, the connection
 * dropped before the answer) was retried and journaled twice, so the writer's counters counted
 * readings twice. Appends are idempotent by batch id: against a real Redis.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JournalBatcher } from '../../ingest/journal-batcher.js';
import { readDeadLetters, RedisJournal, type Journal, type JournalItem } from '../../ingest/journal.js';
import { startServices } from '../../devtools/local-services/index.js';
import { createLogger } from '../../lib/logger.js';

let services: Awaited<ReturnType<typeof startServices<{ redis: { appendonly: false } }>>>;
let redis: Redis;

beforeAll(async () => {
  services = await startServices({ redis: { appendonly: false } });
  redis = new Redis(services.redis.url);
}, 120_000);

afterAll(async () => {
  await redis?.quit();
  await services?.stopAll();
});

function journal(): { j: RedisJournal; stream: string; dead: string } {
  const p = randomBytes(4).toString('hex');
  const stream = `${p}:journal`;
  const dead = `${p}:dead`;
  return { j: new RedisJournal(redis, { stream, deadLetterStream: dead, deadLetterMax: 1000 }), stream, dead };
}

function items(n: number): JournalItem[] {
  const out: JournalItem[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      kind: 'reading',
      reading: {
        station: 'hongyuan',
        kind: 'water',
        period: 'rt',
        ts: 1_800_000_000_000 + i * 60_000,
        values: { NH3N: 0.5 + i / 100 },
        flags: {},
      } as never,
    });
  }
  out.push({
    kind: 'dead',
    dead: {
      reason: 'TJ_MALFORMED_JSON',
      message: 'not JSON',
      topic: 'tuojiang/water/hongyuan',
      station: 'hongyuan',
      payload: Buffer.from('{oops'),
      receivedAt: 1_800_000_000_000,
    },
  });
  return out;
}

async function readings(stream: string): Promise<number> {
  const entries = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
  return entries.reduce((n, [, f]) => n + (JSON.parse(f[1] ?? '[]') as unknown[]).length, 0);
}

describe('journal appends are idempotent by batch id', () => {
  it('the same batch appended twice is journaled once, readings and dead letters alike', async () => {
    const { j, stream, dead } = journal();
    await j.append(items(5), { source: 'a', seq: 1 });
    await j.append(items(5), { source: 'a', seq: 1 });
    expect(await redis.xlen(stream)).toBe(1);
    expect(await readings(stream)).toBe(5);
    expect(await readDeadLetters(redis, dead, { limit: 100 })).toHaveLength(1);
    // The next batch is another entry; another source's first batch too.
    await j.append(items(5), { source: 'a', seq: 2 });
    await j.append(items(5), { source: 'b', seq: 1 });
    expect(await readings(stream)).toBe(15);
    // An older batch of a source (a retry arriving after a newer one) is not journaled again.
    await j.append(items(5), { source: 'a', seq: 1 });
    expect(await readings(stream)).toBe(15);
  });

  it('a retry after a lost reply journals nothing twice: the batcher keeps the batch number across attempts', async () => {
    const { j, stream, dead } = journal();
    let lost = 0;
    // Redis writes the batch, then the answer is lost twice: the batcher sees an error and retries.
    const flaky: Journal = {
      async append(batch, id) {
        await j.append(batch, id);
        if (lost < 2) {
          lost++;
          throw new Error('Connection is closed. (reply lost after the write)');
        }
      },
    };
    const batcher = new JournalBatcher(flaky, createLogger('test', 'silent'), () => undefined, { initialMs: 10, maxMs: 20 });
    await batcher.add(items(50));
    await batcher.close();
    expect(lost).toBe(2);
    expect(await redis.xlen(stream)).toBe(1);
    expect(await readings(stream)).toBe(50);
    expect(await readDeadLetters(redis, dead, { limit: 100 })).toHaveLength(1);
  });

  it('without a batch number each append is its own batch (the writer’s dead letters): nothing is dropped', async () => {
    const { j, stream } = journal();
    await j.append(items(3));
    await j.append(items(3));
    expect(await readings(stream)).toBe(6);
  });
});
