import { TuojiangError } from '../lib/errors.js';
import { withArticle } from '../lib/format.js';
import { PARAMETER_BY_KEY, isDataFlag, type DataFlag, type ParameterInfo } from '../lib/parameters.js';
import type { Period, Reading } from '../lib/reading.js';
import type { Station, StationRegistry } from '../config/station-registry.js';

export interface RawReading {
  station: Station;
  ts: number;
  period: Period;
  values: Record<string, unknown>;
  flags: Record<string, unknown>;
  extras?: Record<string, number>;
  source: Reading['source'];
  quirks?: readonly string[];
}

/**
 * 2000-01-01T00:00:00Z. An earlier reading is a logger clock or a corrupted DataTime, not history we
 * hold; and InfluxDB refuses points before 1677, which would dead-letter a reading already counted
 * as stored. The JSON decoder applies the same bound to epoch milliseconds.
 */
const EARLIEST_TS = 946_684_800_000;

/** One value refused for lying outside its parameter's plausible range (lib/parameters.ts). */
export interface RefusedValue {
  /** The parameter key, or `{param}_min` / `{param}_max` for an HJ 212 -Min/-Max. */
  parameter: string;
  /** In the catalogue unit, after the station's unit conversion. */
  value: number;
  unit: string;
  min: number;
  max: number;
}

export interface Validated {
  /** What is kept: at least one value (a reading with nothing left is refused whole). */
  reading: Reading;
  /** Values refused one by one; the caller dead-letters them with the station and the payload. */
  refused: RefusedValue[];
}

function outOfRange(info: ParameterInfo, parameter: string, value: number): RefusedValue | undefined {
  return value >= info.min && value <= info.max ? undefined : { parameter, value, unit: info.unit, min: info.min, max: info.max };
}

/** `NH3N = 1e+308 mg/L is outside the plausible range [0, 10000] mg/L` for each, `; `-separated. */
export function describeRefused(refused: readonly RefusedValue[]): string {
  return refused
    .map((r) => `${r.parameter} = ${r.value} ${r.unit} is outside the plausible range [${r.min}, ${r.max}] ${r.unit}`)
    .join('; ');
}

export interface ValidationContext {
  registry: StationRegistry;
  now: number;
  futureToleranceMs: number;
}

/**
 * The one gate every decoded reading passes, whatever its wire format: known parameters of the
 * station's medium, finite numbers, valid flags, a plausible timestamp; anything else throws a
 * TuojiangError whose code is the dead-letter reason, and the reading is refused whole (a broken
 * encoder or a wrong station is not to be half-trusted).
 *
 * A finite value outside its plausible range (after unit conversion) is one sensor's or one scaling's
 * fault: only that value is refused, with its flag and -Min/-Max, and the rest of the reading kept.
 * When nothing is left the reading is refused whole as TJ_IMPLAUSIBLE_VALUE.
 */
export function validateReading(raw: RawReading, ctx: ValidationContext): Validated {
  const { station } = raw;
  if (!Number.isFinite(raw.ts)) throw new TuojiangError('INVALID_TIMESTAMP', 'timestamp is not a valid instant');
  if (raw.ts < EARLIEST_TS) throw new TuojiangError('INVALID_TIMESTAMP', `reading dated ${new Date(raw.ts).toISOString()}, before 2000`);
  if (raw.ts > ctx.now + ctx.futureToleranceMs) {
    throw new TuojiangError(
      'FUTURE_TIMESTAMP',
      `reading dated ${new Date(raw.ts).toISOString()} is more than ${ctx.futureToleranceMs / 1000} s ahead of now`,
    );
  }
  const keys = Object.keys(raw.values);
  if (keys.length === 0) throw new TuojiangError('EMPTY_READING', 'the reading carries no values');
  const values: Record<string, number> = {};
  const refused: RefusedValue[] = [];
  let kept = 0;
  for (const key of keys) {
    const info = PARAMETER_BY_KEY.get(key);
    if (!info) throw new TuojiangError('UNKNOWN_PARAMETER', `unknown parameter "${key.slice(0, 40)}"`, { parameter: key.slice(0, 40) });
    if (info.medium !== station.kind) {
      throw new TuojiangError(
        'UNKNOWN_PARAMETER',
        `${key} is ${withArticle(info.medium)} parameter; station ${station.id} is ${withArticle(station.kind)} station`,
        { parameter: key },
      );
    }
    const v = raw.values[key];
    // Stryker disable next-line ConditionalExpression: Number.isFinite is false for any non-number; typeof is for the type checker.
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new TuojiangError('INVALID_VALUE', `${key} is ${JSON.stringify(v)?.slice(0, 40)}, not a finite number`, { parameter: key });
    }
    const value = v * ctx.registry.unitScale(station.id, key);
    const bad = outOfRange(info, key, value);
    if (bad) refused.push(bad);
    else {
      values[key] = value;
      kept++;
    }
  }
  // for…in, not Object.entries: no pair array per flag and extra on the hot path (docs/decisions/0018);
  // these objects come from JSON.parse or the HJ 212 decoder, plain, with nothing inherited to enumerate.
  const flags: Record<string, DataFlag> = {};
  for (const key in raw.flags) {
    const f = raw.flags[key];
    // hasOwn, not `in`: a flag for "toString" or "constructor" must not pass as a flag of a value.
    if (!Object.hasOwn(raw.values, key))
      throw new TuojiangError('INVALID_FLAG', `flag for "${key.slice(0, 40)}", which has no value`, { parameter: key.slice(0, 40) });
    if (!isDataFlag(f))
      throw new TuojiangError('INVALID_FLAG', `flag ${JSON.stringify(f)?.slice(0, 20)} for ${key} is not one of N F M S D C T B`, {
        parameter: key,
      });
    if (f !== 'N' && Object.hasOwn(values, key)) flags[key] = f;
  }
  // HJ 212 -Min/-Max (already in the catalogue unit): a non-finite one would reach the journal as
  // null and fail the InfluxDB write of the whole reading after it was acknowledged.
  let extras: Record<string, number> | undefined;
  for (const key in raw.extras) {
    const value = raw.extras[key]!;
    const param = key.replace(/_(min|max)$/, '');
    const info = PARAMETER_BY_KEY.get(param);
    if (!Number.isFinite(value))
      throw new TuojiangError('INVALID_VALUE', `${key} is ${String(value)}, not a finite number`, { parameter: param });
    // The extremes of a refused average describe the same faulty measurement: they go with it.
    if (refused.some((r) => r.parameter === param)) continue;
    const bad = info && outOfRange(info, key, value);
    if (bad) refused.push(bad);
    else (extras ??= {})[key] = value;
  }
  if (kept === 0) throw new TuojiangError('IMPLAUSIBLE_VALUE', describeRefused(refused), { refused });
  // Two literals rather than spreads: the same keys in the same order (the journal's JSON), built in one step.
  const reading: Reading = extras
    ? {
        station: station.id,
        city: station.city,
        medium: station.kind,
        ts: raw.ts,
        period: raw.period,
        values,
        flags,
        extras,
        source: raw.source,
      }
    : { station: station.id, city: station.city, medium: station.kind, ts: raw.ts, period: raw.period, values, flags, source: raw.source };
  if (raw.quirks && raw.quirks.length > 0) reading.quirks = [...raw.quirks].sort();
  return { reading, refused };
}
