import type { Logger } from '../lib/logger.js';
import type { Journal, JournalItem } from './journal.js';

interface Waiting {
  items: readonly JournalItem[];
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * Groups the items of many in-flight MQTT messages into one journal append. Each MQTT connection
 * holds exactly one message until its PUBACK, so the batch is naturally bounded by the number of
 * connections; the batcher only has to flush once per event-loop turn.
 *
 * A failing journal (Redis down) is retried with backoff, holding the messages: their PUBACKs are
 * not sent, so the broker keeps them and nothing is lost.
 */
export class JournalBatcher {
  private queue: Waiting[] = [];
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly journal: Journal,
    private readonly log: Logger,
    private readonly retry = { initialMs: 100, maxMs: 5000 },
  ) {}

  add(items: readonly JournalItem[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('journal batcher is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flushing = this.flushing.then(() => this.flush());
        });
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const items = batch.flatMap((w) => w.items);
    let delay = this.retry.initialMs;
    for (;;) {
      try {
        await this.journal.append(items);
        for (const w of batch) w.resolve();
        return;
      } catch (e) {
        if (this.closed) {
          for (const w of batch) w.reject(e as Error);
          return;
        }
        this.log.warn({ err: (e as Error).message, items: items.length, retryInMs: delay }, 'journal append failed; holding PUBACKs and retrying');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, this.retry.maxMs);
      }
    }
  }

  /** Finish what is queued (retrying while the journal is down), then refuse more. */
  async close(): Promise<void> {
    await this.flushing;
    if (this.queue.length > 0) await this.flush();
    this.closed = true;
  }

  /**
   * Give up on what is still waiting: its messages are never PUBACKed, so the broker redelivers
   * them to the next ingest. Used when shutdown must not wait any longer for a journal that is down.
   */
  abort(): void {
    this.closed = true;
    const batch = this.queue;
    this.queue = [];
    for (const w of batch) w.reject(new Error('journal batcher aborted'));
  }
}
