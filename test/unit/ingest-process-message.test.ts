import { describe, expect, it } from 'vitest';
import { parseFrame, type Hj212Frame } from '../../ingest/hj212/frame.js';
import type { JournalItem } from '../../ingest/journal.js';
import { MessageProcessor } from '../../ingest/process-message.js';
import { mergeParts, type SplitAddResult, type SplitPacketStore } from '../../ingest/split-packet-store.js';
import { MN, hj212Frame, jsonPayload, shippedRegistry } from '../helpers/fixtures.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const TS = Date.parse('2026-03-01T11:00:00Z');

/** The Redis store's contract in memory: parts keyed by (MN, CN, QN, PNUM), merged when all arrived. */
class MemorySplitStore {
  readonly groups = new Map<string, Map<number, string>>();
  async add(frame: Hj212Frame, raw: string): Promise<SplitAddResult> {
    const key = `${frame.mn.toUpperCase()}:${frame.cn}:${frame.qn ?? ''}:${frame.pnum}`;
    const parts = this.groups.get(key) ?? new Map<number, string>();
    parts.set(frame.pno!, raw);
    this.groups.set(key, parts);
    if (parts.size < frame.pnum!) return { status: 'pending' };
    return {
      status: 'complete',
      frame: mergeParts([...parts.values()].map((p) => parseFrame(p))),
      release: async () => {
        this.groups.delete(key);
      },
    };
  }
}

function processor(maxPayloadBytes = 65536) {
  const splitStore = new MemorySplitStore();
  const p = new MessageProcessor({
    registry: shippedRegistry(),
    topicPrefix: 'tuojiang',
    maxPayloadBytes,
    futureToleranceMs: 600_000,
    splitStore: splitStore as unknown as SplitPacketStore,
    now: () => NOW,
  });
  return { p, splitStore };
}

function only(items: JournalItem[]): JournalItem {
  expect(items).toHaveLength(1);
  return items[0]!;
}

function reason(items: JournalItem[]): string {
  const item = only(items);
  if (item.kind !== 'dead') throw new Error(`expected a dead letter, got ${JSON.stringify(item)}`);
  return item.dead.reason;
}

describe('MessageProcessor', () => {
  it('turns a JSON reading into one journal reading', async () => {
    const { p } = processor();
    const out = await p.process('tuojiang/water/hongyuan', Buffer.from(jsonPayload({ ts: TS, values: { NH3N: 0.42 } })));
    expect(out.replies).toEqual([]);
    expect(only(out.items)).toEqual({
      kind: 'reading',
      reading: expect.objectContaining({ station: 'hongyuan', ts: TS, values: { NH3N: 0.42 }, source: 'json' }),
    });
  });

  it('recognises a frame after leading whitespace', async () => {
    const { p } = processor();
    const frame = hj212Frame({ mn: MN.hongyuan, ts: TS, items: { w21003: { Rtd: '0.5' } } });
    const out = await p.process('tuojiang/water/hongyuan', Buffer.from(` \r\n\t${frame}`));
    expect(only(out.items)).toMatchObject({ kind: 'reading', reading: { source: 'hj212', values: { NH3N: 0.5 } } });
  });

  it('dead-letters with the topic, the exact payload bytes, the station of the topic and the time received', async () => {
    const { p } = processor();
    const payload = Buffer.from([0x7b, 0xff, 0xfe, 0x00]);
    const out = await p.process('tuojiang/water/hongyuan', payload);
    const item = only(out.items);
    expect(item).toEqual({
      kind: 'dead',
      dead: {
        reason: 'TJ_MALFORMED_JSON',
        message: expect.any(String),
        topic: 'tuojiang/water/hongyuan',
        payload,
        receivedAt: NOW,
        station: 'hongyuan',
      },
    });
  });

  it('refuses a payload over the size limit before decoding it', async () => {
    const { p } = processor(256);
    expect(reason((await p.process('tuojiang/water/hongyuan', Buffer.alloc(257, 0x20))).items)).toBe('TJ_TOO_LARGE');
    // 256 bytes of spaces is within the limit: refused as JSON, not for its size
    expect(reason((await p.process('tuojiang/water/hongyuan', Buffer.alloc(256, 0x20))).items)).toBe('TJ_MALFORMED_JSON');
  });

  it('answers a frame whose Flag has bit A, to its station, echoing QN', async () => {
    const { p } = processor();
    const frame = hj212Frame({ mn: MN.hongyuan, ts: TS, flag: 5, qn: '20260301190000123', items: { w21003: { Rtd: '0.5' } } });
    const out = await p.process('tuojiang/water/hongyuan', Buffer.from(frame));
    expect(out.replies).toHaveLength(1);
    expect(out.replies[0]!.station).toBe('hongyuan');
    expect(parseFrame(out.replies[0]!.payload)).toMatchObject({ qn: '20260301190000123', st: '91', cn: '9014', mn: MN.hongyuan, flag: 4 });
  });

  it('does not answer a frame without bit A, nor a frame of an unknown station', async () => {
    const { p } = processor();
    expect(
      (
        await p.process(
          'tuojiang/water/hongyuan',
          Buffer.from(hj212Frame({ mn: MN.hongyuan, ts: TS, flag: 4, items: { w21003: { Rtd: '1' } } })),
        )
      ).replies,
    ).toEqual([]);
    const stranger = await p.process(
      'tuojiang/water/hongyuan',
      Buffer.from(hj212Frame({ mn: 'FFFF', ts: TS, flag: 5, items: { w21003: { Rtd: '1' } } })),
    );
    expect(stranger.replies).toEqual([]);
    expect(reason(stranger.items)).toBe('TJ_UNKNOWN_STATION');
  });

  it("holds split parts and emits one reading with every part's values when the last arrives", async () => {
    const { p, splitStore } = processor();
    const part = (pno: number, items: Record<string, Record<string, string>>) =>
      Buffer.from(hj212Frame({ mn: MN.hongyuan, ts: TS, flag: 6, pnum: 3, pno, qn: '20260301190000000', items }));
    const second = await p.process('tuojiang/water/hongyuan', part(2, { w01001: { Rtd: '7.5' } }));
    expect(second.items).toEqual([]);
    expect((await p.process('tuojiang/water/hongyuan', part(3, { w01009: { Rtd: '6.1' } }))).items).toEqual([]);
    expect(splitStore.groups.size).toBe(1);
    const last = await p.process('tuojiang/water/hongyuan', part(1, { w21003: { Rtd: '0.4' } }));
    expect(only(last.items)).toMatchObject({ kind: 'reading', reading: { values: { NH3N: 0.4, pH: 7.5, DO: 6.1 }, ts: TS } });
    // The parts stay stored until the merged reading is durable, then the caller releases them.
    expect(splitStore.groups.size).toBe(1);
    await last.onDurable?.();
    expect(splitStore.groups.size).toBe(0);
  });

  it('validates split parts before storing them: a part of another station is refused at once', async () => {
    const { p, splitStore } = processor();
    const f = hj212Frame({ mn: MN.huaikou, ts: TS, flag: 6, pnum: 2, pno: 1, items: { w21003: { Rtd: '0.4' } } });
    expect(reason((await p.process('tuojiang/water/hongyuan', Buffer.from(f))).items)).toBe('TJ_STATION_MISMATCH');
    expect(splitStore.groups.size).toBe(0);
  });

  it('never throws, whatever the bytes', async () => {
    const { p } = processor();
    const inputs = ['', '##', '##0000', '##0000\r\n', '##00101234567890ABCD', 'null', '{}', '[]', '{"ts":1e400}', '\u0000'];
    for (const text of inputs) {
      const out = await p.process('tuojiang/water/hongyuan', Buffer.from(text));
      expect(only(out.items).kind, text).toBe('dead');
    }
    expect(reason((await p.process('not/a/station/topic', Buffer.from(jsonPayload({ ts: TS, values: { NH3N: 1 } })))).items)).toBe(
      'TJ_UNKNOWN_STATION',
    );
  });
});
