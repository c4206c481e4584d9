import { describe, expect, it } from 'vitest';
import { MessageProcessor } from '../../ingest/process-message.js';
import type { SplitPacketStore } from '../../ingest/split-packet-store.js';
import { ADMITTED, REFUSED, StationRate, costOf } from '../../ingest/station-rate.js';
import { MN, hj212Frame, jsonPayload, shippedRegistry } from '../helpers/fixtures.js';

const T = Date.parse('2026-03-01T12:00:00Z');

describe('StationRate', () => {
  it('admits a burst, then the sustained rate, and refuses the rest', () => {
    const r = new StationRate({ perS: 10, burst: 5 });
    const at = (t: number) => r.admit('hongyuan', 100, t);
    expect([1, 2, 3, 4, 5].map(() => at(T))).toEqual([ADMITTED, ADMITTED, ADMITTED, ADMITTED, ADMITTED]);
    // The first refusal is recorded (0 unrecorded before it), the next within the window only counted.
    expect(at(T)).toBe(0);
    expect(at(T)).toBe(REFUSED);
    // 10 a second: one more after 100 ms, not after 99.
    expect(at(T + 99)).toBe(REFUSED);
    expect(at(T + 100)).toBe(ADMITTED);
    expect(at(T + 100)).toBe(REFUSED);
    // Refusals never spend the budget; after the record window the next refusal is recorded with the count.
    expect(at(T + 10_000)).toBe(ADMITTED);
    for (let i = 0; i < 4; i++) expect(at(T + 10_000)).toBe(ADMITTED);
    // Unrecorded since the last record: the one at T, the one at T + 99, the one at T + 100.
    expect(at(T + 10_000)).toBe(3);
    expect(at(T + 10_000)).toBe(REFUSED);
  });

  it('refills no more than the burst, however long a station was quiet', () => {
    const r = new StationRate({ perS: 1000, burst: 3 });
    for (let i = 0; i < 3; i++) expect(r.admit('hongyuan', 10, T)).toBe(ADMITTED);
    expect(r.admit('hongyuan', 10, T)).toBe(0);
    // An hour later, 3.6 million tokens' worth of quiet: still a burst of 3.
    const admitted = [1, 2, 3, 4].map(() => r.admit('hongyuan', 10, T + 3_600_000)).filter((a) => a === ADMITTED);
    expect(admitted).toHaveLength(3);
  });

  it('keeps each station to its own budget', () => {
    const r = new StationRate({ perS: 1, burst: 2 });
    expect([r.admit('a', 1, T), r.admit('a', 1, T), r.admit('a', 1, T)]).toEqual([ADMITTED, ADMITTED, 0]);
    expect([r.admit('b', 1, T), r.admit('b', 1, T)]).toEqual([ADMITTED, ADMITTED]);
  });

  it('counts a message one token per started KiB', () => {
    expect([costOf(0), costOf(1024), costOf(1025), costOf(9000), costOf(32768)]).toEqual([1, 1, 2, 9, 32]);
    const r = new StationRate({ perS: 1, burst: 20 });
    expect(r.admit('a', 9000, T)).toBe(ADMITTED);
    expect(r.admit('a', 9000, T)).toBe(ADMITTED);
    // 2 tokens left: a 3 KiB message does not fit, a 2 KiB one does.
    expect(r.admit('a', 3000, T)).toBe(0);
    expect(r.admit('a', 2048, T)).toBe(ADMITTED);
  });

  it('describes itself for the record, in words a reader checks against the config', () => {
    expect(new StationRate({ perS: 50, burst: 50_000 }).describe()).toBe(
      '50 messages a second after a burst of 50000; a message over 1 KiB counts one per started KiB',
    );
    expect(new StationRate({ perS: 1, burst: 5 }).describe()).toMatch(/^1 message a second after a burst of 5;/);
  });

  it('hands over the refusals no record counted once their window has passed, each once', () => {
    const r = new StationRate({ perS: 1, burst: 1, recordEveryMs: 10_000 });
    r.admit('a', 1, T);
    expect(r.admit('a', 1, T)).toBe(0);
    for (let i = 0; i < 3; i++) expect(r.admit('a', 1, T)).toBe(REFUSED);
    r.admit('quiet', 1, T);
    // Within the window: not yet (a later refusal may still carry the count).
    expect(r.takeUnrecorded(T + 9_999)).toEqual([]);
    expect(r.takeUnrecorded(T + 10_000)).toEqual([{ station: 'a', refused: 3 }]);
    // The handover is a record: a refusal right after it waits for the next window.
    expect(r.admit('a', 1, T + 10_000)).toBe(ADMITTED);
    expect(r.admit('a', 1, T + 10_000)).toBe(REFUSED);
    expect(r.takeUnrecorded(T + 19_999)).toEqual([]);
    expect(r.takeUnrecorded(T + 20_000)).toEqual([{ station: 'a', refused: 1 }]);
    expect(r.takeUnrecorded(T + 60_000)).toEqual([]);
    // Counted as recorded: the next record starts from zero, a window after the handover.
    r.admit('a', 1, T + 60_000);
    expect(r.admit('a', 1, T + 60_000)).toBe(0);
  });

  it('takes back counts that could not be recorded, for the next record', () => {
    const r = new StationRate({ perS: 1, burst: 1, recordEveryMs: 10_000 });
    r.admit('a', 1, T);
    r.admit('a', 1, T);
    r.admit('a', 1, T);
    r.admit('a', 1, T);
    const taken = r.takeUnrecorded(T + 10_000);
    expect(taken).toEqual([{ station: 'a', refused: 2 }]);
    r.giveBack([...taken, { station: 'forgotten', refused: 5 }]);
    // Due at once, not a window later, and added to what came since.
    expect(r.admit('a', 1, T + 10_000)).toBe(ADMITTED);
    expect(r.admit('a', 1, T + 10_000)).toBe(2);
    expect(r.takeUnrecorded(T + 20_000)).toEqual([]);
    expect(r.size).toBe(1);
  });

  it('is off at per_s 0', () => {
    const r = new StationRate({ perS: 0, burst: 1 });
    expect([1, 2, 3].map(() => r.admit('a', 100_000, T))).toEqual([ADMITTED, ADMITTED, ADMITTED]);
    expect(r.size).toBe(0);
  });

  it("answers admitted and refused with negative numbers, never a record's count", () => {
    expect(ADMITTED).toBeLessThan(0);
    expect(REFUSED).toBeLessThan(0);
    expect(ADMITTED).not.toBe(REFUSED);
  });

  it('takes no tokens away when the clock steps back, and refills from the new time on', () => {
    const r = new StationRate({ perS: 1, burst: 2 });
    expect(r.admit('a', 1, T + 5_000)).toBe(ADMITTED);
    expect(r.admit('a', 1, T)).toBe(ADMITTED);
    expect(r.admit('a', 1, T)).toBe(0);
    // A second after the step, not five seconds after it: a token.
    expect(r.admit('a', 1, T + 1_000)).toBe(ADMITTED);
  });

  it('forgets only stations whose budget is full again when it reaches its bound', () => {
    const r = new StationRate({ perS: 1, burst: 2, maxStations: 5 });
    // Spent, refilled by 0.5 of 2: kept. Spent, refilled exactly to the burst: idle.
    r.admit('busy', 1, T);
    r.admit('busy', 1, T);
    r.admit('half', 1, T - 500);
    r.admit('exact', 1, T - 1_000);
    r.admit('idle', 1, T - 60_000);
    // Full again by now, but with refusals not yet recorded: kept, so its next record counts them.
    r.admit('loud', 1, T - 60_000);
    r.admit('loud', 1, T - 60_000);
    expect(r.admit('loud', 1, T - 60_000)).toBe(0);
    expect(r.admit('loud', 1, T - 60_000)).toBe(REFUSED);
    expect(r.size).toBe(5);
    // A sixth station at the bound of 5: 'exact' and 'idle' go.
    expect(r.admit('new', 1, T)).toBe(ADMITTED);
    expect(r.size).toBe(4);
    // Kept: 'busy' with its empty budget, 'half' with 1.5 tokens, 'loud' with its unrecorded refusal.
    expect(r.admit('busy', 1, T)).toBe(0);
    expect([r.admit('half', 1, T), r.admit('half', 1, T)]).toEqual([ADMITTED, 0]);
    expect(r.admit('loud', 1, T - 60_000 + 10_000)).toBe(ADMITTED);
    expect(r.admit('loud', 1, T - 60_000 + 10_000)).toBe(ADMITTED);
    expect(r.admit('loud', 1, T - 60_000 + 10_000)).toBe(1);
  });

  it('forgets nothing below its bound', () => {
    const r = new StationRate({ perS: 1, burst: 2, maxStations: 5 });
    for (const s of ['a', 'b', 'c', 'd']) r.admit(s, 1, T - 60_000);
    expect(r.size).toBe(4);
    r.admit('e', 1, T);
    expect(r.size).toBe(5);
  });

  it('starts again when every remembered station is busy at its bound (100,000 by default)', () => {
    const r = new StationRate({ perS: 1, burst: 1 });
    for (let i = 0; i < 100_000; i++) r.admit(`s${i}`, 1, T);
    expect(r.size).toBe(100_000);
    expect(r.admit('s0', 1, T)).toBe(0);
    // One more station: none is idle, so all are forgotten, and s0 has a fresh burst.
    expect(r.admit('one-more', 1, T)).toBe(ADMITTED);
    expect(r.size).toBe(1);
    expect(r.admit('s0', 1, T)).toBe(ADMITTED);
  });
});

describe('MessageProcessor with a station rate', () => {
  const processor = (stationRate: StationRate) =>
    new MessageProcessor({
      registry: shippedRegistry(),
      topicPrefix: 'tuojiang',
      maxPayloadBytes: 65536,
      futureToleranceMs: 600_000,
      splitStore: {} as SplitPacketStore,
      now: () => T,
      stationRate,
    });
  const reading = Buffer.from(jsonPayload({ ts: T - 60_000, values: { NH3N: 0.4 } }));

  it("refuses a station's messages over its budget before decoding: one kept as a dead letter, the others dropped and named", async () => {
    const p = processor(new StationRate({ perS: 1, burst: 1 }));
    const first = await p.process('tuojiang/water/hongyuan', reading);
    expect(first.items[0]).toMatchObject({ kind: 'reading' });
    // Not even JSON: refused before a decoder sees it.
    const kept = await p.process('tuojiang/water/hongyuan', Buffer.from('not json'));
    expect(kept.dropped).toBeUndefined();
    expect(kept.replies).toEqual([]);
    expect(kept.items).toHaveLength(1);
    expect(kept.items[0]).toMatchObject({
      kind: 'dead',
      dead: { reason: 'TJ_RATE_LIMITED', station: 'hongyuan', topic: 'tuojiang/water/hongyuan', payload: Buffer.from('not json') },
    });
    const message = (kept.items[0] as { dead: { message: string } }).dead.message;
    expect(message).toBe(
      'station hongyuan sent more than ingest.station_rate allows (1 message a second after a burst of 1; a message over 1 KiB counts one per started KiB): this message of 8 bytes was refused before decoding, not stored. ' +
        'A station in a loop or with stolen credentials: stop it or change its password. A legitimate backlog: raise the burst, then have the station send that period again (MQTT readings refused are gone; an HJ 212 logger re-sends an unanswered frame up to its retry count).',
    );
    const dropped = await p.process('tuojiang/water/hongyuan', reading);
    expect(dropped).toMatchObject({ items: [], replies: [], dropped: 'TJ_RATE_LIMITED' });
    // Another station is not held to hongyuan's budget.
    expect((await p.process('tuojiang/water/huaikou', reading)).items[0]).toMatchObject({
      kind: 'reading',
    });
  });

  it('says in the next record how many refusals went unrecorded since the one before', async () => {
    let now = T;
    const p = new MessageProcessor({
      registry: shippedRegistry(),
      topicPrefix: 'tuojiang',
      maxPayloadBytes: 65536,
      futureToleranceMs: 600_000,
      splitStore: {} as SplitPacketStore,
      now: () => now,
      stationRate: new StationRate({ perS: 0.01, burst: 1 }),
    });
    const outcomes = [];
    for (const at of [T, T, T, T, T + 10_000]) {
      now = at;
      outcomes.push(await p.process('tuojiang/water/hongyuan', reading));
    }
    expect(outcomes.map((o) => o.dropped ?? o.items[0]?.kind)).toEqual(['reading', 'dead', 'TJ_RATE_LIMITED', 'TJ_RATE_LIMITED', 'dead']);
    expect((outcomes[4]!.items[0] as { dead: { message: string; details: unknown } }).dead).toMatchObject({
      message: expect.stringMatching(
        / bytes was refused before decoding, not stored; 2 more were refused since the previous record, counted and not kept\. A station/,
      ),
      details: { notRecorded: 2 },
    });
  });

  it("does not charge a frame whose source authenticated no one (an unknown MN's only frame): a new logger's record is never kept out", async () => {
    const p = processor(new StationRate({ perS: 1, burst: 1 }));
    const unknown = Buffer.from(hj212Frame({ mn: '99999999999999', ts: T - 60_000, items: { w21003: { Rtd: '0.5' } } }));
    const out = await Promise.all([1, 2, 3].map(() => p.process('hj212-tcp', unknown, { sender: null, decoders: ['hj212'] })));
    expect(out.map((o) => (o.items[0] as { dead?: { reason: string } }).dead?.reason)).toEqual([
      'TJ_UNKNOWN_STATION',
      'TJ_UNKNOWN_STATION',
      'TJ_UNKNOWN_STATION',
    ]);
  });

  it('charges an HJ 212 frame to the sender its connection authenticated, not to the topic, and does not answer a refused one', async () => {
    const p = processor(new StationRate({ perS: 1, burst: 1 }));
    const frame = (qn: string) =>
      Buffer.from(hj212Frame({ mn: MN.hongyuan, ts: T - 60_000, qn, flag: 5, items: { w21003: { Rtd: '0.5' } } }));
    const first = await p.process('hj212-tcp/hongyuan', frame('20260301115900001'), { sender: 'hongyuan', decoders: ['hj212'] });
    expect(first.items[0]).toMatchObject({ kind: 'reading' });
    expect(first.replies).toHaveLength(1);
    // Another topic, the same sender: the same budget.
    const refused = await p.process('hj212-tcp/other', frame('20260301115900002'), { sender: 'hongyuan', decoders: ['hj212'] });
    expect(refused.items[0]).toMatchObject({ kind: 'dead', dead: { reason: 'TJ_RATE_LIMITED', station: 'hongyuan' } });
    expect(refused.replies).toEqual([]);
  });
});
