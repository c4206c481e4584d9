import { randomUUID } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import type { BatchId, Journal, JournalItem } from './journal.js';

interface Batch {
  items: JournalItem[];
  done: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

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
 * Groups the items of every message that arrives within one event-loop turn into one journal
 * append, and hands all of them the same promise: one allocation per batch, not per message.
 *
 * A failing journal (Redis down) is retried with backoff while the messages wait: their PUBACKs are
 * not sent, so the broker keeps them and nothing is lost. Memory stays bounded because MqttSource
 * stops reading from the broker at connections × Receive Maximum unsettled messages.
 */
export class JournalBatcher {
  private current: Batch = newBatch();
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
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
    const batch = this.current;
    for (const item of items) batch.items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const full = this.current;
        this.current = newBatch();
        this.flushing = this.flushing.then(() => this.flush(full));
      });
    }
    return batch.done;
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
    await this.flushing;
    if (this.current.items.length > 0) {
      const last = this.current;
      this.current = newBatch();
      await this.flush(last);
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
