/**
 * The writer's memory of first values (ingest/resend-detector.ts) against a real Redis: what counts
 * as a correction, across script chunks, with the window's TTL. The end-to-end behaviour through
 * MQTT and InfluxDB is in ingest-corrections.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENEW_SLACK_S, ResendDetector } from '../../ingest/resend-detector.js';
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
const prefix = () => `t${randomBytes(3).toString('hex')}:`;
const detector = (windowS = 3600) => new ResendDetector(redis, { keyPrefix: prefix(), windowS });
const HOUR = 3_600_000;
/** The keys under a prefix, with their type. */
async function keysUnder(p: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const k of await redis.keys(`${p}*`)) out[k.slice(p.length)] = await redis.type(k);
  return out;
}

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

  it('remembers first values for the window only (a TTL on every hash, renewed by a new reading when less than the window is left, also after marking)', async () => {
    const windowS = 600;
    const p = prefix();
    const d = new ResendDetector(redis, { keyPrefix: p, windowS });
    await d.check([reading()]);
    const key = `${p}first-hour:hongyuan:rt:${TS / HOUR}`;
    expect(await redis.ttl(key)).toBeGreaterThan(windowS + RENEW_SLACK_S - 5); // a new hash gets a TTL at once
    await redis.expire(key, 10); // as if most of the window had passed
    await d.check([reading()]); // an identical re-send does not renew it
    expect(await redis.ttl(key)).toBeLessThanOrEqual(10);
    await d.check([reading({ ts: TS + 60_000 })]); // a new reading of the same hour does: the window and the slack
    expect(await redis.ttl(key)).toBeGreaterThan(windowS + RENEW_SLACK_S - 5);
    expect(await redis.ttl(key)).toBeLessThanOrEqual(windowS + RENEW_SLACK_S);
    await redis.expire(key, windowS + 100); // the window still left: a new reading leaves the TTL (no write)
    await d.check([reading({ ts: TS + 120_000 })]);
    expect(await redis.ttl(key)).toBeGreaterThan(windowS);
    expect(await redis.ttl(key)).toBeLessThanOrEqual(windowS + 100);
    await redis.expire(key, windowS - 1); // a second short of the window: renewed
    await d.check([reading({ ts: TS + 180_000 })]);
    expect(await redis.ttl(key)).toBeGreaterThan(windowS + RENEW_SLACK_S - 5);
    await redis.del(key); // as if the window had passed
    const [v] = await d.check([reading({ values: { NH3N: 2, pH: 7 } })]);
    expect(v).toMatchObject({ changes: [], unrecorded: false }); // written like a new reading
    const corrected = reading({ values: { NH3N: 2, pH: 7 } });
    await d.markRecorded([{ reading: corrected, changes: [{ parameter: 'NH3N', stored: '0.5', resent: '2' }] }]);
    const marks = `${p}first:hongyuan:rt:${TS}~`;
    expect(await redis.ttl(marks)).toBeGreaterThan(0);
    expect(await redis.ttl(marks)).toBeLessThanOrEqual(windowS);
  });

  it('keeps one hash per station, period and hour of sensor time, a field per reading', async () => {
    const p = prefix();
    const d = new ResendDetector(redis, { keyPrefix: p, windowS: 600 });
    // Two hours of a reading every 30 s for two stations, and the hour readings of one.
    const rt = Array.from({ length: 480 }, (_, i) =>
      reading({ station: i % 2 ? 'huaikou' : 'hongyuan', ts: TS + Math.floor(i / 2) * 30_000 }),
    );
    await d.check([...rt, reading({ period: 'hour' }), reading({ period: 'hour', ts: TS + HOUR })]);
    expect(await keysUnder(p)).toEqual({
      'first-format': 'string',
      [`first-hour:hongyuan:rt:${TS / HOUR}`]: 'hash',
      [`first-hour:hongyuan:rt:${TS / HOUR + 1}`]: 'hash',
      [`first-hour:huaikou:rt:${TS / HOUR}`]: 'hash',
      [`first-hour:huaikou:rt:${TS / HOUR + 1}`]: 'hash',
      [`first-hour:hongyuan:hour:${TS / HOUR}`]: 'hash',
      [`first-hour:hongyuan:hour:${TS / HOUR + 1}`]: 'hash',
    });
    expect(await redis.hlen(`${p}first-hour:huaikou:rt:${TS / HOUR + 1}`)).toBe(120);
    expect(await redis.hget(`${p}first-hour:hongyuan:rt:${TS / HOUR}`, '90000')).toBe('NH3N=0.5;pH=7');
    // A reading at the last millisecond of an hour and at the first of the next are apart.
    await d.check([reading({ ts: TS + HOUR - 1 })]);
    const [v] = await d.check([
      reading({ ts: TS + HOUR - 1, values: { NH3N: 4, pH: 7 } }),
      reading({ ts: TS + HOUR, values: { NH3N: 4, pH: 7 } }),
    ]);
    expect(v!.changes).toEqual([{ parameter: 'NH3N', stored: '0.5', resent: '4' }]);
  });
});

describe('ResendDetector after an upgrade from 0.1.0 (one string per reading)', () => {
  /** The first values as 0.1.0 kept them. */
  const legacyKey = (p: string, r: Reading) => `${p}first:${r.station}:${r.period}:${r.ts}`;

  it('reads first values kept in the old format for one window from the first start, and corrections are still caught', async () => {
    const p = prefix();
    await redis.set(legacyKey(p, reading()), 'NH3N=0.5;pH=7', 'EX', 300);
    await redis.hset(`${legacyKey(p, reading({ ts: TS - 1000 }))}~`, 'NH3N', '3'); // a mark: not a reason on its own
    const d = new ResendDetector(redis, { keyPrefix: p, windowS: 600 });
    const format = await d.prepare();
    expect(format.scanned).toBe(true);
    expect(format.legacyUntil).toBeGreaterThan(Date.now() + 590_000);
    expect(format.legacyUntil).toBeLessThanOrEqual(Date.now() + 600_000);
    const [corrected, identical, fresh] = await d.check([
      reading({ values: { NH3N: 51.3, pH: 7, DO: 6 } }),
      reading(),
      reading({ ts: TS + 60_000 }),
    ]);
    expect(corrected).toMatchObject({ changes: [{ parameter: 'NH3N', stored: '0.5', resent: '51.3' }], unrecorded: true });
    expect(corrected!.keep).toEqual(reading({ values: { pH: 7, DO: 6 } }));
    expect(identical!.changes).toEqual([]);
    expect(fresh!.changes).toEqual([]);
    // The first values moved into the new memory, with the field merged in: the old key is no longer needed.
    await redis.del(legacyKey(p, reading()));
    const [again] = await d.check([reading({ values: { NH3N: 51.3, pH: 7, DO: 6 } })]);
    expect(again!.changes).toEqual([{ parameter: 'NH3N', stored: '0.5', resent: '51.3' }]);
    // Another writer starting later keeps the same end of the window, without scanning again.
    const other = await new ResendDetector(redis, { keyPrefix: p, windowS: 600 }).prepare();
    expect(other).toEqual({ legacyUntil: format.legacyUntil, scanned: false });
  });

  it('a Redis without old keys never reads them; one whose window has passed neither', async () => {
    for (const until of [undefined, Date.now() - 1000]) {
      const p = prefix();
      if (until !== undefined) await redis.set(`${p}first-format`, String(until));
      await redis.hset(`${legacyKey(p, reading())}~`, 'NH3N', '3'); // correction marks are not the old memory
      const d = new ResendDetector(redis, { keyPrefix: p, windowS: 600 });
      expect((await d.prepare()).legacyUntil).toBe(until ?? 0);
      await redis.set(legacyKey(p, reading()), 'NH3N=0.5;pH=7', 'EX', 300); // appears only after the look
      const [v] = await d.check([reading({ values: { NH3N: 51.3, pH: 7 } })]);
      expect(v).toMatchObject({ changes: [], unrecorded: false });
    }
  });

  it('a prefix holding glob characters is looked for literally', async () => {
    const globby = () => `t${randomBytes(3).toString('hex')}[x]*:`;
    const decoyed = globby();
    // Matches the prefix's pattern read as a glob ([x] is one "x", * anything), not the prefix itself.
    await redis.set(`${decoyed.replace('[x]*', 'x-other')}first:hongyuan:rt:${TS}`, 'NH3N=0.5;pH=7', 'EX', 300);
    expect((await new ResendDetector(redis, { keyPrefix: decoyed, windowS: 600 }).prepare()).legacyUntil).toBe(0);
    const real = globby();
    await redis.set(legacyKey(real, reading()), 'NH3N=0.5;pH=7', 'EX', 300);
    expect((await new ResendDetector(redis, { keyPrefix: real, windowS: 600 }).prepare()).legacyUntil).toBeGreaterThan(Date.now());
  });
});
