/**
 * What the unified threshold set means for one station: the merged profile (defaults <- matching
 * river sections <- the station) and the limit of a parameter on a reading's date. Limits not set
 * explicitly come from the standards in force on that date. Imports of the thresholds schema are
 * types only: the schema is built from the rules, and the rules read this module.
 */
import type { ExplicitLimit, LimitRuleConfig, RulesConfig, ThresholdOverride, ThresholdSet } from './thresholds-schema.js';
import type { Period } from '../lib/reading.js';
import type { Station } from '../config/station-registry.js';
import {
  airLimit,
  classLimit,
  gb3095LimitSetFor,
  limitAppliesTo,
  type AirPollutant,
  type GradedClass,
  type Limit,
  type Waterbody,
} from '../lib/standards/index.js';

/** Everything the rules need to know about one station under one threshold set. */
export interface StationProfile {
  version: string;
  waterClass: GradedClass;
  targetClass: GradedClass | undefined;
  airGrade: 1 | 2;
  waterbody: Waterbody;
  limits: Record<string, ExplicitLimit>;
  rules: RulesConfig;
  parameters: Record<string, Partial<LimitRuleConfig>>;
  reminderMin: number | null;
}

function mergeOverride(p: StationProfile, o: ThresholdOverride): StationProfile {
  const rules = { ...p.rules } as Record<string, object>;
  for (const [name, partial] of Object.entries(o.rules ?? {})) {
    if (partial) rules[name] = { ...rules[name], ...partial };
  }
  const parameters = { ...p.parameters };
  for (const [param, partial] of Object.entries(o.parameters ?? {})) parameters[param] = { ...parameters[param], ...partial };
  return {
    ...p,
    waterClass: o.water_class ?? p.waterClass,
    targetClass: o.target_class ?? p.targetClass,
    airGrade: o.air_grade ?? p.airGrade,
    limits: { ...p.limits, ...o.limits },
    rules: rules as unknown as RulesConfig,
    parameters,
    reminderMin: o.reminder_min !== undefined ? o.reminder_min : p.reminderMin,
  };
}

const profileCache = new WeakMap<ThresholdSet, Map<string, StationProfile>>();

/** defaults <- every section whose river and km range contain the station (file order) <- the station. */
export function stationProfile(set: ThresholdSet, station: Station): StationProfile {
  let cache = profileCache.get(set);
  if (!cache) profileCache.set(set, (cache = new Map()));
  const hit = cache.get(station.id);
  if (hit) return hit;
  const d = set.config.defaults;
  let p: StationProfile = {
    version: set.version,
    waterClass: d.water_class,
    targetClass: station.target_class,
    airGrade: d.air_grade,
    waterbody: station.waterbody ?? 'river',
    limits: { ...d.limits },
    rules: d.rules,
    parameters: { ...d.parameters },
    reminderMin: d.reminder_min,
  };
  for (const sec of set.config.sections) {
    const km = station.river_km;
    if (station.river === sec.river && km !== undefined && km >= sec.from_km && km <= sec.to_km) p = mergeOverride(p, sec);
  }
  const own = set.config.stations[station.id];
  if (own) p = mergeOverride(p, own);
  cache.set(station.id, p);
  return p;
}

/** The limit rule's timing for one parameter (per-parameter changes over the rule's settings). */
export function limitRuleFor(profile: StationProfile, param: string): LimitRuleConfig {
  return { ...profile.rules.limit, ...profile.parameters[param] };
}

export interface ResolvedLimit {
  limit: Limit;
  /** Where the number comes from, e.g. "GB3838-2002 III", "GB3095-2026-transition II 1h", "thresholds". */
  basis: string;
  /**
   * A GB 3838 limit Table 1 sets for lakes and reservoirs only, at a river section (TN): shown as a
   * reference line, never alerted on.
   */
  reference?: boolean;
  /**
   * With an explicit limit: the national one it replaces, for the station's target class (water)
   * or grade (air), so a notice can say whether the local limit is stricter.
   */
  national?: NationalLimit;
}

export interface NationalLimit {
  limit: Limit;
  basis: string;
  /** The GB 3838 class whose limit it is (water). */
  cls?: GradedClass;
}

const AIR_POLLUTANTS: ReadonlySet<string> = new Set(['SO2', 'NO2', 'CO', 'O3', 'PM10', 'PM2_5']);

function explicitLimit(explicit: ExplicitLimit): Limit | undefined {
  if (typeof explicit === 'number') return { kind: 'max', value: explicit };
  if (explicit.max !== undefined && explicit.min !== undefined) return { kind: 'range', min: explicit.min, max: explicit.max };
  if (explicit.max !== undefined) return { kind: 'max', value: explicit.max };
  if (explicit.min !== undefined) return { kind: 'min', value: explicit.min };
  return undefined;
}

function waterLimit(param: string, cls: GradedClass, waterbody: Waterbody): (NationalLimit & { reference: boolean }) | undefined {
  const limit = classLimit(param, cls, waterbody);
  return limit ? { limit, basis: `GB3838-2002 ${cls}`, cls, reference: !limitAppliesTo(param, waterbody) } : undefined;
}

function airStandardLimit(param: string, ts: number, period: Period, grade: 1 | 2): NationalLimit | undefined {
  if (!AIR_POLLUTANTS.has(param)) return undefined;
  const date = new Date(ts);
  const averaging = period === 'day' ? (param === 'O3' ? '8h' : '24h') : '1h';
  const value = airLimit(param as AirPollutant, averaging, grade, date);
  if (value === undefined) return undefined;
  return { limit: { kind: 'max', value }, basis: `${gb3095LimitSetFor(date)} ${grade === 1 ? 'I' : 'II'} ${averaging}` };
}

/**
 * The national limit an explicit one stands in for: GB 3838 at the station's target class (the
 * class the section is held to; the thresholds' class where it has none), GB 3095 at its grade.
 * None for an item the standard does not limit at this kind of waterbody (TN at a river).
 */
function nationalLimitFor(profile: StationProfile, station: Station, param: string, ts: number, period: Period): NationalLimit | undefined {
  if (station.kind === 'water') {
    const w = waterLimit(param, profile.targetClass ?? profile.waterClass, profile.waterbody);
    return w && !w.reference ? { limit: w.limit, basis: w.basis, ...(w.cls ? { cls: w.cls } : {}) } : undefined;
  }
  return airStandardLimit(param, ts, period, profile.airGrade);
}

/**
 * The limit of `param` for a reading of `station` taken at `ts` with aggregation `period`. Water:
 * GB 3838 class limits (marked `reference` where Table 1 limits the item for lakes only and the
 * station is on a river). Air: GB 3095 limits for the averaging the period implies (1 h for
 * real-time, minute and hourly values; 24 h, O3 8 h, for daily values). An explicit limit in the
 * thresholds wins, and carries the national limit it replaces.
 */
export function limitFor(profile: StationProfile, station: Station, param: string, ts: number, period: Period): ResolvedLimit | undefined {
  const explicit = profile.limits[param];
  const limit = explicit === undefined ? undefined : explicitLimit(explicit);
  if (limit) {
    const national = nationalLimitFor(profile, station, param, ts, period);
    return { limit, basis: 'thresholds', ...(national ? { national } : {}) };
  }
  if (station.kind === 'water') {
    const w = waterLimit(param, profile.waterClass, profile.waterbody);
    return w ? { limit: w.limit, basis: w.basis, ...(w.reference ? { reference: true } : {}) } : undefined;
  }
  const air = airStandardLimit(param, ts, period, profile.airGrade);
  return air ? { limit: air.limit, basis: air.basis } : undefined;
}
