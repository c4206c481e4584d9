/**
 * Moves alert events from the outbox stream (written atomically with the state change) to their
 * two destinations: the InfluxDB measurement `alerts` (Grafana annotations) and, unless muted, the
 * BullMQ queue `notify` with the event id as job id. Entries are acknowledged only after both, so a
 * crash re-delivers them; both destinations are idempotent (same point, same job id).
 */
import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import type { RedisClient } from '../lib/redis-client.js';
import { InfluxHttpError, type InfluxStore } from '../lib/influx/client.js';
import { encodePoint, type Point } from '../lib/influx/line-protocol.js';
import { TuojiangError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { logErrorsRateLimited } from '../lib/redis-outage-log.js';
import type { AlertEvent } from './events.js';
import { AlertKeys, QUEUE_NOTIFY } from './keys.js';

export const OUTBOX_GROUP = 'publishers';
export const ALERTS_MEASUREMENT = 'alerts';

/** Notify jobs (and their ids) are kept a week: a re-delivered event within that time is a no-op. */
export const NOTIFY_JOB_OPTIONS = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

export function eventToPoint(e: AlertEvent): Point {
  const fields: Point['fields'] = {
    threshold_version: e.thresholdVersion,
    message: e.message,
    kind: e.kind,
    from_state: e.from,
    muted: e.muted,
    event_id: e.id,
  };
  if (e.value !== null) fields.value = e.value;
  if (e.limit !== null) fields.limit = e.limit;
  return {
    measurement: ALERTS_MEASUREMENT,
    tags: {
      station: e.station,
      city: e.city,
      parameter: e.parameter,
      rule: e.rule,
      state: e.kind === 'reminder' ? 'reminder' : e.to,
      period: e.period,
    },
    fields,
    ts: e.at,
  };
}

export interface OutboxRelayOptions {
  /** A dedicated connection: XREADGROUP blocks it. */
  redis: RedisClient;
  influx: InfluxStore;
  notify: Queue;
  prefix?: string;
  consumer?: string;
  batch?: number;
  blockMs?: number;
  /** Entries another (dead) relay left unacknowledged this long are taken over. */
  claimIdleMs?: number;
  log?: Logger;
  /** Called once each time Redis was found without the outbox's group (and it was recreated). */
  onStateLost?: (what: string) => void;
  /** Called after a batch reached both destinations (metrics, benchmarks). */
  onPublished?: (events: AlertEvent[], at: number) => void;
}

type StreamEntries = Array<[id: string, fields: string[]]>;

export class OutboxRelay {
  private readonly keys: AlertKeys;
  private readonly consumer: string;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private lastClaim = 0;

  constructor(private readonly o: OutboxRelayOptions) {
    this.keys = new AlertKeys(o.prefix);
    this.consumer = o.consumer ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  }

  async start(): Promise<void> {
    await this.createGroup();
    this.loop = this.run();
  }

  /** True when the group was created, false when it already existed. */
  private async createGroup(): Promise<boolean> {
    try {
      await this.o.redis.xgroup('CREATE', this.keys.outbox, OUTBOX_GROUP, '0', 'MKSTREAM');
      return true;
    } catch (e) {
      if (!/BUSYGROUP/.test((e as Error).message)) throw e;
      return false;
    }
  }

  /**
   * NOGROUP after start: Redis lost its data, and the workers go on writing events into an outbox
   * nobody reads. Recreated from '0', every event written since is published; reported once, by
   * the relay that recreated it.
   */
  private async recoverGroup(): Promise<void> {
    if (!(await this.createGroup())) return;
    const err = new TuojiangError(
      'REDIS_STATE_LOST',
      'Redis was found without the alert outbox consumer group (emptied or replaced); recreated, alert events written since are published',
    );
    this.o.log?.error({ code: err.code, what: 'alert outbox consumer group', hint: err.hint }, err.message);
    this.o.onStateLost?.('alert outbox consumer group');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = 250;
    // Own pending entries first (left by a previous run of this consumer), then new ones.
    let cursor: '0' | '>' = '0';
    while (!this.stopping) {
      try {
        let entries = await this.read(cursor);
        if (cursor === '0' && entries.length === 0) {
          cursor = '>';
          continue;
        }
        if (entries.length === 0) entries = await this.claim();
        if (entries.length > 0) await this.publish(entries);
        backoff = 250;
      } catch (e) {
        if (this.stopping) break;
        if (
          /NOGROUP/.test((e as Error).message) &&
          (await this.recoverGroup().then(
            () => true,
            () => false,
          ))
        ) {
          cursor = '0';
          continue;
        }
        this.o.log?.warn({ err: (e as Error).message, retryInMs: backoff }, 'alert outbox: publishing failed, will retry');
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
        cursor = '0';
      }
    }
  }

  private async read(cursor: '0' | '>'): Promise<StreamEntries> {
    const count = this.o.batch ?? 500;
    const res = (
      cursor === '>'
        ? await this.o.redis.xreadgroup(
            'GROUP',
            OUTBOX_GROUP,
            this.consumer,
            'COUNT',
            count,
            'BLOCK',
            this.o.blockMs ?? 500,
            'STREAMS',
            this.keys.outbox,
            cursor,
          )
        : await this.o.redis.xreadgroup('GROUP', OUTBOX_GROUP, this.consumer, 'COUNT', count, 'STREAMS', this.keys.outbox, cursor)
    ) as Array<[string, StreamEntries]> | null;
    return res?.[0]?.[1] ?? [];
  }

  private async claim(): Promise<StreamEntries> {
    const idle = this.o.claimIdleMs ?? 30_000;
    if (Date.now() - this.lastClaim < idle / 2) return [];
    this.lastClaim = Date.now();
    const res = (await this.o.redis.xautoclaim(this.keys.outbox, OUTBOX_GROUP, this.consumer, idle, '0', 'COUNT', this.o.batch ?? 500)) as [
      string,
      StreamEntries,
    ];
    return (res[1] ?? []).filter((e) => Array.isArray(e[1]));
  }

  private async publish(entries: StreamEntries): Promise<void> {
    const events: AlertEvent[] = [];
    for (const [id, fields] of entries) {
      const i = fields.indexOf('e');
      try {
        events.push(JSON.parse(fields[i + 1] ?? '') as AlertEvent);
      } catch {
        // A poison entry must not block every event behind it.
        this.o.log?.error({ id }, 'alert outbox: unreadable entry dropped');
      }
    }
    if (events.length > 0) {
      await this.writePoints(events);
      const toSend = events.filter((e) => !e.muted);
      if (toSend.length > 0) await this.o.notify.addBulk(toSend.map((e) => ({ name: e.kind, data: e, opts: { jobId: e.id } })));
    }
    const ids = entries.map(([id]) => id);
    await this.o.redis
      .multi()
      .xack(this.keys.outbox, OUTBOX_GROUP, ...ids)
      .xdel(this.keys.outbox, ...ids)
      .exec();
    if (events.length > 0) this.o.onPublished?.(events, Date.now());
  }

  /**
   * One write for the batch. If InfluxDB refuses the data itself (4xx: e.g. a field type clash
   * with points written by an older version), retrying cannot help: write point by point and log
   * the refused ones, so one bad point does not hold back the rest. Outages are retried by run().
   */
  private async writePoints(events: AlertEvent[]): Promise<void> {
    const lines = events.map((e) => encodePoint(eventToPoint(e)));
    try {
      await this.o.influx.writeLines(lines);
    } catch (e) {
      if (!(e instanceof InfluxHttpError) || !e.permanent) throw e;
      for (let i = 0; i < lines.length; i++) {
        await this.o.influx.writeLines([lines[i] as string]).catch((err: unknown) => {
          if (!(err instanceof InfluxHttpError) || !err.permanent) throw err;
          this.o.log?.error(
            { event: events[i]?.id, err: err.message },
            'alert point refused by InfluxDB: not recorded there (still notified)',
          );
        });
      }
    }
  }
}

export function createNotifyQueue(connection: RedisClient, prefix: string, log?: Logger): Queue<AlertEvent> {
  const queue = new Queue<AlertEvent>(QUEUE_NOTIFY, { connection, prefix, defaultJobOptions: NOTIFY_JOB_OPTIONS });
  logErrorsRateLimited(queue, 'notify queue', log);
  return queue;
}
