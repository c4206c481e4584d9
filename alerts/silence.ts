/**
 * Station silence: no reading for `after_min`, including stations in the registry that have not
 * reported since the alerting system started. Run by a BullMQ job scheduler every
 * `engine.silence_interval_s`; any worker may run a tick, and overlapping ticks are harmless
 * because each station's silence state is committed with the same compare-and-set as the series.
 */
import type { RedisClient } from '../lib/redis-client.js';
import type { Logger } from '../lib/logger.js';
import type { StationRegistry } from '../config/station-registry.js';
import type { AlertStore } from './alert-store.js';
import { parseSeriesState } from './alert-store.js';
import { eventId, type AlertEvent } from './events.js';
import { STATION_SERIES } from './keys.js';
import type { MaintenanceCalendar } from './maintenance.js';
import { renderMessage } from './messages.js';
import type { SeriesResult } from './series-engine.js';
import { initialKeyState, step } from './state-machine.js';
import { stationProfile, type ThresholdSource } from './thresholds.js';

export const SILENCE_KEY = 'silence';

export async function redisNow(redis: RedisClient): Promise<number> {
  const [sec, usec] = await redis.time();
  return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
}

export interface SilenceCheckerOptions {
  store: AlertStore;
  registry: StationRegistry;
  thresholds: ThresholdSource;
  calendar: MaintenanceCalendar;
  log?: Logger;
}

export class SilenceChecker {
  constructor(private readonly o: SilenceCheckerOptions) {}

  /**
   * Marks the start of the alerting system. The first process to start after none was alive sets
   * the epoch (stations never seen are silent from it); later ones join and keep it.
   */
  static async markStarted(redis: RedisClient, store: AlertStore, aliveTtlMs: number, instance: string): Promise<void> {
    const now = String(await redisNow(redis));
    const first = await redis.set(store.keys.alive, instance, 'PX', aliveTtlMs, 'NX');
    if (first === 'OK') await redis.set(store.keys.epoch, now);
    else await redis.set(store.keys.epoch, now, 'NX');
  }

  static async heartbeat(redis: RedisClient, store: AlertStore, aliveTtlMs: number, instance: string): Promise<void> {
    await redis.set(store.keys.alive, instance, 'PX', aliveTtlMs);
  }

  /**
   * Evaluates every station at `now` (default: Redis time, the clock "last heard from" is kept
   * in, so worker clocks do not matter); returns the events committed.
   */
  async tick(at?: number): Promise<AlertEvent[]> {
    const { store, registry } = this.o;
    const now = at ?? (await redisNow(store.redis));
    const [thresholds] = await Promise.all([this.o.thresholds.current(), this.o.calendar.refresh()]);
    this.o.calendar.useThresholds(thresholds.config);
    const stations = registry.stations;
    const pipe = store.redis.pipeline();
    pipe.get(store.keys.epoch);
    for (const s of stations) {
      pipe.get(store.keys.seen(s.id));
      pipe.hgetall(store.keys.series(s.id, STATION_SERIES).state);
    }
    const res = (await pipe.exec()) ?? [];
    const epochRaw = res[0]?.[1] as string | null | undefined;
    const epoch = epochRaw ? Number(epochRaw) : now;
    const committed: AlertEvent[] = [];

    for (let i = 0; i < stations.length; i++) {
      const station = stations[i];
      if (!station) continue;
      const rule = stationProfile(thresholds, station).rules.silence;
      const seenRaw = res[1 + 2 * i]?.[1] as string | null | undefined;
      const seen = seenRaw ? Number(seenRaw) : null;
      const flat = Object.entries((res[2 + 2 * i]?.[1] as Record<string, string> | undefined) ?? {}).flat();
      const state = parseSeriesState(flat);
      const before = state.keys[SILENCE_KEY] ?? initialKeyState();
      if (!rule.enabled && before.state !== 'firing') continue;

      const basis = Math.max(seen ?? -Infinity, epoch);
      const silentMin = Math.floor((now - basis) / 60_000);
      const breach = rule.enabled && now - basis >= rule.after_min * 60_000;
      const muted = this.o.calendar.isMuted(station.id, now);
      const profile = stationProfile(thresholds, station);
      const timing = {
        consecutive: 1,
        durationMs: null,
        clearConsecutive: 1,
        reminderMs: profile.reminderMin === null ? null : profile.reminderMin * 60_000,
      };
      const { next, events } = step(
        before,
        { cond: breach ? 'breach' : 'clear', at: now, value: silentMin, limit: rule.after_min },
        timing,
        muted,
      );
      const unchanged = next.state === before.state && next.told === before.told && next.toldAt === before.toldAt && events.length === 0;
      if (unchanged) continue;

      const detail = { lastSeenAt: seen };
      const out: AlertEvent[] = events.map((e) => ({
        id: eventId({ station: station.id, period: STATION_SERIES, key: SILENCE_KEY, kind: e.kind, at: e.at }),
        station: station.id,
        city: station.city,
        period: STATION_SERIES,
        key: SILENCE_KEY,
        rule: 'silence',
        parameter: 'silence',
        kind: e.kind,
        from: e.from,
        to: e.to,
        at: e.at,
        value: silentMin,
        limit: rule.after_min,
        thresholdVersion: thresholds.version,
        muted: e.muted,
        catchUp: e.catchUp,
        message: renderMessage({
          station,
          rule: 'silence',
          parameter: 'silence',
          kind: e.kind,
          at: e.at,
          value: silentMin,
          limit: rule.after_min,
          detail,
          catchUp: e.catchUp,
          muted: e.muted,
          thresholdVersion: thresholds.version,
        }),
        detail,
      }));
      const result: SeriesResult = {
        state: { rev: state.rev + 1, lastTs: now, prev: {}, keys: { [SILENCE_KEY]: next } },
        changedKeys: [SILENCE_KEY],
        events: out,
      };
      // A lost compare-and-set means another tick handled this station: nothing to redo.
      if (await store.commit(station.id, STATION_SERIES, state.rev, result, [], 0)) committed.push(...out);
    }
    return committed;
  }
}
