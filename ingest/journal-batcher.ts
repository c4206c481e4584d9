import { randomUUID } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import type { BatchId, Journal, JournalItem } from './journal.js';

interface Batch {
  items: JournalItem[];
  done: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** What a message with nothing to journal waits for when nothing is waiting before it. */
const SETTLED: Promise<void> = Promise.resolve();

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody awaits (all its messages' connections closed) must not crash the process.
  done.catch(() => undefined);
  return { items: [], done, resolve, reject };
}

/**
 * Group commit: the items of every message that arrives while the previous append is in flight (or,
 * when none is, within one event-loop turn) go to the journal as one append, and all of them share
 * the same promise: one allocation and one Redis call per batch, not per message. Under load the
 * batches grow with the round trip instead of the number of appends (docs/decisions/0018: one
 * append per event-loop turn made thousands of small Lua calls, the ingest's largest CPU cost).
 * Appends never overlap, so batch numbers reach Redis in order (journal.ts, BatchId).
 *
 * A failing journal (Redis down) is retried with backoff while the messages wait: their PUBACKs are
 * not sent, so the broker keeps them and nothing is lost. Memory stays bounded because MqttSource
 * stops reading from the broker at connections × Receive Maximum unsettled messages.
 */
export class JournalBatcher {
  private current: Batch = newBatch();
  private scheduled = false;
  /** The append running now; the next batch is sealed only when it has finished. */
  private inFlight: Promise<void> | undefined;
  /** The batch that append is for. */
  private flushing: Batch | undefined;
  private closed = false;
  /** This batcher's batches are numbered in journal order (ingest/journal.ts, BatchId). */
  private readonly source = randomUUID();
  private seq = 0;

  constructor(
    private readonly journal: Journal,
    private readonly log: Logger,
    private readonly onDurable: (items: readonly JournalItem[]) => void = () => undefined,
    private readonly retry = { initialMs: 100, maxMs: 5000 },
    /** Every failed attempt and every success after one: how the service tells a full Redis from a gone one. */
    private readonly outcome: { failed?: (e: Error) => void; recovered?: () => void } = {},
  ) {}

  add(items: readonly JournalItem[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('journal batcher is closed'));
    // Nothing to journal (a split-packet part, stored already): settled with whatever came before it,
    // so that a connection still acknowledges in order. Not with the current batch when that is
    // empty: an empty batch is never sealed, and parts alone would wait for another station's reading.
    if (items.length === 0) return this.current.items.length > 0 ? this.current.done : (this.flushing?.done ?? SETTLED);
    const batch = this.current;
    for (const item of items) batch.items.push(item);
    this.schedule();
    return batch.done;
  }

  /** Seal the current batch at the end of this event-loop turn, unless an append is running (it seals when done). */
  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sealAndFlush();
    });
  }

  private sealAndFlush(): void {
    if (this.inFlight || this.current.items.length === 0) return;
    const full = this.current;
    this.current = newBatch();
    this.flushing = full;
    this.inFlight = this.flush(full).finally(() => {
      this.inFlight = undefined;
      this.flushing = undefined;
      if (this.current.items.length > 0) this.schedule();
    });
  }

  private async flush(batch: Batch): Promise<void> {
    let delay = this.retry.initialMs;
    // One number for every attempt at this batch: an attempt whose reply was lost (Redis wrote it,
    // the connection dropped before the answer) is not journaled a second time by the retry.
    const id: BatchId = { source: this.source, seq: ++this.seq };
    for (;;) {
      try {
        await this.journal.append(batch.items, id);
        if (delay !== this.retry.initialMs) this.outcome.recovered?.();
        this.onDurable(batch.items);
        batch.resolve();
        return;
      } catch (e) {
        if (this.closed) {
          batch.reject(e as Error);
          return;
        }
        this.outcome.failed?.(e as Error);
        this.log.warn(
          { err: (e as Error).message, items: batch.items.length, retryInMs: delay },
          'journal append failed; holding PUBACKs and retrying',
        );
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, this.retry.maxMs);
      }
    }
  }

  /** Finish what is queued (retrying while the journal is down), then refuse more. */
  async close(): Promise<void> {
    for (;;) {
      if (this.inFlight) await this.inFlight;
      else if (this.current.items.length > 0) this.sealAndFlush();
      else break;
    }
    this.closed = true;
  }

  /**
   * Give up on what is still waiting: its messages are never PUBACKed, so the broker redelivers
   * them to the next ingest. Used when shutdown must not wait any longer for a journal that is down.
   */
  abort(): void {
    this.closed = true;
    this.current.reject(new Error('journal batcher aborted'));
  }
}
