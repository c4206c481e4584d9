/**
 * Reassembles split HJ 212 packets (Flag bit D; PNUM parts, PNO 1-based) into one logical frame.
 * Parts of one packet share (MN, QN, CN). State is in memory and bounded: a logger that never sends
 * the last part, or a flood of distinct QNs, must not grow the process without limit. Groups that
 * time out or are evicted are handed back by expire() so the caller can dead-letter them with
 * SPLIT_INCOMPLETE.
 */
import { TuojiangError } from '../../lib/errors.js';
import { flagHasSplit } from './frame.js';
import type { Hj212Cp, Hj212Frame } from './frame.js';

export interface ReassemblerOptions {
  /** An incomplete group older than this (since its first part arrived) is expired. Default 60 s. */
  timeoutMs?: number;
  /** At most this many incomplete groups are held; the oldest is evicted beyond it. Default 1,000. */
  maxPendingGroups?: number;
  /** At most this many parts are held over all groups; oldest groups are evicted beyond it. Default 10,000. */
  maxPendingParts?: number;
}

/** An incomplete split packet given up on: the parts that did arrive, for the dead-letter record. */
export interface IncompleteSplit {
  mn: string;
  qn: string | undefined;
  cn: string;
  pnum: number;
  /** PNOs received, ascending. */
  received: number[];
  /** PNOs never received, ascending. */
  missing: number[];
  firstSeenMs: number;
  reason: 'timeout' | 'evicted';
  /** The parts received, in PNO order. */
  frames: Hj212Frame[];
}

export type SplitOutcome =
  /** Not a split packet (no bit D): use the frame as is. */
  | { status: 'passthrough'; frame: Hj212Frame }
  /** This part completed its packet: the merged frame. */
  | { status: 'complete'; frame: Hj212Frame }
  /** Held until the other parts arrive. */
  | { status: 'pending' }
  /** A part already held, or a part of a packet completed within timeoutMs: nothing new. */
  | { status: 'duplicate' };

interface Group {
  mn: string;
  qn: string | undefined;
  cn: string;
  pnum: number;
  firstSeenMs: number;
  parts: Map<number, Hj212Frame>;
}

export class SplitPacketReassembler {
  private readonly timeoutMs: number;
  private readonly maxPendingGroups: number;
  private readonly maxPendingParts: number;
  /** Insertion order is arrival order of each group's first part: the first entry is the oldest. */
  private readonly pending = new Map<string, Group>();
  /**
   * Keys of packets completed recently. A QoS 1 redelivery or a logger resend of a part after its
   * packet completed would otherwise open a new group that can never complete and end up
   * dead-lettered as SPLIT_INCOMPLETE although nothing was lost.
   */
  private readonly completed = new Map<string, number>();
  private evicted: IncompleteSplit[] = [];
  private partCount = 0;

  constructor(options: ReassemblerOptions = {}) {
    this.timeoutMs = positive(options.timeoutMs ?? 60_000, 'timeoutMs');
    this.maxPendingGroups = positive(options.maxPendingGroups ?? 1_000, 'maxPendingGroups');
    this.maxPendingParts = positive(options.maxPendingParts ?? 10_000, 'maxPendingParts');
  }

  /** Number of incomplete groups held. */
  get pendingGroups(): number {
    return this.pending.size;
  }

  /** Number of parts held over all incomplete groups. */
  get pendingParts(): number {
    return this.partCount;
  }

  /**
   * The merged frame once every part of (MN, QN, CN) has arrived, the frame itself if it is not
   * split, else null (held, or a duplicate). Use offer() to tell those apart.
   */
  add(frame: Hj212Frame, nowMs: number): Hj212Frame | null {
    const outcome = this.offer(frame, nowMs);
    return outcome.status === 'passthrough' || outcome.status === 'complete' ? outcome.frame : null;
  }

  /** Like add(), saying what happened. Throws MALFORMED_FRAME for a part inconsistent with its group. */
  offer(frame: Hj212Frame, nowMs: number): SplitOutcome {
    if (!flagHasSplit(frame.flag)) return { status: 'passthrough', frame };
    const { pnum, pno } = frame;
    if (pnum === undefined || pno === undefined || !Number.isInteger(pnum) || !Number.isInteger(pno) || pno < 1 || pno > pnum) {
      throw new TuojiangError('MALFORMED_FRAME', `A split packet part needs 1 <= PNO <= PNUM, got PNO=${pno} PNUM=${pnum}.`);
    }
    const key = JSON.stringify([frame.mn, frame.qn ?? null, frame.cn]);
    const completedAt = this.completed.get(key);
    if (completedAt !== undefined && nowMs - completedAt <= this.timeoutMs) return { status: 'duplicate' };

    let group = this.pending.get(key);
    if (!group) {
      group = { mn: frame.mn, qn: frame.qn, cn: frame.cn, pnum, firstSeenMs: nowMs, parts: new Map() };
      this.pending.set(key, group);
    } else if (group.pnum !== pnum) {
      throw new TuojiangError('MALFORMED_FRAME', `Split packet part PNO=${pno} says PNUM=${pnum}; earlier parts said PNUM=${group.pnum}.`, {
        mn: frame.mn,
        qn: frame.qn,
        cn: frame.cn,
      });
    }
    if (group.parts.has(pno)) return { status: 'duplicate' };
    group.parts.set(pno, frame);
    this.partCount++;

    if (group.parts.size === group.pnum) {
      this.pending.delete(key);
      this.partCount -= group.parts.size;
      this.rememberCompleted(key, nowMs);
      return { status: 'complete', frame: merge(sortedParts(group)) };
    }
    while (this.pending.size > this.maxPendingGroups || this.partCount > this.maxPendingParts) this.evictOldest();
    return { status: 'pending' };
  }

  /**
   * Removes and returns the groups given up on: those evicted to keep memory bounded since the last
   * call, and those whose first part arrived more than timeoutMs before nowMs. Call it periodically.
   */
  expire(nowMs: number): IncompleteSplit[] {
    const out = this.evicted;
    this.evicted = [];
    for (const [key, group] of this.pending) {
      if (nowMs - group.firstSeenMs > this.timeoutMs) {
        this.pending.delete(key);
        this.partCount -= group.parts.size;
        out.push(describeIncomplete(group, 'timeout'));
      }
    }
    for (const [key, at] of this.completed) {
      if (nowMs - at > this.timeoutMs) this.completed.delete(key);
    }
    return out;
  }

  private evictOldest(): void {
    const first = this.pending.entries().next();
    if (first.done) return;
    const [key, group] = first.value;
    this.pending.delete(key);
    this.partCount -= group.parts.size;
    this.evicted.push(describeIncomplete(group, 'evicted'));
  }

  private rememberCompleted(key: string, nowMs: number): void {
    this.completed.delete(key);
    this.completed.set(key, nowMs);
    // The memory of completed packets is only an optimisation: bound it like the pending groups.
    while (this.completed.size > this.maxPendingGroups) {
      const oldest = this.completed.keys().next();
      if (oldest.done) break;
      this.completed.delete(oldest.value);
    }
  }
}

function positive(n: number, name: string): number {
  if (!(Number.isFinite(n) && n > 0)) throw new RangeError(`SplitPacketReassembler: ${name} must be a positive number, got ${n}.`);
  return n;
}

function sortedParts(group: Group): Hj212Frame[] {
  return [...group.parts.entries()].sort(([a], [b]) => a - b).map(([, frame]) => frame);
}

function describeIncomplete(group: Group, reason: IncompleteSplit['reason']): IncompleteSplit {
  const received = [...group.parts.keys()].sort((a, b) => a - b);
  const missing: number[] = [];
  for (let pno = 1; pno <= group.pnum; pno++) if (!group.parts.has(pno)) missing.push(pno);
  return {
    mn: group.mn,
    qn: group.qn,
    cn: group.cn,
    pnum: group.pnum,
    received,
    missing,
    firstSeenMs: group.firstSeenMs,
    reason,
    frames: sortedParts(group),
  };
}

/**
 * One logical frame from all parts, in PNO order: the header of part 1, Flag without bit D and no
 * PNUM/PNO (it is no longer a part), CP items merged (a key sent by two parts keeps the first
 * part's value), DataTime from the first part that has one, and the parts' segments joined by "\n"
 * so a dead letter still shows what was received.
 */
function merge(parts: Hj212Frame[]): Hj212Frame {
  const first = parts[0];
  if (!first) throw new TuojiangError('MALFORMED_FRAME', 'A split packet has no parts.');
  const items: Hj212Cp['items'] = Object.create(null);
  const other: Hj212Cp['other'] = Object.create(null);
  const cp: Hj212Cp = { items, other };
  for (const part of parts) {
    if (cp.dataTime === undefined && part.cp.dataTime !== undefined) cp.dataTime = part.cp.dataTime;
    for (const [code, suffixes] of Object.entries(part.cp.items)) {
      const item = (items[code] ??= Object.create(null) as Record<string, string>);
      for (const [suffix, value] of Object.entries(suffixes)) if (!(suffix in item)) item[suffix] = value;
    }
    for (const [key, value] of Object.entries(part.cp.other)) if (!(key in other)) other[key] = value;
  }
  const { pnum: _pnum, pno: _pno, ...header } = first;
  return {
    ...header,
    ...(first.flag !== undefined ? { flag: first.flag & ~0b10 } : {}),
    cp,
    segment: parts.map((p) => p.segment).join('\n'),
  };
}
