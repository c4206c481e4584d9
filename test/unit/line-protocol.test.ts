import { describe, expect, it } from 'vitest';
import { encodePoint, type Point } from '../../lib/influx/line-protocol.js';

const TS = 1772323200000;
const point = (over: Partial<Point> = {}): Point => ({
  measurement: 'water_quality',
  tags: { station: 'hongyuan' },
  fields: { NH3N: 0.42 },
  ts: TS,
  ...over,
});

describe('encodePoint', () => {
  it('writes measurement, sorted tags, fields and the millisecond timestamp', () => {
    expect(encodePoint(point({ tags: { station: 'hongyuan', city: 'chengdu', period: 'rt' }, fields: { NH3N: 0.42, pH: 7.6 } }))).toBe(
      'water_quality,city=chengdu,period=rt,station=hongyuan NH3N=0.42,pH=7.6 1772323200000',
    );
  });

  it('drops empty and undefined tag values (InfluxDB refuses empty tags)', () => {
    expect(encodePoint(point({ tags: { station: 'hongyuan', city: '', x: undefined as unknown as string } }))).toBe(
      'water_quality,station=hongyuan NH3N=0.42 1772323200000',
    );
  });

  it('truncates a fractional timestamp to whole milliseconds', () => {
    expect(encodePoint(point({ ts: TS + 0.9 }))).toMatch(/ 1772323200000$/);
  });

  describe('escaping', () => {
    it('escapes commas and spaces (not =) in the measurement', () => {
      expect(encodePoint(point({ measurement: 'a b,c=d', tags: {} }))).toBe('a\\ b\\,c=d NH3N=0.42 1772323200000');
    });

    it('escapes commas, equals signs, spaces and backslashes in tag keys and values', () => {
      expect(encodePoint(point({ tags: { 'k y,=': 'v a,l=u\\e' } }))).toBe(
        'water_quality,k\\ y\\,\\==v\\ a\\,l\\=u\\\\e NH3N=0.42 1772323200000',
      );
    });

    it('escapes field keys like tag keys', () => {
      expect(encodePoint(point({ fields: { 'a b,c=d': 1 } }))).toBe('water_quality,station=hongyuan a\\ b\\,c\\=d=1.0 1772323200000');
    });

    it('quotes string fields, escaping quotes, backslashes and newlines', () => {
      expect(encodePoint(point({ fields: { NH3N_flag: 'M' } }))).toBe('water_quality,station=hongyuan NH3N_flag="M" 1772323200000');
      expect(encodePoint(point({ fields: { s: 'say "hi"\\ now\nplease' } }))).toBe(
        'water_quality,station=hongyuan s="say \\"hi\\"\\\\ now\\nplease" 1772323200000',
      );
    });

    it('leaves commas, spaces and equals signs in string fields alone (the quotes protect them)', () => {
      expect(encodePoint(point({ fields: { s: 'a, b=c' } }))).toBe('water_quality,station=hongyuan s="a, b=c" 1772323200000');
    });
  });

  describe('floats', () => {
    it.each([
      [0.42, '0.42'],
      [7, '7.0'],
      [0, '0.0'],
      [-0, '0.0'],
      [-3, '-3.0'],
      [-0.5, '-0.5'],
      [1e-7, '1e-7'],
      [0.1 + 0.2, '0.30000000000000004'],
      [2 ** 53, '9007199254740992.0'],
      [123456789012345680000, '123456789012345680000.0'],
      [1e21, '1e21'],
      [1.5e300, '1.5e300'],
      [1e308, '1e308'],
      [5e-324, '5e-324'],
    ])('writes %s as the float %s (never an integer, which would fix the field type)', (v, text) => {
      expect(encodePoint(point({ fields: { x: v } }))).toBe(`water_quality,station=hongyuan x=${text} 1772323200000`);
    });

    it('round-trips every float it writes', () => {
      for (const v of [0.42, 7, 1e21, 1.5e300, 1e-7, 123.456e10, -2.5e-10, Number.MAX_VALUE, Number.MIN_VALUE]) {
        const text = /x=(\S+)/.exec(encodePoint(point({ fields: { x: v } })))![1]!;
        expect(text, String(v)).not.toMatch(/e\+|\.0e|i$/);
        expect(Number(text)).toBe(v);
      }
    });

    it('skips non-finite numbers, which line protocol cannot carry', () => {
      expect(encodePoint(point({ fields: { a: Number.NaN, b: 1, c: Number.POSITIVE_INFINITY } }))).toBe(
        'water_quality,station=hongyuan b=1.0 1772323200000',
      );
    });

    it('writes booleans as booleans', () => {
      expect(encodePoint(point({ fields: { ok: true, bad: false } }))).toBe(
        'water_quality,station=hongyuan ok=true,bad=false 1772323200000',
      );
    });
  });

  it('refuses a point with no writable field', () => {
    expect(() => encodePoint(point({ fields: {} }))).toThrow(/no fields/);
    expect(() => encodePoint(point({ fields: { x: Number.NaN } }))).toThrow(/no fields/);
  });
});
