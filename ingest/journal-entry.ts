/**
 * How readings travel in a journal stream entry (docs/decisions/0001, "The entry format").
 *
 * Field `r` (since issue 16): a JSON array of rows, one per reading, each
 * `[station, city, medium, ts, period, values, flags, source]`, then `extras` (null when absent) and
 * `quirks` only when the reading has either. Positions instead of names: about 66 bytes less per reading
 * to Redis, into its AOF and back to the writer, and less to encode and parse.
 * Field `b` (0.1.0): a JSON array of reading objects. Still read: entries journaled by an older
 * version stay in the stream until written.
 */
import type { Reading } from '../lib/reading.js';

/** The stream entry field of the current format. */
export const ROWS_FIELD = 'r';
/** The field of 0.1.0's entries, read, never written. */
export const OBJECTS_FIELD = 'b';

/** One reading as its row (an array to JSON-encode). */
function toRow(r: Reading): unknown[] {
  const row: unknown[] = [r.station, r.city, r.medium, r.ts, r.period, r.values, r.flags, r.source];
  if (r.extras || r.quirks) row.push(r.extras ?? null);
  if (r.quirks) row.push(r.quirks);
  return row;
}

/** One reading as its row's JSON. */
export function readingRow(r: Reading): string {
  return JSON.stringify(toRow(r));
}

/** Readings as the value of a `r` field: one `JSON.stringify` for the batch (per-row strings joined cost more). */
export function readingRows(readings: readonly Reading[]): string {
  return JSON.stringify(readings.map(toRow));
}

const isRecord = (v: unknown): v is Record<string, never> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The parts of a reading every later step relies on, checked: a journal entry is read back across versions. */
function checked(
  station: unknown,
  city: unknown,
  medium: unknown,
  ts: unknown,
  period: unknown,
  values: unknown,
  flags: unknown,
  source: unknown,
): Reading {
  if (typeof station !== 'string' || typeof city !== 'string' || typeof medium !== 'string' || typeof period !== 'string')
    throw new Error('a reading has no station, city, medium or period');
  if (typeof ts !== 'number' || !isRecord(values) || !isRecord(flags) || typeof source !== 'string')
    throw new Error('a reading has no time, values, flags or source');
  return { station, city, medium, ts, period, values, flags, source } as Reading;
}

function fromRow(row: unknown): Reading {
  if (!Array.isArray(row) || row.length < 8 || row.length > 10) throw new Error('a row is not an array of 8 to 10 items');
  const [station, city, medium, ts, period, values, flags, source, extras, quirks] = row as unknown[];
  const r = checked(station, city, medium, ts, period, values, flags, source);
  if (isRecord(extras)) r.extras = extras;
  if (Array.isArray(quirks)) r.quirks = quirks as string[];
  return r;
}

/** A 0.1.0 reading object, checked like a row; kept as it is (its optional parts included). */
function fromObject(o: unknown): Reading {
  if (!isRecord(o)) throw new Error('a reading is not an object');
  const x = o as Record<string, unknown>;
  checked(x.station, x.city, x.medium, x.ts, x.period, x.values, x.flags, x.source);
  return o as unknown as Reading;
}

/**
 * The readings of one stream entry (its flat [field, value, …] list), in either format; throws
 * on anything else, which the writer keeps as a dead letter.
 */
export function entryReadings(fields: readonly string[]): Reading[] {
  const [field, json] = fields;
  if (json === undefined) throw new Error('the entry has no value');
  if (field === ROWS_FIELD) {
    const rows: unknown = JSON.parse(json);
    if (!Array.isArray(rows)) throw new Error('the entry is not an array of rows');
    return rows.map(fromRow);
  }
  if (field === OBJECTS_FIELD) {
    const objects: unknown = JSON.parse(json);
    if (!Array.isArray(objects)) throw new Error('the entry is not an array of readings');
    return objects.map(fromObject);
  }
  throw new Error(`the entry's field is ${JSON.stringify(field)}, not "${ROWS_FIELD}" or "${OBJECTS_FIELD}"`);
}
