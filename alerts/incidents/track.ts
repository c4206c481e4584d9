/**
 * The plume's track: where the front is, how fast it has been moving, and when it may reach each
 * section ahead. Windows are anchored on the observed front (the furthest section where the
 * pollutant was seen, at the time it was first seen there), never on when a notice went out.
 * Before the front has been seen at two sections they come from the configured reach velocities
 * (config/rivers.yaml); after, from the observed travel velocities, widened by a margin and never
 * narrower than the spread of what was observed. Once an arrival has fallen outside its window,
 * the configured range is added back in: a river that surprised us once may do it again.
 */
import type { RiversFile } from '../../config/rivers-schema.js';
import { travelTime, roundRange } from '../notify/travel-time.js';
import type { Incident, SectionTrack, Window } from './types.js';

export interface TrackPolicy {
  velocityMargin: number;
}

/** The observed sections of a river incident, upstream first. */
export function observed(inc: Incident): SectionTrack[] {
  return inc.sections
    .filter((s) => s.observedAt !== null && s.riverKm !== null)
    .sort((a, b) => (a.riverKm as number) - (b.riverKm as number));
}

/** The furthest section downstream where the front was seen. */
export function front(inc: Incident): SectionTrack | undefined {
  const o = observed(inc);
  return o[o.length - 1];
}

/**
 * Travel velocities between successive observed arrivals, m/s (pairs where the downstream
 * arrival was not later than the upstream one say nothing about speed and are skipped).
 */
export function observedVelocities(inc: Incident): number[] {
  const o = observed(inc);
  const out: number[] = [];
  for (let i = 1; i < o.length; i++) {
    const a = o[i - 1] as SectionTrack;
    const b = o[i] as SectionTrack;
    const dt = (b.observedAt as number) - (a.observedAt as number);
    const dm = ((b.riverKm as number) - (a.riverKm as number)) * 1000;
    if (dt > 0 && dm > 0) out.push(dm / (dt / 1000));
  }
  return out;
}

export function velocityRange(inc: Incident): { min: number; max: number } | null {
  const v = observedVelocities(inc);
  if (v.length === 0) return null;
  return { min: Math.min(...v), max: Math.max(...v) };
}

/** The window in which the front may reach river km `km` (undefined: not ahead of the front, or no estimate). */
export function predictWindow(inc: Incident, km: number, rivers: RiversFile, p: TrackPolicy): Window | undefined {
  const f = front(inc);
  if (!inc.river || !f) return undefined;
  // front() only returns sections observed and with a river km.
  const frontKm = f.riverKm as number;
  const frontAt = f.observedAt as number;
  if (km <= frontKm) return undefined;
  const configured = travelTime(rivers, inc.river, frontKm, km);
  const dm = (km - frontKm) * 1000;
  let minMs: number | undefined;
  let maxMs: number | undefined;
  const v = inc.observedVelocity;
  if (v) {
    minMs = (dm / (v.max * (1 + p.velocityMargin))) * 1000;
    maxMs = (dm / (v.min * (1 - p.velocityMargin) || Number.MIN_VALUE)) * 1000;
  }
  if (configured && (!v || inc.misses.length > 0)) {
    minMs = minMs === undefined ? configured.minMs : Math.min(minMs, configured.minMs);
    maxMs = maxMs === undefined ? configured.maxMs : Math.max(maxMs, configured.maxMs);
  }
  if (minMs === undefined || maxMs === undefined || !Number.isFinite(maxMs)) return undefined;
  const r = roundRange({ minMs, maxMs });
  return { from: frontAt + r.minMs, to: frontAt + r.maxMs };
}

/** Windows for every section ahead of the front that has not been reached. */
export function windowsAhead(inc: Incident, rivers: RiversFile, p: TrackPolicy): Record<string, Window> {
  const out: Record<string, Window> = {};
  for (const s of inc.sections) {
    // A reached section lies at or behind the front, where predictWindow gives no window.
    if (s.riverKm === null) continue;
    const w = predictWindow(inc, s.riverKm, rivers, p);
    if (w) out[s.station] = w;
  }
  return out;
}

/** How much later than a window's end a firing may come and still be this plume. */
export function joinSlack(w: Window, share: number): number {
  return Math.max(30 * 60_000, (w.to - w.from) * share);
}
