/**
 * Simulated time. The simulated clock runs `speed` times faster than the wall clock and starts in
 * the past, far enough that it reaches at most the wall clock's "now" when the run ends: readings
 * are never dated in the future (the ingest rejects those beyond its tolerance, and a bureau must
 * never see a reading from tomorrow).
 */
import { CST_OFFSET_MS } from '../lib/cst.js';

/** China Standard Time (lib/cst.ts). Diurnal cycles follow local solar-ish time. */
export { CST_OFFSET_MS };
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Fractional hour of the day in China Standard Time, 0 ≤ h < 24. */
export function cstHourOfDay(ts: number): number {
  const local = (ts + CST_OFFSET_MS) % DAY_MS;
  return (local < 0 ? local + DAY_MS : local) / HOUR_MS;
}

/** Fractional day of the year in China Standard Time, 0 on 1 January 00:00. */
export function cstDayOfYear(ts: number): number {
  const d = new Date(ts + CST_OFFSET_MS);
  const jan1 = Date.UTC(d.getUTCFullYear(), 0, 1);
  return (d.getTime() - jan1) / DAY_MS;
}

/** First multiple of `intervalMs` (on the epoch grid, which is also the CST hour grid) at or after ts. */
export function ceilToGrid(ts: number, intervalMs: number): number {
  return Math.ceil(ts / intervalMs) * intervalMs;
}

export interface SimClock {
  readonly wallStart: number;
  readonly simStart: number;
  readonly speed: number;
  /** Simulated instant at wall time `wall`. */
  toSim(wall: number): number;
  /** Wall time at which the simulated clock shows `sim`. */
  toWall(sim: number): number;
}

export interface ClockOptions {
  wallStart: number;
  speed: number;
  /** Wall-clock length of the run; Infinity for a run that goes on until stopped. */
  durationMs: number;
  /** Simulated start for an unbounded run (how far back it begins). Default 0 (it starts now). */
  backfillMs?: number;
  /** Explicit simulated start (tests, replays); must leave the end at or before the wall clock. */
  simStart?: number;
}

/**
 * A bounded run starts `durationMs × (speed − 1)` in the past, so at its last instant the simulated
 * clock equals the wall clock. An unbounded run starts `backfillMs` in the past and, once it has
 * caught up, follows the wall clock (the simulated clock is never allowed past it).
 */
export function createClock(o: ClockOptions): SimClock {
  if (!(o.speed > 0) || !Number.isFinite(o.speed)) throw new RangeError(`speed must be a positive number, got ${o.speed}`);
  const bounded = Number.isFinite(o.durationMs);
  const lead = bounded ? Math.max(0, o.durationMs * (o.speed - 1)) : Math.max(0, o.backfillMs ?? 0);
  const simStart = o.simStart ?? o.wallStart - lead;
  const { wallStart, speed } = o;
  return {
    wallStart,
    simStart,
    speed,
    toSim: (wall) => Math.min(simStart + (wall - wallStart) * speed, wall),
    toWall: (sim) => {
      const paced = wallStart + (sim - simStart) / speed;
      // Once caught up with the wall clock, simulated time is wall time.
      return Math.max(paced, sim);
    },
  };
}
