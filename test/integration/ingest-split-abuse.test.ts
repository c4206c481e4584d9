/**
 * A station that sends HJ 212 split-packet parts which never complete must not cost any other
 * station its readings. Each such part is stored in Redis (split-packet-store.ts) and carries no
 * reading of its own; the ingest used to acknowledge it only with the next journal batch that had
 * items. With nothing else arriving, those parts filled the ingest's bound of held messages
 * (connections × receive_maximum) and it stopped reading: every station's readings stayed at the
 * broker, for as long as the parts kept coming. And each part stays in Redis until its packet
 * completes or times out: a station may have at most ingest.split_max_pending_parts of them
 * waiting, so that one station's parts cannot fill Redis for everyone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { deadLetterBytes, deadLetters, hj212Frame, jsonPayload, MN } from '../helpers/fixtures.js';
import { countPoints, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';
import type { IngestService } from '../../ingest/ingest-service.js';

const RECEIVE_MAXIMUM = 4;
// Above the first test's parts: every one of them is stored, none refused.
const MAX_PENDING_PARTS = 8;
let stack: IngestStack;
let svc: IngestService;
let redis: Redis;

beforeAll(async () => {
  stack = await startIngestStack();
  // One connection, a bound of 4 held messages: a few parts reach it.
  const config = { ...stack.config, settings: { ...stack.config.settings } };
  config.settings.ingest = { ...config.settings.ingest, split_max_pending_parts: MAX_PENDING_PARTS };
  svc = await stack.startIngest({ connections: 1, receiveMaximum: RECEIVE_MAXIMUM, config });
  redis = new Redis(stack.env.REDIS_URL);
}, 120_000);

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

describe('split-packet parts that never complete', () => {
  it("are acknowledged once stored, so they never hold up another station's readings", async () => {
    const ts = Date.parse('2026-03-01T02:00:00Z');
    const attacker = await stack.connectAs('zhaozhen');
    const victim = await stack.connectAs('huaikou');
    // Part 1 of 2, a new packet each time: each is stored and waits for a part 2 that never comes.
    const parts = Array.from({ length: 2 * RECEIVE_MAXIMUM }, (_, i) =>
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

  it("are kept in Redis up to ingest.split_max_pending_parts per station; the rest are refused with a reason, and other stations' packets still complete", async () => {
    const ts = Date.parse('2026-03-01T03:00:00Z');
    const attacker = await stack.connectAs('shiqiao');
    const honest = await stack.connectAs('hongyuan');
    const never = Array.from({ length: 20 }, (_, i) =>
      hj212Frame({
        mn: MN.shiqiao,
        ts,
        qn: `2026030111${String(i).padStart(7, '0')}`,
        flag: 6,
        pnum: 2,
        pno: 1,
        items: { w21003: { Rtd: '0.5' } },
      }),
    );
    for (const p of never) await attacker.publishAsync('tuojiang/water/shiqiao', p, { qos: 1 });
    // A packet of more parts than a station may have waiting could never complete: refused at once.
    const tooMany = hj212Frame({
      mn: MN.hongyuan,
      ts,
      qn: '20260301120000000',
      flag: 6,
      pnum: MAX_PENDING_PARTS + 1,
      pno: 1,
      items: { w21003: { Rtd: '0.5' } },
    });
    await honest.publishAsync('tuojiang/water/hongyuan', tooMany, { qos: 1 });

    const refused = (await waitFor(
      async () => {
        // These two stations' only: the other describe's ingest has its own stack, but say whose.
        const d = (await deadLetters(redis, 'TJ_SPLIT_LIMIT')).filter((x) => x.station === 'shiqiao' || x.station === 'hongyuan');
        return d.length >= 20 - MAX_PENDING_PARTS + 1 ? d : undefined;
      },
      20_000,
      'the refused parts dead-lettered',
    ))!;
    expect(refused.filter((d) => d.station === 'shiqiao')).toHaveLength(20 - MAX_PENDING_PARTS);
    expect(refused.find((d) => d.station === 'shiqiao')?.message).toMatch(/split_max_pending_parts/);
    expect(refused.filter((d) => d.station === 'hongyuan')).toHaveLength(1);
    expect(refused.find((d) => d.station === 'hongyuan')?.message).toMatch(/PNUM 9/);
    // What the attacker's parts hold in Redis: its first MAX_PENDING_PARTS parts, no more.
    const keys = await redis.keys(`*split*${MN.shiqiao.toUpperCase()}*`);
    const stored = (
      await Promise.all(keys.filter((k) => !k.endsWith(':done')).map(async (k) => ((await redis.type(k)) === 'hash' ? redis.hlen(k) : 0)))
    ).reduce((a, b) => a + b, 0);
    expect(stored).toBe(MAX_PENDING_PARTS);

    // Another station's honest packet completes and is stored.
    const qn = '20260301130000000';
    for (const [pno, items] of [
      [1, { w21003: { Rtd: '0.42' } }],
      [2, { w01001: { Rtd: '7.2' } }],
    ] as const)
      await honest.publishAsync('tuojiang/water/hongyuan', hj212Frame({ mn: MN.hongyuan, ts, qn, flag: 6, pnum: 2, pno, items }), {
        qos: 1,
      });
    await waitFor(
      async () => (await countPoints(stack.influx, 'water_quality', 'pH', `"station"='hongyuan' AND time = ${ts}ms`)) === 1,
      20_000,
      "the other station's split packet stored",
    );
  }, 60_000);
});

describe('at the limit, and after the timeout', () => {
  const TIMEOUT_S = 2;
  let own: IngestStack;
  let ingest: IngestService;
  let r: Redis;

  beforeAll(async () => {
    own = await startIngestStack();
    const config = { ...own.config, settings: { ...own.config.settings } };
    config.settings.ingest = { ...config.settings.ingest, split_timeout_s: TIMEOUT_S, split_max_pending_parts: 400 };
    ingest = await own.startIngest({ config });
    r = new Redis(own.env.REDIS_URL);
  }, 120_000);
  afterAll(async () => {
    r?.disconnect();
    await own?.stop();
  });

  it('the part that completes a packet is taken at the limit; incomplete packets are all dead-lettered by one sweep, not 100 a tick', async () => {
    const ts = Date.parse('2026-03-02T00:00:00Z');
    const station = await own.connectAs('shiqiao');
    const N = 399;
    // 399 first parts of 2 waiting, then a packet of 2: its first part is the 400th, its second completes it.
    const parts = Array.from({ length: N }, (_, i) =>
      hj212Frame({
        mn: MN.shiqiao,
        ts,
        qn: `2026030200${String(i).padStart(7, '0')}`,
        flag: 6,
        pnum: 2,
        pno: 1,
        items: { w21003: { Rtd: '0.5' } },
      }),
    );
    await Promise.all(parts.map((p) => station.publishAsync('tuojiang/water/shiqiao', p, { qos: 1 })));
    const qn = '20260302010000000';
    for (const [pno, items] of [
      [1, { w21003: { Rtd: '0.43' } }],
      [2, { w01001: { Rtd: '7.1' } }],
    ] as const)
      await station.publishAsync(
        'tuojiang/water/shiqiao',
        hj212Frame({ mn: MN.shiqiao, ts: ts + 60_000, qn, flag: 6, pnum: 2, pno, items }),
        { qos: 1 },
      );
    await waitFor(
      async () => (await countPoints(own.influx, 'water_quality', 'pH', `"station"='shiqiao' AND time = ${ts + 60_000}ms`)) === 1,
      20_000,
      'the completed packet stored',
    );
    expect(await deadLetters(r, 'TJ_SPLIT_LIMIT')).toEqual([]);

    // The sweeper runs every TIMEOUT_S: every one of the 399 goes in the first sweep that finds them
    // expired (at 100 a call, one call a tick, they spread over 4 ticks).
    const swept = (await waitFor(
      async () => {
        const d = await deadLetters(r, 'TJ_SPLIT_INCOMPLETE');
        return d.length >= N ? d : undefined;
      },
      30_000,
      'the incomplete packets dead-lettered',
    ))!;
    expect(swept).toHaveLength(N);
    const at = swept.map((d) => d.receivedAt);
    expect(Math.max(...at) - Math.min(...at)).toBeLessThan(TIMEOUT_S * 1000);
    expect((await ingest.metrics.splitParts.get()).values[0]?.value).toBe(N + 2);
  }, 60_000);
});

describe('a sweep whose dead letters cannot be journaled', () => {
  const TIMEOUT_S = 2;
  let own: IngestStack;
  let r: Redis;

  beforeAll(async () => {
    own = await startIngestStack();
    const config = { ...own.config, settings: { ...own.config.settings } };
    config.settings.ingest = { ...config.settings.ingest, split_timeout_s: TIMEOUT_S };
    await own.startIngest({ config });
    r = new Redis(own.env.REDIS_URL);
  }, 120_000);
  afterAll(async () => {
    r?.disconnect();
    await own?.stop();
  });

  it('keeps the expired packets and dead-letters them at a later sweep, instead of losing their parts', async () => {
    const ts = Date.parse('2026-03-03T00:00:00Z');
    const station = await own.connectAs('shiqiao');
    const index = 'tuojiang:split:index';
    const qns = ['20260303000000001', '20260303000000002', '20260303000000003'];
    // The journal refuses every dead letter from the start (its stream set aside, its key holding a
    // string): the parts themselves are stored elsewhere, their packets' dead letters cannot be.
    const stream = own.config.settings.journal.dead_letter_stream;
    const existed = (await r.exists(stream)) === 1;
    if (existed) await r.rename(stream, `${stream}:aside`);
    await r.set(stream, 'not a stream');
    for (const qn of qns)
      await station.publishAsync(
        'tuojiang/water/shiqiao',
        hj212Frame({ mn: MN.shiqiao, ts, qn, flag: 6, pnum: 2, pno: 1, items: { w21003: { Rtd: '0.5' } } }),
        { qos: 1 },
      );
    await waitFor(async () => (await r.zcard(index)) === qns.length, 10_000, 'the parts stored');
    const storedAt = new Map(
      (await r.zrange(index, 0, -1, 'WITHSCORES')).flatMap((v, i, a) => (i % 2 === 0 ? [[v, Number(a[i + 1])]] : [])),
    );

    // A sweep takes them (leases: their scores move to its time) and fails to journal their dead letters.
    await waitFor(
      async () => {
        const now = await r.zrange(index, 0, -1, 'WITHSCORES');
        return now.length === 2 * qns.length && now.every((v, i) => i % 2 === 0 || Number(v) > storedAt.get(now[i - 1]!)!);
      },
      20_000,
      'a sweep taking the expired packets',
    );
    // Nothing lost meanwhile: every packet's part is still in Redis.
    const kept = await r.zrange(index, 0, -1);
    expect(kept).toHaveLength(qns.length);
    for (const k of kept) expect(await r.hlen(k)).toBe(1);

    await r.del(stream);
    if (existed) await r.rename(`${stream}:aside`, stream);
    const swept = (await waitFor(
      async () => {
        const d = (await deadLetters(r, 'TJ_SPLIT_INCOMPLETE')).filter((x) => x.station === 'shiqiao');
        return d.length >= qns.length ? d : undefined;
      },
      30_000,
      'the packets dead-lettered once the journal takes appends again',
    ))!;
    expect(swept).toHaveLength(qns.length);
    for (const qn of qns) expect(swept.some((d) => deadLetterBytes(d).toString().includes(`QN=${qn}`))).toBe(true);
    await waitFor(async () => (await r.zcard(index)) === 0, 10_000, 'the index emptied');
  }, 90_000);
});
