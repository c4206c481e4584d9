/**
 * How bad an alert is, for the subject line, the CAP <severity> and quiet hours (a severe alert is
 * never held). Policy in config/recipients.yaml `severity:`.
 */
import type { SeverityPolicy } from '../../config/recipients-schema.js';
import type { Station } from '../../config/station-registry.js';
import type { AlertEvent } from '../events.js';
import { ruleNamed } from '../rules/index.js';
import type { Severity } from '../rules/rule.js';

// How bad an alert is: the rules judge it (alerts/rules/rule.ts), so the type lives with them.
export type { Severity };

export const SEVERITY_ORDER: readonly Severity[] = ['info', 'warning', 'severe'];

export function worst(a: Severity, b: Severity): Severity {
  return SEVERITY_ORDER.indexOf(a) >= SEVERITY_ORDER.indexOf(b) ? a : b;
}

// The measures of exceedance and the AQI level are the rules' own; re-exported for the renderers.
export { aqiLevel } from '../rules/aqi.js';
export { exceedanceMultiple, exceedanceRatio } from '../rules/exceedance.js';

/**
 * Severity of what an event reports: the rule's own judgement (alerts/rules/). A resolved event is
 * news of the end of an alert: 'info'. Equipment and silence alerts are about the monitoring, not
 * the river: 'info' too.
 */
export function severityOf(
  e: Pick<AlertEvent, 'kind' | 'rule' | 'parameter' | 'value' | 'limit' | 'detail'>,
  station: Station,
  p: SeverityPolicy,
): Severity {
  if (e.kind === 'resolved') return 'info';
  return ruleNamed(e.rule).severity(e, station, p);
}
