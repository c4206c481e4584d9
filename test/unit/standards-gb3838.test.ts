import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TuojiangError } from '../../lib/errors.js';
import {
  CLASS_ORDER,
  DEFAULT_WATER_CLASS_POLICY,
  GRADED_WATER_PARAMS,
  WATER_CLASS_LABEL,
  classLimit,
  gb3838VersionFor,
  isWorseThan,
  paramClass,
  waterClass,
  type GradedClass,
  type WaterClass,
  type Waterbody,
} from '../../lib/standards/gb3838.js';

// An independent copy of GB 3838-2002 Table 1 (docs/domain.md §1), typed in again for the tests.
type Row = { key: string; bound: 'max' | 'min'; river: number[]; lake: number[] };
const TABLE: Row[] = [
  { key: 'DO', bound: 'min', river: [7.5, 6, 5, 3, 2], lake: [7.5, 6, 5, 3, 2] },
  { key: 'CODMn', bound: 'max', river: [2, 4, 6, 10, 15], lake: [2, 4, 6, 10, 15] },
  { key: 'COD', bound: 'max', river: [15, 15, 20, 30, 40], lake: [15, 15, 20, 30, 40] },
  { key: 'BOD5', bound: 'max', river: [3, 3, 4, 6, 10], lake: [3, 3, 4, 6, 10] },
  { key: 'NH3N', bound: 'max', river: [0.15, 0.5, 1.0, 1.5, 2.0], lake: [0.15, 0.5, 1.0, 1.5, 2.0] },
  { key: 'TP', bound: 'max', river: [0.02, 0.1, 0.2, 0.3, 0.4], lake: [0.01, 0.025, 0.05, 0.1, 0.2] },
  { key: 'TN', bound: 'max', river: [0.2, 0.5, 1.0, 1.5, 2.0], lake: [0.2, 0.5, 1.0, 1.5, 2.0] },
  { key: 'Cu', bound: 'max', river: [0.01, 1.0, 1.0, 1.0, 1.0], lake: [0.01, 1.0, 1.0, 1.0, 1.0] },
  { key: 'Zn', bound: 'max', river: [0.05, 1.0, 1.0, 2.0, 2.0], lake: [0.05, 1.0, 1.0, 2.0, 2.0] },
  { key: 'F', bound: 'max', river: [1.0, 1.0, 1.0, 1.5, 1.5], lake: [1.0, 1.0, 1.0, 1.5, 1.5] },
  { key: 'Se', bound: 'max', river: [0.01, 0.01, 0.01, 0.02, 0.02], lake: [0.01, 0.01, 0.01, 0.02, 0.02] },
  { key: 'As', bound: 'max', river: [0.05, 0.05, 0.05, 0.1, 0.1], lake: [0.05, 0.05, 0.05, 0.1, 0.1] },
  { key: 'Hg', bound: 'max', river: [0.00005, 0.00005, 0.0001, 0.001, 0.001], lake: [0.00005, 0.00005, 0.0001, 0.001, 0.001] },
  { key: 'Cd', bound: 'max', river: [0.001, 0.005, 0.005, 0.005, 0.01], lake: [0.001, 0.005, 0.005, 0.005, 0.01] },
  { key: 'Cr6', bound: 'max', river: [0.01, 0.05, 0.05, 0.05, 0.1], lake: [0.01, 0.05, 0.05, 0.05, 0.1] },
  { key: 'Pb', bound: 'max', river: [0.01, 0.01, 0.05, 0.05, 0.1], lake: [0.01, 0.01, 0.05, 0.05, 0.1] },
  { key: 'CN', bound: 'max', river: [0.005, 0.05, 0.2, 0.2, 0.2], lake: [0.005, 0.05, 0.2, 0.2, 0.2] },
  { key: 'phenol', bound: 'max', river: [0.002, 0.002, 0.005, 0.01, 0.1], lake: [0.002, 0.002, 0.005, 0.01, 0.1] },
  { key: 'petroleum', bound: 'max', river: [0.05, 0.05, 0.05, 0.5, 1.0], lake: [0.05, 0.05, 0.05, 0.5, 1.0] },
  { key: 'LAS', bound: 'max', river: [0.2, 0.2, 0.2, 0.3, 0.3], lake: [0.2, 0.2, 0.2, 0.3, 0.3] },
  { key: 'sulfide', bound: 'max', river: [0.05, 0.1, 0.2, 0.5, 1.0], lake: [0.05, 0.1, 0.2, 0.5, 1.0] },
  { key: 'fecal_coliform', bound: 'max', river: [200, 2000, 10000, 20000, 40000], lake: [200, 2000, 10000, 20000, 40000] },
];
const GRADED: GradedClass[] = ['I', 'II', 'III', 'IV', 'V'];
const WATERBODIES: Waterbody[] = ['river', 'lake'];

/** Expected class by brute force over the independent table: the best class whose limit is met. */
function expectedClass(row: Row, waterbody: Waterbody, v: number): WaterClass {
  const limits = row[waterbody];
  const i = limits.findIndex((l) => (row.bound === 'max' ? v <= l : v >= l));
  return i === -1 ? '劣V' : (GRADED[i] as WaterClass);
}

describe('GB 3838-2002 Table 1 as data', () => {
  it('grades exactly pH and the 22 tabulated items (23), not temperature', () => {
    expect([...GRADED_WATER_PARAMS].sort()).toEqual(['pH', ...TABLE.map((r) => r.key)].sort());
    expect(GRADED_WATER_PARAMS).toHaveLength(23);
  });

  for (const row of TABLE) {
    for (const wb of WATERBODIES) {
      it(`${row.key} (${wb}) classLimit matches the table for every class`, () => {
        GRADED.forEach((cls, i) => {
          expect(classLimit(row.key, cls, wb)).toEqual({ kind: row.bound, value: row[wb][i] });
        });
      });
    }
  }

  it('pH is the range 6–9 for every class', () => {
    for (const cls of GRADED) for (const wb of WATERBODIES) expect(classLimit('pH', cls, wb)).toEqual({ kind: 'range', min: 6, max: 9 });
  });

  it('has no limit for water temperature and the other ungraded parameters', () => {
    for (const key of ['temp', 'cond', 'turb', 'nonsense']) {
      expect(classLimit(key, 'III', 'river')).toBeUndefined();
      expect(paramClass(key, 1, 'river')).toBeUndefined();
    }
  });

  it('records GB 3838-2002 for any date', () => {
    expect(gb3838VersionFor(new Date('2003-01-01T00:00:00+08:00'))).toBe('GB3838-2002');
    expect(gb3838VersionFor(new Date('2031-06-01T00:00:00+08:00'))).toBe('GB3838-2002');
    expect(() => gb3838VersionFor(new Date('nope'))).toThrow(TuojiangError);
  });
});

describe('paramClass at, just above and just below every limit', () => {
  for (const row of TABLE) {
    for (const wb of WATERBODIES) {
      row[wb].forEach((limit, i) => {
        const eps = limit * 1e-6;
        const cases: [string, number][] = [
          ['at', limit],
          ['just above', limit + eps],
          ['just below', limit - eps],
        ];
        for (const [where, v] of cases) {
          it(`${row.key} ${wb} ${where} class ${GRADED[i]} limit ${limit} (${v})`, () => {
            expect(paramClass(row.key, v, wb)).toBe(expectedClass(row, wb, v));
          });
        }
      });
    }
  }

  it('at a limit a max item is in that class or a better one sharing the limit; just over is worse', () => {
    for (const row of TABLE.filter((r) => r.bound === 'max')) {
      row.river.forEach((limit, i) => {
        const at = paramClass(row.key, limit, 'river') as WaterClass;
        expect(CLASS_ORDER.indexOf(at)).toBeLessThanOrEqual(i);
        const over = paramClass(row.key, limit * 1.000001, 'river') as WaterClass;
        expect(CLASS_ORDER.indexOf(over)).toBeGreaterThan(i);
      });
    }
  });
});

describe('paramClass, the named cases', () => {
  it('equal limits go to the better class', () => {
    expect(paramClass('COD', 15, 'river')).toBe('I');
    expect(paramClass('COD', 15.01, 'river')).toBe('III');
    expect(paramClass('BOD5', 3, 'river')).toBe('I');
    expect(paramClass('BOD5', 3.01, 'river')).toBe('III');
    expect(paramClass('Cu', 1.0, 'river')).toBe('II');
    expect(paramClass('Cu', 1.01, 'river')).toBe('劣V');
    expect(paramClass('CN', 0.2, 'river')).toBe('III');
  });

  it('NH3-N around class III', () => {
    expect(paramClass('NH3N', 1.0, 'river')).toBe('III');
    expect(paramClass('NH3N', 1.01, 'river')).toBe('IV');
    expect(paramClass('NH3N', 2.0, 'river')).toBe('V');
    expect(paramClass('NH3N', 2.01, 'river')).toBe('劣V');
    expect(paramClass('NH3N', 51.3, 'river')).toBe('劣V');
    expect(paramClass('NH3N', 0, 'river')).toBe('I');
  });

  it('DO is a lower bound', () => {
    expect(paramClass('DO', 7.5, 'river')).toBe('I');
    expect(paramClass('DO', 7.49, 'river')).toBe('II');
    expect(paramClass('DO', 12, 'river')).toBe('I');
    expect(paramClass('DO', 5, 'river')).toBe('III');
    expect(paramClass('DO', 4.99, 'river')).toBe('IV');
    expect(paramClass('DO', 2, 'river')).toBe('V');
    expect(paramClass('DO', 1.99, 'river')).toBe('劣V');
    expect(paramClass('DO', 0, 'lake')).toBe('劣V');
  });

  it('pH inside 6–9 inclusive is class I, outside is 劣V', () => {
    for (const v of [6, 7, 7.6, 9]) expect(paramClass('pH', v, 'river')).toBe('I');
    for (const v of [0, 5.99, 9.01, 14]) expect(paramClass('pH', v, 'river')).toBe('劣V');
  });

  it('TP: rivers and lakes have different limits', () => {
    expect(paramClass('TP', 0.05, 'river')).toBe('II');
    expect(paramClass('TP', 0.05, 'lake')).toBe('III');
    expect(paramClass('TP', 0.2, 'river')).toBe('III');
    expect(paramClass('TP', 0.2, 'lake')).toBe('V');
    expect(paramClass('TP', 0.3, 'lake')).toBe('劣V');
    expect(paramClass('TP', 0.4, 'river')).toBe('V');
    expect(paramClass('TP', 0.41, 'river')).toBe('劣V');
  });

  it('rejects non-finite values of graded items', () => {
    expect(() => paramClass('NH3N', Number.NaN, 'river')).toThrow(TuojiangError);
    expect(() => paramClass('NH3N', Number.POSITIVE_INFINITY, 'river')).toThrow(/finite/);
  });
});

describe('waterClass (single-factor evaluation)', () => {
  it('is the worst deciding item, naming it', () => {
    expect(waterClass({ pH: 7.1, NH3N: 1.2, DO: 8 }, { waterbody: 'river' })).toEqual({
      class: 'IV',
      limiting: ['NH3N'],
      perParam: { pH: 'I', NH3N: 'IV', DO: 'I' },
    });
  });

  it('lists every deciding item at the worst class, also when that is class I', () => {
    expect(waterClass({ CODMn: 8, NH3N: 1.5, TP: 0.05 }, { waterbody: 'river' }).limiting).toEqual(['CODMn', 'NH3N']);
    const clean = waterClass({ pH: 7, DO: 9, COD: 15 }, { waterbody: 'river' });
    expect(clean.class).toBe('I');
    expect(clean.limiting).toEqual(['pH', 'DO', 'COD']);
  });

  it('reference items (TN, fecal coliform) get a class but do not decide', () => {
    const r = waterClass({ NH3N: 0.4, TN: 5, fecal_coliform: 100000 }, { waterbody: 'lake' });
    expect(r.class).toBe('II');
    expect(r.limiting).toEqual(['NH3N']);
    expect(r.perParam).toEqual({ NH3N: 'II', TN: '劣V', fecal_coliform: '劣V' });
    expect(DEFAULT_WATER_CLASS_POLICY.referenceItems).toEqual(['TN', 'fecal_coliform']);
  });

  it('the policy is configurable: with no reference items TN decides', () => {
    const r = waterClass({ NH3N: 0.4, TN: 5 }, { waterbody: 'lake', policy: { referenceItems: [] } });
    expect(r.class).toBe('劣V');
    expect(r.limiting).toEqual(['TN']);
    const r2 = waterClass({ NH3N: 3, TN: 0.1 }, { waterbody: 'river', policy: { referenceItems: ['NH3N'] } });
    expect(r2.class).toBe('I');
  });

  it('is 劣V when a deciding item is beyond class V (the 2004 Tuojiang case)', () => {
    const r = waterClass({ NH3N: 51.3, DO: 6.5, pH: 7.8 }, { waterbody: 'river' });
    expect(r.class).toBe('劣V');
    expect(r.limiting).toEqual(['NH3N']);
  });

  it('judges TP against the waterbody given', () => {
    expect(waterClass({ TP: 0.1 }, { waterbody: 'river' }).class).toBe('II');
    expect(waterClass({ TP: 0.1 }, { waterbody: 'lake' }).class).toBe('IV');
  });

  it('is null with no graded value; ungraded parameters are ignored', () => {
    expect(waterClass({}, { waterbody: 'river' })).toEqual({ class: null, limiting: [], perParam: {} });
    expect(waterClass({ temp: 35, cond: 900, turb: 50, TN: 9 }, { waterbody: 'river' })).toEqual({
      class: null,
      limiting: [],
      perParam: { TN: '劣V' },
    });
  });

  it('throws on a non-finite graded value', () => {
    expect(() => waterClass({ NH3N: Number.NaN }, { waterbody: 'river' })).toThrow(TuojiangError);
  });

  it('property: the class is the worst per-item class among deciding items', () => {
    const keys = TABLE.map((r) => r.key).concat('pH');
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...keys), fc.double({ min: 0, max: 100, noNaN: true })),
        fc.constantFrom<Waterbody>('river', 'lake'),
        (values, waterbody) => {
          const r = waterClass(values, { waterbody });
          const deciding = Object.keys(values).filter((k) => k !== 'TN' && k !== 'fecal_coliform');
          if (deciding.length === 0) return r.class === null && r.limiting.length === 0;
          const worst = Math.max(...deciding.map((k) => CLASS_ORDER.indexOf(r.perParam[k] as WaterClass)));
          return (
            r.class === CLASS_ORDER[worst] &&
            r.limiting.length > 0 &&
            r.limiting.every((k) => r.perParam[k] === r.class && deciding.includes(k))
          );
        },
      ),
    );
  });
});

describe('class order and labels', () => {
  it('orders I best to 劣V worst', () => {
    expect(CLASS_ORDER).toEqual(['I', 'II', 'III', 'IV', 'V', '劣V']);
    expect(isWorseThan('IV', 'III')).toBe(true);
    expect(isWorseThan('III', 'III')).toBe(false);
    expect(isWorseThan('劣V', 'V')).toBe(true);
    expect(isWorseThan('I', 'II')).toBe(false);
  });

  it('has the class labels of docs/domain.md §1', () => {
    expect(WATER_CLASS_LABEL).toEqual({ I: '优', II: '优', III: '良好', IV: '轻度污染', V: '中度污染', 劣V: '重度污染' });
  });
});
