import { describe, expect, it } from 'vitest';
import { TuojiangError } from '../../lib/errors.js';
import { encodeCp, encodeFrame, flagHasSplit, parseFrame } from '../../ingest/hj212/frame.js';
import type { Hj212Frame } from '../../ingest/hj212/frame.js';
import { SplitPacketReassembler } from '../../ingest/hj212/reassembler.js';

const QN = '20260301080000123';

/** Part `pno` of a 3-part hourly water packet; each part carries one factor. */
function part(pno: number, opts: { pnum?: number; qn?: string; mn?: string; cn?: string } = {}): Hj212Frame {
  const codes = ['w21003', 'w01001', 'w01009', 'w21011'];
  const code = codes[(pno - 1) % codes.length]!;
  const cp = encodeCp(pno === 1 ? '20260301080000' : undefined, { [code]: { Avg: (pno / 10).toFixed(1), Flag: 'N' } });
  return parseFrame(
    encodeFrame({
      qn: opts.qn ?? QN,
      st: '21',
      cn: opts.cn ?? '2061',
      pw: '123456',
      mn: opts.mn ?? 'MN-HONGYUAN',
      flag: 7, // 2017, split (D), wants an answer (A)
      pnum: opts.pnum ?? 3,
      pno,
      cp,
    }),
  );
}

const MERGED_ITEMS = { w21003: { Avg: '0.1', Flag: 'N' }, w01001: { Avg: '0.2', Flag: 'N' }, w01009: { Avg: '0.3', Flag: 'N' } };

describe('SplitPacketReassembler', () => {
  it('passes frames without bit D straight through', () => {
    const r = new SplitPacketReassembler();
    const frame = parseFrame(encodeFrame({ qn: QN, st: '21', cn: '2011', mn: 'M', flag: 5, cp: 'w01001-Rtd=7' }));
    expect(r.add(frame, 0)).toBe(frame);
    const old = parseFrame(encodeFrame({ st: '21', cn: '2011', mn: 'M', pnum: 2, pno: 1, cp: '' })); // 2005: no Flag
    expect(r.offer(old, 0)).toEqual({ status: 'passthrough', frame: old });
    expect(r.pendingGroups).toBe(0);
  });

  it('merges parts that arrive in order', () => {
    const r = new SplitPacketReassembler();
    expect(r.add(part(1), 0)).toBeNull();
    expect(r.add(part(2), 1)).toBeNull();
    expect(r.pendingGroups).toBe(1);
    expect(r.pendingParts).toBe(2);
    const merged = r.add(part(3), 2);
    expect(merged).not.toBeNull();
    expect(merged!.cp.items).toEqual(MERGED_ITEMS);
    expect(merged!.cp.dataTime).toBe('20260301080000');
    expect(merged).toMatchObject({ qn: QN, st: '21', cn: '2061', pw: '123456', mn: 'MN-HONGYUAN', flag: 5 });
    expect(merged!.pnum).toBeUndefined();
    expect(merged!.pno).toBeUndefined();
    expect(flagHasSplit(merged!.flag)).toBe(false);
    expect(merged!.segment.split('\n')).toEqual([part(1).segment, part(2).segment, part(3).segment]);
    expect(r.pendingGroups).toBe(0);
    expect(r.pendingParts).toBe(0);
  });

  it('merges parts that arrive out of order into the same frame', () => {
    const inOrder = new SplitPacketReassembler();
    inOrder.add(part(1), 0);
    inOrder.add(part(2), 0);
    const expected = inOrder.add(part(3), 0);

    const r = new SplitPacketReassembler();
    expect(r.add(part(3), 0)).toBeNull();
    expect(r.add(part(1), 0)).toBeNull();
    const merged = r.add(part(2), 0);
    expect(merged).toEqual(expected);
    expect(merged!.cp.dataTime).toBe('20260301080000'); // carried by part 1 even though it came second
  });

  it('treats duplicated parts as idempotent, before and after completion', () => {
    const r = new SplitPacketReassembler({ timeoutMs: 1000 });
    expect(r.offer(part(1), 0)).toEqual({ status: 'pending' });
    expect(r.offer(part(1), 1)).toEqual({ status: 'duplicate' });
    expect(r.offer(part(2), 2)).toEqual({ status: 'pending' });
    expect(r.offer(part(2), 3)).toEqual({ status: 'duplicate' });
    expect(r.pendingParts).toBe(2);
    const done = r.offer(part(3), 4);
    expect(done.status).toBe('complete');
    expect(done.status === 'complete' && done.frame.cp.items).toEqual(MERGED_ITEMS);
    // A redelivered part after completion must not open a group that would be dead-lettered later.
    expect(r.offer(part(2), 5)).toEqual({ status: 'duplicate' });
    expect(r.add(part(3), 6)).toBeNull();
    expect(r.pendingGroups).toBe(0);
    expect(r.expire(10_000)).toEqual([]);
  });

  it('keeps packets with another QN, MN or CN apart', () => {
    const r = new SplitPacketReassembler();
    expect(r.add(part(1), 0)).toBeNull();
    expect(r.add(part(2, { qn: '20260301090000123' }), 0)).toBeNull();
    expect(r.add(part(2, { mn: 'MN-SHIQIAO' }), 0)).toBeNull();
    expect(r.add(part(2, { cn: '2051' }), 0)).toBeNull();
    expect(r.pendingGroups).toBe(4);
    expect(r.add(part(2), 0)).toBeNull();
    expect(r.add(part(3), 0)?.cp.items).toEqual(MERGED_ITEMS);
    expect(r.pendingGroups).toBe(3);
  });

  it('expires incomplete packets older than timeoutMs, with what arrived and what is missing', () => {
    const r = new SplitPacketReassembler({ timeoutMs: 30_000 });
    r.add(part(1), 1000);
    r.add(part(3), 5000);
    expect(r.expire(31_000)).toEqual([]); // exactly timeoutMs old: not yet
    const expired = r.expire(31_001);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({
      mn: 'MN-HONGYUAN',
      qn: QN,
      cn: '2061',
      pnum: 3,
      received: [1, 3],
      missing: [2],
      firstSeenMs: 1000,
      reason: 'timeout',
    });
    expect(expired[0]!.frames.map((f) => f.pno)).toEqual([1, 3]);
    expect(r.pendingGroups).toBe(0);
    expect(r.pendingParts).toBe(0);
    expect(r.expire(100_000)).toEqual([]);
    // The missing part arriving late starts a new group rather than completing the expired one.
    expect(r.add(part(2), 40_000)).toBeNull();
    expect(r.pendingGroups).toBe(1);
  });

  it('expires only the groups that are old enough', () => {
    const r = new SplitPacketReassembler({ timeoutMs: 100 });
    r.add(part(1, { qn: 'A' }), 0);
    r.add(part(1, { qn: 'B' }), 50);
    expect(r.expire(120).map((g) => g.qn)).toEqual(['A']);
    expect(r.pendingGroups).toBe(1);
    expect(r.expire(151).map((g) => g.qn)).toEqual(['B']);
  });

  it('bounds the number of pending groups, reporting the evicted oldest at the next expire', () => {
    const r = new SplitPacketReassembler({ maxPendingGroups: 2, timeoutMs: 60_000 });
    r.add(part(1, { qn: 'A' }), 0);
    r.add(part(1, { qn: 'B' }), 1);
    r.add(part(1, { qn: 'C' }), 2);
    expect(r.pendingGroups).toBe(2);
    const given = r.expire(3);
    expect(given.map((g) => [g.qn, g.reason])).toEqual([['A', 'evicted']]);
    expect(r.expire(4)).toEqual([]);
    // B and C are still held and can complete.
    r.add(part(2, { qn: 'C' }), 5);
    expect(r.add(part(3, { qn: 'C' }), 6)).not.toBeNull();
  });

  it('bounds the number of pending parts', () => {
    const r = new SplitPacketReassembler({ maxPendingParts: 3 });
    r.add(part(1, { qn: 'A', pnum: 5 }), 0);
    r.add(part(2, { qn: 'A', pnum: 5 }), 0);
    r.add(part(1, { qn: 'B', pnum: 5 }), 0);
    expect(r.pendingParts).toBe(3);
    r.add(part(2, { qn: 'B', pnum: 5 }), 0);
    expect(r.pendingParts).toBe(2);
    expect(r.expire(0)).toMatchObject([{ qn: 'A', reason: 'evicted', received: [1, 2], missing: [3, 4, 5] }]);
  });

  it('completes a one-part split packet at once', () => {
    const r = new SplitPacketReassembler();
    const merged = r.add(part(1, { pnum: 1 }), 0);
    expect(merged?.cp.items).toEqual({ w21003: { Avg: '0.1', Flag: 'N' } });
    expect(r.pendingGroups).toBe(0);
  });

  it('rejects a part whose PNUM disagrees with its group', () => {
    const r = new SplitPacketReassembler();
    r.add(part(1), 0);
    let error: unknown;
    try {
      r.add(part(2, { pnum: 4 }), 0);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TuojiangError);
    expect((error as TuojiangError).code).toBe('TJ_MALFORMED_FRAME');
  });

  it('rejects a hand-built split frame without PNUM/PNO', () => {
    const r = new SplitPacketReassembler();
    const frame: Hj212Frame = { cn: '2011', mn: 'M', flag: 7, cp: { items: {}, other: {} }, segment: '' };
    expect(() => r.add(frame, 0)).toThrow(TuojiangError);
  });

  it('rejects a non-positive configuration', () => {
    expect(() => new SplitPacketReassembler({ timeoutMs: 0 })).toThrow(RangeError);
    expect(() => new SplitPacketReassembler({ maxPendingGroups: -1 })).toThrow(RangeError);
  });
});
