/**
 * How long water takes between two points of a river, as a range: distance along each reach
 * divided by that reach's fastest (earliest arrival) and slowest (latest arrival) velocity.
 * The ranges are then rounded outwards to a granularity that matches their size, so a notice says
 * "12–48 h", never "17 h 23 min".
 */
import type { RiversFile } from '../../config/rivers-schema.js';

export interface TravelRange {
  minMs: number;
  maxMs: number;
}

/** Travel time from km `fromKm` down to km `toKm` (0 when `toKm` is not downstream). */
export function travelTime(rivers: RiversFile, river: string, fromKm: number, toKm: number): TravelRange | undefined {
  const reaches = rivers.rivers[river]?.reaches;
  if (!reaches) return undefined;
  if (toKm <= fromKm) return { minMs: 0, maxMs: 0 };
  let minS = 0;
  let maxS = 0;
  let covered = 0;
  for (const r of reaches) {
    const a = Math.max(fromKm, r.from_km);
    const b = Math.min(toKm, r.to_km);
    if (b <= a) continue;
    const metres = (b - a) * 1000;
    minS += metres / r.velocity.max_m_s;
    maxS += metres / r.velocity.min_m_s;
    covered += b - a;
  }
  // A stretch outside every reach has no velocity: no estimate rather than a wrong one.
  if (covered + 1e-9 < toKm - fromKm) return undefined;
  return { minMs: minS * 1000, maxMs: maxS * 1000 };
}

const MIN = 60_000;
const HOUR = 60 * MIN;

/** The rounding step for a time of `ms`: coarser the further out. */
export function granularity(ms: number): number {
  if (ms <= 3 * HOUR) return 15 * MIN;
  if (ms <= 24 * HOUR) return HOUR;
  if (ms <= 72 * HOUR) return 3 * HOUR;
  return 12 * HOUR;
}

/**
 * The range widened to whole steps, each end at the step of its own size: min rounded down, max
 * rounded up (never narrower than computed).
 */
export function roundRange(r: TravelRange): TravelRange {
  const gMin = granularity(r.minMs);
  const gMax = granularity(r.maxMs);
  const minMs = Math.floor(r.minMs / gMin) * gMin;
  let maxMs = Math.ceil(r.maxMs / gMax) * gMax;
  if (maxMs <= minMs) maxMs = minMs + gMax;
  return { minMs, maxMs };
}

const UNITS = {
  min: { ms: MIN, zh: '分钟', en: 'min' },
  h: { ms: HOUR, zh: '小时', en: 'h' },
  d: { ms: 24 * HOUR, zh: '天', en: 'days' },
} as const;

function unitFor(ms: number): keyof typeof UNITS {
  return ms < 2 * HOUR ? 'min' : ms < 48 * HOUR ? 'h' : 'd';
}

function amount(ms: number, unit: keyof typeof UNITS): string {
  return String(Number((ms / UNITS[unit].ms).toFixed(2)));
}

/** "约 18–45 小时", "约 18 小时 – 5.5 天" / "18–45 h", "18 h – 5.5 days". */
export function formatRange(r: TravelRange, lang: 'zh' | 'en'): string {
  const { minMs, maxMs } = roundRange(r);
  const ua = unitFor(minMs);
  const ub = unitFor(maxMs);
  const a = amount(minMs, ua);
  const b = amount(maxMs, ub);
  const text = ua === ub ? `${a}–${b} ${UNITS[ub][lang]}` : `${a} ${UNITS[ua][lang]} – ${b} ${UNITS[ub][lang]}`;
  return lang === 'zh' ? `约 ${text}` : text;
}
