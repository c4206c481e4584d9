/**
 * The 2004-style ammonia spill (docs/domain.md §4): condensate from a fertiliser plant upstream
 * in Chengdu enters the Tuojiang above the Hongyuan section and travels down the slow, dammed river.
 *
 * Model, deliberately simple and explainable in a demo:
 * - The plume front leaves the entry point when the discharge starts and moves at the configured
 *   velocity of each reach; it reaches a section `travel time = ∫ dx / v(x)` later.
 * - At a section the concentration rises smoothly (raised cosine) over `riseHours`, holds for as
 *   long as the discharge lasted (`spillHours`), then falls over `fallHours`.
 * - The plateau decays exponentially with distance (dilution by tributaries and exchange with the
 *   weir pools), calibrated on the 2004 figures: 51.3 mg/L at Hongyuan, 46.7 mg/L at the Shiqiao
 *   intake 16 km further down (river km of the illustrative registry).
 * - Time compression: every duration of the scenario (travel, rise, plateau, fall, lead-in, tail)
 *   is divided by `compress` in simulated time. compress = 1 keeps the plume physically consistent
 *   with the configured velocities (an alert's arrival estimate then matches the simulated arrival).
 */
import type { Station, StationRegistry } from '../config/station-registry.js';
import { HOUR_MS } from './clock.js';

export interface Reach {
  river?: string;
  fromKm: number;
  toKm: number;
  velocityKmh: number;
}

export interface SpillOptions {
  /** Water section the peak is given for (default `hongyuan`, else the river's second section). */
  refStation?: string;
  /** Where the discharge enters, in river km (default a little above the reference section). */
  entryKm?: number;
  /** Plateau concentration at the reference section, mg/L (default 51.3, as in 2004). */
  peakMgL?: number;
  /** Dilution per km downstream (default from 51.3 → 46.7 mg/L over 16 km). */
  decayPerKm?: number;
  /** How long the discharge lasts, which is how long the plateau lasts at every section (default 6 h). */
  spillHours?: number;
  riseHours?: number;
  fallHours?: number;
  /** Ordinary readings before the discharge starts (default 2 h). */
  leadInHours?: number;
  /** Ordinary readings after the plume has passed the last section (default 2 h). */
  tailHours?: number;
  /** Velocity where no reach says otherwise, km/h (default 1.5). */
  velocityKmh?: number;
  reaches?: readonly Reach[];
}

export const SPILL_DEFAULTS = {
  refStation: 'hongyuan',
  peakMgL: 51.3,
  /** ln(51.3 / 46.7) / 16 km: Hongyuan → Shiqiao in 2004. */
  decayPerKm: Math.log(51.3 / 46.7) / 16,
  spillHours: 6,
  riseHours: 1,
  fallHours: 2,
  leadInHours: 2,
  tailHours: 2,
  velocityKmh: 1.5,
  /** How far above the reference section the discharge enters, at most. */
  entryAboveRefKm: 8,
} as const;

export interface SectionPlan {
  station: string;
  city: string;
  km: number;
  /** Physical travel time from the entry point, hours (uncompressed). */
  travelHours: number;
  /** Simulated instant the front reaches the section. */
  arrivalMs: number;
  /** Simulated instant the plateau begins and ends, and the plume has gone. */
  plateauFromMs: number;
  plateauToMs: number;
  goneMs: number;
  /** Plateau concentration at the section, mg/L. */
  peakMgL: number;
}

export interface SpillPlan {
  river: string;
  refStation: string;
  entryKm: number;
  peakMgL: number;
  decayPerKm: number;
  compress: number;
  velocityKmh: number;
  reaches: readonly Reach[];
  /** Simulated instants: the discharge starts, and the scenario is over (plume gone + tail). */
  startMs: number;
  endMs: number;
  /** Compressed durations in simulated ms. */
  riseMs: number;
  plateauMs: number;
  fallMs: number;
  /** Water sections at or below the entry, upstream first. */
  sections: SectionPlan[];
}

function velocityAt(km: number, reaches: readonly Reach[], fallback: number): number {
  const r = reaches.find((x) => km >= x.fromKm && km < x.toKm);
  return r ? r.velocityKmh : fallback;
}

/** Hours for water to go from `fromKm` to `toKm` (downstream), piecewise over the reaches. */
export function travelHours(
  fromKm: number,
  toKm: number,
  reaches: readonly Reach[] = [],
  velocityKmh: number = SPILL_DEFAULTS.velocityKmh,
): number {
  if (toKm <= fromKm) return 0;
  const cuts = new Set<number>([fromKm, toKm]);
  for (const r of reaches) for (const k of [r.fromKm, r.toKm]) if (k > fromKm && k < toKm) cuts.add(k);
  const xs = [...cuts].sort((a, b) => a - b);
  let hours = 0;
  for (let i = 0; i + 1 < xs.length; i++) {
    const a = xs[i]!;
    const b = xs[i + 1]!;
    hours += (b - a) / velocityAt((a + b) / 2, reaches, velocityKmh);
  }
  return hours;
}

function referenceSection(registry: StationRegistry, wanted: string | undefined): Station {
  const explicit = wanted ?? SPILL_DEFAULTS.refStation;
  const s = registry.get(explicit);
  if (s && s.kind === 'water' && s.river && s.river_km !== undefined) return s;
  if (wanted !== undefined) throw new RangeError(`spill: reference station "${wanted}" is not a water section with a river km`);
  // Another registry: the second section of the first river, so one section upstream stays clean.
  const first = registry.stations.find((x) => x.kind === 'water' && x.river && x.river_km !== undefined);
  if (!first?.river) throw new RangeError('spill: the registry has no water section on a river');
  const sections = registry.riverSections(first.river);
  return sections[1] ?? sections[0]!;
}

function positive(name: string, v: number, allowZero = false): number {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
    throw new RangeError(`spill: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${v}`);
  return v;
}

/**
 * The spill's timetable in simulated time, for a simulation whose clock starts at `simStartMs`.
 * Pure: the same registry, options, compression and start give the same plan.
 */
export function planSpill(registry: StationRegistry, options: SpillOptions, compress: number, simStartMs: number): SpillPlan {
  positive('compress', compress);
  const ref = referenceSection(registry, options.refStation);
  const river = ref.river!;
  const refKm = ref.river_km!;
  const all = registry.riverSections(river);
  const above = all.filter((s) => (s.river_km ?? 0) < refKm).at(-1);
  const defaultEntry = Math.max(
    0,
    refKm - Math.min(SPILL_DEFAULTS.entryAboveRefKm, above ? (refKm - above.river_km!) / 2 : SPILL_DEFAULTS.entryAboveRefKm),
  );
  const entryKm = positive('entryKm', options.entryKm ?? defaultEntry, true);
  const peakMgL = positive('peakMgL', options.peakMgL ?? SPILL_DEFAULTS.peakMgL);
  const decayPerKm = positive('decayPerKm', options.decayPerKm ?? SPILL_DEFAULTS.decayPerKm, true);
  const velocityKmh = positive('velocityKmh', options.velocityKmh ?? SPILL_DEFAULTS.velocityKmh);
  const reaches = (options.reaches ?? []).filter((r) => r.river === undefined || r.river === river);
  for (const r of reaches) positive(`velocity of reach ${r.fromKm}-${r.toKm} km`, r.velocityKmh);
  const h = (name: keyof typeof SPILL_DEFAULTS & keyof SpillOptions) =>
    (positive(name, (options[name] as number | undefined) ?? (SPILL_DEFAULTS[name] as number), true) * HOUR_MS) / compress;
  const riseMs = h('riseHours');
  const plateauMs = h('spillHours');
  const fallMs = h('fallHours');
  const startMs = simStartMs + h('leadInHours');

  const sections: SectionPlan[] = all
    .filter((s) => s.river_km! >= entryKm)
    .map((s) => {
      const km = s.river_km!;
      const hours = travelHours(entryKm, km, reaches, velocityKmh);
      const arrivalMs = startMs + (hours * HOUR_MS) / compress;
      return {
        station: s.id,
        city: s.city,
        km,
        travelHours: hours,
        arrivalMs,
        plateauFromMs: arrivalMs + riseMs,
        plateauToMs: arrivalMs + riseMs + plateauMs,
        goneMs: arrivalMs + riseMs + plateauMs + fallMs,
        peakMgL: peakMgL * Math.exp(-decayPerKm * (km - refKm)),
      };
    });
  const lastGone = sections.at(-1)?.goneMs ?? startMs + riseMs + plateauMs + fallMs;
  return {
    river,
    refStation: ref.id,
    entryKm,
    peakMgL,
    decayPerKm,
    compress,
    velocityKmh,
    reaches,
    startMs,
    endMs: lastGone + h('tailHours'),
    riseMs,
    plateauMs,
    fallMs,
    sections,
  };
}

/** Simulated time the whole scenario needs, from the simulation's start to the end of its tail. */
export function spillSpanMs(registry: StationRegistry, options: SpillOptions, compress: number): number {
  return planSpill(registry, options, compress, 0).endMs;
}

/** Relative concentration 0..1 at `dt` after the front arrived. */
export function plumeShape(dt: number, riseMs: number, plateauMs: number, fallMs: number): number {
  if (dt < 0) return 0;
  if (dt < riseMs) return (1 - Math.cos((Math.PI * dt) / riseMs)) / 2;
  if (dt <= riseMs + plateauMs) return 1;
  const u = dt - riseMs - plateauMs;
  if (u < fallMs) return (1 + Math.cos((Math.PI * u) / fallMs)) / 2;
  return 0;
}

/** Plume NH3-N (mg/L, added to the river's own) at a section of the plan's river at simulated `ts`. */
export function plumeAt(plan: SpillPlan, station: Pick<Station, 'id' | 'river' | 'river_km'>, ts: number): number {
  if (station.river !== plan.river || station.river_km === undefined) return 0;
  const section = plan.sections.find((s) => s.station === station.id);
  if (!section) return 0;
  return section.peakMgL * plumeShape(ts - section.arrivalMs, plan.riseMs, plan.plateauMs, plan.fallMs);
}
