/**
 * What one station reports at one instant: the baseline river or air, plus the scenario's plume,
 * with maintenance flags and dropouts applied. Pure: (context, station, ts) -> the same reading.
 */
import type { DataFlag } from '../lib/parameters.js';
import type { Station } from '../config/station-registry.js';
import { DECIMALS, airBaseline, roundTo, waterBaseline } from './generators.js';
import { AIR_GROUPS, CHECK_VALUES, WATER_GROUPS, incidentAt, type IncidentRates, type IncidentWindow } from './incidents.js';
import { plumeAt, type SpillPlan } from './plume.js';

export interface ReadingContext {
  seed: number;
  incidents: IncidentRates;
  plan?: SpillPlan | undefined;
}

export interface SimReading {
  station: Station;
  ts: number;
  /** Catalogue units (mg/L, µg/m³, …); the encoder converts to the station's own units. */
  values: Record<string, number>;
  /** Every parameter's flag: N, or M under maintenance. */
  flags: Record<string, DataFlag>;
  /** The plume's part of NH3-N, mg/L (0 without a scenario or outside the plume). */
  plumeMgL: number;
  maintenance?: IncidentWindow;
}

export type SlotOutcome = { kind: 'reading'; reading: SimReading } | { kind: 'silent'; window: IncidentWindow };

/** Conductivity added per mg/L of ammonium (µS/cm): the condensate is a salt solution. */
const COND_PER_NH3N = 6;

function groupsOf(station: Station): readonly (readonly string[])[] {
  return station.kind === 'water' ? WATER_GROUPS : AIR_GROUPS;
}

/**
 * The station's outcome at `ts`. A station the plume is passing neither drops out nor goes into
 * maintenance: the scenario's story (the plume reaching each section) must stay readable.
 */
export function slotAt(ctx: ReadingContext, station: Station, ts: number): SlotOutcome {
  const plume = ctx.plan && station.kind === 'water' ? plumeAt(ctx.plan, station, ts) : 0;
  const groups = groupsOf(station);
  if (plume === 0) {
    const drop = incidentAt(ctx.seed, 'dropout', station.id, 0, ts, ctx.incidents);
    if (drop) return { kind: 'silent', window: drop };
  }
  const values: Record<string, number> =
    station.kind === 'water' ? { ...waterBaseline(station, ts, ctx.seed) } : { ...airBaseline(station, ts, ctx.seed) };
  if (plume > 0) {
    values.NH3N = roundTo((values.NH3N ?? 0) + plume, DECIMALS.NH3N);
    // TN includes ammonia nitrogen: a reading with NH3-N above TN would be nonsense.
    values.TN = roundTo((values.TN ?? 0) + plume, DECIMALS.TN);
    values.cond = roundTo((values.cond ?? 0) + COND_PER_NH3N * plume, DECIMALS.cond);
  }
  const flags: Record<string, DataFlag> = {};
  for (const k of Object.keys(values)) flags[k] = 'N';
  const reading: SimReading = { station, ts, values, flags, plumeMgL: plume };
  const maint = plume === 0 ? incidentAt(ctx.seed, 'maintenance', station.id, groups.length, ts, ctx.incidents) : undefined;
  if (maint) {
    for (const p of groups[maint.group] ?? []) {
      if (!(p in values)) continue;
      flags[p] = 'M';
      const check = CHECK_VALUES[p];
      if (check !== undefined) values[p] = check;
    }
    reading.maintenance = maint;
  }
  return { kind: 'reading', reading };
}

export interface Intervals {
  waterMs: number;
  airMs: number;
}

export const DEFAULT_INTERVALS: Intervals = { waterMs: 5 * 60_000, airMs: 60 * 60_000 };

export function intervalOf(station: Station, intervals: Intervals): number {
  return station.kind === 'water' ? intervals.waterMs : intervals.airMs;
}

export interface Slot {
  station: Station;
  ts: number;
}

/**
 * Every reporting instant in (afterMs, uptoMs], in time order (stations in registry order within an
 * instant). Each station reports on its own interval's grid, which is also the CST clock grid.
 */
export function slotsBetween(stations: readonly Station[], intervals: Intervals, afterMs: number, uptoMs: number): Slot[] {
  const out: Slot[] = [];
  if (!(uptoMs > afterMs)) return out;
  for (const station of stations) {
    const every = intervalOf(station, intervals);
    for (let ts = Math.floor(afterMs / every) * every + every; ts <= uptoMs; ts += every) out.push({ station, ts });
  }
  const order = new Map(stations.map((s, i) => [s.id, i]));
  return out.sort((a, b) => a.ts - b.ts || order.get(a.station.id)! - order.get(b.station.id)!);
}

/** The next reporting instant of any station after `afterMs`. */
export function nextSlotAfter(stations: readonly Station[], intervals: Intervals, afterMs: number): number {
  let next = Infinity;
  for (const s of stations) {
    const every = intervalOf(s, intervals);
    next = Math.min(next, Math.floor(afterMs / every) * every + every);
  }
  return next;
}
