/**
 * The calendar the aggregates are kept in. Hours are UTC hours (China Standard Time is UTC+8 with
 * no daylight saving, so they are also CST hours); days, months and years are China Standard Time
 * ones, as the bureaus report them (a day is 00:00–24:00 Beijing time). Each window is stored at
 * its start, as HJ 212 dates an hourly or daily value (docs/domain.md §3).
 */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
const CST_OFFSET_MS = 8 * HOUR_MS;

export type Window = 'hour' | 'day' | 'month' | 'year';

export function hourStart(ts: number): number {
  return Math.floor(ts / HOUR_MS) * HOUR_MS;
}

export function cstDayStart(ts: number): number {
  return Math.floor((ts + CST_OFFSET_MS) / DAY_MS) * DAY_MS - CST_OFFSET_MS;
}

/** The CST calendar date of an instant, as a UTC Date at midnight of that date (for its Y/M/D). */
function cstDate(ts: number): Date {
  return new Date(cstDayStart(ts) + CST_OFFSET_MS);
}

export function cstMonthStart(ts: number): number {
  const d = cstDate(ts);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - CST_OFFSET_MS;
}

export function cstYearStart(ts: number): number {
  return Date.UTC(cstDate(ts).getUTCFullYear(), 0, 1) - CST_OFFSET_MS;
}

/** The start of the window containing ts, and the start of the next one. */
export function windowOf(w: Window, ts: number): { start: number; end: number } {
  switch (w) {
    case 'hour': {
      const start = hourStart(ts);
      return { start, end: start + HOUR_MS };
    }
    case 'day': {
      const start = cstDayStart(ts);
      return { start, end: start + DAY_MS };
    }
    case 'month': {
      const start = cstMonthStart(ts);
      const d = cstDate(ts);
      return { start, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - CST_OFFSET_MS };
    }
    case 'year': {
      const start = cstYearStart(ts);
      return { start, end: Date.UTC(cstDate(ts).getUTCFullYear() + 1, 0, 1) - CST_OFFSET_MS };
    }
  }
}

/** Days in the CST month containing ts (February's validity threshold differs). */
export function daysInMonth(ts: number): number {
  const { start, end } = windowOf('month', ts);
  return Math.round((end - start) / DAY_MS);
}

/** Whether the CST month containing ts is February. */
export function isFebruary(ts: number): boolean {
  return cstDate(ts).getUTCMonth() === 1;
}
