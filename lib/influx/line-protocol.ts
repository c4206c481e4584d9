/**
 * InfluxDB line protocol encoding (v1 /write). Hand-rolled rather than node-influx's writePoints:
 * the writer encodes tens of thousands of points per second and this avoids building an
 * intermediate point object per reading (docs/decisions/0001-ingest-journal-and-writer.md).
 */
export type FieldValue = number | string | boolean;

export interface Point {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  /** epoch milliseconds */
  ts: number;
}

/**
 * Keys, tag values and measurement names come from a small set (parameters, stations, cities):
 * escaping each once and remembering it saves a regex per name per point on the writer's hot path.
 * At most `max` entries, so names a hostile sender makes up cannot grow the writer's memory.
 */
export function memo(fn: (s: string) => string, max = 10_000): (s: string) => string {
  const cache = new Map<string, string>();
  return (s) => {
    let v = cache.get(s);
    if (v === undefined) {
      v = fn(s);
      if (cache.size < max) cache.set(s, v);
    }
    return v;
  };
}
/** A tag key, tag value or field key, escaped (memoised). */
export const escapeKey = memo((s: string): string => s.replace(/[,= \\]/g, (c) => `\\${c}`));
/** A measurement name, escaped (memoised). */
export const escapeMeasurement = memo((s: string): string => s.replace(/[, \\]/g, (c) => `\\${c}`));
const escapeString = (s: string): string => s.replace(/["\\]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');

/** A field value as line protocol writes it: numbers always as floats, strings quoted. */
export function encodeField(v: FieldValue): string {
  if (typeof v === 'number') {
    // Always floats: a field first written as an integer would reject every later float.
    // Stryker disable next-line Regex: an integer's text has an exponent only from 1e21 up, always "e+", and once.
    return Number.isInteger(v) ? `${v}.0`.replace(/e\+?(\d+)\.0$/, 'e$1') : String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return `"${escapeString(v)}"`;
}

/** One line, with millisecond precision (write with `precision=ms`). Tags are sorted as InfluxDB prefers. */
export function encodePoint(p: Point): string {
  let line = escapeMeasurement(p.measurement);
  for (const k of Object.keys(p.tags).sort()) {
    const v = p.tags[k];
    if (v !== undefined && v !== '') line += `,${escapeKey(k)}=${escapeKey(v)}`;
  }
  let first = true;
  for (const [k, v] of Object.entries(p.fields)) {
    if (typeof v === 'number' && !Number.isFinite(v)) continue;
    line += `${first ? ' ' : ','}${escapeKey(k)}=${encodeField(v)}`;
    first = false;
  }
  if (first) throw new Error(`point ${p.measurement} has no fields`);
  return `${line} ${Math.trunc(p.ts)}`;
}
