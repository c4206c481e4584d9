/**
 * The notify worker's side of incidents: a pollution transition becomes evidence in its scope's
 * inbox; a drain applies every ripe piece of evidence in event-time order and commits by
 * compare-and-set; the reports it issued are then placed for each bureau's duty list (one e-mail
 * per report per person), and a close check is scheduled for when the scope may next change.
 * Every step is idempotent: evidence carries its event id, reports their incident and number,
 * placements their report id.
 */
import type { Queue } from 'bullmq';
import type { Station } from '../../config/station-registry.js';
import type { AlertEvent } from '../events.js';
import { bureauPolicy } from '../notify/config.js';
import { ackUrl, capUrl, grafanaUrl } from '../notify/links.js';
import { placeForList, type NotifyContext } from '../notify/router.js';
import { routeEvent } from '../notify/routing.js';
import { buildIncidentCap } from './cap.js';
import { applyEvidence, familyOf, nextDue, POLLUTION_RULES, scopeOf, tick, type EngineContext } from './engine.js';
import { reportSeverity } from './severity.js';
import type { IncidentStore } from './store.js';
import type { ReportItem } from './render-report.js';
import { front } from './track.js';
import type { Evidence, Incident, Report, ScopeState } from './types.js';

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
    id: e.id,
    station: e.station,
    city: e.city,
    rule: e.rule,
    parameter: e.parameter,
    family,
    kind: e.kind,
    at: e.at,
    value: e.value,
    limit: e.limit,
    detail: e.detail,
    ...(e.breachSince !== undefined ? { breachSince: e.breachSince } : {}),
    ...(e.enqueuedAt !== undefined ? { enqueuedAt: e.enqueuedAt } : {}),
    ...(e.peak !== undefined ? { peak: e.peak } : {}),
    ...(e.peakAt !== undefined ? { peakAt: e.peakAt } : {}),
  };
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
    const pending = snap.items.slice(ripe.length);
    if (ripe.length === 0) {
      await placeUnplaced(ctx);
      await drainLater(ctx, scope, pending, snap.now, true);
      return [];
    }
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
    if (
      await ctx.incidents.commit(
        scope,
        snap.rev,
        state,
        ripe.map((r) => r.evidence.id),
        reports,
        [...changed.values()],
      )
    ) {
      await placeUnplaced(ctx);
      await scheduleTick(ctx, scope, nextDue(state, ectx));
      await drainLater(ctx, scope, pending, snap.now, false);
      return reports;
    }
  }
  // Not silently: the evidence would wait in the inbox for the next transition of this scope.
  throw new Error(`incident scope ${scope}: ${maxAttempts} commits lost to other workers in a row`);
}

/**
 * Evidence still in its reorder wait gets a drain when it ripens. Each transition's own drain job
 * is delayed by the scheduling host's clock while ripeness is Redis time: a job that ran early
 * (nothing ripe at all) must not be the last word, so its follow-up has an id of its own.
 */
async function drainLater(
  ctx: IncidentContext,
  scope: string,
  pending: Array<{ ripeAt: number }>,
  redisNow: number,
  early: boolean,
): Promise<void> {
  if (pending.length === 0) return;
  const ripeAt = Math.min(...pending.map((p) => p.ripeAt));
  const jobId = jobSafe(`incd.${scope}.${ripeAt}${early ? `.again${redisNow}` : ''}`);
  await ctx.incidentQueue.add('drain', { scope, type: 'drain' }, { jobId, delay: Math.max(0, ripeAt - redisNow) + 50 });
}

/** A close check of one scope at the notify clock. */
export async function runTick(ctx: IncidentContext, scope: string): Promise<Report[]> {
  const ectx = engineContext(ctx);
  for (let attempt = 0; attempt < 50; attempt++) {
    const snap = await ctx.incidents.snapshot(scope);
    const t = tick(snap.state, ctx.now(), ectx);
    if (t.reports.length === 0) {
      // Ran before its due time (the BullMQ delay is wall time on the scheduling host; the due
      // time is the notify clock of this one). Re-adding the same job id would be a no-op while
      // this job still exists, and the incident would never close: the re-check gets its own id.
      const due = nextDue(snap.state, ectx);
      await scheduleTick(ctx, scope, due, due !== null && due > ctx.now() ? `.again${ctx.now()}` : '');
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

/**
 * The incident a close check's report closed. The scope may no longer hold it: an incident whose
 * close falls more than a week before the notify clock (a station catching up on old readings)
 * is pruned in the same pass, and the report's snapshot is then the incident as it closed.
 */
function closedIncident(state: ScopeState, r: Report): Incident {
  return state.incidents.find((i) => i.id === r.incidentId) ?? r.incident;
}

async function scheduleTick(ctx: IncidentContext, scope: string, due: number | null, again = ''): Promise<void> {
  if (due === null) return;
  const delay = Math.max(0, Math.ceil((due - ctx.now()) / ctx.timeScale)) + 50;
  // One check per scope and due time; re-scheduling the same due time is a no-op.
  await ctx.incidentQueue.add('tick', { scope, type: 'tick' }, { jobId: jobSafe(`inct.${scope}.${due}${again}`), delay });
}

/** Who receives an incident's reports: the origin's own city, the cities the plume reached, and every city downstream on the river. */
export function bureausOf(ctx: NotifyContext, inc: Incident): string[] {
  const origin = ctx.registry.get(inc.origin);
  const known = new Set(Object.keys(ctx.config.recipients.bureaus));
  const out = new Set<string>();
  if (origin)
    for (const b of routeEvent(origin, inc.kind === 'river' ? 'limit' : 'aqi', ctx.registry, ctx.config.rivers, known).bureaus)
      out.add(b.bureau);
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

/**
 * Whether a report is for a bureau. The first and the last of an incident go to every bureau
 * concerned, and so does every report while the bureau has a stake. A bureau the plume has left
 * behind (its sections all back within limits) still hears when the plume reaches a
 * drinking-water intake or a boundary section, or arrives outside its window, but not the
 * routine follow-ups nor arrivals at the other city's ordinary sections.
 */
export function reportIsFor(ctx: NotifyContext, report: Report, bureau: string): boolean {
  const inc = report.incident;
  if (report.kind !== 'followup') return true;
  // An intake back within limits, and nothing else: news for the city that takes water there.
  if (
    report.reasons.every((r) => r.type === 'back') &&
    report.reasons.some((r) => r.type === 'back' && ctx.registry.get(r.station)?.drinking_water_intake)
  ) {
    return report.reasons.some((r) => r.type === 'back' && ctx.registry.get(r.station)?.city === bureau);
  }
  if (hasStake(inc, bureau)) return true;
  return report.reasons.some((r) => {
    if (r.type === 'miss') return true;
    if (r.type !== 'reached') return false;
    const st = ctx.registry.get(r.station);
    return st !== undefined && (st.drinking_water_intake || st.boundary);
  });
}

/**
 * Whether a bureau still has a stake in an open incident: one of its sections is over the limit,
 * or lies ahead of the front.
 */
export function hasStake(inc: Incident, bureau: string): boolean {
  const f = front(inc);
  return inc.sections.some(
    (s) =>
      s.city === bureau &&
      (s.firing.length > 0 || (s.observedAt === null && (f?.riverKm == null || s.riverKm === null || s.riverKm > f.riverKm))),
  );
}

/**
 * What the escalation list of a bureau that has not acknowledged hears after the escalation: the
 * end of the incident, and what changes the stakes (an intake or a boundary reached, a miss), not
 * every follow-up.
 */
function escalationNews(ctx: NotifyContext, report: Report): boolean {
  if (report.kind === 'final') return true;
  return report.reasons.some(
    (r) =>
      r.type === 'miss' ||
      (r.type === 'reached' && (ctx.registry.get(r.station)?.drinking_water_intake || ctx.registry.get(r.station)?.boundary)),
  );
}

async function placeReport(ctx: IncidentContext, report: Report): Promise<void> {
  const inc = report.incident;
  const all = bureausOf(ctx, inc);
  const bureaus = all.filter((b) => reportIsFor(ctx, report, b));
  const severity = reportSeverity(inc, ctx.registry, ctx.config.recipients.severity, report.receptors);
  const now = ctx.now();
  const created = await ctx.store.recordIncident(inc, all, severity, now, report);
  const links = ctx.config.recipients.links;
  const windowMs = links.grafana_window_h * 3_600_000;
  // The chart of the front: where the plume is now.
  const shown = ctx.registry.get(front(inc)?.station ?? inc.origin) ?? ctx.registry.get(inc.origin);
  const grafana = grafanaUrl(ctx.links.grafanaUrl, links.grafana_path, {
    station: shown?.id ?? inc.origin,
    city: shown?.city ?? '',
    parameter: inc.parameter,
    from: inc.openedAt - windowMs,
    to: report.at + windowMs,
  });
  const exp = Math.floor(created + links.ack_link_valid_days * 24 * 3_600_000);
  await ctx.store.saveCap(
    report.id,
    buildIncidentCap({
      report,
      registry: ctx.registry,
      severity,
      config: ctx.config.recipients.cap,
      web: grafana,
      rivers: ctx.config.rivers,
      bureaus,
      reportEveryMs: ctx.config.recipients.incidents.report_every_min * 60_000,
    }),
  );
  const record = await ctx.store.alert(inc.id);
  for (const bureau of bureaus) {
    // Reports are numbered per bureau (第 N 报): a bureau left out of one report sees no gap.
    const number = await ctx.store.reportNumber(inc.id, bureau, report.id);
    const item: ReportItem = {
      id: report.id,
      type: 'report',
      alertId: inc.id,
      bureau,
      roles: [],
      severity: report.kind === 'final' ? 'info' : severity,
      report,
      number,
      acks: record?.acks ?? {},
      firstAt: inc.openedAt,
      links: {
        grafana,
        ack: ackUrl(ctx.links.publicUrl, ctx.links.ackSecret, inc.id, bureau, exp),
        cap: capUrl(ctx.links.publicUrl, ctx.links.ackSecret, report.id, exp),
      },
    };
    // Its own lane per report, not per seq: two incidents open at once each have an r1, and one
    // e-mail renders one report (the other would be placed in the same batch and never sent).
    const placed = await placeForList(ctx, bureau, 'duty', item as never, report.id);
    const policy = bureauPolicy(ctx.config.recipients, bureau);
    // Once escalated, the escalation list gets every later report (the final one too) until the
    // bureau acknowledges.
    const esc = record?.escalations[bureau];
    if (esc && !record?.acks[bureau] && policy && policy.escalation.length > 0 && escalationNews(ctx, report)) {
      await placeForList(
        ctx,
        bureau,
        'escalation',
        { ...item, escalation: { ackTimeoutMs: policy.ackTimeoutMs, firedNotifiedAt: record.createdAt } } as never,
        `esc.${report.id}`,
      );
    }
    // One acknowledgement clock per bureau and incident, from the first report it receives.
    if (policy && policy.escalation.length > 0 && report.kind !== 'final') {
      await ctx.escalateQueue.add(
        'escalate',
        { alertId: inc.id, bureau, item: item as never },
        {
          jobId: `esc.${jobSafe(inc.id)}.${bureau}`,
          delay: Math.max(0, Math.ceil((placed.deliverAt - now) / ctx.timeScale)) + Math.ceil(policy.ackTimeoutMs / ctx.timeScale),
        },
      );
    }
  }
}
