/**
 * The standards' edges the other standards tests leave open: every term's pollutant, the category
 * table's words, the error texts a caller sees, the lake-only items, the decimal helpers' signs
 * and ties, and the invariants the AQI and the class rest on (monotonic in every input).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TuojiangError } from '../../lib/errors.js';
import { decimalToNumber, roundHalfEven, toDecimal } from '../../lib/standards/decimal.js';
import { airLimit, gb3095LimitSetFor, gb3095VersionFor, type AirGrade } from '../../lib/standards/gb3095.js';
import {
  classIndex,
  classLimit,
  gb3838VersionFor,
  GB3838_TABLE1,
  limitAppliesTo,
  paramClass,
  WATER_CLASS_LABEL_EN,
  waterClass,
  type GradedClass,
} from '../../lib/standards/gb3838.js';
import {
  AQI_INPUT_KEYS,
  AQI_TERMS,
  aqiCategory,
  aqiStandardFor,
  computeAqi,
  type AqiInputKey,
  type AqiMode,
  type AqiStandard,
  type AirPollutant,
} from '../../lib/standards/hj633.js';

const D2012 = new Date('2025-06-01T12:00:00+08:00');
const D2026 = new Date('2026-06-01T12:00:00+08:00');
const DATES: Record<AqiStandard, Date> = { 'HJ633-2012': D2012, 'HJ633-2026': D2026 };
const INVALID = new Date(Number.NaN);

function thrown(f: () => unknown): TuojiangError {
  try {
    f();
  } catch (e) {
    if (e instanceof TuojiangError) return e;
    throw new Error(`expected a TuojiangError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a TuojiangError, nothing was thrown');
}

/** The pollutant an input key names, read from the key itself (a different route from the library's terms). */
function pollutantOfKey(key: AqiInputKey): AirPollutant {
  return key.replace(/_(1h|8h|24h)$/, '') as AirPollutant;
}

describe('decimal helpers: signs, ties and what they refuse', () => {
  it('refuses a non-finite number by saying so', () => {
    for (const x of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => toDecimal(x)).toThrow(`not a finite number: ${x}`);
    }
  });

  it('writes small negative decimals with their leading zeros, and zero without a sign', () => {
    expect(decimalToNumber({ coef: -5n, scale: 2 })).toBe(-0.05);
    expect(decimalToNumber({ coef: -123n, scale: 5 })).toBe(-0.00123);
    expect(decimalToNumber({ coef: 0n, scale: 1 })).toBe(0);
    expect(Object.is(decimalToNumber({ coef: 0n, scale: 3 }), -0)).toBe(false);
  });

  it('rounds below a half down even when the kept digit is odd', () => {
    const r = (x: number, digits: number): number => decimalToNumber(roundHalfEven(toDecimal(x), digits));
    expect(r(61.4, 0)).toBe(61);
    expect(r(1.3, 0)).toBe(1);
    expect(r(3.49, 0)).toBe(3);
    expect(r(-61.4, 0)).toBe(-61);
    expect(r(0.15, 1)).toBe(0.2);
    expect(r(0.25, 1)).toBe(0.2);
  });

  it('keeps a decimal with no more digits than asked for as it is', () => {
    expect(roundHalfEven(toDecimal(2.5), 3)).toEqual({ coef: 25n, scale: 1 });
    expect(roundHalfEven(toDecimal(7), 0)).toEqual({ coef: 7n, scale: 0 });
  });

  it('round-trips any finite double through the decimal form (property)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(decimalToNumber(toDecimal(x))).toBe(x === 0 ? 0 : x);
      }),
    );
  });
});

describe('HJ 633-2026: PM2.5 61.4 is read as 61 (half-to-even rounding before the IAQI)', () => {
  it('gives IAQI 101, not 102', () => {
    expect(computeAqi({ PM2_5_24h: 61.4 }, { date: D2026, mode: 'daily' }).iaqi.PM2_5_24h).toBe(101);
    expect(computeAqi({ PM2_5_1h: 61.4 }, { date: D2026, mode: 'hourly' }).iaqi.PM2_5_1h).toBe(101);
  });

  it('SO2 1h 150.4 and 150.5 round to 150 (IAQI 50); 150.6 rounds to 151 (51); 2012 does not round', () => {
    const so2 = (c: number, date: Date): number | undefined => computeAqi({ SO2_1h: c }, { date, mode: 'hourly' }).iaqi.SO2_1h;
    expect([150.4, 150.5, 150.6].map((c) => so2(c, D2026))).toEqual([50, 50, 51]);
    expect([150.4, 150.5, 150.6].map((c) => so2(c, D2012))).toEqual([51, 51, 51]);
  });
});

describe('HJ 633: every term names its own pollutant', () => {
  for (const standard of ['HJ633-2012', 'HJ633-2026'] as const) {
    for (const mode of ['hourly', 'daily'] as const) {
      it(`${standard} ${mode}: an input alone above 100 makes its pollutant primary`, () => {
        for (const t of AQI_TERMS[standard][mode]) {
          // High enough for AQI > 100 on every table (PM2.5 200 µg/m³, CO 30 mg/m³, SO2 1h 600 ...).
          const high: Record<AirPollutant, number> = { SO2: 600, NO2: 1000, PM10: 300, CO: 30, O3: 250, PM2_5: 200 };
          const expected = pollutantOfKey(t.input);
          const r = computeAqi({ [t.input]: high[expected] }, { date: DATES[standard], mode });
          expect(r.primary, `${t.input}`).toEqual([expected]);
          expect(r.missing).not.toContain(expected);
          expect(r.missing).toHaveLength(5);
        }
      });
    }
  }

  it('ties name every pollutant at the highest IAQI, in the standard order', () => {
    const r = computeAqi(
      { SO2_24h: 150, NO2_24h: 80, PM10_24h: 150, CO_24h: 4, O3_8h: 160, PM2_5_24h: 75 },
      { date: D2012, mode: 'daily' },
    );
    expect(r.aqi).toBe(100);
    expect(r.primary).toEqual(['SO2', 'NO2', 'PM10', 'CO', 'O3', 'PM2_5']);
  });
});

describe('HJ 633 categories: the words and colours a notice prints', () => {
  it('names each level as the standard does', () => {
    const row = (aqi: number): [number, string, string, string] => {
      const c = aqiCategory(aqi);
      return [c.level, c.zh, c.en, c.color];
    };
    expect([0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500].map(row)).toEqual([
      [1, '优', 'Excellent', 'green'],
      [1, '优', 'Excellent', 'green'],
      [2, '良', 'Good', 'yellow'],
      [2, '良', 'Good', 'yellow'],
      [3, '轻度污染', 'Lightly polluted', 'orange'],
      [3, '轻度污染', 'Lightly polluted', 'orange'],
      [4, '中度污染', 'Moderately polluted', 'red'],
      [4, '中度污染', 'Moderately polluted', 'red'],
      [5, '重度污染', 'Heavily polluted', 'purple'],
      [5, '重度污染', 'Heavily polluted', 'purple'],
      [6, '严重污染', 'Severely polluted', 'maroon'],
      [6, '严重污染', 'Severely polluted', 'maroon'],
    ]);
  });
});

describe('HJ 633 refusals say what and where', () => {
  it('an invalid date names the function that got it', () => {
    const e = thrown(() => aqiStandardFor(INVALID));
    expect(e.code).toBe('TJ_INVALID_TIMESTAMP');
    expect(e.message).toBe('aqiStandardFor: not a valid date');
  });

  it('a non-finite or negative concentration names the input and keeps the value', () => {
    const nan = thrown(() => computeAqi({ NO2_1h: Number.NaN }, { date: D2012, mode: 'hourly' }));
    expect(nan.code).toBe('TJ_INVALID_VALUE');
    expect(nan.message).toBe('NO2_1h: NaN is not a finite number');
    expect(nan.details).toEqual({ input: 'NO2_1h', value: Number.NaN });
    const neg = thrown(() => computeAqi({ CO_1h: -0.5 }, { date: D2012, mode: 'hourly' }));
    expect(neg.code).toBe('TJ_IMPOSSIBLE_VALUE');
    expect(neg.message).toBe('CO_1h: a concentration cannot be negative (-0.5)');
    expect(neg.details).toEqual({ input: 'CO_1h', value: -0.5 });
    const text = thrown(() => computeAqi({ SO2_1h: '12' as unknown as number }, { date: D2012, mode: 'hourly' }));
    expect(text.code).toBe('TJ_INVALID_VALUE');
  });

  it('an unknown mode is an error with its code, not a crash', () => {
    const e = thrown(() => computeAqi({ SO2_1h: 10 }, { date: D2012, mode: 'weekly' as AqiMode }));
    expect(e.code).toBe('TJ_INVALID_VALUE');
    expect(e.message).toBe('unknown AQI mode: weekly');
    expect(e.details).toEqual({ mode: 'weekly' });
  });

  it('a null input (JSON null) counts as absent, also as the 2012 SO2 fallback', () => {
    const r = computeAqi({ SO2_1h: null as unknown as number, PM10_24h: 100 }, { date: D2012, mode: 'hourly' });
    expect(r.iaqi).toEqual({ PM10_24h: 75 });
    const over = computeAqi({ SO2_1h: 900, SO2_24h: null as unknown as number, PM10_24h: 100 }, { date: D2012, mode: 'hourly' });
    expect(over.iaqi).toEqual({ PM10_24h: 75 });
    expect(over.missing).toContain('SO2');
  });
});

describe('HJ 633 invariants (properties)', () => {
  const keyArb = fc.constantFrom(...AQI_INPUT_KEYS);
  const conc = fc.integer({ min: 0, max: 30_000 }).map((n) => n / 10);
  const inputsArb = fc.dictionary(keyArb, conc, { minKeys: 1 });

  for (const standard of ['HJ633-2012', 'HJ633-2026'] as const) {
    for (const mode of ['hourly', 'daily'] as const) {
      // HJ 633-2012 stops computing SO2 1h and O3 8h above 800 and reads SO2 24h / O3 1h instead, which
      // may be lower: the one place the 2012 AQI may fall as a value rises, so the property stays at or
      // below 800 there (the 800 rules have their own tests).
      const cap = (k: AqiInputKey, v: number): number =>
        standard === 'HJ633-2012' && (k === 'SO2_1h' || k === 'O3_8h') ? Math.min(v, 800) : v;
      it(`${standard} ${mode}: raising any one concentration never lowers the AQI or any IAQI`, () => {
        fc.assert(
          fc.property(inputsArb, keyArb, fc.integer({ min: 1, max: 5000 }), (generated, key, up) => {
            const opts = { date: DATES[standard], mode };
            const inputs = Object.fromEntries(Object.entries(generated).map(([k, v]) => [k, cap(k as AqiInputKey, v)]));
            const before = computeAqi(inputs, opts);
            const raised = { ...inputs, [key]: cap(key, (inputs[key] ?? 0) + up / 10) };
            const after = computeAqi(raised, opts);
            if (before.aqi !== null && after.aqi !== null) expect(after.aqi).toBeGreaterThanOrEqual(before.aqi);
            if (before.aqi !== null && before.missing.length === after.missing.length) expect(after.aqi).not.toBeNull();
            for (const [k, v] of Object.entries(before.iaqi)) {
              if (after.iaqi[k] !== undefined) expect(after.iaqi[k]).toBeGreaterThanOrEqual(v);
            }
          }),
        );
      });
    }
  }
});

describe('GB 3095: the limit sets by date and grade', () => {
  it('an invalid date names the function that got it', () => {
    expect(thrown(() => gb3095VersionFor(INVALID)).message).toBe('gb3095VersionFor: not a valid date');
    expect(thrown(() => gb3095LimitSetFor(INVALID)).message).toBe('gb3095LimitSetFor: not a valid date');
    expect(thrown(() => airLimit('SO2', '1h', 2, INVALID)).code).toBe('TJ_INVALID_TIMESTAMP');
  });

  it('has no limit for a grade or pollutant the standard does not set', () => {
    expect(airLimit('SO2', '1h', 3 as AirGrade, D2026)).toBeUndefined();
    expect(airLimit('SO2', '1h', 0 as AirGrade, D2026)).toBeUndefined();
    expect(airLimit('H2S' as AirPollutant, '24h', 2, D2026)).toBeUndefined();
    expect(airLimit('H2S' as AirPollutant, '24h', 1, D2026)).toBeUndefined();
    expect(airLimit('SO2', '1h', 2, D2026)).toBe(500);
    expect(airLimit('SO2', '1h', 1, D2026)).toBe(150);
  });
});

describe('GB 3838: labels, versions, lake-only items, class limits', () => {
  it('renders each class in English as the notices print it', () => {
    expect(WATER_CLASS_LABEL_EN).toEqual({
      I: 'Excellent',
      II: 'Excellent',
      III: 'Good',
      IV: 'Lightly polluted',
      V: 'Moderately polluted',
      劣V: 'Heavily polluted',
    });
  });

  it('an invalid date names the function that got it', () => {
    expect(thrown(() => gb3838VersionFor(INVALID)).message).toBe('gb3838VersionFor: not a valid date');
    expect(gb3838VersionFor(D2026)).toBe('GB3838-2002');
  });

  it('TN limits lakes only; every other item applies to both kinds of waterbody', () => {
    expect(limitAppliesTo('TN', 'river')).toBe(false);
    expect(limitAppliesTo('TN', 'lake')).toBe(true);
    for (const p of Object.keys(GB3838_TABLE1).filter((k) => k !== 'TN')) {
      expect(limitAppliesTo(p, 'river'), p).toBe(true);
      expect(limitAppliesTo(p, 'lake'), p).toBe(true);
    }
    expect(limitAppliesTo('', 'river')).toBe(true);
  });

  it('has no limit for a class outside I–V', () => {
    expect(classLimit('NH3N', '劣V' as GradedClass, 'river')).toBeUndefined();
    expect(classLimit('DO', 'VI' as GradedClass, 'lake')).toBeUndefined();
    expect(classLimit('NH3N', 'III', 'river')).toEqual({ kind: 'max', value: 1.0 });
  });

  it('a non-finite value names the item and keeps the value', () => {
    const e = thrown(() => paramClass('NH3N', Number.POSITIVE_INFINITY, 'river'));
    expect(e.code).toBe('TJ_INVALID_VALUE');
    expect(e.message).toBe('NH3N: Infinity is not a finite number');
    expect(e.details).toEqual({ param: 'NH3N', value: Number.POSITIVE_INFINITY });
  });

  it('the class never improves when a pollutant rises, nor when DO falls (property)', () => {
    const items = Object.keys(GB3838_TABLE1).filter((k) => k !== 'pH');
    fc.assert(
      fc.property(
        fc.constantFrom(...items),
        fc.double({ min: 0, max: 50_000, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.constantFrom('river' as const, 'lake' as const),
        (param, v, d, wb) => {
          const worse = GB3838_TABLE1[param]?.kind === 'min' ? Math.max(0, v - d) : v + d;
          const before = paramClass(param, v, wb);
          const after = paramClass(param, worse, wb);
          expect(before).toBeDefined();
          expect(classIndex(after as GradedClass)).toBeGreaterThanOrEqual(classIndex(before as GradedClass));
          const sample = waterClass({ [param]: v, NH3N: 0.1 }, { waterbody: wb, policy: { referenceItems: [] } });
          const worseSample = waterClass({ [param]: worse, NH3N: 0.1 }, { waterbody: wb, policy: { referenceItems: [] } });
          expect(classIndex(worseSample.class as GradedClass)).toBeGreaterThanOrEqual(classIndex(sample.class as GradedClass));
        },
      ),
    );
  });
});
