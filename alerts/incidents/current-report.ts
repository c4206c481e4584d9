/**
 * The incident as its latest report would word it now: the stored incident (as the engine last
 * committed it) with the windows ahead of its front recomputed, so the ack page and the e-mails
 * use the same phrases (wording.ts) and the same windows (track.ts) for the same state.
 */
import { receptorStatus, type EngineContext } from './engine.js';
import { windowsAhead } from './track.js';
import type { Incident, Report, ReportKind } from './types.js';

export function latestReportKind(inc: Incident): ReportKind {
  if (inc.status === 'closed') return 'final';
  return inc.seq <= 1 ? 'initial' : 'followup';
}

export function currentReport(inc: Incident, ctx: EngineContext): Report {
  return {
    id: `${inc.id}.r${inc.seq}`,
    incidentId: inc.id,
    seq: inc.seq,
    kind: latestReportKind(inc),
    at: inc.reportTimes[inc.reportTimes.length - 1] ?? inc.openedAt,
    reasons: [],
    incident: inc,
    // A closed incident has nothing ahead of it (as its final report said).
    windows: inc.status === 'open' ? windowsAhead(inc, ctx.rivers, { velocityMargin: ctx.policy.velocity_margin }) : {},
    receptors: receptorStatus(inc, ctx),
  };
}
