/**
 * Makes the aggregates of the hours the writer marked: each station-hour from its readings, then
 * the days, months and years those hours belong to, and for air the cities' hours, days, months
 * and years. Everything is recomputed from what InfluxDB holds, so running it twice, or in two
 * processes at once, writes the same points; an hour leaves the dirty set only after everything
 * above it is written (a crash recomputes, never skips).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { InfluxStore } from '../lib/influx/client.js';
import type { Logger } from '../lib/logger.js';
import type { Station, StationRegistry } from '../config/station-registry.js';
import { cityFields, cityPeriodFields, dayFields, hourFields, periodFields, type StationBasis } from './compute.js';
import { dirtyMember, type DirtyHour, type DirtyHours } from './dirty-hours.js';
import { aggregateMeasurement, cityMeasurement } from './measurements.js';
import { AggregateStore, type AggregateWrite } from './store.js';
import { HOUR_MS, hourStart, windowOf, type Window } from './windows.js';

/** Regular reporting interval when the registry names none (the simulator's and most stations'). */
export const DEFAULT_INTERVAL_S = { water: 600, air: 3600 } as const;

export function intervalOf(s: Station): number {
  return s.report_interval_s ?? DEFAULT_INTERVAL_S[s.kind];
}

export function createAggregateMetrics(registry = new Registry()) {
  return {
    registry,
    hours: new Counter({
      name: 'tuojiang_aggregate_hours_total',
      help: 'Station-hours aggregated (each recomputation counts)',
      registers: [registry],
    }),
    points: new Counter({
      name: 'tuojiang_aggregate_points_written_total',
      help: 'Aggregate points written, by window',
      labelNames: ['window'],
      registers: [registry],
    }),
    replaced: new Counter({
      name: 'tuojiang_aggregate_points_replaced_total',
      help: 'Aggregate points deleted and written again because a field disappeared (a late re-send made a mean invalid)',
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'tuojiang_aggregate_hours_dropped_total',
      help: 'Dirty hours of a station not in the registry (or malformed), dropped',
      registers: [registry],
    }),
    backlog: new Gauge({ name: 'tuojiang_aggregate_backlog_hours', help: 'Station-hours waiting to be aggregated', registers: [registry] }),
    drainSeconds: new Histogram({
      name: 'tuojiang_aggregate_drain_seconds',
      help: 'Time of one aggregation batch',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}
export type AggregateMetrics = ReturnType<typeof createAggregateMetrics>;

export interface AggregatorOptions {
  influx: InfluxStore;
  dirty: DirtyHours;
  registry: StationRegistry;
  /** The GB 3838 reference items of a station under the thresholds in force (thresholds.yaml). */
  referenceItems: (station: Station) => Promise<readonly string[]>;
  log?: Logger;
  metrics?: AggregateMetrics;
  /** Hours taken per batch. */
  batch?: number;
  /** How long an hour's marks are left to accumulate before it is computed (a burst → one computation). */
  settleMs?: number;
  now?: () => number;
}

interface Key {
  window: Window;
  start: number;
  station?: Station;
  city?: string;
}

export class Aggregator {
  readonly metrics: AggregateMetrics;
  private readonly store: AggregateStore;

  constructor(private readonly o: AggregatorOptions) {
    this.metrics = o.metrics ?? createAggregateMetrics();
    this.store = new AggregateStore(o.influx);
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** Aggregates settled dirty hours until none are left; returns how many hours were done. */
  /**
   * `stop`: asked between batches; a worker shutting down ends the run there (the hours not taken
   * stay marked for the next run), instead of holding SIGTERM past its deadline through a backlog
   * of hundreds of batches (seen in bench:scale: 1,800 station-hours after 100,000 readings).
   */
  async drain(maxBatches = 1000, stop: () => boolean = () => false): Promise<number> {
    let total = 0;
    const ended = hourStart(this.now()) - HOUR_MS;
    if (await this.o.dirty.claimRound(ended))
      await this.o.dirty.mark(
        this.o.registry.stations.map((s) => dirtyMember(s.id, ended)),
        this.now() - (this.o.settleMs ?? 2000),
      );
    for (let i = 0; i < maxBatches && !stop(); i++) {
      const hours = await this.o.dirty.take(this.o.batch ?? 500, this.o.settleMs ?? 2000, this.now());
      if (hours.length === 0) break;
      const end = this.metrics.drainSeconds.startTimer();
      await this.process(hours);
      end();
      await this.o.dirty.done(hours, this.now());
      total += hours.length;
    }
    this.metrics.backlog.set(await this.o.dirty.size());
    return total;
  }

  private async basis(s: Station): Promise<StationBasis> {
    return {
      id: s.id,
      city: s.city,
      medium: s.kind,
      intervalS: intervalOf(s),
      waterbody: s.waterbody ?? 'river',
      targetClass: s.target_class,
      referenceItems: await this.o.referenceItems(s),
      riverKm: s.river_km,
    };
  }

  private async process(hours: readonly DirtyHour[]): Promise<void> {
    // Station-days: one read of the readings and one of the existing hourly points per day.
    const byDay = new Map<string, { station: Station; day: number; hours: number[] }>();
    for (const h of hours) {
      const station = this.o.registry.get(h.station);
      if (!station || !Number.isFinite(h.hour)) {
        this.metrics.dropped.inc();
        this.o.log?.warn({ member: h.member }, 'aggregates: dirty hour of an unknown station or malformed; dropped');
        continue;
      }
      const day = windowOf('day', h.hour).start;
      const k = `${station.id}|${day}`;
      const e = byDay.get(k) ?? { station, day, hours: [] };
      e.hours.push(h.hour);
      byDay.set(k, e);
    }
    const above = new Map<string, Key>();
    const add = (k: Key): void => {
      above.set(`${k.window}|${k.station?.id ?? `city:${k.city}`}|${k.start}`, k);
    };
    await pool([...byDay.values()], 4, async ({ station, day, hours: hs }) => {
      const st = await this.basis(station);
      const m = aggregateMeasurement(station.kind, 'hour');
      const from = Math.min(...hs);
      const to = Math.max(...hs) + HOUR_MS;
      const [raw, before] = await Promise.all([
        this.store.raw(station.kind, station.id, from, to),
        this.store.existingFields(m, 'station', station.id, from, to),
      ]);
      const points: AggregateWrite[] = hs.map((h) => ({
        measurement: m,
        tags: { station: station.id, city: station.city },
        ts: h,
        fields: hourFields(
          st,
          h,
          raw.filter((r) => r.ts >= h && r.ts < h + HOUR_MS),
        ),
      }));
      await this.write(points, before, 'hour');
      this.metrics.hours.inc(hs.length);
      add({ window: 'day', start: day, station });
      if (station.kind === 'air') for (const h of hs) add({ window: 'hour', start: h, city: station.city });
    });
    // Days, then months and years, then the cities' windows, each after what it is made of.
    await this.rollup(
      [...above.values()].filter((k) => k.window === 'day' && k.station),
      add,
    );
    await this.rollup(
      [...above.values()].filter((k) => (k.window === 'month' || k.window === 'year') && k.station),
      add,
    );
    await this.rollup(
      [...above.values()].filter((k) => k.window === 'hour' && k.city),
      add,
    );
    await this.rollup(
      [...above.values()].filter((k) => k.window === 'day' && k.city),
      add,
    );
    await this.rollup(
      [...above.values()].filter((k) => (k.window === 'month' || k.window === 'year') && k.city),
      add,
    );
  }

  private async rollup(keys: readonly Key[], add: (k: Key) => void): Promise<void> {
    await pool(keys, 4, async (k) => {
      const now = this.now();
      const { start, end } = windowOf(k.window, k.start);
      const hoursBegun = Math.max(1, Math.min(Math.round((end - start) / HOUR_MS), Math.ceil((now - start) / HOUR_MS)));
      if (k.station) {
        const st = await this.basis(k.station);
        const below = k.window === 'day' ? 'hour' : 'day';
        const rows = await this.store.rows(aggregateMeasurement(k.station.kind, below), 'station', k.station.id, start, end);
        const m = aggregateMeasurement(k.station.kind, k.window);
        const fields =
          k.window === 'day'
            ? dayFields(st, start, rows, hoursBegun)
            : periodFields(st, k.window as 'month' | 'year', start, rows, hoursBegun);
        const before = await this.store.existingFields(m, 'station', k.station.id, start, start + 1);
        await this.write([{ measurement: m, tags: { station: k.station.id, city: k.station.city }, ts: start, fields }], before, k.window);
        if (k.window === 'day') {
          add({ window: 'month', start: windowOf('month', start).start, station: k.station });
          add({ window: 'year', start: windowOf('year', start).start, station: k.station });
          if (k.station.kind === 'air') add({ window: 'day', start, city: k.station.city });
        }
        return;
      }
      const city = k.city as string;
      const m = cityMeasurement(k.window);
      let fields;
      if (k.window === 'hour' || k.window === 'day') {
        const members = await this.store.cityMembers(aggregateMeasurement('air', k.window), city, start);
        fields = cityFields(k.window, start, members);
        if (k.window === 'day') {
          add({ window: 'month', start: windowOf('month', start).start, city });
          add({ window: 'year', start: windowOf('year', start).start, city });
        }
      } else {
        fields = cityPeriodFields(k.window, start, await this.store.rows(cityMeasurement('day'), 'city', city, start, end));
      }
      const before = await this.store.existingFields(m, 'city', city, start, start + 1);
      await this.write([{ measurement: m, tags: { city }, ts: start, fields }], before, k.window);
    });
  }

  private async write(points: AggregateWrite[], before: Map<string, Set<string>>, window: Window): Promise<void> {
    const replaced = await this.store.write(points, before);
    this.metrics.replaced.inc(replaced);
    this.metrics.points.inc({ window }, points.length);
  }
}

/** Runs `fn` over the items, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}
