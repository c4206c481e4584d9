/**
 * What a rule is. Every rule of the checks is one object of this shape in its own file, listed once
 * in alerts/rules/index.ts; the observation loop, the one-line wording, the severity, the CAP event,
 * the routing down the river and the thresholds schema all read the rule from that table, so a new
 * rule is one file and one line there.
 */
import type { z } from 'zod';
import type { SeverityPolicy } from '../../config/recipients-schema.js';
import type { DataFlag } from '../../lib/parameters.js';
import type { Reading } from '../../lib/reading.js';
import type { Limit, WaterClass } from '../../lib/standards/index.js';
import type { Station } from '../../config/station-registry.js';
import type { StationProfile } from '../station-profile.js';
import type { EventKind, Observation, Timing } from '../state-machine.js';

/** How bad an alert is (subject lines, CAP <severity>, quiet hours): each rule judges its own. */
export type Severity = 'severe' | 'warning' | 'info';

export type RuleName = 'limit' | 'rate' | 'water_class' | 'aqi' | 'equipment' | 'silence';

export interface AlertDetail {
  unit?: string;
  basis?: string;
  limitKind?: Limit['kind'];
  limitText?: string;
  /**
   * Where the limit in force is a local one stricter than the national standard: the national
   * limit for the station's target class (water) or grade (air), so the notice can name both.
   */
  nationalLimit?: number;
  nationalLimitText?: string;
  nationalBasis?: string;
  /** GB 3838 class of the national limit (water only). */
  nationalClass?: WaterClass;
  cls?: WaterClass;
  target?: WaterClass;
  limiting?: string[];
  /** Class and AQI episodes: the deciding parameters when the episode fired (its pollutant family). */
  cause?: string[];
  aqiStandard?: string;
  category?: string;
  categoryEn?: string;
  primary?: string[];
  faults?: Record<string, DataFlag>;
  ratePerHour?: number;
  /** Silence: when the station was last heard from (null: never since start-up). */
  lastSeenAt?: number | null;
}

export interface RuleObservation extends Observation {
  /** State key within the series: `limit.NH3N`, `rate.NH3N`, `water_class`, `aqi`, `equipment`. */
  key: string;
  rule: RuleName;
  /** A parameter key, or `class` / `AQI` / `equipment` / `silence` for whole-station rules. */
  parameter: string;
  timing: Timing;
  /** Human detail for the notice: unit, the standard behind the limit, class, AQI category ... */
  detail: AlertDetail;
}

/** The latest usable value of each parameter in a series, for the rate rule. */
export type PrevValues = Record<string, { v: number; ts: number }>;

/** What a rule sees of one reading. */
export interface ObserveContext {
  reading: Reading;
  station: Station;
  profile: StationProfile;
  /** The previous usable value of each parameter of the series (before this reading). */
  prev: Readonly<PrevValues>;
  /** The reading's values that may speak about pollution: finite, and flagged N or T (or not at all). */
  valid: Readonly<Record<string, number>>;
}

/** What the one-line wording of an event needs. */
export interface WordingInput {
  parameter: string;
  kind: EventKind;
  value: number | null;
  limit: number | null;
  detail: AlertDetail;
}

/** What severity needs of an event. */
export interface SeverityInput {
  kind: EventKind;
  rule: RuleName;
  parameter: string;
  value: number | null;
  limit: number | null;
  detail: AlertDetail;
}

/** CAP 1.2 <category> values this system uses. */
export type CapCategory = 'Env' | 'Infra';

export interface Rule<N extends RuleName = RuleName, S extends z.ZodObject = z.ZodObject> {
  name: N;
  /** Observations of one reading; a time-driven rule (silence) observes nothing here. */
  observe(ctx: ObserveContext): RuleObservation[];
  /** Chinese and English one-liners of the measurement, for the annotation and the log. */
  wording(m: WordingInput): { zh: string; en: string };
  cap: {
    /** <event> text, after "水质 氨氮" / "Water quality: Ammonia nitrogen". */
    event: { zh: string; en: string };
    category: CapCategory;
    /** Whether the <event> names the parameter (limit, rate) or the rule is about the whole station. */
    namesParameter: boolean;
  };
  /** How bad a firing or reminder is; resolves are 'info' before this is asked. */
  severity(e: SeverityInput, station: Station, policy: SeverityPolicy): Severity;
  /** Whether an alert of this rule at a river section says something about the water downstream. */
  travelsDownstream: boolean;
  /** Its entry under `rules:` in thresholds.yaml: the full schema and the defaults it starts from. */
  config: { schema: S; defaults: z.input<S> };
}
