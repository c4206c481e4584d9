/**
 * Plume-track fixtures: a section of an incident on the Tuojiang, and an open incident made of
 * given sections (opened at T0, its observed velocity derived from them unless given).
 */
import { velocityRange } from '../../alerts/incidents/track.js';
import type { Incident, SectionTrack } from '../../alerts/incidents/types.js';

export const T0 = Date.UTC(2026, 4, 1, 0, 0);

export function trackSection(station: string, km: number | null, observedAt: number | null = null, firing: string[] = []): SectionTrack {
  return {
    station,
    city: 'chengdu',
    riverKm: km,
    intake: false,
    predicted: null,
    predictedIn: null,
    observedAt,
    miss: null,
    params: {},
    firing,
    backAt: null,
    fault: false,
  };
}

export function trackIncident(sections: SectionTrack[], o: Partial<Incident> = {}): Incident {
  const inc: Incident = {
    id: 'inc.test',
    scope: 'r.tuojiang.nitrogen',
    kind: 'river',
    family: 'nitrogen',
    river: 'tuojiang',
    origin: sections[0]?.station ?? '',
    openedAt: T0,
    status: 'open',
    closedAt: null,
    parameter: 'NH3N',
    opening: { rule: 'limit', parameter: 'NH3N', value: 2, limit: 1, unit: 'mg/L' },
    sections,
    observedVelocity: null,
    misses: [],
    seq: 1,
    reportTimes: [T0],
    lastReportAt: T0,
    lastReported: null,
    seen: [],
    ...o,
  };
  if (!('observedVelocity' in o)) inc.observedVelocity = velocityRange(inc);
  return inc;
}
