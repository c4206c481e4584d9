/** Read-only views of a version for the CLI and the API: its explicit limits, a station's limits in force. */
import type { RegistryConfig } from '../../config/schema.js';
import type { ExplicitLimit, ThresholdsFile } from '../thresholds-schema.js';
import { TuojiangError } from '../../lib/errors.js';
import { PARAMETER_BY_KEY, parametersOf } from '../../lib/parameters.js';
import { limitFor, stationProfile } from '../thresholds.js';
import { formatLimit, targetPath } from './limits.js';
import { nationalLimit } from './consent.js';
import type { LimitTarget, ThresholdVersion } from './types.js';

export interface ExplicitLimitRow {
  path: string;
  target: LimitTarget;
  limit: ExplicitLimit;
  unit: string;
}

/** Every limit set explicitly in the thresholds (the rest come from the standards). */
export function explicitLimits(config: ThresholdsFile): ExplicitLimitRow[] {
  const rows: ExplicitLimitRow[] = [];
  const add = (target: LimitTarget, limit: ExplicitLimit) =>
    rows.push({ path: targetPath(target), target, limit, unit: PARAMETER_BY_KEY.get(target.param)?.unit ?? '' });
  for (const [param, l] of Object.entries(config.defaults.limits)) add({ scope: 'defaults', param }, l);
  config.sections.forEach((s, i) => {
    for (const [param, l] of Object.entries(s.limits ?? {}))
      add({ scope: 'section', section: i, ...(s.name ? { sectionName: s.name } : {}), param }, l);
  });
  for (const [station, o] of Object.entries(config.stations)) {
    for (const [param, l] of Object.entries(o.limits ?? {})) add({ scope: 'station', station, param }, l);
  }
  return rows;
}

export interface EffectiveLimitRow {
  param: string;
  period: 'hour' | 'day';
  limit: string;
  basis: string;
  national: string | null;
}

/** Every limit in force at one station under a version, with where it comes from. */
export function effectiveLimits(registry: RegistryConfig, v: ThresholdVersion, stationId: string, at: number): EffectiveLimitRow[] {
  const station = registry.stations.find((s) => s.id === stationId);
  if (!station)
    throw new TuojiangError(
      'THRESHOLD_UNKNOWN_STATION',
      `unknown station "${stationId}"; stations.yaml has: ${registry.stations.map((s) => s.id).join(', ')}`,
    );
  const set = { version: String(v.version), source: 'redis', config: v.config };
  const profile = stationProfile(set, station);
  const rows: EffectiveLimitRow[] = [];
  for (const p of parametersOf(station.kind)) {
    for (const period of station.kind === 'air' ? (['hour', 'day'] as const) : (['hour'] as const)) {
      const r = limitFor(profile, station, p.key, at, period);
      if (!r) continue;
      const national = nationalLimit(set, station, p.key, period, at);
      rows.push({
        param: p.key,
        period,
        limit: formatLimit(r.limit, p.unit),
        basis: r.basis,
        national: national ? formatLimit(national, p.unit) : null,
      });
    }
  }
  return rows;
}
