import { describe, expect, it } from 'vitest';
import { TuojiangError } from '../../lib/errors.js';
import {
  aqiCategory,
  aqiStandardFor,
  computeAqi,
  iaqiOf,
  type AqiInputs,
  type AqiStandard,
  type BreakpointTable,
} from '../../lib/standards/hj633.js';

// Independent copy of the HJ 633 breakpoints (docs/domain.md §2).
const LEVELS = [0, 50, 100, 150, 200, 300, 400, 500];
const BP_2012: Record<BreakpointTable, number[]> = {
  SO2_24h: [0, 50, 150, 475, 800, 1600, 2100, 2620],
  SO2_1h: [0, 150, 500, 650, 800],
  NO2_24h: [0, 40, 80, 180, 280, 565, 750, 940],
  NO2_1h: [0, 100, 200, 700, 1200, 2340, 3090, 3840],
  PM10_24h: [0, 50, 150, 250, 350, 420, 500, 600],
  CO_24h: [0, 2, 4, 14, 24, 36, 48, 60],
  CO_1h: [0, 5, 10, 35, 60, 90, 120, 150],
  O3_1h: [0, 160, 200, 300, 400, 800, 1000, 1200],
  O3_8h: [0, 100, 160, 215, 265, 800],
  PM2_5_24h: [0, 35, 75, 115, 150, 250, 350, 500],
};
const BP: Record<AqiStandard, Record<BreakpointTable, number[]>> = {
  'HJ633-2012': BP_2012,
  'HJ633-2026': {
    ...BP_2012,
    PM10_24h: [0, 50, 120, 250, 350, 420, 500, 600],
    PM2_5_24h: [0, 35, 60, 115, 150, 250, 350, 500],
  },
};
const STANDARDS: AqiStandard[] = ['HJ633-2012', 'HJ633-2026'];
const TABLES = Object.keys(BP_2012) as BreakpointTable[];

const D2012 = new Date('2025-06-01T12:00:00+08:00');
const D2026 = new Date('2026-06-01T12:00:00+08:00');
const SWITCH = new Date('2026-02-28T16:00:00Z');

/** Expected IAQI for c = n/10 by integer arithmetic (a different route from the library's). */
function expectedIaqiTenths(bps: number[], n: number): number {
  for (let i = 1; i < bps.length; i++) {
    const hi = (bps[i] as number) * 10;
    if (n > hi) continue;
    const lo = (bps[i - 1] as number) * 10;
    const iLo = LEVELS[i - 1] as number;
    const iHi = LEVELS[i] as number;
    const num = (iHi - iLo) * (n - lo);
    const den = hi - lo;
    return iLo + Math.floor((num + den - 1) / den);
  }
  return 500;
}

describe('which standard is in force', () => {
  it('switches to HJ 633-2026 at 2026-03-01 00:00 China Standard Time', () => {
    expect(aqiStandardFor(new Date(SWITCH.getTime() - 1))).toBe('HJ633-2012');
    expect(aqiStandardFor(SWITCH)).toBe('HJ633-2026');
    expect(aqiStandardFor(new Date('2026-03-01T00:00:00+08:00'))).toBe('HJ633-2026');
    expect(aqiStandardFor(new Date('2026-02-28T23:59:59+08:00'))).toBe('HJ633-2012');
    expect(aqiStandardFor(new Date('2013-01-01T00:00:00Z'))).toBe('HJ633-2012');
  });

  it('computeAqi applies the new PM2.5 breakpoint from the switch instant', () => {
    const before = computeAqi({ PM2_5_24h: 60 }, { date: new Date(SWITCH.getTime() - 1), mode: 'daily' });
    const after = computeAqi({ PM2_5_24h: 60 }, { date: SWITCH, mode: 'daily' });
    expect(before.standard).toBe('HJ633-2012');
    expect(before.iaqi).toEqual({ PM2_5_24h: 82 }); // 50 + 50/40 × 25 = 81.25 → 82
    expect(after.standard).toBe('HJ633-2026');
    expect(after.iaqi).toEqual({ PM2_5_24h: 100 });
  });

  it('rejects an invalid date', () => {
    expect(() => aqiStandardFor(new Date('x'))).toThrow(TuojiangError);
    expect(() => computeAqi({ PM2_5_24h: 1 }, { date: new Date('x'), mode: 'daily' })).toThrow(/valid date/);
  });
});

describe('IAQI at every breakpoint row, midpoints and above the top', () => {
  for (const std of STANDARDS) {
    for (const table of TABLES) {
      const bps = BP[std][table];
      it(`${std} ${table}: each breakpoint gives its row's IAQI`, () => {
        bps.forEach((c, i) => expect(iaqiOf(std, table, c)).toBe(LEVELS[i]));
      });
      it(`${std} ${table}: midpoints give the mean IAQI`, () => {
        for (let i = 1; i < bps.length; i++) {
          const mid = ((bps[i - 1] as number) + (bps[i] as number)) / 2;
          expect(iaqiOf(std, table, mid)).toBe(((LEVELS[i - 1] as number) + (LEVELS[i] as number)) / 2);
        }
      });
      it(`${std} ${table}: tenths rounded up exactly (no floating-point excess)`, () => {
        const top = (bps[bps.length - 1] as number) * 10;
        for (let n = 0; n <= top; n += top > 5000 ? 7 : 1) {
          expect(iaqiOf(std, table, n / 10)).toBe(expectedIaqiTenths(bps, n));
        }
      });
      const top = bps[bps.length - 1] as number;
      if (LEVELS[bps.length - 1] === 500) {
        it(`${std} ${table}: above the top breakpoint the IAQI is 500`, () => {
          expect(iaqiOf(std, table, top + 0.1)).toBe(500);
          expect(iaqiOf(std, table, top * 10)).toBe(500);
        });
      } else {
        it(`${std} ${table}: the short table is undefined above 800`, () => {
          expect(iaqiOf(std, table, 800)).toBe(LEVELS[bps.length - 1]);
          expect(iaqiOf(std, table, 801)).toBeUndefined();
        });
      }
    }
  }

  it('rounds up: the named cases', () => {
    expect(iaqiOf('HJ633-2012', 'CO_24h', 2.2)).toBe(55); // doubles say 55.0000000000000044
    expect(iaqiOf('HJ633-2012', 'PM2_5_24h', 36)).toBe(52); // 51.25
    expect(iaqiOf('HJ633-2012', 'PM2_5_24h', 35.01)).toBe(51);
    expect(iaqiOf('HJ633-2012', 'NO2_24h', 40.001)).toBe(51);
    expect(iaqiOf('HJ633-2012', 'SO2_24h', 0.0001)).toBe(1);
    expect(iaqiOf('HJ633-2026', 'PM2_5_24h', 80)).toBe(119); // 118.18
    expect(iaqiOf('HJ633-2012', 'PM2_5_24h', 80)).toBe(107); // 106.25
    expect(iaqiOf('HJ633-2026', 'PM10_24h', 90)).toBe(79); // 78.57
  });
});

describe('the 800 rules', () => {
  it('2012 hourly: SO2 1h exactly 800 is computed normally', () => {
    const r = computeAqi({ SO2_1h: 800, SO2_24h: 100 }, { date: D2012, mode: 'hourly' });
    expect(r.iaqi).toEqual({ SO2_1h: 200 });
    expect(r.aqi).toBe(200);
  });

  it('2012 hourly: SO2 1h above 800 is not computed; the 24-h mean is used', () => {
    for (const c of [800.1, 801, 2000]) {
      const r = computeAqi({ SO2_1h: c, SO2_24h: 100 }, { date: D2012, mode: 'hourly' });
      expect(r.iaqi).toEqual({ SO2_24h: 75 });
      expect(r.aqi).toBe(75);
      expect(r.primary).toEqual(['SO2']);
    }
  });

  it('2012 hourly: SO2 1h above 800 with no 24-h mean leaves SO2 missing', () => {
    const r = computeAqi({ SO2_1h: 801, NO2_1h: 100 }, { date: D2012, mode: 'hourly' });
    expect(r.iaqi).toEqual({ NO2_1h: 50 });
    expect(r.missing).toContain('SO2');
    expect(r.aqi).toBe(50);
  });

  it('2012 daily: O3 8h exactly 800 is computed normally (IAQI 300)', () => {
    const r = computeAqi({ O3_8h: 800, O3_1h: 100 }, { date: D2012, mode: 'daily' });
    expect(r.iaqi).toEqual({ O3_1h: 32, O3_8h: 300 });
    expect(r.aqi).toBe(300);
  });

  it('2012 daily: O3 8h above 800 is not computed; O3 1h gives the O3 IAQI', () => {
    const r = computeAqi({ O3_8h: 801, O3_1h: 900 }, { date: D2012, mode: 'daily' });
    expect(r.iaqi).toEqual({ O3_1h: 350 });
    expect(r.aqi).toBe(350);
    expect(r.primary).toEqual(['O3']);
    const alone = computeAqi({ O3_8h: 801 }, { date: D2012, mode: 'daily' });
    expect(alone.iaqi).toEqual({});
    expect(alone.aqi).toBeNull();
  });

  it('2026 hourly: SO2 1h exactly 800 is 200 computed; above 800 counts as 200', () => {
    const at = computeAqi({ SO2_1h: 800 }, { date: D2026, mode: 'hourly' });
    expect(at.iaqi).toEqual({ SO2_1h: 200 });
    for (const c of [801, 5000]) {
      const r = computeAqi({ SO2_1h: c, SO2_24h: 100 }, { date: D2026, mode: 'hourly' });
      expect(r.iaqi).toEqual({ SO2_1h: 200 });
      expect(r.aqi).toBe(200);
    }
  });

  // Rounding is invisible at 800 itself (computed, 800 is IAQI 200; above, the rule gives 200 too),
  // so the rounding is pinned where it shows: 150.4 and 150.5 round to 150 (IAQI 50), 150.6 to 151.
  it('2026 hourly: SO2 1h is rounded before the IAQI (150.4, 150.5 → 50; 150.6 → 51); 800.x stays 200', () => {
    const so2 = (c: number) => computeAqi({ SO2_1h: c }, { date: D2026, mode: 'hourly' }).iaqi;
    expect([150.4, 150.5, 150.6].map((c) => so2(c).SO2_1h)).toEqual([50, 50, 51]);
    for (const c of [800.4, 800.5, 800.6]) expect(so2(c)).toEqual({ SO2_1h: 200 });
  });

  it('2026 daily: O3 8h exactly 800 is 300; above 800 counts as 300 (not 500, not missing)', () => {
    expect(computeAqi({ O3_8h: 800 }, { date: D2026, mode: 'daily' }).iaqi).toEqual({ O3_8h: 300 });
    for (const c of [801, 1500, 3000]) {
      const r = computeAqi({ O3_8h: c }, { date: D2026, mode: 'daily' });
      expect(r.iaqi).toEqual({ O3_8h: 300 });
      expect(r.aqi).toBe(300);
      expect(r.missing).not.toContain('O3');
    }
  });
});

describe('HJ 633-2026 rounding of concentrations (GB/T 8170, half to even)', () => {
  const pm25 = (c: number) => computeAqi({ PM2_5_24h: c }, { date: D2026, mode: 'daily' }).iaqi.PM2_5_24h;
  const co = (c: number) => computeAqi({ CO_24h: c }, { date: D2026, mode: 'daily' }).iaqi.CO_24h;

  it('rounds PM2.5 to an integer, ties to even', () => {
    expect(pm25(60.5)).toBe(100); // → 60
    expect(pm25(61.5)).toBe(102); // → 62: 100 + 50/55 × 2 = 101.8
    expect(pm25(59.5)).toBe(100); // → 60
    expect(pm25(60.4)).toBe(100);
    expect(pm25(60.6)).toBe(101); // → 61: 100.9
    expect(pm25(35.5)).toBe(52); // → 36
    expect(pm25(34.5)).toBe(49); // → 34: 50/35 × 34 = 48.57
  });

  it('rounds CO to one decimal, ties to even', () => {
    expect(co(2.25)).toBe(55); // → 2.2
    expect(co(2.35)).toBe(60); // → 2.4
    expect(co(2.05)).toBe(50); // → 2.0
    expect(co(2.15)).toBe(55); // → 2.2
    expect(co(2.26)).toBe(58); // → 2.3: 57.5 → 58
  });

  it('HJ 633-2012 does not round concentrations', () => {
    expect(computeAqi({ PM2_5_24h: 35.5 }, { date: D2012, mode: 'daily' }).iaqi.PM2_5_24h).toBe(51); // 50.625
    expect(computeAqi({ CO_24h: 2.25 }, { date: D2012, mode: 'daily' }).iaqi.CO_24h).toBe(57); // 56.25
  });
});

describe('which inputs each mode uses', () => {
  const all: AqiInputs = {
    SO2_24h: 100,
    SO2_1h: 200,
    NO2_24h: 60,
    NO2_1h: 150,
    PM10_24h: 100,
    PM10_1h: 200,
    PM2_5_24h: 50,
    PM2_5_1h: 90,
    CO_24h: 3,
    CO_1h: 7,
    O3_1h: 180,
    O3_8h: 130,
  };

  it('2012 hourly: 1-h SO2/NO2/CO/O3, 24-h PM; no O3 8h, no PM 1h, SO2 24h only as fallback', () => {
    const r = computeAqi(all, { date: D2012, mode: 'hourly' });
    expect(Object.keys(r.iaqi).sort()).toEqual(['CO_1h', 'NO2_1h', 'O3_1h', 'PM10_24h', 'PM2_5_24h', 'SO2_1h']);
  });

  it('2012 daily: 24-h means plus both O3 1h and O3 8h', () => {
    const r = computeAqi(all, { date: D2012, mode: 'daily' });
    expect(Object.keys(r.iaqi).sort()).toEqual(['CO_24h', 'NO2_24h', 'O3_1h', 'O3_8h', 'PM10_24h', 'PM2_5_24h', 'SO2_24h']);
  });

  it('2026 hourly: the six 1-h values, PM 1h on the daily PM breakpoints', () => {
    const r = computeAqi(all, { date: D2026, mode: 'hourly' });
    expect(Object.keys(r.iaqi).sort()).toEqual(['CO_1h', 'NO2_1h', 'O3_1h', 'PM10_1h', 'PM2_5_1h', 'SO2_1h']);
    expect(r.iaqi.PM2_5_1h).toBe(128); // 90 on the 2026 24-h table: 100 + 50/55 × 30 = 127.3
    expect(r.iaqi.PM10_1h).toBe(131); // 200: 100 + 50/130 × 80 = 130.8
    expect(computeAqi({ PM2_5_1h: 60 }, { date: D2026, mode: 'hourly' }).iaqi).toEqual({ PM2_5_1h: 100 });
  });

  it('2026 daily: 24-h means and O3 8h; O3 1h dropped', () => {
    const r = computeAqi(all, { date: D2026, mode: 'daily' });
    expect(Object.keys(r.iaqi).sort()).toEqual(['CO_24h', 'NO2_24h', 'O3_8h', 'PM10_24h', 'PM2_5_24h', 'SO2_24h']);
    expect(computeAqi({ O3_1h: 1000, PM2_5_24h: 200 }, { date: D2026, mode: 'daily' }).iaqi).toEqual({ PM2_5_24h: 250 });
  });
});

describe('missing pollutants', () => {
  const six2026daily = { SO2_24h: 10, NO2_24h: 20, PM10_24h: 40, CO_24h: 0.5, O3_8h: 60, PM2_5_24h: 20 };

  it('2026: with a pollutant missing an AQI of 100 or less is not published, but the IAQIs are kept', () => {
    const r = computeAqi({ PM2_5_24h: 60 }, { date: D2026, mode: 'daily' });
    expect(r.aqi).toBeNull();
    expect(r.iaqi).toEqual({ PM2_5_24h: 100 });
    expect(r.missing).toEqual(['SO2', 'NO2', 'PM10', 'CO', 'O3']);
    expect(r.primary).toEqual([]);
    expect([r.category, r.categoryEn, r.level, r.color]).toEqual([null, null, null, null]);
  });

  it('2026: with a pollutant missing an AQI above 100 is published', () => {
    const r = computeAqi({ PM2_5_24h: 61 }, { date: D2026, mode: 'daily' });
    expect(r.aqi).toBe(101);
    expect(r.primary).toEqual(['PM2_5']);
    expect(r.category).toBe('轻度污染');
  });

  it('2026: all six present, a low AQI is published', () => {
    const r = computeAqi(six2026daily, { date: D2026, mode: 'daily' });
    expect(r.missing).toEqual([]);
    expect(r.aqi).toBe(40); // PM10 40 → 40
    expect(r.primary).toEqual([]);
    const { O3_8h: _dropped, ...five } = six2026daily;
    expect(computeAqi(five, { date: D2026, mode: 'daily' }).aqi).toBeNull();
  });

  it('2012: computes from the rest and publishes whatever the AQI', () => {
    const r = computeAqi({ PM2_5_24h: 20 }, { date: D2012, mode: 'daily' });
    expect(r.aqi).toBe(29);
    expect(r.missing).toEqual(['SO2', 'NO2', 'PM10', 'CO', 'O3']);
  });

  it('nothing given: no AQI in either version', () => {
    for (const date of [D2012, D2026]) {
      const r = computeAqi({}, { date, mode: 'hourly' });
      expect(r.aqi).toBeNull();
      expect(r.iaqi).toEqual({});
    }
  });

  it('inputs of the other mode do not count as present', () => {
    const r = computeAqi({ PM2_5_1h: 300 }, { date: D2026, mode: 'daily' });
    expect(r.aqi).toBeNull();
    expect(r.iaqi).toEqual({});
  });
});

describe('AQI range, primary pollutants and categories', () => {
  it('2026 AQI is at least 1; 2012 can be 0', () => {
    const zeros2026 = { SO2_24h: 0, NO2_24h: 0, PM10_24h: 0, CO_24h: 0, O3_8h: 0, PM2_5_24h: 0 };
    const r = computeAqi(zeros2026, { date: D2026, mode: 'daily' });
    expect(r.aqi).toBe(1);
    expect(r.level).toBe(1);
    expect(r.primary).toEqual([]);
    expect(computeAqi({ PM2_5_24h: 0 }, { date: D2012, mode: 'daily' }).aqi).toBe(0);
  });

  it('ties name every pollutant at the highest IAQI', () => {
    const r = computeAqi({ PM10_24h: 250, PM2_5_24h: 115, NO2_24h: 80 }, { date: D2026, mode: 'daily' });
    expect(r.aqi).toBe(150);
    expect(r.primary).toEqual(['PM10', 'PM2_5']);
  });

  it('O3 1h and 8h at the same IAQI name O3 once', () => {
    const r = computeAqi({ O3_1h: 300, O3_8h: 215 }, { date: D2012, mode: 'daily' });
    expect(r.iaqi).toEqual({ O3_1h: 150, O3_8h: 150 });
    expect(r.primary).toEqual(['O3']);
  });

  it('no primary pollutant at AQI 50 or below; from 51', () => {
    const at50 = computeAqi({ PM2_5_24h: 35, PM10_24h: 50 }, { date: D2012, mode: 'daily' });
    expect(at50.aqi).toBe(50);
    expect(at50.primary).toEqual([]);
    const at51 = computeAqi({ PM2_5_24h: 35.5, PM10_24h: 50 }, { date: D2012, mode: 'daily' });
    expect(at51.aqi).toBe(51);
    expect(at51.primary).toEqual(['PM2_5']);
  });

  const BOUNDS: [number, number, string, string][] = [
    [0, 1, '优', 'green'],
    [50, 1, '优', 'green'],
    [51, 2, '良', 'yellow'],
    [100, 2, '良', 'yellow'],
    [101, 3, '轻度污染', 'orange'],
    [150, 3, '轻度污染', 'orange'],
    [151, 4, '中度污染', 'red'],
    [200, 4, '中度污染', 'red'],
    [201, 5, '重度污染', 'purple'],
    [300, 5, '重度污染', 'purple'],
    [301, 6, '严重污染', 'maroon'],
    [500, 6, '严重污染', 'maroon'],
  ];
  for (const [aqi, level, zh, color] of BOUNDS) {
    it(`category of AQI ${aqi} is level ${level} ${zh}`, () => {
      const c = aqiCategory(aqi);
      expect([c.level, c.zh, c.color]).toEqual([level, zh, color]);
    });
  }

  it('computeAqi reports the category of the AQI it computes', () => {
    // 2012 hourly NO2 1h: 200 → 100, 201 → 100.1 → 101, 700 → 150, 701 → 151 (150.05)
    const cat = (no2: number) => {
      const r = computeAqi({ NO2_1h: no2 }, { date: D2012, mode: 'hourly' });
      return [r.aqi, r.level, r.category, r.color];
    };
    expect(cat(200)).toEqual([100, 2, '良', 'yellow']);
    expect(cat(201)).toEqual([101, 3, '轻度污染', 'orange']);
    expect(cat(700)).toEqual([150, 3, '轻度污染', 'orange']);
    expect(cat(701)).toEqual([151, 4, '中度污染', 'red']);
    expect(cat(1200)).toEqual([200, 4, '中度污染', 'red']);
    expect(cat(1201)).toEqual([201, 5, '重度污染', 'purple']);
    expect(cat(2340)).toEqual([300, 5, '重度污染', 'purple']);
    expect(cat(2341)).toEqual([301, 6, '严重污染', 'maroon']);
    expect(cat(99999)).toEqual([500, 6, '严重污染', 'maroon']);
    const r = computeAqi({ NO2_1h: 201 }, { date: D2012, mode: 'hourly' });
    expect(r.categoryEn).toBe('Lightly polluted');
  });
});

describe('bad input', () => {
  it('rejects negative and non-finite concentrations, even of inputs the mode does not use', () => {
    expect(() => computeAqi({ PM2_5_24h: -1 }, { date: D2026, mode: 'daily' })).toThrow(
      expect.objectContaining({ code: 'TJ_IMPOSSIBLE_VALUE' }),
    );
    expect(() => computeAqi({ PM2_5_24h: Number.NaN }, { date: D2026, mode: 'daily' })).toThrow(
      expect.objectContaining({ code: 'TJ_INVALID_VALUE' }),
    );
    expect(() => computeAqi({ PM2_5_1h: Number.POSITIVE_INFINITY }, { date: D2026, mode: 'daily' })).toThrow(TuojiangError);
    expect(() => iaqiOf('HJ633-2012', 'CO_1h', -0.1)).toThrow(TuojiangError);
  });
});
