/**
 * An alert event: one state transition (or reminder) of one key, as recorded in the InfluxDB
 * measurement `alerts` and handed to the notify queue. Its id is a function of what happened
 * (station, series, key, kind, event time), so recording or notifying it twice is a no-op.
 */
import type { Period } from '../lib/reading.js';
import type { AlertDetail, RuleName } from './rules/rule.js';
import type { AlertStateName, EventKind } from './state-machine.js';

export interface AlertEvent {
  id: string;
  station: string;
  city: string;
  /** The series the key belongs to ('station' for whole-station rules such as silence). */
  period: Period | 'station';
  key: string;
  rule: RuleName;
  parameter: string;
  kind: EventKind;
  from: AlertStateName;
  to: AlertStateName;
  /** Event time, epoch ms: the reading (or silence check) that caused it. */
  at: number;
  value: number | null;
  limit: number | null;
  thresholdVersion: string;
  muted: boolean;
  catchUp: boolean;
  /** Chinese first, English second. */
  message: string;
  detail: AlertDetail;
  /** Firing: when the run of breaches began, so the notice says how long it has lasted. */
  breachSince?: number;
  /** Reminder/resolved: when the episode fired. */
  episodeAt?: number;
  /** The episode's worst breaching value so far and when it was seen. */
  peak?: number;
  peakAt?: number;
  /** When the reading behind it was handed to the checks (wall clock), for latency figures. */
  enqueuedAt?: number;
}

/** BullMQ custom job ids may not contain ':' (and must not look like integers). */
export function eventId(parts: { station: string; period: string; key: string; kind: EventKind; at: number }): string {
  return `ev.${parts.station}.${parts.period}.${parts.key}.${parts.kind}.${parts.at}`.replace(/:/g, '_');
}
