/**
 * What the threshold store records: immutable versions, proposals waiting for consent, and the
 * exceptions below the national standard that both cities agreed to for a limited time.
 */
import type { ExplicitLimit, ThresholdsFile } from '../thresholds-schema.js';

/** Which explicit limit a change is about: the scope it is set at and the parameter. */
export type LimitTarget =
  | { scope: 'defaults'; param: string }
  | { scope: 'section'; section: number; sectionName?: string; param: string }
  | { scope: 'station'; station: string; param: string };

export type Scope = LimitTarget['scope'];

/** Who acts: an operator of one city (CLI: from the environment; API: from the token). */
export interface Actor {
  operator: string;
  city: string;
}

export interface Approval {
  by: string;
  city: string;
  at: number;
  comment?: string;
}

/**
 * `tighten` applies at once; `loosen` and `floor` (a tightening past the sanity floor) wait for the
 * other city; `exception` for both cities; `restore` is a city putting back, on its own stations,
 * a limit it had before the other city's changes (no consent needed).
 */
export type ChangeKind = 'seed' | 'tighten' | 'loosen' | 'floor' | 'exception' | 'exception-end' | 'restore';

/** One limit below the national standard, in force until `until` (then `restore` comes back). */
export interface ActiveException {
  /** The proposal that created it. */
  id: string;
  target: LimitTarget;
  value: ExplicitLimit;
  /** The explicit limit to put back at the end (null: none, i.e. the inherited/standard limit). */
  restore: ExplicitLimit | null;
  until: number;
  reason: string;
  approvals: Approval[];
}

/** How one station's limit in force moves (per averaging period for air). */
export interface StationEffect {
  station: string;
  period: 'hour' | 'day';
  before: string;
  after: string;
  direction: 'tighter' | 'looser' | 'same' | 'mixed';
  /** The national limit for the station's target class/grade, where the standard sets one. */
  national: string | null;
  /** The limit after the change is looser than `national`. */
  belowStandard: boolean;
  /** The sanity floor (absent in versions written before it existed). */
  floor?: string | null;
  /** The change tightens the limit to beyond `floor`. */
  belowFloor?: boolean;
}

export interface ThresholdVersion {
  version: number;
  parent: number | null;
  /** When it was applied (epoch ms). */
  at: number;
  kind: ChangeKind;
  by: string;
  /** The actor's city; null for the system (seed from file, an exception ending). */
  city: string | null;
  why: string;
  target?: LimitTarget;
  from?: ExplicitLimit | null;
  to?: ExplicitLimit | null;
  unit?: string;
  effects?: StationEffect[];
  proposal?: { id: string; by: string; city: string; at: number };
  /** A restore: the versions whose changes it undoes at the actor's own stations. */
  restores?: number[];
  approvals: Approval[];
  /** Exceptions in force with this version. */
  exceptions: ActiveException[];
  /** Cities told of this change (every city but the actor's). */
  announce: string[];
  /** Chinese first, English second: the InfluxDB annotation text. */
  summary: string;
  seed?: { source: string; fileVersion: string };
  config: ThresholdsFile;
}

/** A version without its configuration: what history lists. */
export type VersionEntry = Omit<ThresholdVersion, 'config'>;

export type ProposalStatus = 'pending' | 'applied' | 'rejected' | 'expired' | 'stale';

export interface Proposal {
  id: string;
  status: ProposalStatus;
  kind: 'loosen' | 'floor' | 'exception';
  target: LimitTarget;
  /** The explicit limit at the target when proposed (the consent is for moving from this). */
  from: ExplicitLimit | null;
  to: ExplicitLimit | null;
  unit: string;
  why: string;
  by: string;
  city: string;
  at: number;
  expiresAt: number;
  baseVersion: number;
  effects: StationEffect[];
  exception?: { reason: string; until: number };
  /** Cities whose approval is still missing. */
  needs: string[];
  approvals: Approval[];
  closed?: { at: number; by: string; city: string | null; why: string };
  appliedVersion?: number;
  summary: string;
}

export type ProposeResult = { outcome: 'applied'; version: VersionEntry } | { outcome: 'pending'; proposal: Proposal };

export type ApproveResult = { outcome: 'applied'; version: VersionEntry; proposal: Proposal } | { outcome: 'recorded'; proposal: Proposal };
