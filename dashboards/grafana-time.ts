/**
 * A dashboard's default time range and panel interval as Grafana computes them, for running every
 * query "as Grafana would" outside Grafana (the dashboards benchmark). Relative ranges of the forms
 * our dashboards use: now, now-<n><unit>, with /<unit> rounding (start of the unit for `from`,
 * end for `to`), in the dashboard's time zone; the interval is the range over the panel's data
 * points rounded down to one of Grafana's round intervals (@grafana/data rangeutil
 * `calculateInterval`/`roundInterval`, approximated by its table of steps).
 */
import { TuojiangError } from '../lib/errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** Calendar arithmetic in a fixed offset from UTC (China Standard Time: +8 h, no daylight saving). */
function shift(ts: number, n: number, unit: string, offsetMs: number): number {
  if (UNIT_MS[unit]) return ts + n * (UNIT_MS[unit] as number);
  const d = new Date(ts + offsetMs);
  if (unit === 'M') d.setUTCMonth(d.getUTCMonth() + n);
  else if (unit === 'y') d.setUTCFullYear(d.getUTCFullYear() + n);
  else throw new TuojiangError('INVALID_VALUE', `time unit ${unit} not modelled`);
  return d.getTime() - offsetMs;
}

function startOf(ts: number, unit: string, offsetMs: number): number {
  const d = new Date(ts + offsetMs);
  switch (unit) {
    case 'y':
      return Date.UTC(d.getUTCFullYear(), 0, 1) - offsetMs;
    case 'M':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - offsetMs;
    case 'd':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - offsetMs;
    case 'h':
      return Math.floor(ts / 3_600_000) * 3_600_000;
    default:
      throw new TuojiangError('INVALID_VALUE', `rounding to ${unit} not modelled`);
  }
}

/** `now`, `now-24h`, `now-12M/M`, `now/M` … → epoch ms; `roundUp` for a range's end. */
export function resolveRelative(expr: string, now: number, roundUp: boolean, offsetMs = 8 * 3_600_000): number {
  const m = /^now(?:([+-])(\d+)([smhdwMy]))?(?:\/([smhdwMy]))?$/.exec(expr);
  if (!m) throw new TuojiangError('INVALID_VALUE', `time expression ${expr} not modelled`);
  let t = now;
  if (m[1]) t = shift(t, (m[1] === '-' ? -1 : 1) * Number(m[2]), m[3] as string, offsetMs);
  if (m[4]) t = roundUp ? startOf(shift(startOf(t, m[4], offsetMs), 1, m[4], offsetMs), m[4], offsetMs) - 1 : startOf(t, m[4], offsetMs);
  return t;
}

const ROUND_INTERVALS_MS = [
  10,
  20,
  50,
  100,
  200,
  500,
  1000,
  2000,
  5000,
  10_000,
  15_000,
  20_000,
  30_000,
  60_000,
  120_000,
  300_000,
  600_000,
  900_000,
  1_200_000,
  1_800_000,
  3_600_000,
  7_200_000,
  10_800_000,
  21_600_000,
  43_200_000,
  86_400_000,
  7 * 86_400_000,
  30 * 86_400_000,
  365 * 86_400_000,
];

/** $__interval for a range over `maxDataPoints` (a panel's width in pixels; Grafana's default is the width). */
export function panelInterval(fromMs: number, toMs: number, maxDataPoints = 1000): number {
  const raw = (toMs - fromMs) / maxDataPoints;
  let best = ROUND_INTERVALS_MS[0] as number;
  for (const r of ROUND_INTERVALS_MS) if (r <= raw) best = r;
  return best;
}
