/**
 * A restore: a city putting back, on its own stations, a limit it had before the other city
 * changed it alone. It needs nobody's consent, so that a tightening one city applies to the
 * other's stations (at once, as every tightening) can never lock that city into an alert storm:
 * its undo would otherwise be a loosening waiting for the very city that caused it.
 *
 * Precisely, for one station and parameter, walking back from the version in force over the
 * versions that moved that station's limit: each one made by another city without this city's
 * approval is a restore point (the configuration before it); the walk passes over this city's own
 * earlier restores and stops at the first other change this city made or approved, or the system
 * made (seed, an exception's end). A restore may set the
 * limit in force back to what it was at any restore point — not looser, not anything else — and
 * only where the station belongs to the actor's city. Pure: the store loads the versions.
 */
import type { RegistryConfig } from '../../config/schema.js';
import type { ThresholdsFile } from '../thresholds-schema.js';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import { limitFor, stationProfile, type ThresholdSet } from '../thresholds.js';
import { compareLimits } from './consent.js';
import { formatLimit, stationsUnder } from './limits.js';
import type { LimitTarget, ThresholdVersion } from './types.js';

export interface RestorePoint {
  /** The other city's version this point undoes (with every later one of the run). */
  undoes: number;
  by: string;
  city: string;
  /** The configuration in force just before it. */
  before: ThresholdsFile;
}

/** Restore points for `city` at one station and parameter, newest first. `versions` are 1..head. */
export function restorePoints(versions: readonly ThresholdVersion[], station: string, param: string, city: string): RestorePoint[] {
  const byNumber = new Map(versions.map((v) => [v.version, v]));
  const points: RestorePoint[] = [];
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = versions[i] as ThresholdVersion;
    if (v.target?.param !== param) continue;
    if (!(v.effects ?? []).some((e) => e.station === station && e.direction !== 'same')) continue;
    // The city's own earlier restore (perhaps a partial one) does not end what it may undo.
    if (v.kind === 'restore' && v.city === city) continue;
    if (v.city === null || v.city === city || v.approvals.some((a) => a.city === city)) break;
    const parent = v.parent === null ? undefined : byNumber.get(v.parent);
    if (!parent) break;
    points.push({ undoes: v.version, by: v.by, city: v.city, before: parent.config });
  }
  return points;
}

export type RestoreJudgement = { ok: true; undoes: number[] } | { ok: false; why: string };

/**
 * Whether going from `before` to `after` at `target` is a restore for `city`: every station whose
 * limit moves is the city's own and ends at the limit it had at one of its restore points.
 */
export function judgeRestore(
  registry: RegistryConfig,
  versions: readonly ThresholdVersion[],
  before: ThresholdsFile,
  after: ThresholdsFile,
  target: LimitTarget,
  city: string,
  at: number,
): RestoreJudgement {
  const set = (config: ThresholdsFile): ThresholdSet => ({ version: 'restore', source: 'restore', config });
  const b = set(before);
  const a = set(after);
  const unit = PARAMETER_BY_KEY.get(target.param)?.unit ?? '';
  const undoes = new Set<number>();
  for (const station of stationsUnder(registry, after, target)) {
    const periods: Array<'hour' | 'day'> = station.kind === 'air' ? ['hour', 'day'] : ['hour'];
    const inForce = (s: ThresholdSet, period: 'hour' | 'day') =>
      limitFor(stationProfile(s, station), station, target.param, at, period)?.limit;
    if (periods.every((p) => compareLimits(inForce(b, p), inForce(a, p)) === 'same')) continue;
    if (station.city !== city)
      return { ok: false, why: `${station.id} belongs to ${station.city}: a restore reaches only ${city}'s own stations` };
    const points = restorePoints(versions, station.id, target.param, city);
    if (points.length === 0) {
      return {
        ok: false,
        why: `no other city changed ${target.param} at ${station.id} alone since ${city} last changed or approved it: there is nothing to restore`,
      };
    }
    const match = points.findIndex((pt) => periods.every((p) => compareLimits(inForce(set(pt.before), p), inForce(a, p)) === 'same'));
    if (match < 0) {
      const had = points
        .map((pt) => `${formatLimit(inForce(set(pt.before), 'hour'), unit)} (before v${pt.undoes} by ${pt.by}, ${pt.city})`)
        .join(', ');
      return {
        ok: false,
        why: `${station.id}: ${formatLimit(inForce(a, 'hour'), unit)} is not a limit it had before the other city's changes; it may be restored to ${had}`,
      };
    }
    for (const pt of points.slice(0, match + 1)) undoes.add(pt.undoes);
  }
  if (undoes.size === 0) return { ok: false, why: 'no limit in force moves' };
  return { ok: true, undoes: [...undoes].sort((x, y) => x - y) };
}
