/**
 * Rule transitions of a plume as the checks hand them to the notify queue, for the incident
 * tests: at each section the limit rule fires (its run of breaches began a little earlier: the
 * front's arrival) and the class rule follows; later both clear. Any registry (the test
 * registries have rivers and sections the shipped one does not).
 */
import type { RecipientsFile } from '../../config/recipients-schema.js';
import { startNotifyStack, type NotifyServices, type NotifyStack } from './notify-stack.js';
import { eventId, type AlertEvent } from '../../alerts/events.js';
import type { RegistryConfig } from '../../config/schema.js';

const MIN = 60_000;

export interface TransitionSpec {
  station: string;
  kind: AlertEvent['kind'];
  at: number;
  rule?: AlertEvent['rule'];
  parameter?: string;
  value?: number | null;
  limit?: number | null;
  detail?: AlertEvent['detail'];
  breachSince?: number;
}

export function transition(registry: RegistryConfig, p: TransitionSpec): AlertEvent {
  const s = registry.stations.find((x) => x.id === p.station);
  if (!s) throw new Error(`unknown station ${p.station}`);
  const rule = p.rule ?? 'limit';
  const parameter = p.parameter ?? 'NH3N';
  const key = rule === 'limit' || rule === 'rate' ? `${rule}.${parameter}` : rule;
  return {
    id: eventId({ station: p.station, period: 'hour', key, kind: p.kind, at: p.at }),
    station: p.station,
    city: s.city,
    period: 'hour',
    key,
    rule,
    parameter,
    kind: p.kind,
    from: p.kind === 'firing' ? 'pending' : 'firing',
    to: p.kind === 'resolved' ? 'resolved' : 'firing',
    at: p.at,
    value: p.value === undefined ? 1.6 : p.value,
    limit: p.limit === undefined ? 1 : p.limit,
    thresholdVersion: '1',
    muted: false,
    catchUp: false,
    message: '',
    detail: p.detail ?? { unit: 'mg/L', basis: 'GB3838-2002 III', limitKind: 'max', limitText: '≤ 1' },
    ...(p.breachSince !== undefined ? { breachSince: p.breachSince } : {}),
  };
}

/** The plume reaches a section: first exceedance at `arrival`, the limit rule fires 10 min later, the class rule 5 min after that. */
export function arrives(registry: RegistryConfig, station: string, arrival: number, value: number): AlertEvent[] {
  const at = arrival + 10 * MIN;
  return [
    transition(registry, { station, kind: 'firing', at, value, breachSince: arrival }),
    transition(registry, {
      station,
      kind: 'firing',
      at: at + 5 * MIN,
      rule: 'water_class',
      parameter: 'class',
      value: 6,
      limit: 3,
      detail: { cls: '劣V', target: 'III', limiting: ['NH3N'], basis: 'GB3838-2002' },
    }),
  ];
}

/** The section is back within limits: the limit rule clears at `at`, the class rule 5 min later. */
export function clears(registry: RegistryConfig, station: string, at: number): AlertEvent[] {
  return [
    transition(registry, { station, kind: 'resolved', at, value: 0.6 }),
    transition(registry, {
      station,
      kind: 'resolved',
      at: at + 5 * MIN,
      rule: 'water_class',
      parameter: 'class',
      value: 3,
      limit: 3,
      detail: { cls: 'III', target: 'III', limiting: [], cause: ['NH3N'], basis: 'GB3838-2002' },
    }),
  ];
}

export function byTime(events: AlertEvent[]): AlertEvent[] {
  return [...events].sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
}

/** The notify clock of a replay: set to each event's time as it is handed over, then running `speed` times the wall. */
export function replayClock(speed: number): { now: () => number; set: (t: number) => void } {
  let base = 0;
  let wall0 = Date.now();
  return {
    now: () => base + (Date.now() - wall0) * speed,
    set: (t) => {
      base = t;
      wall0 = Date.now();
    },
  };
}

export type ReplayClock = ReturnType<typeof replayClock>;

/** Hands `events` over one at a time (each `copies` times), the replay clock at each one's time. */
export async function replay(
  stack: Pick<NotifyStack, 'emit' | 'idle'>,
  clock: ReplayClock,
  events: readonly AlertEvent[],
  copies = 1,
): Promise<void> {
  for (const e of events) {
    clock.set(e.at);
    await stack.emit(...Array.from({ length: copies }, () => e));
    await stack.idle();
  }
}

/**
 * A notify stack in incident mode on a replay clock that starts `hoursAgo` whole hours back and runs
 * `speed` times the wall: no reorder wait, and no escalation lists unless a test adds them.
 */
export async function startReplayStack(
  services: NotifyServices,
  o: { registry: RegistryConfig; hoursAgo: number; speed: number; recipients?: (r: RecipientsFile) => void },
): Promise<{ t0: number; clock: ReplayClock; stack: NotifyStack }> {
  const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - o.hoursAgo * 3_600_000;
  const clock = replayClock(o.speed);
  clock.set(t0);
  const stack = await startNotifyStack(services, {
    registry: o.registry,
    incidents: true,
    notify: { now: clock.now, timeScale: o.speed },
    recipients: (r) => {
      r.incidents.reorder_s = 0;
      for (const b of Object.values(r.bureaus)) b.escalation = [];
      o.recipients?.(r);
    },
  });
  return { t0, clock, stack };
}
