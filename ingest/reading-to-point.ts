import type { Point } from '../lib/influx/line-protocol.js';
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
