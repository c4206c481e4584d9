/**
 * The rules of consent, as pure functions. A change is judged by what it does to the limits in
 * force at every station it reaches (not by the number typed): a tighter limit everywhere applies
 * at once, unless it is stricter than the sanity floor (./floor.ts) somewhere: then, like a
 * loosening, it waits for the other city; looser than the national standard for the station's
 * target class (GB 3838) or grade (GB 3095) anywhere needs an exception both cities sign.
 */
import type { RegistryConfig, StationConfig } from '../../config/schema.js';
import type { ThresholdsFile } from '../thresholds-schema.js';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import type { Period } from '../../lib/reading.js';
import { airLimit, classLimit, type AirPollutant, type Limit } from '../../lib/standards/index.js';
import { limitFor, stationProfile, type ThresholdSet } from '../thresholds.js';
import { sanityFloor } from './floor.js';
import { formatLimit, stationsUnder } from './limits.js';
import type { LimitTarget, StationEffect } from './types.js';

type Direction = StationEffect['direction'];

/** A limit as the interval of values that meet it; no limit is (-∞, +∞). */
function interval(l: Limit | undefined): [number, number] {
  if (!l) return [-Infinity, Infinity];
  if (l.kind === 'max') return [-Infinity, l.value];
  if (l.kind === 'min') return [l.value, Infinity];
  return [l.min, l.max];
}

/** How `after` compares with `before`: tighter admits fewer values, looser more. */
export function compareLimits(before: Limit | undefined, after: Limit | undefined): Direction {
  const [b0, b1] = interval(before);
  const [a0, a1] = interval(after);
  const sides = [Math.sign(a0 - b0), Math.sign(b1 - a1)].map((s) => (Number.isNaN(s) ? 0 : s));
  const tighter = sides.some((s) => s > 0);
  const looser = sides.some((s) => s < 0);
  return tighter && looser ? 'mixed' : tighter ? 'tighter' : looser ? 'looser' : 'same';
}

/** Looser than the national limit on either side. */
function looserThan(limit: Limit | undefined, national: Limit | undefined): boolean {
  if (!national) return false;
  const d = compareLimits(national, limit);
  return d === 'looser' || d === 'mixed';
}

/** Stricter than the floor on either side. */
function stricterThan(limit: Limit | undefined, floor: Limit | undefined): boolean {
  if (!floor) return false;
  const d = compareLimits(floor, limit);
  return d === 'tighter' || d === 'mixed';
}

const AIR: ReadonlySet<string> = new Set(['SO2', 'NO2', 'CO', 'O3', 'PM10', 'PM2_5']);

/**
 * The national limit a station's limit may not be looser than without an exception: GB 3838 at the
 * station's target class (default III) for water; GB 3095 at its grade, in force on `at`, for air.
 */
export function nationalLimit(set: ThresholdSet, station: StationConfig, param: string, period: Period, at: number): Limit | undefined {
  const p = stationProfile(set, station);
  if (station.kind === 'water') return classLimit(param, p.targetClass ?? 'III', p.waterbody);
  if (!AIR.has(param)) return undefined;
  const averaging = period === 'day' ? (param === 'O3' ? '8h' : '24h') : '1h';
  const v = airLimit(param as AirPollutant, averaging, p.airGrade, new Date(at));
  return v === undefined ? undefined : { kind: 'max', value: v };
}

export interface Classification {
  /** `none`: no limit in force moves; `mixed` counts as a loosening. */
  direction: 'tighten' | 'loosen' | 'mixed' | 'none';
  effects: StationEffect[];
  /** Effects that loosen a limit to beyond the national standard. */
  belowStandard: StationEffect[];
  /** After the change, some station's limit at the target is still looser than the standard. */
  stillBelowStandard: boolean;
  /** Effects that tighten a limit to beyond the sanity floor (they need the other city's consent). */
  belowFloor: StationEffect[];
}

/**
 * Compares the limits in force before and after for every station the target reaches, for each
 * averaging the checks use (water: one; air: hourly and daily readings have different limits).
 */
export function classify(
  registry: RegistryConfig,
  before: ThresholdsFile,
  after: ThresholdsFile,
  target: LimitTarget,
  at: number,
): Classification {
  const b: ThresholdSet = { version: 'before', source: 'classify', config: before };
  const a: ThresholdSet = { version: 'after', source: 'classify', config: after };
  const unit = PARAMETER_BY_KEY.get(target.param)?.unit ?? '';
  const effects: StationEffect[] = [];
  let stillBelow = false;
  for (const station of stationsUnder(registry, after, target)) {
    const periods: Array<'hour' | 'day'> = station.kind === 'air' ? ['hour', 'day'] : ['hour'];
    for (const period of periods) {
      const lb = limitFor(stationProfile(b, station), station, target.param, at, period)?.limit;
      const la = limitFor(stationProfile(a, station), station, target.param, at, period)?.limit;
      const national = nationalLimit(a, station, target.param, period, at);
      const floor = sanityFloor(a, station, target.param, period, at);
      const direction = compareLimits(lb, la);
      const below = looserThan(la, national);
      if (below) stillBelow = true;
      const moves = direction === 'tighter' || direction === 'mixed';
      effects.push({
        station: station.id,
        period,
        before: formatLimit(lb, unit),
        after: formatLimit(la, unit),
        direction,
        national: national ? formatLimit(national, unit) : null,
        // Only a change that loosens needs the exception: tightening a limit already below the
        // standard (an exception in force) is always welcome.
        belowStandard: below && (direction === 'looser' || direction === 'mixed'),
        floor: floor ? formatLimit(floor, unit) : null,
        // Only the move that goes past the floor needs consent: loosening a limit that is still
        // beyond it (towards sanity) is judged as the loosening it is.
        belowFloor: moves && stricterThan(la, floor),
      });
    }
  }
  const looser = effects.some((e) => e.direction === 'looser' || e.direction === 'mixed');
  const tighter = effects.some((e) => e.direction === 'tighter' || e.direction === 'mixed');
  const direction = looser && tighter ? 'mixed' : looser ? 'loosen' : tighter ? 'tighten' : 'none';
  return {
    direction,
    effects,
    belowStandard: effects.filter((e) => e.belowStandard),
    stillBelowStandard: stillBelow,
    belowFloor: effects.filter((e) => e.belowFloor === true),
  };
}

/** What a proposal waits for: a loosening, a tightening past the sanity floor, an exception. */
export type ProposalKind = 'loosen' | 'floor' | 'exception';

/**
 * Whose approval a proposal still needs. A loosening or a tightening past the floor: an operator
 * of every city but the proposer's. An exception: an operator of every city, the proposer's own approval not counting
 * (so the proposer's city confirms it too, with a second pair of eyes).
 */
export function missingApprovals(
  kind: ProposalKind,
  cities: readonly string[],
  proposer: { by: string; city: string },
  approvals: ReadonlyArray<{ by: string; city: string }>,
): string[] {
  const approved = new Set(approvals.filter((a) => a.by !== proposer.by).map((a) => a.city));
  return cities.filter((c) => (kind === 'exception' ? true : c !== proposer.city) && !approved.has(c));
}

/** Why this operator may not approve now, or undefined when the approval counts. */
export function approvalRefusal(
  kind: ProposalKind,
  cities: readonly string[],
  proposer: { by: string; city: string },
  approvals: ReadonlyArray<{ by: string; city: string }>,
  actor: { operator: string; city: string },
): string | undefined {
  if (actor.operator === proposer.by) return `${actor.operator} proposed it and cannot approve it too`;
  if (approvals.some((a) => a.by === actor.operator)) return `${actor.operator} has already approved it`;
  if (kind !== 'exception' && actor.city === proposer.city) {
    return `${kind === 'floor' ? 'a tightening past the sanity floor' : 'a loosening'} proposed in ${proposer.city} needs an operator of ${cities.filter((c) => c !== proposer.city).join(' or ')}: same-city approval does not count`;
  }
  if (!missingApprovals(kind, cities, proposer, approvals).includes(actor.city)) return `${actor.city} has already approved it`;
  return undefined;
}
