/**
 * GB 3838-2002 Environmental quality standards for surface water, Table 1, and the single-factor
 * evaluation of a section's water class (docs/domain.md §1).
 */
import { TuojiangError } from '../errors.js';
import { assertValidDate } from './dates.js';

export type WaterClass = 'I' | 'II' | 'III' | 'IV' | 'V' | '劣V';
export type GradedClass = Exclude<WaterClass, '劣V'>;
export type Waterbody = 'river' | 'lake';

/** Best first; an index into this array orders classes (higher = worse). */
export const CLASS_ORDER: readonly WaterClass[] = ['I', 'II', 'III', 'IV', 'V', '劣V'];
const GRADED: readonly GradedClass[] = ['I', 'II', 'III', 'IV', 'V'];

export const WATER_CLASS_LABEL: Readonly<Record<WaterClass, string>> = {
  I: '优',
  II: '优',
  III: '良好',
  IV: '轻度污染',
  V: '中度污染',
  劣V: '重度污染',
};

/** Our English rendering of WATER_CLASS_LABEL, for the bilingual notices (not the standard's text). */
export const WATER_CLASS_LABEL_EN: Readonly<Record<WaterClass, string>> = {
  I: 'Excellent',
  II: 'Excellent',
  III: 'Good',
  IV: 'Lightly polluted',
  V: 'Moderately polluted',
  劣V: 'Heavily polluted',
};

export type Limit = { kind: 'max'; value: number } | { kind: 'min'; value: number } | { kind: 'range'; min: number; max: number };

type Five = readonly [number, number, number, number, number];

/** One Table 1 item: its bound kind and the class I–V limits for each kind of waterbody. */
export type Table1Item =
  | { readonly kind: 'range'; readonly min: number; readonly max: number }
  | { readonly kind: 'max' | 'min'; readonly river: Five; readonly lake: Five };

const max = (limits: Five): Table1Item => ({ kind: 'max', river: limits, lake: limits });

/**
 * GB 3838-2002 Table 1, keyed by the canonical parameter keys of lib/parameters.ts; mg/L except
 * fecal coliform (per L). Water temperature is absent: it is not class-graded.
 */
export const GB3838_TABLE1: Readonly<Record<string, Table1Item>> = {
  pH: { kind: 'range', min: 6, max: 9 },
  // Class I DO is 7.5 mg/L; the "90 % saturation" alternative is not used (docs/domain.md §1).
  DO: { kind: 'min', river: [7.5, 6, 5, 3, 2], lake: [7.5, 6, 5, 3, 2] },
  CODMn: max([2, 4, 6, 10, 15]),
  COD: max([15, 15, 20, 30, 40]),
  BOD5: max([3, 3, 4, 6, 10]),
  NH3N: max([0.15, 0.5, 1.0, 1.5, 2.0]),
  TP: { kind: 'max', river: [0.02, 0.1, 0.2, 0.3, 0.4], lake: [0.01, 0.025, 0.05, 0.1, 0.2] },
  TN: max([0.2, 0.5, 1.0, 1.5, 2.0]),
  Cu: max([0.01, 1.0, 1.0, 1.0, 1.0]),
  Zn: max([0.05, 1.0, 1.0, 2.0, 2.0]),
  F: max([1.0, 1.0, 1.0, 1.5, 1.5]),
  Se: max([0.01, 0.01, 0.01, 0.02, 0.02]),
  As: max([0.05, 0.05, 0.05, 0.1, 0.1]),
  Hg: max([0.00005, 0.00005, 0.0001, 0.001, 0.001]),
  Cd: max([0.001, 0.005, 0.005, 0.005, 0.01]),
  Cr6: max([0.01, 0.05, 0.05, 0.05, 0.1]),
  Pb: max([0.01, 0.01, 0.05, 0.05, 0.1]),
  CN: max([0.005, 0.05, 0.2, 0.2, 0.2]),
  phenol: max([0.002, 0.002, 0.005, 0.01, 0.1]),
  petroleum: max([0.05, 0.05, 0.05, 0.5, 1.0]),
  LAS: max([0.2, 0.2, 0.2, 0.3, 0.3]),
  sulfide: max([0.05, 0.1, 0.2, 0.5, 1.0]),
  fecal_coliform: max([200, 2000, 10000, 20000, 40000]),
};

/** The items Table 1 grades (23: the standard's 24 basic items less water temperature). */
export const GRADED_WATER_PARAMS: readonly string[] = Object.keys(GB3838_TABLE1);

export type Gb3838Version = 'GB3838-2002';

/** GB 3838-2002 is the only version in force for every date we handle; callers record it anyway. */
export function gb3838VersionFor(date: Date): Gb3838Version {
  assertValidDate(date, 'gb3838VersionFor');
  return 'GB3838-2002';
}

/**
 * Items Table 1 limits for lakes and reservoirs only: total nitrogen (the standard's note to TN).
 * At a river section TN is a reference item: its own class is reported, but it is no limit to
 * alert on unless the thresholds set one explicitly.
 */
export const LAKE_ONLY_ITEMS: ReadonlySet<string> = new Set(['TN']);

/** Whether Table 1's limit for `param` applies to this kind of waterbody. */
export function limitAppliesTo(param: string, waterbody: Waterbody): boolean {
  return waterbody === 'lake' || !LAKE_ONLY_ITEMS.has(param);
}

export function classLimit(param: string, cls: GradedClass, waterbody: Waterbody): Limit | undefined {
  const item = GB3838_TABLE1[param];
  if (!item) return undefined;
  if (item.kind === 'range') return { kind: 'range', min: item.min, max: item.max };
  const value = item[waterbody][GRADED.indexOf(cls)];
  return value === undefined ? undefined : { kind: item.kind, value };
}

function meets(limit: Limit, value: number): boolean {
  switch (limit.kind) {
    case 'max':
      return value <= limit.value;
    case 'min':
      return value >= limit.value;
    case 'range':
      return value >= limit.min && value <= limit.max;
  }
}

/**
 * The best class whose limit the value meets (limits inclusive; where classes share a limit the
 * better class wins, e.g. COD 15 → I); 劣V beyond class V; undefined for items Table 1 does not
 * grade (temperature, conductivity, turbidity, unknown keys).
 */
export function paramClass(param: string, value: number, waterbody: Waterbody): WaterClass | undefined {
  if (!GB3838_TABLE1[param]) return undefined;
  if (!Number.isFinite(value)) {
    throw new TuojiangError('INVALID_VALUE', `${param}: ${value} is not a finite number`, { param, value });
  }
  for (const cls of GRADED) {
    const limit = classLimit(param, cls, waterbody);
    if (limit && meets(limit, value)) return cls;
  }
  return '劣V';
}

/**
 * Which graded items are reference items: reported with their own class but not deciding the
 * section's class. Default: TN and fecal coliform, for rivers and lakes alike (the 2011 national
 * evaluation method, docs/domain.md §1). Operators may change it, e.g. [] to let every item decide.
 */
export interface WaterClassPolicy {
  referenceItems: string[];
}

export const DEFAULT_WATER_CLASS_POLICY: Readonly<WaterClassPolicy> = Object.freeze({
  referenceItems: Object.freeze(['TN', 'fecal_coliform']) as string[],
});

export interface WaterClassResult {
  /** The section's class (worst deciding item), or null when no deciding item was measured. */
  class: WaterClass | null;
  /** The deciding items whose class is the section's class. */
  limiting: string[];
  /** Every graded item's own class, reference items included. */
  perParam: Record<string, WaterClass>;
}

export function classIndex(cls: WaterClass): number {
  return CLASS_ORDER.indexOf(cls);
}

/** True when `cls` is worse than `target` (e.g. IV is worse than the Tuojiang target III). */
export function isWorseThan(cls: WaterClass, target: WaterClass): boolean {
  return classIndex(cls) > classIndex(target);
}

/** Single-factor evaluation of one sample (docs/domain.md §1). Ungraded and unknown keys are ignored. */
export function waterClass(values: Record<string, number>, opts: { waterbody: Waterbody; policy?: WaterClassPolicy }): WaterClassResult {
  const reference = new Set(opts.policy?.referenceItems ?? DEFAULT_WATER_CLASS_POLICY.referenceItems);
  const perParam: Record<string, WaterClass> = {};
  let worst = -1;
  let limiting: string[] = [];
  for (const [param, value] of Object.entries(values)) {
    const cls = paramClass(param, value, opts.waterbody);
    if (cls === undefined) continue;
    perParam[param] = cls;
    if (reference.has(param)) continue;
    const idx = classIndex(cls);
    if (idx > worst) {
      worst = idx;
      limiting = [param];
    } else if (idx === worst) {
      limiting.push(param);
    }
  }
  return { class: CLASS_ORDER[worst] ?? null, limiting, perParam };
}
