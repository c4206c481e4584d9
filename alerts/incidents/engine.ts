/**
 * The incident engine: folds evidence (rule transitions), in event-time order, into the incidents
 * of one scope, and says which reports are due. Pure: the same scope state and the same evidence
 * in the same order always give the same incidents and the same reports, which is what lets any
 * number of workers agree (the store applies evidence by compare-and-set, as for series).
 *
 *  - A firing that fits no open incident of its scope opens one (初报).
 *  - A firing at a section the incident already reached, or at a section downstream whose first
 *    exceedance falls no later than the end of the window given for it (plus a margin), joins it.
 *    Reaching a new section is a follow-up (续报); so is an arrival outside its window (a miss,
 *    after which the windows widen), a new peak, and, at most every `report_every_min` while the
 *    incident lasts, what changed.
 *  - A rule clearing is never an all-clear: the section is back within limits only when every
 *    rule of the family there has cleared, and the incident closes (终报) only when every section
 *    it reached has stayed so for `hold_min` and the window of the next section ahead has passed
 *    without the plume arriving.
 */
import type { IncidentsConfig } from '../../config/recipients-schema.js';
import type { RiversFile } from '../../config/rivers-schema.js';
import type { Station, StationRegistry } from '../../config/station-registry.js';
import { front, joinSlack, predictWindow, velocityRange, windowsAhead } from './track.js';
import { receptorsOf } from '../../config/receptors.js';
import { localLimitPhrase } from '../rules/limit.js';
import type { Evidence, Incident, ReceptorStatus, Report, ReportKind, ReportReason, ScopeState, SectionTrack, Window } from './types.js';

export interface EngineContext {
  registry: StationRegistry;
  rivers: RiversFile;
  policy: IncidentsConfig;
}

export interface EngineResult {
  state: ScopeState;
  reports: Report[];
}

/** Evidence ids remembered per incident (re-delivery comes within minutes, not thousands of transitions later). */
const SEEN_MAX = 2000;
/** Closed incidents are kept in the scope this long (event time) for late evidence and the ack page. */
const KEEP_CLOSED_MS = 7 * 24 * 3_600_000;

/** Rules whose transitions are evidence of pollution (equipment and silence are about the monitoring). */
export const POLLUTION_RULES: ReadonlySet<string> = new Set(['limit', 'rate', 'water_class', 'aqi']);

export function familyOf(policy: IncidentsConfig, parameter: string, limiting?: string[]): string {
  const probe = parameter === 'class' || parameter === 'AQI' ? limiting?.[0] : parameter;
  if (probe !== undefined) {
    for (const [name, f] of Object.entries(policy.families)) if (f.parameters.includes(probe)) return name;
    return probe;
  }
  return parameter === 'AQI' ? 'aqi' : 'class';
}

/** The scope of a station's evidence: its river (water sections on a river) or the station itself. */
export function scopeOf(station: Station, family: string): string {
  if (station.kind === 'water' && station.river !== undefined && station.river_km !== undefined) return `r.${station.river}.${family}`;
  return `s.${station.id}.${family}`;
}

export function incidentIdFor(scope: string, openedAt: number): string {
  return `inc.${scope}.${openedAt}`;
}

/** The pollutant evidence is about: its parameter, or for class and AQI the deciding one. */
export function pollutantOf(ev: Pick<Evidence, 'parameter' | 'detail'>): string {
  if (ev.parameter !== 'class' && ev.parameter !== 'AQI') return ev.parameter;
  return ev.detail.cause?.[0] ?? ev.detail.limiting?.[0] ?? ev.detail.primary?.[0] ?? ev.parameter;
}

function newSection(s: Station): SectionTrack {
  return {
    station: s.id,
    city: s.city,
    riverKm: s.river_km ?? null,
    intake: s.drinking_water_intake,
    predicted: null,
    predictedIn: null,
    observedAt: null,
    miss: null,
    params: {},
    firing: [],
    backAt: null,
    fault: false,
  };
}

function clone<T>(x: T): T {
  return structuredClone(x);
}

function open(scope: string, station: Station, ev: Evidence, ctx: EngineContext): Incident {
  const openedAt = ev.breachSince ?? ev.at;
  const river = station.kind === 'water' && station.river !== undefined && station.river_km !== undefined ? station.river : null;
  const sections = river
    ? ctx.registry
        .riverSections(river)
        .filter((s) => (s.river_km ?? 0) >= (station.river_km ?? 0))
        .map(newSection)
    : [newSection(station)];
  return {
    id: incidentIdFor(scope, openedAt),
    scope,
    kind: river ? 'river' : 'air',
    family: ev.family,
    river,
    origin: station.id,
    openedAt,
    status: 'open',
    closedAt: null,
    parameter: pollutantOf(ev),
    sections,
    opening: {
      rule: ev.rule,
      parameter: ev.parameter,
      value: ev.value,
      limit: ev.limit,
      unit: ev.detail.unit ?? '',
      ...(ev.detail.cls ? { cls: ev.detail.cls } : {}),
      ...(ev.detail.target ? { target: ev.detail.target } : {}),
    },
    observedVelocity: null,
    misses: [],
    seq: 0,
    reportTimes: [],
    lastReportAt: null,
    lastReported: null,
    seen: [],
  };
}

/** The open incident this firing belongs to, if any. */
function match(state: ScopeState, station: Station, ev: Evidence, ctx: EngineContext): Incident | undefined {
  const t = ev.breachSince ?? ev.at;
  for (const inc of state.incidents) {
    if (inc.status !== 'open') continue;
    const sec = inc.sections.find((s) => s.station === station.id);
    if (!sec) continue;
    if (sec.observedAt !== null) return inc;
    if (t < inc.openedAt) continue;
    const w =
      sec.riverKm === null ? undefined : predictWindow(inc, sec.riverKm, ctx.rivers, { velocityMargin: ctx.policy.velocity_margin });
    // No estimate at all (a river without reaches): anything downstream while the incident is open.
    if (!w || t <= w.to + joinSlack(w, ctx.policy.window_margin)) return inc;
  }
  return undefined;
}

function peakOf(inc: Incident): { value: number; station: string; at: number } | null {
  let best: { value: number; station: string; at: number; ratio: number } | null = null;
  for (const s of inc.sections) {
    // Air incidents are measured by the AQI when no concentration of their pollutant is known.
    const p = s.params[inc.parameter] ?? s.params.AQI;
    if (!p) continue;
    // The worst concentration (lowest for a lower bound such as DO), wherever it was: what the
    // bureaus compare with the standard. 超标倍数 is then against that section's own limit.
    const ratio = p.limitKind === 'min' ? -p.peak : p.peak;
    if (!best || ratio > best.ratio) best = { value: p.peak, station: s.station, at: p.peakAt, ratio };
  }
  return best ? { value: best.value, station: best.station, at: best.at } : null;
}

export function incidentPeak(inc: Incident): { value: number; station: string; at: number } | null {
  return peakOf(inc);
}

function worse(kind: 'max' | 'min' | 'range' | null, a: number, b: number, limit: number | null): boolean {
  if (kind === 'min') return a < b;
  if (kind === 'range' && limit !== null) return Math.abs(a - limit) > Math.abs(b - limit);
  return a > b;
}

function record(sec: SectionTrack, ev: Evidence): void {
  if (ev.rule !== 'limit' && ev.rule !== 'aqi') return;
  const value = ev.value;
  if (value === null || !Number.isFinite(value)) return;
  const { peak, peakAt } = ev;
  const kind = ev.detail.limitKind ?? null;
  const cur = sec.params[ev.parameter];
  const candPeak = peak !== undefined && Number.isFinite(peak) && worse(kind, peak, value, ev.limit) ? peak : value;
  const candAt = candPeak === value ? ev.at : (peakAt ?? ev.at);
  const unit = ev.detail.unit ?? '';
  // Only a limit's detail names a national limit; both languages are there or neither.
  const zh = localLimitPhrase(ev.detail, unit, 'zh');
  const local = zh !== undefined ? { local: { zh, en: localLimitPhrase(ev.detail, unit, 'en') as string } } : {};
  if (!cur) {
    sec.params[ev.parameter] = {
      peak: candPeak,
      peakAt: candAt,
      last: value,
      lastAt: ev.at,
      limit: ev.limit,
      limitKind: kind,
      unit,
      basis: ev.detail.basis ?? null,
      ...local,
    };
    return;
  }
  if (local.local) cur.local = local.local;
  if (ev.kind !== 'resolved' && worse(kind, candPeak, cur.peak, cur.limit)) {
    cur.peak = candPeak;
    cur.peakAt = candAt;
  }
  if (ev.at >= cur.lastAt) {
    cur.last = value;
    cur.lastAt = ev.at;
  }
  cur.limit = ev.limit ?? cur.limit;
}

function report(inc: Incident, kind: ReportKind, at: number, reasons: ReportReason[], ctx: EngineContext, enqueuedAt?: number): Report {
  const windows = inc.status === 'open' ? windowsAhead(inc, ctx.rivers, { velocityMargin: ctx.policy.velocity_margin }) : {};
  inc.seq += 1;
  inc.reportTimes.push(at);
  inc.lastReportAt = at;
  const peak = peakOf(inc);
  inc.lastReported = {
    peak: peak?.value ?? null,
    front: front(inc)?.station ?? null,
    // Only a reached section can be back.
    back: inc.sections.filter((s) => s.backAt !== null).map((s) => s.station),
    windows,
  };
  // Remember the window each section was given last before it is reached: the promise to check.
  for (const s of inc.sections) {
    // windowsAhead gives windows for sections not reached only.
    const w = windows[s.station];
    if (w) {
      s.predicted = w;
      s.predictedIn = inc.seq;
    }
  }
  const snapshot = clone(inc);
  snapshot.seen = [];
  return {
    id: `${inc.id}.r${inc.seq}`,
    incidentId: inc.id,
    seq: inc.seq,
    kind,
    at,
    reasons,
    incident: snapshot,
    windows,
    receptors: receptorStatus(inc, ctx),
    ...(enqueuedAt !== undefined ? { enqueuedAt } : {}),
  };
}

/** The receptors of the incident's river from its origin down, with where the front stands to each. */
export function receptorStatus(inc: Incident, ctx: EngineContext): ReceptorStatus[] {
  if (!inc.river) return [];
  const origin = inc.sections.find((s) => s.station === inc.origin);
  const f = front(inc);
  const out: ReceptorStatus[] = [];
  // A river without configured receptors: its sections flagged as drinking-water intakes stand in.
  const configured = receptorsOf(ctx.rivers, inc.river);
  const receptors =
    configured.length > 0
      ? configured
      : ctx.registry
          .riverSections(inc.river)
          .filter((s) => s.drinking_water_intake)
          .map((s) => ({
            id: s.id,
            name: s.name,
            kind: 'drinking_water_intake' as const,
            river_km: s.river_km ?? 0,
            city: s.city,
            // Stryker disable next-line OptionalChaining: every station's city is in the registry's cities (config schema).
            contact: { name: ctx.registry.cities[s.city]?.zh ?? s.city },
            station: s.id,
          }));
  for (const r of receptors) {
    if (origin?.riverKm == null || r.river_km < origin.riverKm) continue;
    const sec = r.station ? inc.sections.find((s) => s.station === r.station) : undefined;
    const reached = (sec?.observedAt ?? null) !== null || (f?.riverKm != null && f.riverKm >= r.river_km);
    const w =
      !reached && inc.status === 'open'
        ? predictWindow(inc, r.river_km, ctx.rivers, { velocityMargin: ctx.policy.velocity_margin })
        : undefined;
    out.push({
      id: r.id,
      name: r.name,
      kind: r.kind,
      riverKm: r.river_km,
      city: r.city,
      contact: r.contact,
      station: r.station ?? null,
      reached,
      reachedAt: sec?.observedAt ?? null,
      affected: sec ? sec.firing.length > 0 : false,
      window: w ?? null,
    });
  }
  return out;
}

/** Applies one piece of evidence. `station` is the evidence's station from the registry. */
export function applyEvidence(stateIn: ScopeState, scope: string, station: Station, ev: Evidence, ctx: EngineContext): EngineResult {
  const state = clone(stateIn);
  state.rev += 1;
  const reports: Report[] = [];
  if (state.incidents.some((i) => i.seen.includes(ev.id))) return { state, reports };

  let inc = ev.kind === 'resolved' ? findReached(state, station.id, ev) : match(state, station, ev, ctx);
  // A rule still firing that no open incident holds (its incident was never opened: e.g. this
  // scope's state was lost) is pollution we know of: it opens one. A clear of nothing is nothing.
  let opened = false;
  if (!inc) {
    if (ev.kind === 'resolved') return { state, reports };
    inc = open(scope, station, ev, ctx);
    state.incidents.push(inc);
    opened = true;
  }
  inc.seen.push(ev.id);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: at or under the bound the splice removes nothing.
  if (inc.seen.length > SEEN_MAX) inc.seen.splice(0, inc.seen.length - SEEN_MAX);
  const sec = inc.sections.find((s) => s.station === station.id) as SectionTrack;
  const reasons: ReportReason[] = [];
  const ruleKey = `${ev.rule}.${ev.parameter}`;
  record(sec, ev);

  if (ev.kind === 'resolved') {
    sec.firing = sec.firing.filter((k) => k !== ruleKey);
    if (sec.firing.length === 0 && sec.backAt === null) {
      sec.backAt = ev.at;
      // A drinking-water intake back within limits is news at once: its owner may take water again.
      if (sec.intake && sec.observedAt !== null) reasons.push({ type: 'back', station: sec.station });
    }
  } else {
    if (!sec.firing.includes(ruleKey)) sec.firing.push(ruleKey);
    sec.backAt = null;
    if (sec.observedAt === null) {
      const t = ev.breachSince ?? ev.at;
      sec.observedAt = t;
      if (!opened) {
        reasons.push({ type: 'reached', station: sec.station });
        const w = sec.predicted;
        if (w && (t < w.from || t > w.to)) {
          sec.miss = t < w.from ? 'early' : 'late';
          inc.misses.push({ station: sec.station, predicted: w, observed: t });
          reasons.push({ type: 'miss', station: sec.station, early: t < w.from });
        }
        const before = inc.observedVelocity;
        inc.observedVelocity = velocityRange(inc);
        if (inc.observedVelocity && !before) reasons.push({ type: 'narrowed' });
      }
    }
  }

  const hasConcentration = inc.sections.some((s) => Object.keys(s.params).length > 0);
  if (opened && !hasConcentration && ctx.policy.initial_wait_min > 0) {
    // Opened on a rate or class rule: the 初报 waits (briefly) for the concentration.
    inc.initialDueAt = ev.at + ctx.policy.initial_wait_min * 60_000;
  } else if (opened || (inc.seq === 0 && hasConcentration)) {
    inc.initialDueAt = null;
    reports.push(report(inc, 'initial', ev.at, [{ type: 'opened' }], ctx, ev.enqueuedAt));
  } else if (inc.seq === 0) {
    // Still waiting for the 初报: nothing else is said before it.
  } else if (reasons.length > 0) {
    reports.push(report(inc, 'followup', ev.at, withPeak(inc, reasons, ctx), ctx, ev.enqueuedAt));
  } else if (ev.kind !== 'resolved' && inc.lastReportAt !== null) {
    const since = ev.at - inc.lastReportAt;
    const every = ctx.policy.report_every_min * 60_000;
    if (urgentPeak(inc, ctx) || (newPeak(inc, ctx) && since >= Math.min(every / 4, 3 * 3_600_000))) {
      reports.push(report(inc, 'followup', ev.at, withPeak(inc, [], ctx), ctx, ev.enqueuedAt));
    } else if (since >= every) {
      reports.push(report(inc, 'followup', ev.at, withPeak(inc, [{ type: 'periodic' }], ctx), ctx, ev.enqueuedAt));
    }
  }
  // Closing waits for the hold time: a clear is never an all-clear by itself (see tick).
  prune(state, ev.at);
  return { state, reports };
}

function findReached(state: ScopeState, stationId: string, ev: Evidence): Incident | undefined {
  // The incident that has this rule firing at this section (a closed incident has nothing firing).
  const ruleKey = `${ev.rule}.${ev.parameter}`;
  return state.incidents.find((i) => i.sections.some((s) => s.station === stationId && s.firing.includes(ruleKey)));
}

function newPeak(inc: Incident, ctx: EngineContext): boolean {
  const p = peakOf(inc);
  const last = inc.lastReported?.peak ?? null;
  // The first concentration over the limit is news too (the incident may have opened on a rate or class).
  return p !== null && (last === null || Math.abs(p.value) > Math.abs(last) * (1 + ctx.policy.peak_step));
}

/**
 * A peak the bureaus must hear of at once: the first concentration over the limit (the incident may
 * have opened on a rate or a class), or one at least twice the last reported.
 */
function urgentPeak(inc: Incident, _ctx: EngineContext): boolean {
  const p = peakOf(inc);
  const last = inc.lastReported?.peak ?? null;
  return p !== null && (last === null || Math.abs(p.value) >= Math.abs(last) * 2);
}

function withPeak(inc: Incident, reasons: ReportReason[], ctx: EngineContext): ReportReason[] {
  const out = [...reasons];
  if (newPeak(inc, ctx)) out.push({ type: 'peak' });
  const before = new Set(inc.lastReported?.back ?? []);
  for (const s of inc.sections) {
    if (s.observedAt === null || s.backAt === null || before.has(s.station)) continue;
    if (!out.some((r) => r.type === 'back' && r.station === s.station)) out.push({ type: 'back', station: s.station });
  }
  return out;
}

/**
 * What a close check at `now` (the notify clock) finds: the incidents whose reached sections have
 * all been back within limits for the hold time, and whose plume did not reach the next section
 * within its window, are closed with a final report.
 */
export function tick(stateIn: ScopeState, now: number, ctx: EngineContext): EngineResult {
  const state = clone(stateIn);
  const reports: Report[] = [];
  for (const inc of state.incidents) {
    if (inc.status !== 'open') continue;
    if (inc.seq === 0 && inc.initialDueAt != null && now >= inc.initialDueAt) {
      const at = inc.initialDueAt;
      inc.initialDueAt = null;
      reports.push(report(inc, 'initial', at, [{ type: 'opened' }], ctx));
    }
    const due = closeDueAt(inc, ctx);
    if (due === null || now < due) {
      // Nothing new for a whole report interval (no evidence: e.g. the plume is between sections):
      // the bureaus still hear where things stand.
      // Not for evidence long past (a logger's backlog, a replay): its own transitions report it,
      // and a day of catching up must not become a day's worth of scheduled follow-ups.
      const beat = heartbeatDueAt(inc, ctx);
      const every = ctx.policy.report_every_min * 60_000;
      // (beat ≤ now < due here, so a heartbeat is never past the close.)
      if (beat !== null && now >= beat && now - beat < every)
        reports.push(report(inc, 'followup', beat, withPeak(inc, [{ type: 'periodic' }], ctx), ctx));
      continue;
    }
    const reasons: ReportReason[] = withPeak(inc, [], ctx);
    const ahead = nextAhead(inc, ctx);
    if (ahead) reasons.push({ type: 'dissipated', station: ahead.station });
    reasons.push({ type: 'closed' });
    inc.status = 'closed';
    inc.closedAt = due;
    reports.push(report(inc, 'final', due, reasons, ctx));
  }
  if (reports.length > 0) state.rev += 1;
  prune(state, now);
  return { state: reports.length > 0 ? state : stateIn, reports };
}

function nextAhead(inc: Incident, ctx: EngineContext): { station: string; window: Window } | undefined {
  const f = front(inc);
  if (!f) return undefined;
  // Reached sections lie at or behind the front (its km is known: front() only returns such).
  const frontKm = f.riverKm as number;
  for (const s of inc.sections) {
    if (s.riverKm === null || s.riverKm <= frontKm) continue;
    const w = predictWindow(inc, s.riverKm, ctx.rivers, { velocityMargin: ctx.policy.velocity_margin });
    return w ? { station: s.station, window: w } : undefined;
  }
  return undefined;
}

/** When the incident may close (null: a section is still beyond its limits). */
export function closeDueAt(inc: Incident, ctx: EngineContext): number | null {
  if (inc.status !== 'open') return null;
  let due = inc.openedAt;
  for (const s of inc.sections) {
    if (s.observedAt === null) continue;
    // A reached section is back (backAt set) exactly when nothing fires there.
    if (s.backAt === null) return null;
    due = Math.max(due, s.backAt + ctx.policy.hold_min * 60_000);
  }
  const ahead = nextAhead(inc, ctx);
  if (ahead) due = Math.max(due, ahead.window.to + joinSlack(ahead.window, ctx.policy.window_margin));
  return due;
}

/** When an open incident is due a scheduled follow-up if nothing else is said before. */
export function heartbeatDueAt(inc: Incident, ctx: EngineContext): number | null {
  if (inc.status !== 'open' || inc.lastReportAt === null) return null;
  return inc.lastReportAt + ctx.policy.report_every_min * 60_000;
}

/** The earliest time a check could change this scope: a close, or a scheduled follow-up (null: nothing to wait for). */
export function nextDue(state: ScopeState, ctx: EngineContext): number | null {
  let best: number | null = null;
  for (const inc of state.incidents) {
    // Set only while an open incident waits for its 初报, cleared when that is sent.
    const initial = inc.initialDueAt ?? null;
    for (const d of [initial, closeDueAt(inc, ctx), heartbeatDueAt(inc, ctx)]) if (d !== null && (best === null || d < best)) best = d;
  }
  return best;
}

function prune(state: ScopeState, now: number): void {
  state.incidents = state.incidents.filter((i) => i.status === 'open' || (i.closedAt ?? now) + KEEP_CLOSED_MS > now);
}
