/**
 * The instants at which the standards change. Standards take effect at local midnight in China
 * (UTC+8, no daylight saving), so each instant is 16:00 UTC on the previous day.
 * Kept as epoch milliseconds so no caller can mutate them.
 */
import { TuojiangError } from '../errors.js';

/** HJ 633-2026 and GB 3095-2026 replace the 2012 versions on 2026-03-01 (docs/domain.md §2). */
export const AIR_2026_IN_FORCE_MS = Date.parse('2026-03-01T00:00:00+08:00');

/** GB 3095-2026 final limits replace its transition limits on 2031-01-01 (docs/domain.md §2). */
export const GB3095_2026_FINAL_IN_FORCE_MS = Date.parse('2031-01-01T00:00:00+08:00');

export function assertValidDate(date: Date, what: string): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TuojiangError('INVALID_TIMESTAMP', `${what}: not a valid date`, { date: String(date) });
  }
}
