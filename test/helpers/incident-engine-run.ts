/**
 * The incident engine run by hand on the shipped registry, rivers and incident policy: evidence
 * built by station and kind, applied one by one to a scope, with the reports it produced.
 */
import { expect } from 'vitest';
import { applyEvidence, familyOf, scopeOf, type EngineContext } from '../../alerts/incidents/engine.js';
import { emptyScope, type Evidence, type Incident, type Report, type ScopeState } from '../../alerts/incidents/types.js';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { loadConfig } from '../../config/load.js';
import { StationRegistry, type Station } from '../../config/station-registry.js';

export const config = loadConfig();
export const registry = new StationRegistry(config.registry);
export const notify = loadNotifyConfig(config.dir, config.registry);
export const ctx: EngineContext = { registry, rivers: notify.rivers, policy: notify.recipients.incidents };
export const H = 3_600_000;
export const MIN = 60_000;
export const T0 = Date.UTC(2026, 11, 3, 4, 0);

let n = 0;
export function ev(station: string, kind: Evidence['kind'], at: number, o: Partial<Evidence> = {}): Evidence {
  const rule = o.rule ?? 'limit';
  const parameter = o.parameter ?? 'NH3N';
  return {
    id: `ev.${n++}`,
    station,
    city: registry.get(station)?.city ?? '',
    rule,
    parameter,
    family: familyOf(ctx.policy, parameter),
    kind,
    at,
    value: o.value ?? (kind === 'resolved' ? 0.5 : 10),
    limit: 1,
    detail: { unit: 'mg/L', limitKind: 'max', basis: 'GB3838-2002 III' },
    ...o,
  } as Evidence;
}

export function st(id: string): Station {
  const s = registry.get(id);
  if (!s) throw new Error(id);
  return s;
}

export interface Run {
  state: ScopeState;
  reports: Report[];
}

export function apply(run: Run, e: Evidence, c: EngineContext = ctx): Run {
  const res = applyEvidence(run.state, scopeOf(st(e.station), e.family), st(e.station), e, c);
  return { state: res.state, reports: [...run.reports, ...res.reports] };
}

export function run(evs: Evidence[], c: EngineContext = ctx): Run {
  return evs.reduce((r, e) => apply(r, e, c), { state: emptyScope(), reports: [] } as Run);
}

export const only = (r: Run): Incident => {
  expect(r.state.incidents).toHaveLength(1);
  return r.state.incidents[0] as Incident;
};
export const reasonsOf = (r: Report): string[] => r.reasons.map((q) => ('station' in q ? `${q.type}:${q.station}` : q.type));
