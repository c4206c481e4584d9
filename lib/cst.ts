/**
 * China Standard Time: UTC+8 all year, no daylight saving (docs/domain.md). Every time a person
 * reads (e-mails, pages, the CLI, CAP), every HJ 212 DataTime and every "day" of the standards is in
 * it, whatever zone the machine runs in; one offset and one set of formats, here.
 */
export const CST_OFFSET_MS = 8 * 3_600_000;

/** `2026-05-01T09:00:00.000Z` shifted so that its UTC fields read China Standard Time. */
function shifted(ms: number): string {
  return new Date(ms + CST_OFFSET_MS).toISOString();
}

/** `2026-05-01 09:00` (China Standard Time). */
export function cstMinute(ms: number): string {
  return shifted(ms).slice(0, 16).replace('T', ' ');
}

/** `05-01 09:00` (China Standard Time): within a report, where the year goes without saying. */
export function cstMonthDayMinute(ms: number): string {
  return shifted(ms).slice(5, 16).replace('T', ' ');
}

/** `2026-05-01T09:00:00+08:00`: ISO 8601 with the offset, to the second (CAP, the wire contract). */
export function cstIso(ms: number): string {
  return `${shifted(Math.floor(ms / 1000) * 1000).slice(0, 19)}+08:00`;
}

/** A Date whose UTC fields (getUTCHours …) are the China Standard Time ones of `ms`. */
export function cstFields(ms: number): Date {
  return new Date(ms + CST_OFFSET_MS);
}
