/**
 * How bad an alert is, for the subject line, the CAP <severity> and quiet hours (a severe alert is
 * never held). Policy in config/recipients.yaml `severity:`.
 */
import type { SeverityPolicy } from '../../config/recipients-schema.js';
import type { Station } from '../../lib/station-registry.js';
import type { AlertEvent } from '../events.js';

export type Severity = 'severe' | 'warning' | 'info';

export const SEVERITY_ORDER: readonly Severity[] = ['info', 'warning', 'severe'];

export function worst(a: Severity, b: Severity): Severity {
  return SEVERITY_ORDER.indexOf(a) >= SEVERITY_ORDER.indexOf(b) ? a : b;
}

/** How many times the limit the value is (for a lower bound such as DO: limit / value). */
export function exceedanceRatio(e: Pick<AlertEvent, 'value' | 'limit' | 'detail'>): number | null {
  if (e.value === null || e.limit === null || e.limit === 0) return null;
  if (e.detail.limitKind === 'min') return e.value <= 0 ? Infinity : e.limit / e.value;
  return e.value / e.limit;
}

/**
 * Severity of what an event reports. A resolved event is news of the end of an alert: 'info'.
 * Equipment and silence alerts are about the monitoring, not the river: 'info' too.
 */
export function severityOf(e: Pick<AlertEvent, 'kind' | 'rule' | 'parameter' | 'value' | 'limit' | 'detail'>, station: Station, p: SeverityPolicy): Severity {
  if (e.kind === 'resolved') return 'info';
  switch (e.rule) {
    case 'equipment':
    case 'silence':
      return 'info';
    case 'limit': {
      if (p.parameters.includes(e.parameter)) return 'severe';
      if (p.drinking_water_intake && station.drinking_water_intake) return 'severe';
      const ratio = exceedanceRatio(e);
      return ratio !== null && ratio >= p.ratio ? 'severe' : 'warning';
    }
    case 'water_class':
      if (p.drinking_water_intake && station.drinking_water_intake) return 'severe';
      return e.detail.cls !== undefined && (p.water_classes as string[]).includes(e.detail.cls) ? 'severe' : 'warning';
    case 'aqi':
      return e.value !== null && aqiLevel(e.value) >= p.aqi_level ? 'severe' : 'warning';
    case 'rate':
      return p.drinking_water_intake && station.drinking_water_intake ? 'severe' : 'warning';
  }
}

/** HJ 633 category level of an AQI value (1 优 … 6 严重污染). */
export function aqiLevel(aqi: number): number {
  if (aqi <= 50) return 1;
  if (aqi <= 100) return 2;
  if (aqi <= 150) return 3;
  if (aqi <= 200) return 4;
  if (aqi <= 300) return 5;
  return 6;
}
