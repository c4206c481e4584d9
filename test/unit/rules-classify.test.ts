/**
 * classify() at its edges: exactly at a limit, one step either side, the clear level of each bound
 * (computed in decimal, as written) and the order breach > band > clear as a value worsens.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify } from '../../alerts/rules/common.js';
import type { Condition } from '../../alerts/state-machine.js';

const RANK: Record<Condition, number> = { clear: 0, band: 1, breach: 2 };

describe('classify: exact clear levels (no binary rounding)', () => {
  it('pH exactly 6.6 is clear with pH 6–9 and h = 0.1 (6 × 1.1 is 6.6000000000000005 in doubles)', () => {
    const pH = { kind: 'range', min: 6, max: 9 } as const;
    expect(classify(6.6, pH, 0.1)).toBe('clear');
    expect(classify(6.599999, pH, 0.1)).toBe('band');
    expect(classify(6, pH, 0.1)).toBe('band');
    expect(classify(5.999999, pH, 0.1)).toBe('breach');
    // High side: 9 × 0.9 = 8.1.
    expect(classify(8.1, pH, 0.1)).toBe('clear');
    expect(classify(8.100001, pH, 0.1)).toBe('band');
    expect(classify(9, pH, 0.1)).toBe('band');
    expect(classify(9.000001, pH, 0.1)).toBe('breach');
  });

  it('an upper bound whose clear level is not a double: NH3N 1.0, h = 0.18 clears at exactly 0.82', () => {
    const l = { kind: 'max', value: 1.0 } as const;
    expect(1.0 * (1 - 0.18)).not.toBe(0.82); // the float product the old code compared with
    expect(classify(0.82, l, 0.18)).toBe('clear');
    expect(classify(0.820001, l, 0.18)).toBe('band');
    expect(classify(1.0, l, 0.18)).toBe('band');
    expect(classify(1.000001, l, 0.18)).toBe('breach');
  });

  it('a lower bound whose clear level is not a double: DO 5, h = 0.06 clears at exactly 5.3', () => {
    const l = { kind: 'min', value: 5 } as const;
    expect(5 * (1 + 0.06)).not.toBe(5.3);
    expect(classify(5.3, l, 0.06)).toBe('clear');
    expect(classify(5.299999, l, 0.06)).toBe('band');
    expect(classify(5, l, 0.06)).toBe('band');
    expect(classify(4.999999, l, 0.06)).toBe('breach');
  });

  it('without hysteresis the limit itself is clear on every kind of bound', () => {
    expect(classify(1, { kind: 'max', value: 1 }, 0)).toBe('clear');
    expect(classify(5, { kind: 'min', value: 5 }, 0)).toBe('clear');
    expect(classify(6, { kind: 'range', min: 6, max: 9 }, 0)).toBe('clear');
    expect(classify(9, { kind: 'range', min: 6, max: 9 }, 0)).toBe('clear');
  });

  it('a range needs both sides clear: near the top is band, near the bottom is band, the middle clear', () => {
    const l = { kind: 'range', min: 6, max: 9 } as const;
    expect(classify(7.5, l, 0.1)).toBe('clear');
    expect(classify(6.3, l, 0.1)).toBe('band');
    expect(classify(8.5, l, 0.1)).toBe('band');
  });
});

describe('classify invariants (properties)', () => {
  const h = fc.integer({ min: 0, max: 90 }).map((k) => k / 100);
  const value = fc.integer({ min: 0, max: 200_000 }).map((n) => n / 1000);

  it('upper bound: a higher value is never a better condition; breach exactly above the limit', () => {
    fc.assert(
      fc.property(
        value,
        value,
        fc.integer({ min: 1, max: 100_000 }).map((n) => n / 1000),
        h,
        (a, b, limit, hh) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const l = { kind: 'max', value: limit } as const;
          expect(RANK[classify(hi, l, hh)]).toBeGreaterThanOrEqual(RANK[classify(lo, l, hh)]);
          expect(classify(hi, l, hh) === 'breach').toBe(hi > limit);
        },
      ),
    );
  });

  it('lower bound: a lower value is never a better condition; breach exactly below the limit', () => {
    fc.assert(
      fc.property(
        value,
        value,
        fc.integer({ min: 1, max: 100_000 }).map((n) => n / 1000),
        h,
        (a, b, limit, hh) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const l = { kind: 'min', value: limit } as const;
          expect(RANK[classify(lo, l, hh)]).toBeGreaterThanOrEqual(RANK[classify(hi, l, hh)]);
          expect(classify(lo, l, hh) === 'breach').toBe(lo < limit);
        },
      ),
    );
  });

  it('the same value under the same limit always classifies the same', () => {
    fc.assert(
      fc.property(value, h, (v, hh) => {
        const l = { kind: 'range', min: 6, max: 9 } as const;
        expect(classify(v, l, hh)).toBe(classify(v, l, hh));
        expect(classify(v, l, hh) === 'breach').toBe(v < 6 || v > 9);
      }),
    );
  });
});
