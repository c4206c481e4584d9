/**
 * The plume track at its edges: which sections count as observed and in what order, pairs that say
 * nothing about speed, rivers without reaches ahead, a slow observed leg after a miss, the join slack.
 */
import { describe, expect, it } from 'vitest';
import { front, joinSlack, observed, observedVelocities, predictWindow, windowsAhead } from '../../alerts/incidents/track.js';
import type { SectionTrack } from '../../alerts/incidents/types.js';
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
/** Reaches only down to km 40: nothing configured beyond. */
const shortRiver = RiversFileSchema.parse({
  version: 1,
  rivers: { tuojiang: { reaches: [{ from_km: 0, to_km: 40, velocity: { min_m_s: 0.3, max_m_s: 1.2 } }] } },
});
const policy = { velocityMargin: 0.25 };

const section = (station: string, km: number | null, observedAt: number | null = null): SectionTrack =>
  trackSection(station, km, observedAt);
const incident = trackIncident;

describe('observed sections and the front', () => {
  it('are the observed sections with a river km, upstream first, whatever their order in the incident', () => {
    const inc = incident([
      section('c', 34, T0 + 8 * H),
      section('x', null, T0),
      section('a', 10, T0),
      section('d', 46),
      section('b', 22, T0 + 4 * H),
    ]);
    expect(observed(inc).map((s) => s.station)).toEqual(['a', 'b', 'c']);
    expect(front(inc)?.station).toBe('c');
    expect(front(incident([section('a', 10)]))).toBeUndefined();
  });

  it('velocities come from successive observed sections; a pair at the same km says nothing', () => {
    const inc = incident([section('a', 10, T0), section('b', 10, T0 + H), section('c', 22, T0 + 3 * H)]);
    expect(observedVelocities(inc).map((v) => Number(v.toFixed(4)))).toEqual([Number((12_000 / (2 * 3600)).toFixed(4))]);
  });
});

describe('predictWindow edges', () => {
  it('no window without a river or a front', () => {
    expect(predictWindow(incident([section('a', 10, T0)], { river: null }), 30, rivers, policy)).toBeUndefined();
    expect(predictWindow(incident([section('a', 10)]), 30, rivers, policy)).toBeUndefined();
  });

  it('beyond the configured reaches and without an observed speed: no window; with one, from the speed alone', () => {
    const one = incident([section('a', 10, T0), section('d', 60)]);
    expect(predictWindow(one, 60, shortRiver, policy)).toBeUndefined();
    expect(Object.keys(windowsAhead(one, shortRiver, policy))).toEqual([]);
    const two = incident([section('a', 10, T0), section('b', 22, T0 + 4 * H), section('d', 60)]);
    const w = predictWindow(two, 60, shortRiver, policy);
    // 38 km at the observed 12 km / 4 h, widened by 25 % each way.
    const v = 12_000 / (4 * 3600);
    expect(w?.from).toBeLessThanOrEqual(T0 + 4 * H + (38_000 / (v * 1.25)) * 1000);
    expect(w?.to).toBeGreaterThanOrEqual(T0 + 4 * H + (38_000 / (v * 0.75)) * 1000);
    expect(Object.keys(windowsAhead(two, shortRiver, policy))).toEqual(['d']);
  });

  it('a velocity margin of 1 leaves no upper bound: no window from the observed speed alone', () => {
    const two = incident([section('a', 10, T0), section('b', 22, T0 + 4 * H), section('d', 60)]);
    expect(predictWindow(two, 60, shortRiver, { velocityMargin: 1 })).toBeUndefined();
  });

  it('after a miss, a slow observed leg keeps its late end even where the configured range ends sooner', () => {
    // 12 km in 30 h: far slower than the configured 0.3 m/s.
    const slow = incident([section('a', 10, T0), section('b', 22, T0 + 30 * H), section('c', 34)], {
      misses: [{ station: 'b', predicted: { from: T0 + 3 * H, to: T0 + 12 * H }, observed: T0 + 30 * H }],
    });
    const w = predictWindow(slow, 34, rivers, policy);
    const configured = travelTime(rivers, 'tuojiang', 22, 34);
    if (!w || !configured) throw new Error('no window');
    expect(w.to).toBeGreaterThan(T0 + 30 * H + configured.maxMs);
    // The observed leg's slowest arrival: 12 km at 0.111 m/s × 0.75 is 40 h.
    expect(w.to - (T0 + 30 * H)).toBeGreaterThanOrEqual(40 * H - 60_000);
    expect(w.from).toBeLessThanOrEqual(T0 + 30 * H + configured.minMs);
  });

  it('sections without a river km get no window', () => {
    const inc = incident([section('a', 10, T0), section('x', null), section('c', 34)]);
    expect(Object.keys(windowsAhead(inc, rivers, policy))).toEqual(['c']);
  });
});

describe('join slack', () => {
  it('is at least 30 minutes, even for a window shorter than an hour', () => {
    expect(joinSlack({ from: 0, to: H / 2 }, 0.5)).toBe(30 * 60_000);
    expect(joinSlack({ from: 0, to: 0 }, 0.5)).toBe(30 * 60_000);
    expect(joinSlack({ from: 0, to: 4 * H }, 0.25)).toBe(H);
  });
});

describe('after a miss, a fast observed leg', () => {
  it('keeps its early start even where the configured range starts later', () => {
    // 12 km in 1 h: faster than the configured 1.2 m/s.
    const fast = incident([section('a', 10, T0), section('b', 22, T0 + H), section('c', 34)], {
      misses: [{ station: 'b', predicted: { from: T0 + 3 * H, to: T0 + 12 * H }, observed: T0 + H }],
    });
    const w = predictWindow(fast, 34, rivers, policy);
    const configured = travelTime(rivers, 'tuojiang', 22, 34);
    if (!w || !configured) throw new Error('no window');
    expect(w.from).toBeLessThan(T0 + H + configured.minMs);
    expect(w.to).toBeGreaterThanOrEqual(T0 + H + configured.maxMs);
    // Its start is the observed one, as without the miss.
    const calm = predictWindow({ ...fast, misses: [] }, 34, rivers, policy);
    expect(w.from).toBe(calm?.from);
  });
});
