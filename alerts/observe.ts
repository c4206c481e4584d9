/**
 * What one reading says about each alert key of its station, given the thresholds in force: every
 * rule of the table (alerts/rules/) in turn. Pure, apart from the previous values the rate rule
 * compares with (passed in and out), so the same reading under the same thresholds always yields
 * the same observations.
 */
import { POLLUTION_RELEVANT_FLAGS } from '../lib/parameters.js';
import type { Reading } from '../lib/reading.js';
import type { Station } from '../config/station-registry.js';
import { RULES } from './rules/index.js';
import type { PrevValues, RuleObservation } from './rules/rule.js';
import type { StationProfile } from './station-profile.js';

export { classify } from './rules/common.js';
export type { AlertDetail, PrevValues, RuleName, RuleObservation } from './rules/rule.js';

export function relevant(reading: Reading, param: string): boolean {
  const flag = reading.flags[param];
  return flag === undefined || POLLUTION_RELEVANT_FLAGS.has(flag);
}

export interface ObserveResult {
  observations: RuleObservation[];
  prev: PrevValues;
}

/**
 * Observations of one reading. A parameter flagged anything but N or T gives no pollution
 * observation (its key's state stays as it was) and is not used by the rate, class or AQI rules.
 */
export function observe(reading: Reading, station: Station, profile: StationProfile, prev: PrevValues): ObserveResult {
  const valid: Record<string, number> = {};
  for (const [param, v] of Object.entries(reading.values)) if (relevant(reading, param) && Number.isFinite(v)) valid[param] = v;
  const ctx = { reading, station, profile, prev, valid };
  const observations = RULES.flatMap((r) => r.observe(ctx));
  // The series remembers every usable value, watched by the rate rule or not, so that a rate
  // enabled later (or a parameter added to per_hour) has something to compare with.
  const next: PrevValues = { ...prev };
  for (const [param, v] of Object.entries(valid)) next[param] = { v, ts: reading.ts };
  return { observations, prev: next };
}
