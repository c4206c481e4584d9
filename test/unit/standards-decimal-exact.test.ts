/**
 * The exact decimal arithmetic behind the clear levels: comparisons, sums and products of decimals,
 * and compareToScaled, which compares a value with limit × (1 ± h) as the decimals were written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDecimals, compareDecimals, compareToScaled, multiplyDecimals, toDecimal } from '../../lib/standards/decimal.js';

describe('decimal comparison, sum and product', () => {
  it('compares decimals of different scales', () => {
    expect(compareDecimals(toDecimal(6.6), { coef: 660n, scale: 2 })).toBe(0);
    expect(compareDecimals(toDecimal(6.61), toDecimal(6.6))).toBe(1);
    expect(compareDecimals(toDecimal(6.6), toDecimal(6.61))).toBe(-1);
    expect(compareDecimals({ coef: 7n, scale: 0 }, { coef: 699n, scale: 2 })).toBe(1);
    expect(compareDecimals({ coef: -7n, scale: 0 }, { coef: -699n, scale: 2 })).toBe(-1);
  });

  it('adds and multiplies exactly, keeping the scale', () => {
    expect(addDecimals(toDecimal(1), toDecimal(-0.1))).toEqual({ coef: 9n, scale: 1 });
    expect(addDecimals(toDecimal(0.25), toDecimal(1.5))).toEqual({ coef: 175n, scale: 2 });
    expect(addDecimals(toDecimal(1.5), toDecimal(0.25))).toEqual({ coef: 175n, scale: 2 });
    expect(multiplyDecimals(toDecimal(6), toDecimal(1.1))).toEqual({ coef: 66n, scale: 1 });
    expect(multiplyDecimals(toDecimal(0.5), toDecimal(0.25))).toEqual({ coef: 125n, scale: 3 });
  });

  it('agree with integer arithmetic (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        (a, b, sa, sb) => {
          const x = { coef: BigInt(a), scale: sa };
          const y = { coef: BigInt(b), scale: sb };
          // a/10^sa vs b/10^sb, all scaled to 10^6.
          const ax = a * 10 ** (6 - sa);
          const by = b * 10 ** (6 - sb);
          expect(compareDecimals(x, y)).toBe(Math.sign(ax - by));
          const sum = addDecimals(x, y);
          expect(Number(sum.coef) * 10 ** (6 - sum.scale)).toBe(ax + by);
          const prod = multiplyDecimals(x, y);
          expect(prod.scale).toBe(sa + sb);
          expect(prod.coef).toBe(BigInt(a) * BigInt(b));
        },
      ),
    );
  });
});

describe('compareToScaled', () => {
  it('compares with limit × (1 ± h) as written, on both sides of the level', () => {
    expect(compareToScaled(6.6, 6, 0.1, 1)).toBe(0);
    expect(compareToScaled(6.61, 6, 0.1, 1)).toBe(1);
    expect(compareToScaled(6.59, 6, 0.1, 1)).toBe(-1);
    expect(compareToScaled(66, 100, 0.34, -1)).toBe(0);
    expect(compareToScaled(66.000001, 100, 0.34, -1)).toBe(1);
    expect(compareToScaled(65.999999, 100, 0.34, -1)).toBe(-1);
    expect(compareToScaled(0, 0, 0.1, -1)).toBe(0);
    expect(compareToScaled(-1e-300, 0, 0.1, -1)).toBe(-1);
    expect(compareToScaled(1e-300, 0, 0.1, -1)).toBe(1);
    expect(compareToScaled(-2.2, -2, 0.1, 1)).toBe(0);
  });

  it('agrees with integer arithmetic on values of two decimals (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 90 }),
        fc.constantFrom(1 as const, -1 as const),
        (v, l, k, sign) => {
          // value v/100, limit l/100, h = k/100: compare v × 100 with l × (100 + sign × k), all integers.
          const lhs = v * 100;
          const rhs = l * (100 + sign * k);
          expect(compareToScaled(v / 100, l / 100, k / 100, sign)).toBe(Math.sign(lhs - rhs));
        },
      ),
    );
  });
});
