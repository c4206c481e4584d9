/**
 * Quiet hours, in China Standard Time (UTC+8, no daylight saving): a non-severe notice raised
 * inside them is held until they end. Severe notices are never held (the caller decides that).
 */
import type { QuietHoursConfig } from '../../config/recipients-schema.js';
import { CST_OFFSET_MS } from '../../lib/cst.js';

const DAY_MS = 24 * 3_600_000;

function minutes(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

/** When the quiet hours `now` falls in end (epoch ms), or null when `now` is not inside them. */
export function quietUntil(now: number, q: QuietHoursConfig | null): number | null {
  if (!q) return null;
  const local = now + CST_OFFSET_MS;
  const dayStart = Math.floor(local / DAY_MS) * DAY_MS;
  const m = (local - dayStart) / 60_000;
  const from = minutes(q.from);
  const to = minutes(q.to);
  const inside = from < to ? m >= from && m < to : m >= from || m < to;
  if (!inside) return null;
  let end = dayStart + to * 60_000;
  if (end <= local) end += DAY_MS;
  return end - CST_OFFSET_MS;
}
