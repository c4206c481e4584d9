/**
 * Applies readings of one series (station, period), in event-time order, to the series' alert
 * state: rules -> observations -> state machine -> events. Pure: the check worker runs it between a
 * snapshot and an atomic compare-and-set commit, and the tests run it as the in-order reference.
 */
import type { Reading } from '../lib/reading.js';
import type { Station } from '../config/station-registry.js';
import { eventId, type AlertEvent } from './events.js';
import { renderMessage } from './messages.js';
import { observe, type PrevValues } from './observe.js';
import { initialKeyState, step, type KeyState } from './state-machine.js';
import { stationProfile, type ThresholdSet } from './thresholds.js';

export interface SeriesState {
  /** Commit counter: the compare-and-set token. */
  rev: number;
  /** Event time of the newest reading applied; anything at or before it is late or a duplicate. */
  lastTs: number | null;
  prev: PrevValues;
  keys: Record<string, KeyState>;
}

export function emptySeriesState(): SeriesState {
  return { rev: 0, lastTs: null, prev: {}, keys: {} };
}

export interface SeriesContext {
  station: Station;
  thresholds: ThresholdSet;
  isMuted(station: string, at: number): boolean;
}

export interface SeriesResult {
  state: SeriesState;
  /** Keys whose persistent fields changed (only these need writing). */
  changedKeys: string[];
  events: AlertEvent[];
}

/** Whether a step changed a field that decides future steps (value/limit/at are only for display). */
function decisiveChange(a: KeyState, b: KeyState): boolean {
  return (
    a.state !== b.state ||
    a.since !== b.since ||
    a.breaches !== b.breaches ||
    a.firstBreachAt !== b.firstBreachAt ||
    a.clears !== b.clears ||
    a.told !== b.told ||
    a.toldAt !== b.toldAt ||
    a.peak !== b.peak ||
    a.cause !== b.cause
  );
}

/**
 * `readings` must be sorted by ts ascending and all newer than state.lastTs (the caller drops the
 * rest as late); each is applied exactly once.
 */
export function applyReadings(state: SeriesState, readings: readonly Reading[], ctx: SeriesContext): SeriesResult {
  const keys = { ...state.keys };
  let prev = state.prev;
  let lastTs = state.lastTs;
  const changed = new Set<string>();
  const events: AlertEvent[] = [];
  const profile = stationProfile(ctx.thresholds, ctx.station);

  for (const r of readings) {
    if (lastTs !== null && r.ts <= lastTs) continue;
    lastTs = r.ts;
    const res = observe(r, ctx.station, profile, prev);
    prev = res.prev;
    const muted = ctx.isMuted(ctx.station.id, r.ts);
    for (const o of res.observations) {
      const before = keys[o.key] ?? initialKeyState();
      const { next, events: evs } = step(before, o, o.timing, muted);
      // What the episode is about (the class- or AQI-deciding parameters when it fired), so that its
      // reminders and its resolve, when the deciding parameters have changed, are still told apart.
      const firedNow = evs.some((e) => e.kind === 'firing');
      const cause = o.detail.limiting?.length ? o.detail.limiting : o.detail.primary?.length ? o.detail.primary : undefined;
      if (firedNow && cause) next.cause = cause;
      else if (next.state === 'ok' && next.cause) delete next.cause;
      keys[o.key] = next;
      if (decisiveChange(next, before)) changed.add(o.key);
      for (const e of evs) {
        events.push({
          id: eventId({ station: ctx.station.id, period: r.period, key: o.key, kind: e.kind, at: e.at }),
          station: ctx.station.id,
          city: ctx.station.city,
          period: r.period,
          key: o.key,
          rule: o.rule,
          parameter: o.parameter,
          kind: e.kind,
          from: e.from,
          to: e.to,
          at: e.at,
          value: o.value,
          limit: o.limit,
          thresholdVersion: ctx.thresholds.version,
          muted: e.muted,
          catchUp: e.catchUp,
          ...(e.breachSince !== undefined ? { breachSince: e.breachSince } : {}),
          ...(e.episodeAt !== undefined ? { episodeAt: e.episodeAt } : {}),
          ...(e.peak !== undefined ? { peak: e.peak, peakAt: e.peakAt } : {}),
          message: renderMessage({
            station: ctx.station,
            rule: o.rule,
            parameter: o.parameter,
            kind: e.kind,
            at: e.at,
            value: o.value,
            limit: o.limit,
            detail: o.detail,
            catchUp: e.catchUp,
            muted: e.muted,
            thresholdVersion: ctx.thresholds.version,
          }),
          detail: next.cause && (o.rule === 'water_class' || o.rule === 'aqi') ? { ...o.detail, cause: next.cause } : o.detail,
        });
      }
    }
  }
  return { state: { rev: state.rev + 1, lastTs, prev, keys }, changedKeys: [...changed], events };
}
