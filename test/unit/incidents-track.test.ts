/**
 * The plume's track on its own (pure): windows ahead anchored on the observed front and nothing
 * else, from the configured reach velocities until the front was seen at two sections, then from
 * the observed ones — never narrower than their spread — and wide again after a miss.
 */
import { describe, expect, it } from 'vitest';
import { front, joinSlack, observedVelocities, predictWindow, velocityRange, windowsAhead } from '../../alerts/incidents/track.js';
import type { Incident, SectionTrack } from '../../alerts/incidents/types.js';
import { T0, trackIncident, trackSection } from '../helpers/incident-track.js';
import { travelTime } from '../../alerts/notify/travel-time.js';
import { RiversFileSchema } from '../../config/rivers-schema.js';

const H = 3_600_000;
const rivers = RiversFileSchema.parse({
  version: 1,
  rivers: {
    tuojiang: {
      reaches: [
        { from_km: 0, to_km: 45, velocity: { min_m_s: 0.3, max_m_s: 1.2 } },
        { from_km: 45, to_km: 640, velocity: { min_m_s: 0.1, max_m_s: 0.6 } },
      ],
    },
  },
});
const policy = { velocityMargin: 0.25 };

function section(km: number, observedAt: number | null = null): SectionTrack {
  return trackSection(`km${km}`, km, observedAt, observedAt === null ? [] : ['limit.NH3N']);
}

/** An incident on the Tuojiang with sections every 12 km from km 10, the first ones observed at the given hours. */
function incident(observedH: number[], o: Partial<Incident> = {}): Incident {
  const sections = Array.from({ length: 8 }, (_, i) =>
    section(10 + 12 * i, observedH[i] === undefined ? null : T0 + (observedH[i] as number) * H),
  );
  return trackIncident(sections, o);
}

describe('predictWindow', () => {
  it('is anchored on the observed front: its first exceedance plus the travel time from there', () => {
    const inc = incident([0]);
    const w = predictWindow(inc, 34, rivers, policy);
    const tt = travelTime(rivers, 'tuojiang', 10, 34);
    if (!w || !tt) throw new Error('no window');
    expect(w.from).toBeLessThanOrEqual(T0 + tt.minMs);
    expect(w.to).toBeGreaterThanOrEqual(T0 + tt.maxMs);
    // When reports went out has nothing to do with it.
    const later = incident([0], { lastReportAt: T0 + 9 * H, reportTimes: [T0, T0 + 4 * H, T0 + 9 * H], seq: 3 });
    expect(predictWindow(later, 34, rivers, policy)).toEqual(w);
    // Moving the front's arrival moves the window by as much.
    const shifted = incident([2]);
    expect(predictWindow(shifted, 34, rivers, policy)).toEqual({ from: w.from + 2 * H, to: w.to + 2 * H });
  });

  it('counts from the furthest section reached, not the origin', () => {
    const inc = incident([0, 4]);
    expect(front(inc)?.station).toBe('km22');
    const w = predictWindow(inc, 46, rivers, policy);
    if (!w) throw new Error('no window');
    expect(w.from).toBeGreaterThan(T0 + 4 * H);
    // Not ahead of the front, or no front at all: no window.
    expect(predictWindow(inc, 22, rivers, policy)).toBeUndefined();
    expect(predictWindow(inc, 16, rivers, policy)).toBeUndefined();
    expect(predictWindow(incident([]), 46, rivers, policy)).toBeUndefined();
    expect(Object.keys(windowsAhead(inc, rivers, policy))).toEqual(['km34', 'km46', 'km58', 'km70', 'km82', 'km94']);
  });

  it('once the front was seen at two sections, comes from the observed speed: narrower than the configured range', () => {
    const one = incident([0]);
    const two = incident([0, 4]);
    // Configured from km22 to km34 (12 km at 0.3–1.2 m/s): 2.8–11.1 h; observed 12 km in 4 h.
    const configured = travelTime(rivers, 'tuojiang', 22, 34);
    const w = predictWindow(two, 34, rivers, policy);
    if (!w || !configured) throw new Error('no window');
    expect(w.to - w.from).toBeLessThan(configured.maxMs - configured.minMs);
    expect(predictWindow(one, 34, rivers, policy)).not.toEqual(w);
    // The same speed again arrives inside it.
    expect(T0 + 8 * H).toBeGreaterThanOrEqual(w.from);
    expect(T0 + 8 * H).toBeLessThanOrEqual(w.to);
  });

  it('is never narrower than the spread of the observed speeds', () => {
    // 12 km in 2 h (1.67 m/s), then 12 km in 6 h (0.56 m/s).
    const inc = incident([0, 2, 8]);
    expect(observedVelocities(inc).map((v) => Number(v.toFixed(2)))).toEqual([1.67, 0.56]);
    const w = predictWindow(inc, 46, rivers, policy);
    if (!w) throw new Error('no window');
    const front = T0 + 8 * H;
    // Both the fastest and the slowest leg seen so far, repeated over the next 12 km, land inside.
    expect(w.from).toBeLessThanOrEqual(front + 2 * H);
    expect(w.to).toBeGreaterThanOrEqual(front + 6 * H);
  });

  it('widens again after an arrival outside its window: the observed speed and the configured range both', () => {
    const calm = incident([0, 1]);
    const surprised = incident([0, 1], {
      misses: [{ station: 'km22', predicted: { from: T0 + 2 * H, to: T0 + 12 * H }, observed: T0 + H }],
    });
    const wCalm = predictWindow(calm, 34, rivers, policy);
    const wMiss = predictWindow(surprised, 34, rivers, policy);
    const configured = travelTime(rivers, 'tuojiang', 22, 34);
    if (!wCalm || !wMiss || !configured) throw new Error('no window');
    expect(wMiss.from).toBeLessThanOrEqual(wCalm.from);
    expect(wMiss.to).toBeGreaterThanOrEqual(wCalm.to);
    expect(wMiss.to - wMiss.from).toBeGreaterThan(wCalm.to - wCalm.from);
    expect(wMiss.to).toBeGreaterThanOrEqual(T0 + H + configured.maxMs);
  });
});

describe('observed velocities and the join slack', () => {
  it('skip a pair whose downstream arrival is not later (it says nothing about speed)', () => {
    const inc = incident([0, 0]);
    expect(observedVelocities(inc)).toEqual([]);
    expect(velocityRange(inc)).toBeNull();
  });

  it('lets a firing join at least 30 min after a narrow window, half a wide one', () => {
    expect(joinSlack({ from: 0, to: H }, 0.5)).toBe(30 * 60_000);
    expect(joinSlack({ from: 0, to: 10 * H }, 0.5)).toBe(5 * H);
  });
});
