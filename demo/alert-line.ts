import type { AlertEvent } from '../alerts/events.js';
import { num } from '../lib/format.js';

/** What the demo prints for an alert transition, its values rounded as people read them (lib/format.ts). */
export function alertLine(e: Pick<AlertEvent, 'to' | 'station' | 'parameter' | 'rule' | 'value' | 'limit'>): string {
  const value = e.value === null ? '' : ` value ${num(e.value)}${e.limit === null ? '' : ` (limit ${num(e.limit)})`}`;
  return `ALERT ${e.to.toUpperCase()} ${e.station} ${e.parameter} [${e.rule}]${value}`;
}
