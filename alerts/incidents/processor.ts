/**
 * The notify worker's side of incidents: a pollution transition becomes evidence in its scope's
 * inbox; a drain applies every ripe piece of evidence in event-time order and commits by
 * compare-and-set; the reports it issued are then placed for each bureau's duty list (one e-mail
 * per report per person), and a close check is scheduled for when the scope may next change.
 * Every step is idempotent: evidence carries its event id, reports their incident and number,
 * placements their report id.
 */
import type { Queue } from 'bullmq';
import type { Station } from '../../lib/station-registry.js';
import type { AlertEvent } from '../events.js';
import { bureauPolicy } from '../notify/config.js';
import { ackUrl, grafanaUrl } from '../notify/links.js';
import { placeForList, type NotifyContext } from '../notify/router.js';
import { routeEvent } from '../notify/routing.js';
import { applyEvidence, familyOf, nextDue, POLLUTION_RULES, scopeOf, tick, type EngineContext } from './engine.js';
import { reportSeverity } from './severity.js';
import type { IncidentStore } from './store.js';
import { front } from './track.js';
import type { Evidence, Incident, Report } from './types.js';

export interface IncidentJobData {
  scope: string;
  /** 'drain': apply ripe evidence; 'tick': a close check. */
  type: 'drain' | 'tick';
}

export interface IncidentContext extends NotifyContext {
  incidents: IncidentStore;
  incidentQueue: Queue<IncidentJobData>;
  /** Notify-clock milliseconds per wall millisecond (the demo replays a day in a minute). */
  timeScale: number;
}

/** BullMQ job ids may not contain ':'. */
function jobSafe(s: string): string {
  return s.replace(/:/g, '_');
}

export function isIncidentEvidence(e: AlertEvent, station: Station | undefined): boolean {
  return station !== undefined && POLLUTION_RULES.has(e.rule);
}

export function engineContext(ctx: NotifyContext): EngineContext {
  return { registry: ctx.registry, rivers: ctx.config.rivers, policy: ctx.config.recipients.incidents };
}

export function evidenceOf(e: AlertEvent, family: string): Evidence {
  return {
    id: e.id, station: e.station, city: e.city, rule: e.rule, parameter: e.parameter, family, kind: e.kind, at: e.at,
    value: e.value, limit: e.limit, detail: e.detail,
    ...(e.breachSince !== undefined ? { breachSince: e.breachSince } : {}),
    ...(e.enqueuedAt !== undefined ? { enqueuedAt: e.enqueuedAt } : {}),
    ...(e.peak !== undefined ? { peak: e.peak, peakAt: e.peakAt } : {}),
  } as Evidence;
}

/** Takes one transition as evidence: into its scope's inbox, then drained now or after the reorder wait. */
export async function takeEvidence(ctx: IncidentContext, e: AlertEvent, station: Station): Promise<{ scope: string }> {
  const policy = ctx.config.recipients.incidents;
  const family = familyOf(policy, e.parameter, e.detail.cause ?? (e.detail.limiting?.length ? e.detail.limiting : e.detail.primary));
  const scope = scopeOf(station, family);
  const reorderMs = policy.reorder_s * 1000;
  await ctx.incidents.enqueue(scope, evidenceOf(e, family), reorderMs);
  if (reorderMs > 0) {
    await ctx.incidentQueue.add('drain', { scope, type: 'drain' }, { jobId: jobSafe(`incd.${e.id}`), delay: reorderMs + 50 });
  } else {
    await drain(ctx, scope);
  }
  return { scope };
}

/**
 * The incident a close check's report is about. The check prunes closed incidents older than a week
 * against the notify clock in the same step, so one closed on evidence more than a week old (a
 * logger's backlog) is already gone from the state: its report's snapshot stands in, or the commit
 * would throw on every later drain and wedge the whole scope.
 */
function closedIncident(state: { incidents: Incident[] }, r: Report): Incident {
  return state.incidents.find((i) => i.id === r.incidentId) ?? r.incident;
}

/** Applies every ripe piece of evidence of a scope in event-time order; returns the reports issued. */
export async function drain(ctx: IncidentContext, scope: string, maxAttempts = 50): Promise<Report[]> {
  const ectx = engineContext(ctx);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const snap = await ctx.incidents.snapshot(scope);
    const ripe = [];
    for (const it of snap.items) {
      if (it.ripeAt > snap.now) break;
      ripe.push(it);
    }
    if (ripe.length === 0) break;
    let state = snap.state;
    const reports: Report[] = [];
    const changed = new Map<string, Incident>();
    for (const it of ripe) {
      const st = ctx.registry.get(it.evidence.station);
      if (!st) continue;
      const res = applyEvidence(state, scope, st, it.evidence, ectx);
      state = res.state;
      reports.push(...res.reports);
      for (const inc of state.incidents) if (inc.seen[inc.seen.length - 1] === it.evidence.id) changed.set(inc.id, inc);
    }
    // A close may have become due meanwhile.
    const t = tick(state, ctx.now(), ectx);
    state = t.state;
    reports.push(...t.reports);
    for (const r of t.reports) changed.set(r.incidentId, closedIncident(state, r));
    if (await ctx.incidents.commit(scope, snap.rev, state, ripe.map((r) => r.evidence.id), reports, [...changed.values()])) {
      await placeUnplaced(ctx);
      await scheduleTick(ctx, scope, nextDue(state, ectx));
      return reports;
    }
  }
  await placeUnplaced(ctx);
  return [];
}

/** A close check of one scope at the notify clock. */
export async function runTick(ctx: IncidentContext, scope: string): Promise<Report[]> {
  const ectx = engineContext(ctx);
  for (let attempt = 0; attempt < 50; attempt++) {
    const snap = await ctx.incidents.snapshot(scope);
    const t = tick(snap.state, ctx.now(), ectx);
    if (t.reports.length === 0) {
      await scheduleTick(ctx, scope, nextDue(snap.state, ectx));
      return [];
    }
    const changed = t.reports.map((r) => closedIncident(t.state, r));
    if (await ctx.incidents.commit(scope, snap.rev, t.state, [], t.reports, changed)) {
      await placeUnplaced(ctx);
      await scheduleTick(ctx, scope, nextDue(t.state, ectx));
      return t.reports;
    }
  }
  throw new Error(`incident scope ${scope}: 50 commits lost to other workers in a row`);
}

async function scheduleTick(ctx: IncidentContext, scope: string, due: number | null): Promise<void> {
  if (due === null) return;
  const delay = Math.max(0, Math.ceil((due - ctx.now()) / ctx.timeScale)) + 50;
  // One check per scope and due time; re-scheduling the same due time is a no-op.
  await ctx.incidentQueue.add('tick', { scope, type: 'tick' }, { jobId: jobSafe(`inct.${scope}.${due}`), delay });
}

/** Who receives an incident's reports: the origin's own city, the cities the plume reached, and every city downstream on the river. */
export function bureausOf(ctx: NotifyContext, inc: Incident): string[] {
  const origin = ctx.registry.get(inc.origin);
  const known = new Set(Object.keys(ctx.config.recipients.bureaus));
  const out = new Set<string>();
  if (origin) for (const b of routeEvent(origin, inc.kind === 'river' ? 'limit' : 'aqi', ctx.registry, ctx.config.rivers, known).bureaus) out.add(b.bureau);
  for (const s of inc.sections) if (known.has(s.city)) out.add(s.city);
  return [...out].sort();
}

export interface ReportItemLinks {
  grafana: string;
  ack: string;
  cap: string | null;
}

/** Places every report not yet placed (in report order), once per duty address. */
export async function placeUnplaced(ctx: IncidentContext): Promise<void> {
  for (const { report } of await ctx.incidents.unplaced()) {
    await placeReport(ctx, report);
    await ctx.incidents.markPlaced(report.id);
  }
}

/** Reports that only say "still going" (scheduled, a new peak, a section back). */
function routine(report: Report): boolean {
  return report.kind === 'followup' && report.reasons.every((r) => r.type === 'periodic' || r.type === 'peak' || r.type === 'back');
}

/**
 * Whether a bureau still has a stake in an open incident: one of its sections is over the limit,
 * or lies ahead of the front. A city the plume has left, whose sections are all back within
 * limits, is not woken by routine follow-ups (it still gets every event and the final report).
 */
export function hasStake(inc: Incident, bureau: string): boolean {
  const f = front(inc);
  return inc.sections.some((s) => s.city === bureau && (s.firing.length > 0 || (s.observedAt === null && (f?.riverKm == null || s.riverKm === null || s.riverKm > f.riverKm))));
}

async function placeReport(ctx: IncidentContext, report: Report): Promise<void> {
  const inc = report.incident;
  const all = bureausOf(ctx, inc);
  const bureaus = routine(report) ? all.filter((b) => hasStake(inc, b)) : all;
  const severity = reportSeverity(inc, ctx.registry, ctx.config.recipients.severity, report.receptors);
  const now = ctx.now();
  const created = await ctx.store.recordIncident(inc, all, severity, now, report);
  const links = ctx.config.recipients.links;
  const windowMs = links.grafana_window_h * 3_600_000;
  const origin = ctx.registry.get(inc.origin);
  const grafana = grafanaUrl(ctx.links.grafanaUrl, links.grafana_path, {
    station: inc.origin, city: origin?.city ?? '', parameter: inc.parameter, from: inc.openedAt - windowMs, to: report.at + windowMs,
  });
  const exp = created + links.ack_link_valid_days * 24 * 3_600_000;
  const { buildIncidentCap } = await import('./cap.js');
  await ctx.store.saveCap(report.id, buildIncidentCap({ report, registry: ctx.registry, severity, config: ctx.config.recipients.cap, web: grafana, rivers: ctx.config.rivers, bureaus }));
  const record = await ctx.store.alert(inc.id);
  for (const bureau of bureaus) {
    const item = {
      id: report.id, type: 'report' as const, alertId: inc.id, bureau, roles: [], severity, report,
      acks: record?.acks ?? {}, firstAt: inc.openedAt,
      links: { grafana, ack: ackUrl(ctx.links.publicUrl, ctx.links.ackSecret, inc.id, bureau, exp), cap: `${ctx.links.publicUrl.replace(/\/+$/, '')}/cap/${encodeURIComponent(report.id)}.xml` },
    };
    const placed = await placeForList(ctx, bureau, 'duty', item as never, `r${report.seq}`);
    const policy = bureauPolicy(ctx.config.recipients, bureau);
    // One acknowledgement clock per bureau and incident, from the first report it receives.
    if (policy && policy.escalation.length > 0 && report.kind !== 'final') {
      await ctx.escalateQueue.add('escalate', { alertId: inc.id, bureau, item: item as never }, {
        jobId: `esc.${jobSafe(inc.id)}.${bureau}`,
        delay: Math.max(0, Math.ceil((placed.deliverAt - now) / ctx.timeScale)) + Math.ceil(policy.ackTimeoutMs / ctx.timeScale),
      });
    }
  }
}
