/**
 * How `tuojiang alerts status|list|history` show an incident: it is recorded among the notified
 * alerts (for acknowledgement and escalation) under its origin station, but it is one pollution
 * event on a river, so it is listed as one: river and pollutant, origin, front, sections reached,
 * open or closed. Names come from the station registry when config loads; ids otherwise.
 */
import type { RedisClient } from '../lib/redis-client.js';
import { readIncident } from '../alerts/incidents/read.js';
import { IncidentStore } from '../alerts/incidents/store.js';
import { front } from '../alerts/incidents/track.js';
import type { Incident } from '../alerts/incidents/types.js';
import { paramName, stationName } from '../alerts/incidents/wording.js';
import { cstTime } from '../alerts/notify/render.js';
import type { AlertRecord } from '../alerts/notify/store.js';
import { loadConfig } from '../config/load.js';
import { StationRegistry } from '../config/station-registry.js';
import { printable } from './terminal-text.js';

/** The notify side records incidents with this period (NotifyStore.recordIncident). */
export function isIncidentRecord(a: AlertRecord): boolean {
  return a.info.period === 'incident';
}

export class IncidentLookup {
  private readonly store: IncidentStore;
  private registry: StationRegistry | null | undefined;

  constructor(redis: RedisClient, prefix: string) {
    this.store = new IncidentStore(redis, prefix);
  }

  async incident(id: string): Promise<Incident | undefined> {
    const r = await readIncident(this.store, id);
    return r.found ? r.incident : undefined;
  }

  /** The registry for names; a listing still works (with ids) when the config does not load. */
  names(): StationRegistry | null {
    if (this.registry === undefined) {
      try {
        this.registry = new StationRegistry(loadConfig().registry);
      } catch {
        this.registry = null;
      }
    }
    return this.registry;
  }
}

function station(reg: StationRegistry | null, id: string): string {
  return reg ? stationName(reg, id, 'zh') : id;
}

/** One line: status, severity, what, where the front is, since when. */
export function incidentSummary(a: AlertRecord, inc: Incident | undefined, reg: StationRegistry | null): string {
  const sev = a.info.severity.padEnd(7);
  if (!inc) {
    const status = a.state === 'resolved' ? 'closed' : 'open';
    return `${status.padEnd(8)} ${sev} incident ${a.info.key.replace(/^incident\./, '')}: details unavailable (origin ${a.info.station}), since ${cstTime(a.info.firstAt)} (UTC+8)`;
  }
  const river = inc.river ? (reg?.rivers[inc.river] ?? { zh: inc.river, en: inc.river }) : null;
  const what = river
    ? `river incident ${river.zh} ${paramName(inc.parameter, 'zh')} (${river.en}, ${paramName(inc.parameter, 'en')})`
    : `air incident ${station(reg, inc.origin)} ${paramName(inc.parameter, 'zh')} (${paramName(inc.parameter, 'en')})`;
  const parts = [`origin ${station(reg, inc.origin)}`];
  const f = front(inc);
  if (inc.kind === 'river' && f) parts.push(`front ${station(reg, f.station)} (km ${f.riverKm})`);
  const reached = inc.sections.filter((s) => s.observedAt !== null).length;
  if (inc.kind === 'river') parts.push(`${reached} section${reached === 1 ? '' : 's'} reached`);
  parts.push(`since ${cstTime(inc.openedAt)} (UTC+8)`);
  if (inc.closedAt !== null) parts.push(`closed ${cstTime(inc.closedAt)} (UTC+8)`);
  return printable(`${inc.status.padEnd(8)} ${sev} ${what}: ${parts.join(', ')}`);
}

/** The compact form for --json. */
export function incidentJson(inc: Incident): Record<string, unknown> {
  const f = front(inc);
  return {
    id: inc.id,
    kind: inc.kind,
    status: inc.status,
    river: inc.river,
    family: inc.family,
    parameter: inc.parameter,
    origin: inc.origin,
    openedAt: inc.openedAt,
    closedAt: inc.closedAt,
    front: f ? { station: f.station, riverKm: f.riverKm, at: f.observedAt } : null,
    reached: inc.sections
      .filter((s) => s.observedAt !== null)
      .map((s) => ({ station: s.station, at: s.observedAt, backAt: s.backAt, firing: s.firing.length > 0 })),
    reports: inc.seq,
  };
}
