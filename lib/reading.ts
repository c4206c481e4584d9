import type { DataFlag, Medium } from './parameters.js';

/**
 * How a value was aggregated by the sender: JSON readings and HJ 212 CN 2011 are instantaneous
 * ('rt'); CN 2051/2061/2031 carry minute, hour and day averages. It is an InfluxDB tag so that an
 * hourly average and a real-time value with the same timestamp never overwrite each other.
 */
export type Period = 'rt' | 'min' | 'hour' | 'day';

/** One validated, normalised reading: what the journal carries and the writer stores. */
export interface Reading {
  /** Station id from the registry (never the raw MN). */
  station: string;
  city: string;
  medium: Medium;
  /** Sensor timestamp, epoch milliseconds UTC. */
  ts: number;
  period: Period;
  /** Canonical parameter key -> value in the catalogue's unit. */
  values: Record<string, number>;
  /** Canonical parameter key -> flag, only where the flag is not 'N'. */
  flags: Record<string, DataFlag>;
  /** Extra aggregate fields from HJ 212 (-Min/-Max), keyed `{param}_min` / `{param}_max`. */
  extras?: Record<string, number>;
  source: 'json' | 'hj212';
  /**
   * Deviations from HJ 212 its station is allowed and this reading's frame had (stations.yaml
   * `hj212:`), sorted; absent for a standard frame. Stored as the `quirk` field.
   */
  quirks?: string[];
}

/**
 * A stable identity for a reading: the same station, instant and period always yield the same id,
 * so a redelivered reading maps onto the same InfluxDB point and the same BullMQ check job.
 */
export function readingId(r: Pick<Reading, 'station' | 'ts' | 'period'>): string {
  return `${r.station}:${r.period}:${r.ts}`;
}
