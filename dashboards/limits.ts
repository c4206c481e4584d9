/**
 * Thresholds drawn on panels, all derived (never copied): the alert limit of each station from the
 * unified thresholds (alerts/thresholds.ts limitFor), the GB 3838 class bands (classLimit) and the
 * HJ 633 category bands (IAQI_BREAKPOINTS, AQI_CATEGORIES).
 */
import { limitFor } from '../alerts/thresholds.js';
import type { Period } from '../lib/reading.js';
import type { Station } from '../config/station-registry.js';
import {
  AQI_TERMS,
  CLASS_ORDER,
  GB3838_TABLE1,
  IAQI_BREAKPOINTS,
  IAQI_LEVELS,
  aqiCategory,
  classLimit,
  type AqiMode,
  type AqiStandard,
  type GradedClass,
  type Limit,
  type Waterbody,
} from '../lib/standards/index.js';
import { AQI_BANDS, WATER_CLASS_COLOR, aqiColor } from './colors.js';
import { profileOf, type BuildContext } from './context.js';
import type { ThresholdStep } from './model.js';

export const PERIODS: readonly Period[] = ['rt', 'min', 'hour', 'day'];

/**
 * The smallest double above x. Grafana colours a value by the last step whose value it reaches
 * (value ≥ step), while GB 3838 upper limits are inclusive (1.0 mg/L of NH3-N is still class III):
 * an upper limit L becomes a step at nextUp(L), so L itself keeps the better colour.
 */
export function nextUp(x: number): number {
  if (!Number.isFinite(x)) return x;
  if (x === 0) return Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  buf.setBigUint64(0, x > 0 ? bits + 1n : bits - 1n);
  return buf.getFloat64(0);
}

const GRADED: readonly GradedClass[] = ['I', 'II', 'III', 'IV', 'V'];

/** Steps colouring a value of `param` by its own GB 3838 class (Table 1 items only). */
export function classBandSteps(param: string, waterbody: Waterbody): ThresholdStep[] | undefined {
  const item = GB3838_TABLE1[param];
  if (!item) return undefined;
  const color = (i: number): string => WATER_CLASS_COLOR[CLASS_ORDER[i] ?? '劣V'];
  if (item.kind === 'range') {
    return [
      { value: null, color: WATER_CLASS_COLOR['劣V'] },
      { value: item.min, color: color(0) },
      { value: nextUp(item.max), color: WATER_CLASS_COLOR['劣V'] },
    ];
  }
  const limits = GRADED.map((c) => (classLimit(param, c, waterbody) as Extract<Limit, { kind: 'max' | 'min' }>).value);
  const steps = new Map<number, string>();
  if (item.kind === 'max') {
    // Above class k's limit the value is at best class k+1; equal limits collapse to the worse class.
    limits.forEach((l, k) => steps.set(nextUp(l), color(k + 1)));
    return [{ value: null, color: color(0) }, ...[...steps].sort((a, b) => a[0] - b[0]).map(([value, c]) => ({ value, color: c }))];
  }
  // Lower bounds (DO): at or above class k's limit the value is class k (the best such k wins).
  for (let k = limits.length - 1; k >= 0; k--) steps.set(limits[k] as number, color(k));
  return [
    { value: null, color: color(limits.length) },
    ...[...steps].sort((a, b) => a[0] - b[0]).map(([value, c]) => ({ value, color: c })),
  ];
}

/** Steps colouring an AQI value by its HJ 633 category (the AQI is an integer: category n starts at its min). */
export function aqiCategorySteps(): ThresholdStep[] {
  return AQI_BANDS.map((b, i) => ({ value: i === 0 ? null : b.min, color: b.hex }));
}

/**
 * Steps colouring a concentration by the category its IAQI falls in (the first term of the report
 * that uses the pollutant). HJ 633-2026 rounds concentrations first (integers; CO to 0.1), so the
 * boundary is where the rounded value passes the breakpoint; 2012 compares the value itself.
 * The steps belong to the report's first term for the pollutant (hourly: the 1-h tables, PM on the
 * 24-h breakpoints).
 */
export function iaqiBandSteps(pollutant: string, standard: AqiStandard, mode: AqiMode): ThresholdStep[] | undefined {
  const term = AQI_TERMS[standard][mode].find((t) => t.pollutant === pollutant);
  if (!term) return undefined;
  const bps = IAQI_BREAKPOINTS[standard][term.table];
  const half = pollutant === 'CO' ? 0.05 : 0.5;
  const steps: ThresholdStep[] = [{ value: null, color: (AQI_BANDS[0] as (typeof AQI_BANDS)[number]).hex }];
  for (let i = 1; i < bps.length - 1; i++) {
    const level = IAQI_LEVELS[i] as number;
    // Just above this breakpoint the IAQI is level + something: that category, if it is a new one.
    const above = aqiCategory(level + 1);
    if (above.level === aqiCategory(level).level) continue;
    const bp = bps[i] as number;
    // 2026: the rounded value passes bp from bp + ½ on, except that exactly bp + ½ rounds (half to
    // even) down to an even bp.
    const unitsOfBp = Math.round(bp / (half * 2));
    const edge = bp + half;
    const value = standard === 'HJ633-2026' ? (unitsOfBp % 2 === 0 ? nextUp(edge) : edge) : nextUp(bp);
    steps.push({ value, color: aqiColor(above.color) });
  }
  return steps;
}

export interface LimitGroup {
  limit: Limit;
  basis: string;
  stations: string[];
  periods: Period[];
}

/**
 * The alert limit of `param` for every (station, period) given, as the alert checks resolve it on
 * `ctx.asOf`, grouped by equal limit: one limit line per group.
 */
export function limitGroups(
  ctx: BuildContext,
  param: string,
  stations: readonly Station[],
  periods: readonly Period[] = PERIODS,
): LimitGroup[] {
  const groups = new Map<string, LimitGroup>();
  for (const s of stations) {
    const profile = profileOf(ctx, s);
    for (const period of periods) {
      const r = limitFor(profile, s, param, ctx.asOf.getTime(), period);
      if (!r) continue;
      const key = JSON.stringify([r.limit, r.basis]);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { limit: r.limit, basis: r.basis, stations: [], periods: [] }));
      if (!g.stations.includes(s.id)) g.stations.push(s.id);
      if (!g.periods.includes(period)) g.periods.push(period);
    }
  }
  // A group must hold every (station, period) pair it claims, or a line would be drawn where it does not apply.
  const out: LimitGroup[] = [];
  for (const g of groups.values()) {
    const split = new Map<string, LimitGroup>();
    for (const sid of g.stations) {
      const s = stations.find((x) => x.id === sid) as Station;
      const ps = periods.filter((p) => {
        const r = limitFor(profileOf(ctx, s), s, param, ctx.asOf.getTime(), p);
        return r && JSON.stringify([r.limit, r.basis]) === JSON.stringify([g.limit, g.basis]);
      });
      const k = ps.join(',');
      let sub = split.get(k);
      if (!sub) split.set(k, (sub = { ...g, stations: [], periods: ps }));
      sub.stations.push(sid);
    }
    out.push(...split.values());
  }
  return out;
}

export function limitText(l: Limit): string {
  return l.kind === 'max' ? `≤ ${l.value}` : l.kind === 'min' ? `≥ ${l.value}` : `${l.min}–${l.max}`;
}
