/**
 * The alert state in Redis: series inboxes, series states and the outbox, read and written only
 * through the scripts of alerts/scripts.ts.
 */
import type { RedisClient } from '../lib/redis-client.js';
import type { Reading } from '../lib/reading.js';
import type { AlertEvent } from './events.js';
import { AlertKeys } from './keys.js';
import { withAlertScripts, type AlertScripts } from './scripts.js';
import type { SeriesResult, SeriesState } from './series-engine.js';
import type { KeyState } from './state-machine.js';

export interface InboxItem {
  ts: number;
  /** Redis time after which the reading may be applied (enqueue time + reorder window). */
  ripeAt: number;
  enqueuedAt: number;
  reading: Reading;
}

export interface SeriesSnapshot {
  now: number;
  state: SeriesState;
  /** Sorted by ts ascending. */
  items: InboxItem[];
}

/** 1 added, 0 already waiting, -1 dropped (late, or already applied). */
export type EnqueueStatus = 1 | 0 | -1;

const KEY_FIELD = 'k:';

export function parseSeriesState(flat: string[]): SeriesState {
  const s: SeriesState = { rev: 0, lastTs: null, prev: {}, keys: {} };
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const f = flat[i] as string;
    const v = flat[i + 1] as string;
    if (f === '_rev') s.rev = Number(v);
    else if (f === '_lastTs') s.lastTs = Number(v);
    else if (f === '_prev') s.prev = JSON.parse(v) as SeriesState['prev'];
    else if (f.startsWith(KEY_FIELD)) s.keys[f.slice(KEY_FIELD.length)] = JSON.parse(v) as KeyState;
  }
  return s;
}

function parseItem(ts: string, raw: string | null): InboxItem | undefined {
  if (raw === null) return undefined;
  const a = raw.indexOf('|');
  const b = raw.indexOf('|', a + 1);
  return {
    ts: Number(ts),
    ripeAt: Number(raw.slice(0, a)),
    enqueuedAt: Number(raw.slice(a + 1, b)),
    reading: JSON.parse(raw.slice(b + 1)) as Reading,
  };
}

export class AlertStore {
  readonly keys: AlertKeys;
  readonly redis: RedisClient & AlertScripts;

  constructor(redis: RedisClient, prefix?: string) {
    this.redis = withAlertScripts(redis);
    this.keys = new AlertKeys(prefix);
  }

  /** Adds readings to their series' inboxes, atomically for the whole call. */
  async enqueue(readings: readonly Reading[], reorderMs = 0): Promise<{ now: number; status: EnqueueStatus[] }> {
    if (readings.length === 0) return { now: Date.now(), status: [] };
    const args: (string | number)[] = [this.keys.base, reorderMs];
    for (const r of readings) args.push(r.station, r.period, r.ts, JSON.stringify(r));
    const [now, ...status] = await this.redis.tjEnqueue(this.keys.stats, this.keys.seriesIndex, ...args);
    return { now: now as number, status: status as EnqueueStatus[] };
  }

  /**
   * The series state and waiting readings at one instant. With `ownTs`, undefined when that
   * reading is no longer waiting (someone else applied it or dropped it as late).
   */
  async snapshot(station: string, period: string, limit: number, ownTs?: number): Promise<SeriesSnapshot | undefined> {
    const k = this.keys.series(station, period);
    const [now, flat, ids, raws] = await this.redis.tjSnapshot(k.state, k.inbox, k.data, limit, ownTs ?? '');
    if (!flat || !ids || !raws) return undefined;
    const items: InboxItem[] = [];
    ids.forEach((ts, i) => {
      const item = parseItem(ts, raws[i] ?? null);
      if (item) items.push(item);
    });
    return { now, state: parseSeriesState(flat), items };
  }

  async readState(station: string, period: string): Promise<SeriesState> {
    return parseSeriesState(await this.redis.hgetall(this.keys.series(station, period).state).then((h) => Object.entries(h).flat()));
  }

  /**
   * Compare-and-set: applies `result` only if the series is still at `expectedRev`. Removes
   * `removeTs` (applied and late readings) from the inbox and appends the events to the outbox.
   */
  async commit(
    station: string,
    period: string,
    expectedRev: number,
    result: SeriesResult,
    removeTs: readonly number[],
    late: number,
  ): Promise<boolean> {
    const k = this.keys.series(station, period);
    const fields: string[] = [];
    for (const key of result.changedKeys) fields.push(`${KEY_FIELD}${key}`, JSON.stringify(result.state.keys[key]));
    const args: (string | number)[] = [
      expectedRev,
      result.state.rev,
      result.state.lastTs === null ? '' : result.state.lastTs,
      JSON.stringify(result.state.prev),
      late,
      removeTs.length,
      ...removeTs,
      fields.length / 2,
      ...fields,
      result.events.length,
      ...result.events.map((e) => JSON.stringify(e)),
    ];
    return (await this.redis.tjCommit(k.state, k.inbox, k.data, this.keys.outbox, this.keys.stats, ...args)) === 1;
  }

  /**
   * Each series' oldest waiting reading (ts, when it became due, when it was enqueued), undefined
   * where nothing waits; `now` is Redis time. One pipelined round trip per 1,000 series.
   */
  async oldestWaiting(
    series: ReadonlyArray<{ station: string; period: string }>,
  ): Promise<{ now: number; oldest: Array<{ ts: number; ripeAt: number; enqueuedAt: number } | undefined> }> {
    const oldest: Array<{ ts: number; ripeAt: number; enqueuedAt: number } | undefined> = [];
    let now = 0;
    for (let i = 0; i < series.length; i += 1000) {
      const pipe = this.redis.pipeline() as ReturnType<RedisClient['pipeline']> & {
        tjOldest(inbox: string, data: string): unknown;
      };
      for (const s of series.slice(i, i + 1000)) {
        const k = this.keys.series(s.station, s.period);
        pipe.tjOldest(k.inbox, k.data);
      }
      for (const [err, res] of (await pipe.exec()) ?? []) {
        if (err) throw err;
        const [t, ts, ripe, enq] = res as [number, string?, string?, string?];
        now = Math.max(now, t);
        // An entry without its times (not written by tjEnqueue) is not taken for overdue.
        oldest.push(ts === undefined || !ripe ? undefined : { ts: Number(ts), ripeAt: Number(ripe), enqueuedAt: Number(enq) });
      }
    }
    return { now, oldest };
  }

  /** Every (station, period) series that ever received a reading. */
  async listSeries(): Promise<Array<{ station: string; period: string }>> {
    const members = await this.redis.smembers(this.keys.seriesIndex);
    return members.map((m) => {
      const [station = '', period = ''] = m.split('|');
      return { station, period };
    });
  }

  async stats(): Promise<Record<string, number>> {
    const h = await this.redis.hgetall(this.keys.stats);
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  }
}

export type { AlertEvent };
