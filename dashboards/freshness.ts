/**
 * When a value counts as stale, and when a gap between points counts as an outage. Stations send a
 * reading every 10 min to 1 h (HJ 212 real-time and hourly data; the completeness panels' expected
 * interval defaults to 1 h): twice the slowest regular interval, 2 h, is late beyond doubt. A day
 * value (period "day") is older than that by nature; the tables say so in their descriptions.
 */
export const STALE_AFTER_MS = 2 * 3_600_000;

/** The same, as InfluxQL duration text. */
export const STALE_AFTER = '2h';

/** The pipeline's health points come every 10 s: a minute without one is an outage. */
export const HEALTH_GAP_MS = 60_000;
