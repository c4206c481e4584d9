/**
 * The unified threshold set, where it comes from, and what it means for one station: the merged
 * profile (defaults <- matching river sections <- the station) and the limit of a parameter on a
 * reading's date. Limits not set explicitly come from the standards in force on that date.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadYamlFile } from '../config/load.js';
import type { RegistryConfig } from '../config/schema.js';
import {
  ThresholdsFileSchema,
  thresholdsSchemaFor,
  type ExplicitLimit,
  type LimitRuleConfig,
  type RulesConfig,
  type ThresholdOverride,
  type ThresholdsFile,
} from '../config/thresholds-schema.js';
import type { Period } from '../lib/reading.js';
import type { Station } from '../lib/station-registry.js';
import { airLimit, classLimit, gb3095LimitSetFor, type AirPollutant, type GradedClass, type Limit, type Waterbody } from '../lib/standards/index.js';

export interface ThresholdSet {
  /** Recorded with every alert ("threshold_version"). */
  version: string;
  /** Where it came from, for logs: a file path, or e.g. "redis" once versions are approved there (#6). */
  source: string;
  config: ThresholdsFile;
}

/** Where the checks get the thresholds in force. The file source now; an approved-versions store later. */
export interface ThresholdSource {
  current(): Promise<ThresholdSet>;
}

export const THRESHOLDS_FILE = 'thresholds.yaml';

export function loadThresholdsFile(file: string, registry?: RegistryConfig): ThresholdSet {
  const config = loadYamlFile(file, registry ? thresholdsSchemaFor(registry) : ThresholdsFileSchema);
  return { version: config.version, source: file, config };
}

/**
 * Reads config/thresholds.yaml, and re-reads it when its modification time changes (checked at most
 * every `checkEveryMs`). A file that has become invalid keeps the last valid set in force and the
 * error is reported through `onError`: a typo must not switch the alerts off.
 */
export class FileThresholdSource implements ThresholdSource {
  private set: ThresholdSet | undefined;
  private mtimeMs = -1;
  private checkedAt = 0;

  constructor(
    readonly file: string,
    private readonly registry?: RegistryConfig,
    private readonly opts: { checkEveryMs?: number; onError?: (e: unknown) => void } = {},
  ) {}

  static inConfigDir(dir: string, registry?: RegistryConfig): FileThresholdSource {
    return new FileThresholdSource(join(dir, THRESHOLDS_FILE), registry);
  }

  async current(): Promise<ThresholdSet> {
    return this.currentSync();
  }

  currentSync(): ThresholdSet {
    const now = Date.now();
    if (this.set && now - this.checkedAt < (this.opts.checkEveryMs ?? 5000)) return this.set;
    this.checkedAt = now;
    const mtime = statSync(this.file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
    if (this.set && mtime === this.mtimeMs) return this.set;
    try {
      this.set = loadThresholdsFile(this.file, this.registry);
      this.mtimeMs = mtime;
    } catch (e) {
      if (!this.set) throw e;
      this.opts.onError?.(e);
    }
    return this.set;
  }
}

/** A fixed set (tests, and whoever already holds a validated set). */
export class StaticThresholdSource implements ThresholdSource {
  constructor(private readonly set: ThresholdSet) {}
  async current(): Promise<ThresholdSet> {
    return this.set;
  }
}

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
}

const AIR_POLLUTANTS: ReadonlySet<string> = new Set(['SO2', 'NO2', 'CO', 'O3', 'PM10', 'PM2_5']);

/**
 * The limit of `param` for a reading of `station` taken at `ts` with aggregation `period`. Water:
 * GB 3838 class limits. Air: GB 3095 limits for the averaging the period implies (1 h for real-time,
 * minute and hourly values; 24 h, O3 8 h, for daily values). An explicit limit in the thresholds wins.
 */
export function limitFor(profile: StationProfile, station: Station, param: string, ts: number, period: Period): ResolvedLimit | undefined {
  const explicit = profile.limits[param];
  if (explicit !== undefined) {
    if (typeof explicit === 'number') return { limit: { kind: 'max', value: explicit }, basis: 'thresholds' };
    if (explicit.max !== undefined && explicit.min !== undefined) return { limit: { kind: 'range', min: explicit.min, max: explicit.max }, basis: 'thresholds' };
    if (explicit.max !== undefined) return { limit: { kind: 'max', value: explicit.max }, basis: 'thresholds' };
    if (explicit.min !== undefined) return { limit: { kind: 'min', value: explicit.min }, basis: 'thresholds' };
  }
  if (station.kind === 'water') {
    const limit = classLimit(param, profile.waterClass, profile.waterbody);
    return limit ? { limit, basis: `GB3838-2002 ${profile.waterClass}` } : undefined;
  }
  if (!AIR_POLLUTANTS.has(param)) return undefined;
  const date = new Date(ts);
  const averaging = period === 'day' ? (param === 'O3' ? '8h' : '24h') : '1h';
  const value = airLimit(param as AirPollutant, averaging, profile.airGrade, date);
  if (value === undefined) return undefined;
  return { limit: { kind: 'max', value }, basis: `${gb3095LimitSetFor(date)} ${profile.airGrade === 1 ? 'I' : 'II'} ${averaging}` };
}
