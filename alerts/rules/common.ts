/**
 * Helpers several rules share: classifying a value against a limit with hysteresis, the timing of
 * a rule under a profile, and number formatting for the one-line wording.
 */
import { compareToScaled } from '../../lib/standards/decimal.js';
import type { Limit } from '../../lib/standards/index.js';
import type { StationProfile } from '../station-profile.js';
import type { Condition, Timing } from '../state-machine.js';
import { num } from '../../lib/format.js';

/**
 * breach/band/clear of a value against a limit with hysteresis h (limits and clear levels are
 * inclusive). Clear levels are computed in decimal, as written: with pH 6–9 and h = 0.1 a pH of
 * exactly 6.6 is clear, not 6.6000000000000005 and "band".
 */
export function classify(value: number, limit: Limit, h: number): Condition {
  switch (limit.kind) {
    case 'max':
      return value > limit.value ? 'breach' : compareToScaled(value, limit.value, h, -1) <= 0 ? 'clear' : 'band';
    case 'min':
      return value < limit.value ? 'breach' : compareToScaled(value, limit.value, h, 1) >= 0 ? 'clear' : 'band';
    case 'range':
      if (value < limit.min || value > limit.max) return 'breach';
      return compareToScaled(value, limit.min, h, 1) >= 0 && compareToScaled(value, limit.max, h, -1) <= 0 ? 'clear' : 'band';
  }
}

export function limitValue(limit: Limit): number {
  return limit.kind === 'range' ? limit.max : limit.value;
}

export function limitText(limit: Limit): string {
  return limit.kind === 'max' ? `≤ ${limit.value}` : limit.kind === 'min' ? `≥ ${limit.value}` : `${limit.min}–${limit.max}`;
}

export function reminderMs(profile: StationProfile): number | null {
  return profile.reminderMin === null ? null : profile.reminderMin * 60_000;
}

export function timingOf(
  r: { consecutive: number; duration_min?: number | null; clear_consecutive: number },
  profile: StationProfile,
): Timing {
  return {
    consecutive: r.consecutive,
    durationMs: r.duration_min ? r.duration_min * 60_000 : null,
    clearConsecutive: r.clear_consecutive,
    reminderMs: reminderMs(profile),
  };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Six significant digits, no trailing zeros; '–' for no value (lib/format.ts). */
export { num };
