/**
 * The table of rules. Observation order, the thresholds schema's `rules:` entries, the one-line
 * wording, severity, CAP events and routing down the river all come from here: a new rule is a
 * file in this folder and a line below.
 */
import { aqi } from './aqi.js';
import { equipment } from './equipment.js';
import { limit } from './limit.js';
import { rate } from './rate.js';
import type { Rule, RuleName } from './rule.js';
import { silence } from './silence.js';
import { waterClass } from './water-class.js';

export const RULES = [limit, rate, waterClass, aqi, equipment, silence] as const;

export type AnyRule = (typeof RULES)[number];

export const RULE_BY_NAME: { readonly [R in AnyRule as R['name']]: R } = Object.freeze(
  Object.fromEntries(RULES.map((r) => [r.name, r])) as { [R in AnyRule as R['name']]: R },
);

/** The rule of an event, as the common interface (for callers that only know the name). */
export function ruleNamed(name: RuleName): Rule {
  return RULE_BY_NAME[name] as unknown as Rule;
}

export type { AlertDetail, ObserveContext, PrevValues, Rule, RuleName, RuleObservation, SeverityInput, WordingInput } from './rule.js';

/** A RuleName without a rule in the table does not compile. */
type Unlisted = Exclude<RuleName, AnyRule['name']>;
export const EVERY_RULE_LISTED: [Unlisted] extends [never] ? true : false = true;
