/**
 * The batcher's promise is what a message's PUBACK (or HJ 212 answer) waits for. A message with
 * nothing to journal (a split-packet part, stored already) must settle without another message's
 * help, and never before a message that arrived before it on the same connection.
 * The journal here is our own interface (ingest/journal.ts) recording what it is given; the Redis
 * journal behind it is tested in journal-idempotent.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { JournalBatcher } from '../../ingest/journal-batcher.js';
import type { BatchId, Journal, JournalItem } from '../../ingest/journal.js';
import { createLogger } from '../../lib/logger.js';

/** A journal whose appends resolve only when the test says so. */
class GatedJournal implements Journal {
  readonly appends: { items: readonly JournalItem[]; batch?: BatchId | undefined; finish: () => void }[] = [];
  append(items: readonly JournalItem[], batch?: BatchId): Promise<void> {
    return new Promise((resolve) => this.appends.push({ items, batch, finish: resolve }));
  }
}

const item = (station: string): JournalItem => ({
  kind: 'reading',
  reading: { station, city: 'chengdu', medium: 'water', ts: 0, period: 'rt', values: { NH3N: 0.3 }, flags: {}, source: 'json' },
});
const log = createLogger('batcher-test', 'silent');
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The order in which promises settle. */
function track(order: string[], name: string, p: Promise<void>): Promise<void> {
  return p.then(() => void order.push(name));
}

describe('JournalBatcher', () => {
  it('settles a message with nothing to journal on its own, without an append', async () => {
    const journal = new GatedJournal();
    const batcher = new JournalBatcher(journal, log);
    const settled: string[] = [];
    await track(settled, 'part', batcher.add([]));
    await turn();
    expect(settled).toEqual(['part']);
    expect(journal.appends).toHaveLength(0);
  });

  it('settles it after the batch of the messages before it, not before', async () => {
    const journal = new GatedJournal();
    const batcher = new JournalBatcher(journal, log);
    const order: string[] = [];
    const a = track(order, 'reading', batcher.add([item('a')]));
    const b = track(order, 'part', batcher.add([]));
    await turn();
    expect(journal.appends).toHaveLength(1);
    expect(order).toEqual([]);
    journal.appends[0]!.finish();
    await Promise.all([a, b]);
    expect(order).toEqual(['reading', 'part']);
  });

  it('while an append is in flight and nothing new waits, settles it with that append', async () => {
    const journal = new GatedJournal();
    const batcher = new JournalBatcher(journal, log);
    const order: string[] = [];
    const a = track(order, 'reading', batcher.add([item('a')]));
    await turn();
    expect(journal.appends).toHaveLength(1);
    const b = track(order, 'part', batcher.add([]));
    await turn();
    expect(order).toEqual([]);
    journal.appends[0]!.finish();
    await Promise.all([a, b]);
    expect(order).toEqual(['reading', 'part']);
    // Nothing was appended for the part.
    expect(journal.appends).toHaveLength(1);
  });

  it('after it, the next reading still goes out in a batch of its own', async () => {
    const journal = new GatedJournal();
    const batcher = new JournalBatcher(journal, log);
    await batcher.add([]);
    const c = batcher.add([item('c')]);
    await turn();
    expect(journal.appends.map((x) => x.items.length)).toEqual([1]);
    journal.appends[0]!.finish();
    await c;
  });
});
