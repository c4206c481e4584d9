/**
 * A proposed limit, from operator input to the explicit limit it sets in the unified thresholds:
 * which scope (all stations, a river section, one station), which parameter, which bound, in which
 * unit. Everything an operator can get wrong is refused here with an error that says what to type.
 */
import type { RegistryConfig, StationConfig } from '../../config/schema.js';
import type { ExplicitLimit, ThresholdsFile } from '../thresholds-schema.js';
import { TuojiangError } from '../../lib/errors.js';
import { PARAMETER_BY_KEY, PARAMETERS, type ParameterInfo } from '../../lib/parameters.js';
import { GB3838_TABLE1, type Limit } from '../../lib/standards/index.js';
import { SUPPORTED_UNITS, conversionFactor, type Unit } from '../../lib/units.js';
import type { LimitTarget } from './types.js';
import { sig } from '../../lib/format.js';
import { field, type InputField } from './fields.js';

/** What an operator gives for one limit (CLI flags or API JSON: numbers may arrive as strings). */
export interface LimitChangeInput {
  station?: unknown;
  section?: unknown;
  defaults?: unknown;
  param?: unknown;
  value?: unknown;
  min?: unknown;
  max?: unknown;
  clear?: unknown;
  unit?: unknown;
}

/** The kind of bound a parameter's limit is: GB 3838 makes DO a lower bound and pH a range. */
export function boundKind(param: string): Limit['kind'] {
  const item = GB3838_TABLE1[param];
  return item ? item.kind : 'max';
}

function paramInfo(param: unknown): ParameterInfo {
  const info = typeof param === 'string' ? PARAMETER_BY_KEY.get(param) : undefined;
  if (!info) {
    const keys = (m: string) =>
      PARAMETERS.filter((p) => p.medium === m)
        .map((p) => p.key)
        .join(' ');
    const shown = param === undefined || param === '' ? 'none given' : `"${String(param)}"`;
    throw new TuojiangError('THRESHOLD_UNKNOWN_PARAMETER', `unknown parameter (${shown}); water: ${keys('water')}; air: ${keys('air')}`);
  }
  return info;
}

/** Which explicit limit the input names, checked against the registry and the thresholds' sections. */
export function resolveTarget(input: LimitChangeInput, registry: RegistryConfig, config: ThresholdsFile): LimitTarget {
  const given = [input.station, input.section, input.defaults === true ? true : undefined].filter((x) => x !== undefined && x !== '');
  if (given.length !== 1) {
    throw new TuojiangError(
      'THRESHOLD_UNKNOWN_STATION',
      `name exactly one scope: ${field('station')} <id>, ${field('section')} <name|index> or ${field('defaults')} (got ${given.length})`,
    );
  }
  const info = paramInfo(input.param);
  const param = info.key;
  if (input.station !== undefined && input.station !== '') {
    const id = String(input.station);
    const station = registry.stations.find((s) => s.id === id);
    if (!station) {
      throw new TuojiangError(
        'THRESHOLD_UNKNOWN_STATION',
        `unknown station "${id}"; stations.yaml has: ${registry.stations.map((s) => s.id).join(', ')}`,
      );
    }
    if (station.kind !== info.medium) {
      throw new TuojiangError(
        'THRESHOLD_UNKNOWN_PARAMETER',
        `${param} is a ${info.medium} parameter, but ${id} is an ${station.kind === 'air' ? 'air' : 'water'} station`,
      );
    }
    return { scope: 'station', station: id, param };
  }
  if (input.section !== undefined && input.section !== '') {
    const ref = String(input.section);
    const index = /^\d+$/.test(ref) ? Number(ref) : config.sections.findIndex((s) => s.name === ref);
    const section = config.sections[index];
    if (index < 0 || !section) {
      const known = config.sections.map((s, i) => `${i} (${s.name ?? `${s.river} km ${s.from_km}–${s.to_km}`})`).join(', ') || 'none';
      throw new TuojiangError('THRESHOLD_UNKNOWN_STATION', `unknown section "${ref}"; thresholds have: ${known}`);
    }
    if (info.medium !== 'water')
      throw new TuojiangError(
        'THRESHOLD_UNKNOWN_PARAMETER',
        `${param} is an air parameter; sections are reaches of river (water parameters only)`,
      );
    return { scope: 'section', section: index, ...(section.name ? { sectionName: section.name } : {}), param };
  }
  return { scope: 'defaults', param };
}

const NUMBER = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

function num(param: string, name: InputField, v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && NUMBER.test(v) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n)) {
    throw new TuojiangError(
      'THRESHOLD_INVALID_VALUE',
      `${field(name)} for ${param} must be a number, got ${JSON.stringify(v) ?? String(v)}`,
    );
  }
  return n;
}

/** Units a value of this parameter may be given in (those convertible to the catalogue unit). */
export function unitsFor(info: ParameterInfo): string[] {
  const out = SUPPORTED_UNITS.filter((u) => conversionFactor(u, info.unit) !== undefined) as string[];
  return out.length > 0 ? out : [info.unit];
}

function unitFactor(info: ParameterInfo, unit: unknown): number {
  if (unit === undefined || unit === '' || unit === info.unit) return 1;
  const u = String(unit);
  const f = (SUPPORTED_UNITS as readonly string[]).includes(u) ? conversionFactor(u as Unit, info.unit) : undefined;
  if (f === undefined) {
    throw new TuojiangError(
      'THRESHOLD_WRONG_UNIT',
      `${info.key} is measured in ${info.unit}; "${u}" cannot be converted to it (give ${unitsFor(info).join(' or ')})`,
    );
  }
  return f;
}

/** Converted values keep 12 significant digits: 800 µg/L is 0.8 mg/L, not 0.8000000000000002. */
const tidy = (x: number): number => Number(sig(x, 12));

function inRange(info: ParameterInfo, name: InputField, v: number, strictlyAboveMin: boolean): void {
  const low = strictlyAboveMin ? v <= info.min : v < info.min;
  if (low || (info.max !== undefined && v > info.max)) {
    const range = `${strictlyAboveMin ? 'above' : 'at least'} ${info.min}${info.max !== undefined ? ` and at most ${info.max}` : ''}`;
    throw new TuojiangError('THRESHOLD_INVALID_VALUE', `${field(name)} for ${info.key} must be ${range} ${info.unit}, got ${v}`);
  }
}

/**
 * The explicit limit the input sets (null: clear it, so the inherited or standard limit applies),
 * in the catalogue unit, shaped as config/thresholds.yaml writes it: a number for an upper bound,
 * `{ min }` for DO, `{ min, max }` for pH.
 */
export function parseBound(param: string, input: LimitChangeInput): { explicit: ExplicitLimit | null; unit: string } {
  const info = paramInfo(param);
  const has = (v: unknown) => v !== undefined && v !== null && v !== '';
  const clear = input.clear === true || input.clear === 'true';
  if (clear) {
    if (has(input.value) || has(input.min) || has(input.max))
      throw new TuojiangError('THRESHOLD_INVALID_VALUE', `${field('clear')} removes the explicit ${param} limit: give no value with it`);
    return { explicit: null, unit: info.unit };
  }
  const factor = unitFactor(info, input.unit);
  const kind = boundKind(param);
  if (!has(input.value) && !has(input.min) && !has(input.max)) {
    const how =
      kind === 'range' ? `${field('min')} and ${field('max')}` : `${field('value')} (or ${field(kind === 'min' ? 'min' : 'max')})`;
    throw new TuojiangError(
      'THRESHOLD_INVALID_VALUE',
      `give the new ${param} limit with ${how}, or ${field('clear')} to fall back to the standard`,
    );
  }
  if (has(input.value) && (has(input.min) || has(input.max)))
    throw new TuojiangError(
      'THRESHOLD_WRONG_BOUND',
      `give either ${field('value')} or ${field('min')}/${field('max')} for ${param}, not both`,
    );
  if (kind === 'min') {
    if (has(input.max)) {
      throw new TuojiangError(
        'THRESHOLD_WRONG_BOUND',
        `${param} is a lower bound (GB 3838: a value at or above the limit meets it); give ${field('value')} or ${field('min')}, not ${field('max')}`,
      );
    }
    const v = tidy(num(param, has(input.value) ? 'value' : 'min', has(input.value) ? input.value : input.min) * factor);
    inRange(info, 'value', v, true);
    return { explicit: { min: v }, unit: info.unit };
  }
  if (kind === 'range') {
    if (has(input.value) || !has(input.min) || !has(input.max)) {
      throw new TuojiangError('THRESHOLD_WRONG_BOUND', `${param} is a range (GB 3838: 6–9); give both ${field('min')} and ${field('max')}`);
    }
    const lo = tidy(num(param, 'min', input.min) * factor);
    const hi = tidy(num(param, 'max', input.max) * factor);
    inRange(info, 'min', lo, false);
    inRange(info, 'max', hi, false);
    if (!(lo < hi))
      throw new TuojiangError('THRESHOLD_WRONG_BOUND', `${field('min')} (${lo}) must be below ${field('max')} (${hi}) for ${param}`);
    return { explicit: { min: lo, max: hi }, unit: info.unit };
  }
  if (has(input.min)) {
    throw new TuojiangError(
      'THRESHOLD_WRONG_BOUND',
      `${param} is an upper bound (a value at or below the limit meets it); give ${field('value')} or ${field('max')}, not ${field('min')}`,
    );
  }
  const v = tidy(num(param, has(input.value) ? 'value' : 'max', has(input.value) ? input.value : input.max) * factor);
  inRange(info, 'value', v, true);
  return { explicit: v, unit: info.unit };
}

/** An explicit limit as the bound the checks use (alerts/thresholds.ts limitFor reads it the same way). */
export function toLimit(e: ExplicitLimit): Limit {
  if (typeof e === 'number') return { kind: 'max', value: e };
  if (e.min !== undefined && e.max !== undefined) return { kind: 'range', min: e.min, max: e.max };
  if (e.max !== undefined) return { kind: 'max', value: e.max };
  return { kind: 'min', value: e.min as number };
}

export function sameExplicit(a: ExplicitLimit | null | undefined, b: ExplicitLimit | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  const x = toLimit(a);
  const y = toLimit(b);
  return JSON.stringify(x) === JSON.stringify(y);
}

function limitsAt(config: ThresholdsFile, t: LimitTarget): Record<string, ExplicitLimit> | undefined {
  if (t.scope === 'defaults') return config.defaults.limits;
  if (t.scope === 'section') return config.sections[t.section]?.limits;
  return config.stations[t.station]?.limits;
}

/** The explicit limit set at exactly this scope (null: none, the limit is inherited or the standard's). */
export function explicitAt(config: ThresholdsFile, t: LimitTarget): ExplicitLimit | null {
  const limits = limitsAt(config, t);
  return limits && Object.hasOwn(limits, t.param) ? (limits[t.param] as ExplicitLimit) : null;
}

/** A copy of `config` with the explicit limit at the target set (or removed when null). */
export function withExplicit(config: ThresholdsFile, t: LimitTarget, e: ExplicitLimit | null): ThresholdsFile {
  const c = structuredClone(config);
  if (t.scope === 'defaults') {
    if (e === null) delete c.defaults.limits[t.param];
    else c.defaults.limits[t.param] = e;
  } else if (t.scope === 'section') {
    const sec = c.sections[t.section];
    if (!sec) throw new TuojiangError('THRESHOLD_UNKNOWN_STATION', `no section ${t.section}`);
    const limits = { ...sec.limits };
    if (e === null) delete limits[t.param];
    else limits[t.param] = e;
    if (Object.keys(limits).length > 0) sec.limits = limits;
    else delete sec.limits;
  } else {
    const own = { ...c.stations[t.station] };
    const limits = { ...own.limits };
    if (e === null) delete limits[t.param];
    else limits[t.param] = e;
    if (Object.keys(limits).length > 0) own.limits = limits;
    else delete own.limits;
    if (Object.keys(own).length > 0) c.stations[t.station] = own;
    else delete c.stations[t.station];
  }
  return c;
}

/** The key of the target in config/thresholds.yaml, e.g. `stations.shiqiao.limits.NH3N`. */
export function targetPath(t: LimitTarget): string {
  if (t.scope === 'defaults') return `defaults.limits.${t.param}`;
  if (t.scope === 'section') return `sections[${t.section}].limits.${t.param}`;
  return `stations.${t.station}.limits.${t.param}`;
}

export function sameTarget(a: LimitTarget, b: LimitTarget): boolean {
  return targetPath(a) === targetPath(b);
}

/** The stations whose limits a change at this target can move. */
export function stationsUnder(registry: RegistryConfig, config: ThresholdsFile, t: LimitTarget): StationConfig[] {
  const medium = PARAMETER_BY_KEY.get(t.param)?.medium;
  if (t.scope === 'station') return registry.stations.filter((s) => s.id === t.station);
  if (t.scope === 'section') {
    const sec = config.sections[t.section];
    if (!sec) return [];
    return registry.stations.filter(
      (s) =>
        s.kind === 'water' && s.river === sec.river && s.river_km !== undefined && s.river_km >= sec.from_km && s.river_km <= sec.to_km,
    );
  }
  return registry.stations.filter((s) => s.kind === medium);
}

const n6 = (x: number): string => sig(x);

export function formatLimit(l: Limit | undefined, unit = ''): string {
  const u = unit && unit !== 'pH' ? ` ${unit}` : '';
  if (!l) return 'none';
  if (l.kind === 'max') return `≤ ${n6(l.value)}${u}`;
  if (l.kind === 'min') return `≥ ${n6(l.value)}${u}`;
  return `${n6(l.min)}–${n6(l.max)}${u}`;
}

export function formatExplicit(e: ExplicitLimit | null | undefined, unit = ''): string {
  return e === null || e === undefined ? 'standard' : formatLimit(toLimit(e), unit);
}
