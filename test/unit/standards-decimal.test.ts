import { describe, expect, it } from 'vitest';
import { ceilDiv, compareToInt, decimalToNumber, roundHalfEven, toDecimal } from '../../lib/standards/decimal.js';

describe('exact decimals', () => {
  it('reads a number as the decimal it was written as', () => {
    expect(toDecimal(2.2)).toEqual({ coef: 22n, scale: 1 });
    expect(toDecimal(0.1)).toEqual({ coef: 1n, scale: 1 });
    expect(toDecimal(800)).toEqual({ coef: 800n, scale: 0 });
    expect(toDecimal(-2.5)).toEqual({ coef: -25n, scale: 1 });
    expect(toDecimal(1e-7)).toEqual({ coef: 1n, scale: 7 });
    expect(toDecimal(1.5e-7)).toEqual({ coef: 15n, scale: 8 });
    expect(toDecimal(1e21)).toEqual({ coef: 10n ** 21n, scale: 0 });
    expect(() => toDecimal(Number.NaN)).toThrow(RangeError);
  });

  it('converts back to the same number', () => {
    for (const x of [0, 2.2, 0.00005, 123456.789, -3.25, 1e-7, 1e21]) expect(decimalToNumber(toDecimal(x))).toBe(x);
  });

  it('rounds half to even', () => {
    const r = (x: number, digits: number) => decimalToNumber(roundHalfEven(toDecimal(x), digits));
    expect(r(60.5, 0)).toBe(60);
    expect(r(61.5, 0)).toBe(62);
    expect(r(60.51, 0)).toBe(61);
    expect(r(60.49, 0)).toBe(60);
    expect(r(0.5, 0)).toBe(0);
    expect(r(1.5, 0)).toBe(2);
    expect(r(2.25, 1)).toBe(2.2);
    expect(r(2.35, 1)).toBe(2.4);
    expect(r(2.251, 1)).toBe(2.3);
    expect(r(7, 0)).toBe(7);
    expect(r(-2.5, 0)).toBe(-2);
    expect(r(-3.5, 0)).toBe(-4);
  });

  it('compares with integers and divides rounding up', () => {
    expect(compareToInt(toDecimal(800), 800)).toBe(0);
    expect(compareToInt(toDecimal(800.0001), 800)).toBe(1);
    expect(compareToInt(toDecimal(799.9999), 800)).toBe(-1);
    expect(ceilDiv(10n, 5n)).toBe(2n);
    expect(ceilDiv(11n, 5n)).toBe(3n);
    expect(ceilDiv(0n, 5n)).toBe(0n);
  });
});
