/**
 * What the ack page of an incident is built from: the incident as the engine last stored it
 * (IncidentStore, same Redis and prefix as the notify records), worded as its latest report with
 * the windows ahead recomputed from the rivers file and the incident policy the notify worker
 * uses. An id that is not an incident, or an incident that cannot be read, gives undefined: the
 * caller shows the plain per-alert page rather than failing.
 */
import type { IncidentsConfig } from '../config/recipients-schema.js';
import type { RiversFile } from '../config/rivers-schema.js';
import { currentReport } from '../alerts/incidents/current-report.js';
import { readIncident } from '../alerts/incidents/read.js';
import type { IncidentStore } from '../alerts/incidents/store.js';
import type { Report } from '../alerts/incidents/types.js';
import type { Logger } from '../lib/logger.js';
import type { StationRegistry } from '../config/station-registry.js';

export interface IncidentPages {
  store: IncidentStore;
  registry: StationRegistry;
  rivers: RiversFile;
  policy: IncidentsConfig;
  /** Bureau id -> names (config/recipients.yaml). */
  bureauNames: Record<string, { zh: string; en: string }>;
  /** The wall clock the intake window is worded against (tests may pin it). */
  now?: () => number;
}

export interface IncidentView {
  report: Report;
  registry: StationRegistry;
  bureauNames: Record<string, { zh: string; en: string }>;
}

export async function incidentView(
  src: IncidentPages,
  id: string,
  log?: Logger,
  onDamaged?: () => void,
): Promise<IncidentView | undefined> {
  const read = await readIncident(src.store, id);
  if (!read.found) {
    if (read.damaged) {
      log?.warn({ incident: id, err: read.error }, 'ack page: stored incident unreadable; plain page shown');
      onDamaged?.();
    }
    return undefined;
  }
  return {
    report: currentReport(read.incident, { registry: src.registry, rivers: src.rivers, policy: src.policy }),
    registry: src.registry,
    bureauNames: src.bureauNames,
  };
}

/** Bureau names from the recipients file, for the pages. */
export function bureauNamesOf(recipients: {
  bureaus: Record<string, { name: { zh: string; en: string } }>;
}): Record<string, { zh: string; en: string }> {
  return Object.fromEntries(Object.entries(recipients.bureaus).map(([id, b]) => [id, b.name]));
}
