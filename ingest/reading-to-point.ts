import { encodeField, escapeKey, escapeMeasurement, memo, type Point } from '../lib/influx/line-protocol.js';
import type { Reading } from '../lib/reading.js';

export const MEASUREMENT = { water: 'water_quality', air: 'air_quality' } as const;

/**
 * A reading as an InfluxDB point (README, Wire contract): tags station, city and period; one float
 * field per parameter, `{param}_flag` where the flag is not N, HJ 212 -Min/-Max as `{param}_min/_max`.
 * The timestamp is the sensor's, so a redelivered reading overwrites itself instead of doubling.
 */
export function readingToPoint(r: Reading): Point {
  const fields: Point['fields'] = { ...r.values };
  for (const [k, f] of Object.entries(r.flags)) fields[`${k}_flag`] = f;
  if (r.extras) Object.assign(fields, r.extras);
  // A field, not a tag: a tag would put a station's quirky and standard frames in two series.
  if (r.quirks && r.quirks.length > 0) fields.quirk = r.quirks.join(',');
  return { measurement: MEASUREMENT[r.medium], tags: { station: r.station, city: r.city, period: r.period }, fields, ts: r.ts };
}

/** Per station, the escaped `measurement,city=…,period=…,station=…` of each period it used (tags sorted, as encodePoint sorts them). */
interface SeriesPrefixes {
  medium: Reading['medium'];
  city: string;
  byPeriod: Map<string, string>;
}
const prefixes = new Map<string, SeriesPrefixes>();

const tag = (key: string, value: string | undefined): string => (value === undefined || value === '' ? '' : `,${key}=${escapeKey(value)}`);

function seriesPrefix(r: Reading): string {
  let s = prefixes.get(r.station);
  if (s === undefined || s.medium !== r.medium || s.city !== r.city) {
    s = { medium: r.medium, city: r.city, byPeriod: new Map() };
    // Bounded like memo(): station ids come from the registry, but the journal may outlive it.
    if (prefixes.size < 10_000) prefixes.set(r.station, s);
  }
  let prefix = s.byPeriod.get(r.period);
  if (prefix === undefined) {
    prefix = escapeMeasurement(MEASUREMENT[r.medium]) + tag('city', r.city) + tag('period', r.period) + tag('station', r.station);
    s.byPeriod.set(r.period, prefix);
  }
  return prefix;
}

const flagKey = memo((k: string): string => escapeKey(`${k}_flag`));
const quoted = memo((s: string): string => encodeField(s));

/**
 * `encodePoint(readingToPoint(r))` without the intermediate point, field object and sorted tag keys:
 * the writer's hot path, one string per reading (docs/decisions/0018). Byte for byte the same line
 * for every reading the ingest journals (keys from the parameter catalogue, `test/unit/ingest-reading-line.test.ts`).
 */
export function readingLine(r: Reading): string {
  let line = seriesPrefix(r);
  let sep = ' ';
  const { values, flags, extras } = r;
  for (const k in values) {
    const v = values[k]!;
    if (typeof v === 'number' && !Number.isFinite(v)) continue;
    line += `${sep}${escapeKey(k)}=${encodeField(v)}`;
    sep = ',';
  }
  for (const k in flags) {
    line += `${sep}${flagKey(k)}=${quoted(flags[k]!)}`;
    sep = ',';
  }
  if (extras) {
    for (const k in extras) {
      const v = extras[k]!;
      if (typeof v === 'number' && !Number.isFinite(v)) continue;
      line += `${sep}${escapeKey(k)}=${encodeField(v)}`;
      sep = ',';
    }
  }
  if (r.quirks && r.quirks.length > 0) {
    line += `${sep}quirk=${quoted(r.quirks.join(','))}`;
    sep = ',';
  }
  if (sep === ' ') throw new Error(`point ${MEASUREMENT[r.medium]} has no fields`);
  return `${line} ${Math.trunc(r.ts)}`;
}
