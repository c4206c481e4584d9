import { describe, expect, it } from 'vitest';
import { panelInterval, resolveRelative } from '../../dashboards/grafana-time.js';

// 2026-12-06 13:55 Beijing time.
const NOW = Date.parse('2026-12-06T05:55:00Z');
const cst = (s: string): number => Date.parse(`${s}+08:00`);

describe('Grafana relative time ranges, in China Standard Time', () => {
  it('now and offsets', () => {
    expect(resolveRelative('now', NOW, true)).toBe(NOW);
    expect(resolveRelative('now-24h', NOW, false)).toBe(NOW - 86_400_000);
    expect(resolveRelative('now-7d', NOW, false)).toBe(NOW - 7 * 86_400_000);
  });

  it('rounded to the month: from its first instant, to its last', () => {
    expect(resolveRelative('now-12M/M', NOW, false)).toBe(cst('2025-12-01T00:00:00'));
    expect(resolveRelative('now/M', NOW, true)).toBe(cst('2027-01-01T00:00:00') - 1);
    expect(resolveRelative('now/d', NOW, false)).toBe(cst('2026-12-06T00:00:00'));
    expect(resolveRelative('now-1y/y', NOW, false)).toBe(cst('2025-01-01T00:00:00'));
  });

  it('refuses what it does not model', () => {
    expect(() => resolveRelative('2026-01-01', NOW, false)).toThrow(/not modelled/);
    expect(() => resolveRelative('now-3q', NOW, false)).toThrow(/not modelled/);
  });

  it('the interval is the range over the data points, rounded down to a round interval', () => {
    expect(panelInterval(NOW - 86_400_000, NOW)).toBe(60_000);
    expect(panelInterval(NOW - 7 * 86_400_000, NOW)).toBe(600_000);
    expect(panelInterval(cst('2025-12-01T00:00:00'), cst('2027-01-01T00:00:00'))).toBe(21_600_000);
    expect(panelInterval(NOW - 60_000, NOW)).toBe(50);
  });
});
