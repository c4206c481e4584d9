/**
 * The writer's memory of first values (ingest/resend-detector.ts) against a real Redis: what counts
 * as a correction, across script chunks, with the window's TTL. The end-to-end behaviour through
 * MQTT and InfluxDB is in ingest-corrections.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResendDetector } from '../../ingest/resend-detector.js';
import { startServices } from '../../devtools/local-services/index.js';
import type { Reading } from '../../lib/reading.js';

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

const TS = Date.parse('2025-10-01T00:00:00Z');
const reading = (over: Partial<Reading> = {}): Reading => ({
  station: 'hongyuan',
  city: 'chengdu',
  medium: 'water',
  ts: TS,
  period: 'rt',
  values: { NH3N: 0.5, pH: 7 },
  flags: {},
  source: 'json',
  ...over,
});
const detector = (windowS = 3600) => new ResendDetector(redis, { keyPrefix: `t${randomBytes(3).toString('hex')}:first:`, windowS });

describe('ResendDetector', () => {
  it('a new reading and its identical copies keep everything and report nothing', async () => {
    const d = detector();
    const r = reading({ flags: { NH3N: 'M' }, extras: { NH3N_max: 0.7 } });
    for (const v of [...(await d.check([r, r])), ...(await d.check([r]))]) expect(v).toEqual({ keep: r, changes: [], unrecorded: false });
  });

  it('a changed value, flag or -Max is reported with both forms and left out; the rest is kept', async () => {
    const d = detector();
    await d.check([reading({ extras: { NH3N_max: 0.7 } })]);
    const [v] = await d.check([reading({ values: { NH3N: 0.5, pH: 7.5, DO: 6 }, flags: { NH3N: 'D' }, extras: { NH3N_max: 0.9 } })]);
    expect(v!.changes).toEqual([
      { parameter: 'NH3N', stored: '0.5', resent: '0.5 D' },
      { parameter: 'pH', stored: '7', resent: '7.5' },
      { parameter: 'NH3N_max', stored: '0.7', resent: '0.9' },
    ]);
    expect(v!.unrecorded).toBe(true);
    expect(v!.keep).toEqual(reading({ values: { DO: 6 }, flags: {} }));
  });

  it('the first values stay the reference: a second different re-send is compared with them, not with the first re-send', async () => {
    const d = detector();
    await d.check([reading()]);
    await d.check([reading({ values: { NH3N: 9, pH: 7 } })]);
    const [v] = await d.check([reading({ values: { NH3N: 10, pH: 7 } })]);
    expect(v!.changes).toEqual([{ parameter: 'NH3N', stored: '0.5', resent: '10' }]);
  });

  it('the same correction twice in one batch is to be recorded once', async () => {
    const d = detector();
    await d.check([reading()]);
    const corrected = reading({ values: { NH3N: 9, pH: 7 } });
    const vs = await d.check([corrected, corrected]);
    expect(vs.map((v) => v.unrecorded)).toEqual([true, false]);
    expect(vs.map((v) => v.changes.length)).toEqual([1, 1]);
  });

  it('a new parameter and its merge partner in one batch are both kept (several messages for one instant)', async () => {
    const d = detector();
    const vs = await d.check([reading({ values: { NH3N: 0.5 } }), reading({ values: { pH: 7 } }), reading({ values: { DO: 6 } })]);
    for (const v of vs) expect(v.changes).toEqual([]);
    const [again] = await d.check([reading({ values: { NH3N: 0.5, pH: 7.5, DO: 6 } })]);
    expect(again!.changes).toEqual([{ parameter: 'pH', stored: '7', resent: '7.5' }]);
  });

  it('a correction once recorded is not reported again when redelivered; a different one is', async () => {
    const d = detector();
    await d.check([reading()]);
    const corrected = reading({ values: { NH3N: 9, pH: 7 } });
    const [first] = await d.check([corrected]);
    await d.markRecorded([{ reading: corrected, changes: first!.changes }]);
    const [again] = await d.check([corrected]);
    expect(again).toMatchObject({ unrecorded: false, changes: [{ parameter: 'NH3N' }] });
    expect(again!.keep).toEqual(reading({ values: { pH: 7 } }));
    const [other] = await d.check([reading({ values: { NH3N: 8, pH: 7 } })]);
    expect(other!.unrecorded).toBe(true);
  });

  it('another period or another station at the same time is another reading', async () => {
    const d = detector();
    await d.check([reading()]);
    const vs = await d.check([
      reading({ period: 'hour', values: { NH3N: 1, pH: 7 } }),
      reading({ station: 'huaikou', values: { NH3N: 1, pH: 7 } }),
    ]);
    for (const v of vs) expect(v.changes).toEqual([]);
  });

  it('maps each difference to its reading across script chunks of 500', async () => {
    const d = detector();
    const many = Array.from({ length: 1203 }, (_, i) => reading({ ts: TS + i * 1000 }));
    await d.check(many);
    const resent = many.map((r, i) => (i === 0 || i === 499 || i === 500 || i === 1202 ? { ...r, values: { NH3N: 3, pH: 7 } } : r));
    const verdicts = await d.check(resent);
    expect(verdicts.flatMap((v, i) => (v.changes.length > 0 ? [i] : []))).toEqual([0, 499, 500, 1202]);
    expect(verdicts[500]!.keep).toEqual(reading({ ts: TS + 500_000, values: { pH: 7 } }));
  });

  it('a reading whose every value changed keeps nothing', async () => {
    const d = detector();
    await d.check([reading()]);
    const [v] = await d.check([reading({ values: { NH3N: 1, pH: 8 } })]);
    expect(v!.keep).toBeUndefined();
  });

  it('remembers first values for the window only (a TTL on every hash, also after marking)', async () => {
    const windowS = 600;
    const prefix = `t${randomBytes(3).toString('hex')}:first:`;
    const d = new ResendDetector(redis, { keyPrefix: prefix, windowS });
    await d.check([reading()]);
    const key = `${prefix}hongyuan:rt:${TS}`;
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(windowS);
    await redis.del(key); // as if the window had passed
    const corrected = reading({ values: { NH3N: 2, pH: 7 } });
    await d.markRecorded([{ reading: corrected, changes: [{ parameter: 'NH3N', stored: '0.5', resent: '2' }] }]);
    expect(await redis.ttl(`${key}~`)).toBeGreaterThan(0);
    expect(await redis.ttl(`${key}~`)).toBeLessThanOrEqual(windowS);
  });
});
