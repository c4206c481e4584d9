/**
 * The incident model (docs/decisions/0010-incidents.md). Rule transitions are evidence; an
 * incident is one pollution event on one river (or, for air, one pollutant episode at one
 * station), with the plume's track along the sections it reached and the reports the bureaus
 * received. Everything here is plain JSON: the state of a scope is stored whole in Redis and
 * replaced by compare-and-set, like a series' alert state.
 */
import type { AlertDetail, RuleName } from '../observe.js';

export type ReportKind = 'initial' | 'followup' | 'final';

/** One rule transition as the incident engine reads it. */
export interface Evidence {
  /** The alert event id: applying the same evidence twice is a no-op. */
  id: string;
  station: string;
  city: string;
  rule: RuleName;
  parameter: string;
  /** Pollutant family (config/recipients.yaml `incidents.families`). */
  family: string;
  kind: 'firing' | 'reminder' | 'resolved';
  /** Event time (the reading behind it). */
  at: number;
  value: number | null;
  limit: number | null;
  detail: AlertDetail;
  /** Firing: when the run of breaches began (the front's arrival at the section). */
  breachSince?: number;
  /** Wall time the reading was handed to the checks (latency figures). */
  enqueuedAt?: number;
  /** The rule episode's worst breaching value so far, and when (from the checks' key state). */
  peak?: number;
  peakAt?: number;
}

/** An absolute time window, epoch ms. */
export interface Window {
  from: number;
  to: number;
}

export interface ParamTrack {
  peak: number;
  peakAt: number;
  last: number;
  lastAt: number;
  limit: number | null;
  limitKind: 'max' | 'min' | 'range' | null;
  unit: string;
  basis: string | null;
  /** Where a local limit stricter than the national one is in force: how to say so. */
  local?: { zh: string; en: string };
}

export interface SectionTrack {
  station: string;
  city: string;
  riverKm: number | null;
  intake: boolean;
  /** The window the latest report before the arrival gave (null: none was given). */
  predicted: Window | null;
  /** Seq of the report that gave `predicted`. */
  predictedIn: number | null;
  /** First exceedance: when the run of breaches that fired began. */
  observedAt: number | null;
  /** Observed outside the window given before: early, late. */
  miss: 'early' | 'late' | null;
  /** Concentrations (limit-rule evidence) by parameter. */
  params: Record<string, ParamTrack>;
  /** Rule keys (`rule.parameter`) firing now. */
  firing: string[];
  /** When the section was last back within every limit (null while firing). */
  backAt: number | null;
  /** The instrument reports a fault (D/F/B flags) at this section. */
  fault: boolean;
}

export interface Incident {
  id: string;
  scope: string;
  kind: 'river' | 'air';
  family: string;
  river: string | null;
  origin: string;
  /** Event time of the first exceedance. */
  openedAt: number;
  status: 'open' | 'closed';
  closedAt: number | null;
  /** The parameter the incident is named for (the pollutant of the first evidence). */
  parameter: string;
  /** What opened it, as the rule saw it (the 初报 may come before any concentration over the limit). */
  opening: { rule: string; parameter: string; value: number | null; limit: number | null; unit: string; cls?: string; target?: string };
  /** Upstream first (river km); air: the one station. */
  sections: SectionTrack[];
  /** Travel velocity from the observed arrivals, m/s (null until the front was seen at two sections). */
  observedVelocity: { min: number; max: number } | null;
  /** Arrivals outside the window given before, in order. */
  misses: Array<{ station: string; predicted: Window; observed: number }>;
  /** Opened on a rate or class rule (no concentration yet): the 初报 waits until a concentration
   *  over the limit is known, or until this time at the latest. */
  initialDueAt?: number | null;
  /** Reports issued so far; the last one's time and what it said, for "what changed". */
  seq: number;
  /** Event time of each report issued, by seq − 1 (CAP references). */
  reportTimes: number[];
  lastReportAt: number | null;
  lastReported: { peak: number | null; front: string | null; back: string[]; windows: Record<string, Window> } | null;
  /** Evidence applied (ids), newest last, bounded: a re-delivered transition is a no-op. */
  seen: string[];
}

export type ReportReason =
  | { type: 'opened' }
  | { type: 'reached'; station: string }
  | { type: 'miss'; station: string; early: boolean }
  | { type: 'narrowed' }
  | { type: 'peak' }
  | { type: 'back'; station: string }
  | { type: 'fault'; station: string }
  | { type: 'periodic' }
  | { type: 'dissipated'; station: string }
  | { type: 'closed' };

/** A drinking-water intake (or other sensitive receptor) in the plume's path, as a report saw it. */
export interface ReceptorStatus {
  id: string;
  name: { zh: string; en: string };
  kind: string;
  riverKm: number;
  /** The owner city, and whom to call. */
  city: string;
  contact: { name: string; phone?: string; email?: string };
  station: string | null;
  /** The front has reached (or passed) it. */
  reached: boolean;
  /** When the plume was first seen at its section, if it has one. */
  reachedAt: number | null;
  /** Still over the limit at its section. */
  affected: boolean;
  /** The window given for it, while ahead of the front. */
  window: Window | null;
}

/** A report as issued: the incident as it stood then, so every attempt renders the same e-mail. */
export interface Report {
  id: string;
  incidentId: string;
  seq: number;
  kind: ReportKind;
  /** Engine time of the report (the evidence, or the clock of a closing check). */
  at: number;
  reasons: ReportReason[];
  incident: Incident;
  /** Windows ahead of the front at this report, by station. */
  windows: Record<string, Window>;
  /** Intakes and other receptors from the origin down, upstream first. */
  receptors: ReceptorStatus[];
  /** Wall time the triggering reading was handed to the checks (latency figures). */
  enqueuedAt?: number;
}

/** The state of one scope: a river and pollutant family, or an air station and family. */
export interface ScopeState {
  rev: number;
  incidents: Incident[];
}

export function emptyScope(): ScopeState {
  return { rev: 0, incidents: [] };
}
