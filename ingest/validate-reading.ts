import { TuojiangError } from '../lib/errors.js';
import { PARAMETER_BY_KEY, isDataFlag, type DataFlag } from '../lib/parameters.js';
import type { Period, Reading } from '../lib/reading.js';
import type { Station, StationRegistry } from '../lib/station-registry.js';

export interface RawReading {
  station: Station;
  ts: number;
  period: Period;
  values: Record<string, unknown>;
  flags: Record<string, unknown>;
  extras?: Record<string, number>;
  source: Reading['source'];
}

/**
 * 2000-01-01T00:00:00Z. An earlier reading is a logger clock or a corrupted DataTime, not history we
 * hold; and InfluxDB refuses points before 1677, which would dead-letter a reading already counted
 * as stored. The JSON decoder applies the same bound to epoch milliseconds.
 */
const EARLIEST_TS = 946_684_800_000;

export interface ValidationContext {
  registry: StationRegistry;
  now: number;
  futureToleranceMs: number;
}

/**
 * The one gate every decoded reading passes, whatever its wire format: known parameters of the
 * station's medium, finite numbers in the physically possible range (after unit conversion), valid
 * flags, a plausible timestamp. Anything else throws a TuojiangError whose code is the dead-letter reason.
 */
export function validateReading(raw: RawReading, ctx: ValidationContext): Reading {
  const { station } = raw;
  if (!Number.isFinite(raw.ts)) throw new TuojiangError('INVALID_TIMESTAMP', 'timestamp is not a valid instant');
  if (raw.ts < EARLIEST_TS) throw new TuojiangError('INVALID_TIMESTAMP', `reading dated ${new Date(raw.ts).toISOString()}, before 2000`);
  if (raw.ts > ctx.now + ctx.futureToleranceMs) {
    throw new TuojiangError('FUTURE_TIMESTAMP', `reading dated ${new Date(raw.ts).toISOString()} is more than ${ctx.futureToleranceMs / 1000} s ahead of now`);
  }
  const keys = Object.keys(raw.values);
  if (keys.length === 0) throw new TuojiangError('EMPTY_READING', 'the reading carries no values');
  const values: Record<string, number> = {};
  for (const key of keys) {
    const info = PARAMETER_BY_KEY.get(key);
    if (!info) throw new TuojiangError('UNKNOWN_PARAMETER', `unknown parameter "${key.slice(0, 40)}"`, { parameter: key.slice(0, 40) });
    if (info.medium !== station.kind) {
      throw new TuojiangError('UNKNOWN_PARAMETER', `${key} is a ${info.medium} parameter; station ${station.id} is a ${station.kind} station`, { parameter: key });
    }
    const v = raw.values[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new TuojiangError('INVALID_VALUE', `${key} is ${JSON.stringify(v)?.slice(0, 40)}, not a finite number`, { parameter: key });
    }
    const value = v * ctx.registry.unitScale(station.id, key);
    if (value < info.min || (info.max !== undefined && value > info.max)) {
      throw new TuojiangError('IMPOSSIBLE_VALUE', `${key} = ${value} ${info.unit} is outside the possible range ${info.min}..${info.max ?? '∞'}`, { parameter: key, value });
    }
    values[key] = value;
  }
  const flags: Record<string, DataFlag> = {};
  for (const [key, f] of Object.entries(raw.flags)) {
    // hasOwn, not `in`: a flag for "toString" or "constructor" must not pass as a flag of a value.
    if (!Object.hasOwn(values, key)) throw new TuojiangError('INVALID_FLAG', `flag for "${key.slice(0, 40)}", which has no value`, { parameter: key.slice(0, 40) });
    if (!isDataFlag(f)) throw new TuojiangError('INVALID_FLAG', `flag ${JSON.stringify(f)?.slice(0, 20)} for ${key} is not one of N F M S D C T B`, { parameter: key });
    if (f !== 'N') flags[key] = f;
  }
  // HJ 212 -Min/-Max (already in the catalogue unit): a non-finite one would reach the journal as
  // null and fail the InfluxDB write of the whole reading after it was acknowledged.
  for (const [key, value] of Object.entries(raw.extras ?? {})) {
    const param = key.replace(/_(min|max)$/, '');
    const info = PARAMETER_BY_KEY.get(param);
    if (!Number.isFinite(value)) throw new TuojiangError('INVALID_VALUE', `${key} is ${String(value)}, not a finite number`, { parameter: param });
    if (info && (value < info.min || (info.max !== undefined && value > info.max))) {
      throw new TuojiangError('IMPOSSIBLE_VALUE', `${key} = ${value} ${info.unit} is outside the possible range ${info.min}..${info.max ?? '∞'}`, { parameter: param, value });
    }
  }
  return {
    station: station.id,
    city: station.city,
    medium: station.kind,
    ts: raw.ts,
    period: raw.period,
    values,
    flags,
    ...(raw.extras && Object.keys(raw.extras).length > 0 ? { extras: raw.extras } : {}),
    source: raw.source,
  };
}
