/**
 * How much valid data a mean needs before it is published (docs/domain.md §6). Air: GB 3095-2012
 * Table 4 and HJ 663-2013; water: GB 3838 and the 2011 evaluation method set no minimum for
 * automatic stations, so the water rules are ours, by analogy with the air rules, and named so.
 */
import type { DataFlag } from '../lib/parameters.js';
import { isFebruary } from './windows.js';

/** Only values flagged N are valid data; every other flag (T included) leaves the value out of the means. */
export function isValidFlag(flag: DataFlag | undefined): boolean {
  return flag === undefined || flag === 'N';
}

/** An hourly mean needs at least 45 minutes of the hour covered by valid readings (GB 3095-2012 Table 4). */
export const MIN_VALID_MINUTES_PER_HOUR = 45;

/** A 24-h mean needs at least 20 valid hourly means in the (CST) day (GB 3095-2012 Table 4). */
export const MIN_VALID_HOURS_PER_DAY = 20;

/** An O3 8-h mean needs at least 6 valid hourly means among its 8 hours (GB 3095-2012 Table 4). */
export const MIN_VALID_HOURS_PER_8H = 6;

/**
 * The daily maximum 8-h O3 mean is taken over the 17 windows ending 08:00 to 24:00 of the day, of
 * which at least 14 must be valid (HJ 663-2013).
 */
export const O3_8H_WINDOWS_PER_DAY = 17;
export const MIN_VALID_O3_8H_WINDOWS = 14;

/** Monthly means need 27 valid daily means (25 in February); annual ones 324 (GB 3095-2012 Table 4). */
export function minValidDaysPerMonth(monthStart: number): number {
  return isFebruary(monthStart) ? 25 : 27;
}
export const MIN_VALID_DAYS_PER_YEAR = 324;

/**
 * Water: our rule, not a standard's. A section's hourly mean needs 45 minutes covered (as for
 * air); its daily mean 18 valid hours (75 %, as 45 of 60 minutes); a month or a year is assessed
 * on the valid daily means it has (the 2011 evaluation method classes a month on as little as one
 * manual sample), and the number of valid days is published beside the class.
 */
export const WATER_MIN_VALID_HOURS_PER_DAY = 18;
export const WATER_MIN_VALID_DAYS_PER_PERIOD = 1;

/**
 * Minutes of an hour covered by valid readings of one parameter: each reporting slot (the
 * station's interval) with a valid reading covers the slot, capped at the hour. A station
 * reporting more often than its interval does not get more than 60 minutes out of it.
 */
export function coveredMinutes(validSlots: number, intervalS: number): number {
  return Math.min(60, (validSlots * intervalS) / 60);
}

/** Readings a station is expected to send in an hour (a quarter for a station reporting every 4 h). */
export function expectedPerHour(intervalS: number): number {
  return 3600 / intervalS;
}
