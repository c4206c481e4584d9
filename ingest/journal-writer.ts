import type { RedisClient } from '../lib/redis-client.js';
import { ERRORS, TuojiangError, isTuojiangError } from '../lib/errors.js';
import { InfluxHttpError, type InfluxStore } from '../lib/influx/client.js';
import type { Logger } from '../lib/logger.js';
import type { IngestMetrics } from '../lib/metrics.js';
import type { Reading } from '../lib/reading.js';
import type { Journal } from './journal.js';
import { readingLine } from './reading-to-point.js';
import { ResendDetector, type FieldChange } from './resend-detector.js';
import { entryReadings } from './journal-entry.js';

/** Where checked readings go next (the alerts' check queue); optional for an ingest-only deployment. */
export interface CheckSink {
  enqueue(readings: Reading[]): Promise<void>;
}

export interface WriterOptions {
  stream: string;
  group: string;
  consumer: string;
  batchSize: number;
  blockMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  claimIdleMs: number;
  lingerMs: number;
  /** Journal entries per read; each entry is one ingest batch of up to a few thousand readings. */
  readEntries: number;
  /** How long the first values of a reading are remembered to tell a correction from a redelivery. */
  correctionWindowS: number;
}

type Entry = [id: string, fields: string[]];

/**
 * Consumer-group reader of the journal: a batch of readings -> one InfluxDB write -> check jobs ->
 * XACK + XDEL. An entry leaves the journal only after both, so a crash anywhere re-processes it; the
 * write is idempotent (sensor timestamp) and the check jobs have deterministic ids.
 *
 * Memory stays bounded while InfluxDB is down: the writer holds one batch and retries it with
 * backoff; everything else waits in Redis.
 */
export class JournalWriter {
  private stopping = false;
  private drainUntil = 0;
  private loop: Promise<void> | undefined;
  private lastClaim = 0;
  private wake: (() => void) | undefined;
  /** Last successful InfluxDB write, or failure streak; read by /readyz. */
  influxOk = true;
  /** Seconds from the newest sensor time of the latest written batch to its write (pipeline_health). */
  lastWriteLagS = 0;
  private readonly resends: ResendDetector;
  /** Told when Redis was found without the journal's consumer group (and it was recreated). */
  onStateLost: ((what: string) => void) | undefined;
  /**
   * Set when the connection comes back: a read whose reply was lost left entries pending to this
   * consumer that the re-sent read (`>`) never returns, so they are read back (`0`) first.
   */
  private readOwnPending = true;

  constructor(
    private readonly redis: RedisClient,
    private readonly influx: InfluxStore,
    private readonly journal: Journal,
    private readonly opts: WriterOptions,
    private readonly log: Logger,
    private readonly metrics: IngestMetrics,
    private readonly checks?: CheckSink,
  ) {
    // Derived from the stream name so that a Redis Cluster hash tag ({tuojiang}:journal) carries over.
    this.resends = new ResendDetector(redis, { keyPrefix: `${opts.stream}:`, windowS: opts.correctionWindowS });
    redis.on('ready', () => {
      this.readOwnPending = true;
    });
  }

  async start(): Promise<void> {
    await this.createGroup();
    const format = await this.resends.prepare();
    if (format.legacyUntil > Date.now())
      this.log.info(
        { legacyUntil: new Date(format.legacyUntil).toISOString(), firstStart: format.scanned },
        're-send memory: first values kept by 0.1.0 (one key per reading) are read until the correction window after the upgrade has passed',
      );
    this.loop = this.run();
  }

  /** True when the group was created, false when it already existed. */
  private async createGroup(): Promise<boolean> {
    try {
      await this.redis.xgroup('CREATE', this.opts.stream, this.opts.group, '0', 'MKSTREAM');
      return true;
    } catch (e) {
      if (!/BUSYGROUP/.test((e as Error).message)) throw e;
      return false;
    }
  }

  /**
   * NOGROUP after start means Redis lost its data (FLUSHALL, AOF lost, an empty replica promoted):
   * the ingest goes on journaling into a fresh stream that nobody reads. Recreating the group from
   * '0' picks up everything journaled since; the loss itself is reported once, by whichever writer
   * recreated the group (the others find it existing).
   */
  private async recoverGroup(): Promise<void> {
    if (await this.createGroup()) this.onStateLost?.('journal consumer group');
  }

  /**
   * Drain: keep writing until the journal is empty or `drainMs` has passed, then stop. What is left
   * stays in the journal for the next start; nothing is dropped.
   */
  async stop(drainMs = 0): Promise<void> {
    this.drainUntil = Date.now() + drainMs;
    if (drainMs <= 0) this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  private get draining(): boolean {
    return this.drainUntil > 0;
  }

  /** What this consumer read but did not acknowledge: before a crash or restart, or a lost read reply. */
  private async handleOwnPending(): Promise<void> {
    this.readOwnPending = false;
    for (;;) {
      if (this.stopping) return;
      const own = await this.read('0');
      if (own.length === 0) return;
      await this.handle(own);
    }
  }

  private async run(): Promise<void> {
    await this.handleOwnPending();
    while (!this.stopping) {
      try {
        if (this.readOwnPending) await this.handleOwnPending();
        const claimed = await this.claimAbandoned();
        const entries = claimed.length > 0 ? claimed : await this.read('>');
        const readings = entries.length > 0 ? await this.handle(entries) : 0;
        // A small batch means the journal is nearly empty: wait a moment so the next write carries
        // many points instead of a few (one InfluxDB request per reading would starve the CPU).
        if (readings > 0 && readings < this.opts.batchSize / 10 && !this.draining) await this.pause(this.opts.lingerMs);
        if (this.draining && (entries.length === 0 || Date.now() > this.drainUntil)) this.stopping = true;
        this.metrics.journalBacklog.set(await this.redis.xlen(this.opts.stream));
      } catch (e) {
        if (this.stopping) return;
        // A failed read may have been served: what it delivered is pending to this consumer.
        this.readOwnPending = true;
        if (/NOGROUP/.test((e as Error).message)) {
          const recovered = await this.recoverGroup().then(
            () => true,
            () => false,
          );
          if (recovered) continue;
        }
        this.log.error({ err: (e as Error).message }, 'journal read failed; retrying');
        await this.pause(this.opts.retryInitialMs * 4);
      }
    }
  }

  private async read(from: '0' | '>'): Promise<Entry[]> {
    const args: (string | number)[] = ['GROUP', this.opts.group, this.opts.consumer, 'COUNT', this.opts.readEntries];
    if (from === '>' && !this.draining) args.push('BLOCK', this.opts.blockMs);
    args.push('STREAMS', this.opts.stream, from);
    const res = (await (this.redis.xreadgroup as (...a: (string | number)[]) => Promise<unknown>)(...args)) as Array<
      [string, Entry[]]
    > | null;
    return res?.[0]?.[1] ?? [];
  }

  /** Entries a dead writer left pending longer than claimIdleMs become ours. */
  private async claimAbandoned(): Promise<Entry[]> {
    const now = Date.now();
    if (now - this.lastClaim < this.opts.claimIdleMs / 2) return [];
    this.lastClaim = now;
    const res = (await this.redis.xautoclaim(
      this.opts.stream,
      this.opts.group,
      this.opts.consumer,
      this.opts.claimIdleMs,
      '0-0',
      'COUNT',
      this.opts.readEntries,
    )) as [string, Entry[]];
    const entries = res[1].filter((e) => e[1] !== null);
    if (entries.length > 0) this.log.info({ count: entries.length }, 'took over journal entries abandoned by another writer');
    return entries;
  }

  /** Write, enqueue checks, acknowledge; returns how many readings the entries held. */
  private async handle(entries: Entry[]): Promise<number> {
    const ids: string[] = [];
    const journaled: Reading[] = [];
    for (const [id, fields] of entries) {
      ids.push(id);
      try {
        for (const r of entryReadings(fields)) journaled.push(r);
      } catch (e) {
        await this.deadLetter([fields[1] ?? ''], 'INTERNAL', `unreadable journal entry ${id}: ${(e as Error).message}`);
      }
    }
    // A re-send with other values must not overwrite the first ones (same series and time in InfluxDB).
    let verdicts: Awaited<ReturnType<ResendDetector['check']>> = [];
    const checked = await this.retrying('re-send check', async () => {
      verdicts = await this.resends.check(journaled);
    });
    if (!checked) return journaled.length;
    // What goes on to the checks; not collected when nobody checks (an ingest-only deployment, the benchmark).
    const readings: Reading[] | undefined = this.checks ? [] : undefined;
    const lines: string[] = [];
    const corrections: { reading: Reading; changes: FieldChange[] }[] = [];
    let newest = 0;
    for (let i = 0; i < journaled.length; i++) {
      const v = verdicts[i]!;
      const keep = v.keep;
      if (keep) {
        lines.push(readingLine(keep));
        readings?.push(keep);
        if (keep.ts > newest) newest = keep.ts;
      }
      if (v.unrecorded) corrections.push({ reading: journaled[i]!, changes: v.changes });
    }
    const size = this.opts.batchSize;
    for (let i = 0; i < lines.length; i += size) {
      const ok = await this.writeWithRetry(i === 0 && lines.length <= size ? lines : lines.slice(i, i + size));
      if (!ok) return journaled.length; // stopping while InfluxDB is down: entries stay pending for the next start
    }
    if (corrections.length > 0 && !(await this.retrying('correction record', () => this.recordCorrections(corrections))))
      return journaled.length;
    // Counts journaled readings handled: a correction's record is what was written for it.
    this.metrics.readingsWritten.inc(journaled.length);
    if (newest > 0) this.lastWriteLagS = Math.max(0, (Date.now() - newest) / 1000);
    if (this.checks && readings && readings.length > 0) {
      const queued = await this.retrying('check enqueue', () => this.checks!.enqueue(readings));
      if (!queued) return journaled.length;
    }
    await this.retrying('journal ack', async () => {
      await this.redis
        .multi()
        .xack(this.opts.stream, this.opts.group, ...ids)
        .xdel(this.opts.stream, ...ids)
        .exec();
    });
    return journaled.length;
  }

  /**
   * A correction is kept beside the first values, as a dead letter operators list with
   * `tuojiang deadletters --reason TJ_READING_CORRECTED`; marked only once recorded, so a crash in
   * between records it again rather than never.
   */
  private async recordCorrections(items: { reading: Reading; changes: FieldChange[] }[]): Promise<void> {
    const now = Date.now();
    await this.journal.append(
      items.map(({ reading: r, changes }) => {
        const err = new TuojiangError(
          'READING_CORRECTED',
          `${r.station} ${r.period} ${new Date(r.ts).toISOString()} re-sent with other values: ${changes.map((c) => `${c.parameter} ${c.stored} → ${c.resent}`).join(', ')}; the first values stay stored`,
        );
        return {
          kind: 'dead' as const,
          dead: {
            reason: err.code,
            message: err.message,
            topic: '(writer: re-sent reading)',
            payload: Buffer.from(JSON.stringify(r)),
            receivedAt: now,
            station: r.station,
            details: { ts: new Date(r.ts).toISOString(), period: r.period, changes },
          },
        };
      }),
    );
    await this.resends.markRecorded(items);
    this.metrics.readingsCorrected.inc(items.length);
    for (const { reading: r, changes } of items) {
      this.log.warn(
        { code: ERRORS.READING_CORRECTED.code, station: r.station, period: r.period, ts: r.ts, changes },
        'reading re-sent with other values; first values kept',
      );
    }
  }

  /** Write one batch, retrying while InfluxDB is unavailable; points it refuses become dead letters. */
  private async writeWithRetry(lines: string[]): Promise<boolean> {
    let delay = this.opts.retryInitialMs;
    for (;;) {
      const end = this.metrics.writeLatency.startTimer();
      try {
        await this.influx.writeLines(lines);
        end();
        this.influxOk = true;
        return true;
      } catch (e) {
        end();
        if (e instanceof InfluxHttpError && e.permanent) {
          await this.writeOneByOne(lines);
          this.influxOk = true;
          return true;
        }
        this.influxOk = false;
        this.metrics.writeFailures.inc();
        if (this.draining && Date.now() > this.drainUntil) this.stopping = true;
        if (this.stopping) return false;
        this.log.warn({ err: (e as Error).message, points: lines.length, retryInMs: delay }, 'InfluxDB write failed; retrying');
        await this.pause(delay);
        if (this.stopping) return false;
        delay = Math.min(delay * 2, this.opts.retryMaxMs);
      }
    }
  }

  /** InfluxDB refused part of a batch (e.g. a field type conflict): find and dead-letter the culprits. */
  private async writeOneByOne(lines: string[]): Promise<void> {
    const refused: string[] = [];
    let lastError = '';
    for (const line of lines) {
      try {
        await this.influx.writeLines([line]);
      } catch (e) {
        if (!(e instanceof InfluxHttpError && e.permanent)) throw e;
        refused.push(line);
        lastError = e.body;
      }
    }
    if (refused.length > 0) await this.deadLetter(refused, 'INFLUX_REJECTED', lastError.slice(0, 300));
  }

  private async deadLetter(payloads: string[], reason: 'INFLUX_REJECTED' | 'INTERNAL', message: string): Promise<void> {
    const err = new TuojiangError(reason, message);
    this.log.warn({ code: err.code, count: payloads.length, msg: message }, 'readings dead-lettered by the writer');
    this.metrics.readingsRejected.inc({ reason: err.code }, payloads.length);
    await this.journal.append(
      payloads.map((p) => ({
        kind: 'dead' as const,
        dead: { reason: err.code, message, topic: '(writer)', payload: Buffer.from(p), receivedAt: Date.now() },
      })),
    );
  }

  private async retrying(what: string, fn: () => Promise<void>): Promise<boolean> {
    let delay = this.opts.retryInitialMs;
    for (;;) {
      try {
        await fn();
        return true;
      } catch (e) {
        if (this.draining && Date.now() > this.drainUntil) this.stopping = true;
        if (this.stopping) return false;
        this.log.warn({ err: isTuojiangError(e) ? e.toJSON() : (e as Error).message, retryInMs: delay }, `${what} failed; retrying`);
        await this.pause(delay);
        delay = Math.min(delay * 2, this.opts.retryMaxMs);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
