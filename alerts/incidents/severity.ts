/**
 * How bad an incident is: the worst of its evidence by the bureaus' severity policy, raised to
 * severe when a drinking-water intake lies in the plume's path (reached, or ahead of the front).
 */
import type { SeverityPolicy } from '../../config/recipients-schema.js';
import type { StationRegistry } from '../../config/station-registry.js';
import type { Severity } from '../notify/severity.js';
import type { Incident } from './types.js';

/** A drinking-water intake at or below the origin: a section flagged as one, or a receptor of the river. */
// Stryker disable next-line ArrayDeclaration: a default of ["Stryker was here"] holds no receptor of any kind either.
export function intakeInPath(inc: Incident, receptors: readonly { kind: string }[] = []): boolean {
  return inc.sections.some((s) => s.intake) || receptors.some((r) => r.kind === 'drinking_water_intake');
}

export function reportSeverity(
  inc: Incident,
  _registry: StationRegistry,
  p: SeverityPolicy,
  // Stryker disable next-line ArrayDeclaration: as for intakeInPath.
  receptors: readonly { kind: string }[] = [],
): Severity {
  if (inc.kind === 'river' && p.drinking_water_intake && intakeInPath(inc, receptors)) return 'severe';
  let sev: Severity = 'warning';
  for (const s of inc.sections) {
    for (const [param, t] of Object.entries(s.params)) {
      if (t.limit === null) continue;
      if (p.parameters.includes(param)) return 'severe';
      const ratio = t.limitKind === 'min' ? t.limit / Math.max(t.peak, 1e-12) : t.peak / t.limit;
      if (ratio >= p.ratio) sev = 'severe';
      if (param === 'AQI' && t.peak > 200 && p.aqi_level <= 5) sev = 'severe';
    }
  }
  return sev;
}
