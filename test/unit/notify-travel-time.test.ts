import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RiversFileSchema } from '../../config/rivers-schema.js';
import { formatRange, granularity, roundRange, travelTime } from '../../alerts/notify/travel-time.js';

const HOUR = 3_600_000;
const rivers = RiversFileSchema.parse({
  version: 1,
  rivers: {
    r: {
      reaches: [
        { from_km: 0, to_km: 36, velocity: { min_m_s: 0.5, max_m_s: 1 } },
        { from_km: 36, to_km: 100, velocity: { min_m_s: 0.1, max_m_s: 0.4 } },
      ],
    },
  },
});

describe('travel time along the reaches', () => {
  it("divides each reach's distance by its fastest and slowest velocity, and adds them up", () => {
    // 18 km at 0.5–1 m/s: 5–10 h.
    expect(travelTime(rivers, 'r', 0, 18)).toEqual({ minMs: 5 * HOUR, maxMs: 10 * HOUR });
    // 36 km at 0.5–1 m/s (10–20 h) then 36 km at 0.1–0.4 m/s (25–100 h).
    expect(travelTime(rivers, 'r', 0, 72)).toEqual({ minMs: 35 * HOUR, maxMs: 120 * HOUR });
  });

  it('is zero when the target is not downstream, and unknown outside the reaches or for an unknown river', () => {
    expect(travelTime(rivers, 'r', 50, 50)).toEqual({ minMs: 0, maxMs: 0 });
    expect(travelTime(rivers, 'r', 60, 40)).toEqual({ minMs: 0, maxMs: 0 });
    expect(travelTime(rivers, 'r', 90, 130)).toBeUndefined();
    expect(travelTime(rivers, 'x', 0, 10)).toBeUndefined();
  });

  it('is additive along the river', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (a, b, c) => {
        const [x, y, z] = [a, b, c].sort((p, q) => p - q) as [number, number, number];
        const whole = travelTime(rivers, 'r', x, z)!;
        const first = travelTime(rivers, 'r', x, y)!;
        const second = travelTime(rivers, 'r', y, z)!;
        expect(whole.minMs).toBeCloseTo(first.minMs + second.minMs, 3);
        expect(whole.maxMs).toBeCloseTo(first.maxMs + second.maxMs, 3);
      }),
    );
  });
});

describe('ranges as a bureau reads them: rounded outwards, never falsely precise', () => {
  it('never narrows the computed range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 * 24 * HOUR }), fc.integer({ min: 0, max: 20 * 24 * HOUR }), (a, b) => {
        const r = { minMs: Math.min(a, b), maxMs: Math.max(a, b) };
        const o = roundRange(r);
        expect(o.minMs).toBeLessThanOrEqual(r.minMs);
        expect(o.maxMs).toBeGreaterThanOrEqual(r.maxMs);
        expect(o.maxMs).toBeGreaterThan(o.minMs);
        expect(o.minMs % granularity(r.minMs)).toBe(0);
      }),
    );
  });

  it('uses steps that grow with the time', () => {
    expect(granularity(2 * HOUR)).toBe(15 * 60_000);
    expect(granularity(20 * HOUR)).toBe(HOUR);
    expect(granularity(60 * HOUR)).toBe(3 * HOUR);
    expect(granularity(100 * HOUR)).toBe(12 * HOUR);
  });

  it('formats in minutes, hours or days, Chinese and English', () => {
    expect(formatRange({ minMs: 40 * 60_000, maxMs: 100 * 60_000 }, 'zh')).toBe('约 30–105 分钟');
    expect(formatRange({ minMs: 5 * HOUR, maxMs: 10 * HOUR }, 'en')).toBe('5–10 h');
    expect(formatRange({ minMs: 20.4 * HOUR, maxMs: 122.2 * HOUR }, 'zh')).toBe('约 20 小时 – 5.5 天');
    expect(formatRange({ minMs: 20.4 * HOUR, maxMs: 122.2 * HOUR }, 'en')).toBe('20 h – 5.5 days');
    expect(formatRange({ minMs: 3 * 24 * HOUR, maxMs: 7 * 24 * HOUR }, 'en')).toBe('3–7 days');
  });
});
