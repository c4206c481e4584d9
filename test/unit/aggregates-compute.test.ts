import { describe, expect, it } from 'vitest';
import {
  cityFields,
  dayFields,
  hourFields,
  percentile,
  periodFields,
  type AggregateRow,
  type RawRow,
  type StationBasis,
} from '../../aggregates/compute.js';
import { exactMean } from '../../aggregates/mean.js';
import { cstDayStart, windowOf } from '../../aggregates/windows.js';
import { computeAqi, waterClass } from '../../lib/standards/index.js';

const H = 3_600_000;
const DAY = Date.parse('2026-05-12T00:00:00+08:00');
const water: StationBasis = {
  id: 'w',
  city: 'c',
  medium: 'water',
  intervalS: 600,
  waterbody: 'river',
  targetClass: 'III',
  referenceItems: ['TN', 'fecal_coliform'],
};
const air: StationBasis = { id: 'a', city: 'c', medium: 'air', intervalS: 3600, waterbody: 'river', referenceItems: [] };

const rt = (ts: number, values: Record<string, number>, flags: RawRow['flags'] = {}): RawRow => ({ ts, period: 'rt', values, flags });

describe('windows: China Standard Time days, months, years', () => {
  it('a day runs 16:00 to 16:00 UTC; months and years start at CST midnight', () => {
    const t = Date.parse('2026-02-28T17:30:00Z'); // 2026-03-01 01:30 CST
    expect(new Date(cstDayStart(t)).toISOString()).toBe('2026-02-28T16:00:00.000Z');
    expect(windowOf('month', t)).toEqual({ start: Date.parse('2026-03-01T00:00:00+08:00'), end: Date.parse('2026-04-01T00:00:00+08:00') });
    expect(windowOf('month', Date.parse('2026-02-28T15:59:59Z')).start).toBe(Date.parse('2026-02-01T00:00:00+08:00'));
    expect(windowOf('year', t)).toEqual({ start: Date.parse('2026-01-01T00:00:00+08:00'), end: Date.parse('2027-01-01T00:00:00+08:00') });
  });
});

describe('exact means', () => {
  it('means the decimals sent, rounded half to even four digits beyond them', () => {
    expect(exactMean([0.1, 0.2])).toBe(0.15);
    expect(exactMean([1, 2, 2])).toBe(1.6667);
    expect(exactMean([-1.5, 0.5])).toBe(-0.5);
    expect(exactMean([])).toBeUndefined();
  });
});

describe("hour: 45 minutes of valid data, flags, the station's own hourly value", () => {
  it('water every 10 min: 4 valid slots (40 min) make no mean, 5 do; flagged values do not count', () => {
    const rows = [0, 1, 2, 3, 4].map((i) => rt(DAY + i * 600_000, { NH3N: 0.5 + i / 10, DO: 6 }, i === 4 ? { NH3N: 'D' } : {}));
    const f = hourFields(water, DAY, rows);
    expect(f.NH3N).toBeUndefined();
    expect(f.n_NH3N).toBe(4);
    expect(f.DO).toBe(6);
    expect(f.n_DO).toBe(5);
    expect(f.readings).toBe(5);
    expect(f.expected).toBe(6);
  });

  it('readings faster than the interval fill slots, never more than the hour', () => {
    const rows = Array.from({ length: 12 }, (_, i) => rt(DAY + i * 300_000, { NH3N: 1 + (i % 2) * 0.2 }));
    const f = hourFields(water, DAY, rows);
    expect(f.readings).toBe(6);
    expect(f.n_NH3N).toBe(6);
    expect(f.NH3N).toBe(1.1);
    // Class from the mean, as waterClass() has it: 1.1 mg/L NH3-N is class IV.
    expect(f.class).toBe(4);
    expect(f.deciding).toBe('NH3N');
    expect(f.class_NH3N).toBe(4);
  });

  it('readings outside the hour are not its own', () => {
    const f = hourFields(water, DAY, [rt(DAY - 1, { NH3N: 9 }), rt(DAY + H, { NH3N: 9 })]);
    expect(f.readings).toBe(0);
    expect(f.n_NH3N).toBeUndefined();
    expect(f.class).toBeUndefined();
  });

  it("the station's own hourly value (CN 2061) stands in where the real-time ones fall short", () => {
    const rows: RawRow[] = [rt(DAY + 600_000, { NH3N: 3 }), { ts: DAY, period: 'hour', values: { NH3N: 0.4, DO: 7 }, flags: { DO: 'M' } }];
    const f = hourFields(water, DAY, rows);
    expect(f.NH3N).toBe(0.4);
    expect(f.DO).toBeUndefined();
    expect(f.readings).toBe(6);
  });

  it("air: AQI, IAQIs and primary pollutant of the hourly means are computeAqi's", () => {
    const values = { SO2: 12, NO2: 41, PM10: 130, CO: 1.15, O3: 90, PM2_5: 60.5 };
    const f = hourFields(air, DAY, [rt(DAY + 5 * 60_000, values)]);
    const want = computeAqi(
      { SO2_1h: 12, NO2_1h: 41, PM10_1h: 130, CO_1h: 1.15, O3_1h: 90, PM2_5_1h: 60.5 },
      { date: new Date(DAY), mode: 'hourly' },
    );
    expect(f.aqi).toBe(want.aqi);
    expect(f.primary).toBe(want.primary.join(','));
    expect(f.iaqi_PM2_5_1h).toBe(want.iaqi.PM2_5_1h);
    expect(f.level).toBe(want.level);
  });

  it('air: a pollutant missing and the AQI at most 100 is not published (HJ 633-2026)', () => {
    const f = hourFields(air, DAY, [rt(DAY, { PM2_5: 20, PM10: 30 })]);
    expect(f.aqi).toBeUndefined();
    expect(f.iaqi_PM2_5_1h).toBe(computeAqi({ PM2_5_1h: 20 }, { date: new Date(DAY), mode: 'hourly' }).iaqi.PM2_5_1h);
  });
});

const hourRows = (n: number, f: (i: number) => Record<string, number>): AggregateRow[] =>
  Array.from({ length: n }, (_, i) => ({ ts: DAY + i * H, fields: { readings: 1, ...f(i) } }));

describe('day: 20 valid hours (air), O3 8-h, 18 hours (water)', () => {
  it('19 hours make no 24-h mean, 20 do; the daily AQI comes from them', () => {
    expect(
      dayFields(
        air,
        DAY,
        hourRows(19, () => ({ PM2_5: 50 })),
        24,
      ).PM2_5,
    ).toBeUndefined();
    const f = dayFields(
      air,
      DAY,
      hourRows(20, (i) => ({ PM2_5: 40 + i, SO2: 10, NO2: 30, PM10: 80, CO: 0.8 })),
      24,
    );
    expect(f.PM2_5).toBe(49.5);
    expect(f.n_PM2_5).toBe(20);
    expect(f.readings).toBe(20);
    expect(f.expected).toBe(24);
  });

  it('O3 8-h: windows need 6 hours; the daily maximum needs 14 of the 17 windows', () => {
    const o3 = (missing: Set<number>) => hourRows(24, (i): Record<string, number> => (missing.has(i) ? {} : { O3: i < 12 ? 100 : 200 }));
    const full = dayFields(air, DAY, o3(new Set()), 24);
    expect(full.O3_8h).toBe(200);
    expect(full.n_O3_8h).toBe(17);
    expect(full.O3_1h_max).toBe(200);
    // Hours 16–23 gone: windows 11–16 lack data (< 6 hours), 11 left: no daily maximum.
    const evening = dayFields(air, DAY, o3(new Set([16, 17, 18, 19, 20, 21, 22, 23])), 24);
    expect(evening.n_O3_8h).toBe(11);
    expect(evening.O3_8h).toBeUndefined();
  });

  it('a full air day: AQI from the 24-h means and the O3 8-h maximum, good when at most 100', () => {
    const f = dayFields(
      air,
      DAY,
      hourRows(24, () => ({ PM2_5: 58, PM10: 97, SO2: 12, NO2: 41, CO: 0.9, O3: 171 })),
      24,
    );
    const want = computeAqi(
      { PM2_5_24h: 58, PM10_24h: 97, SO2_24h: 12, NO2_24h: 41, CO_24h: 0.9, O3_8h: 171, O3_1h: 171 },
      { date: new Date(DAY), mode: 'daily' },
    );
    expect(f.aqi).toBe(want.aqi);
    expect(f.primary).toBe(want.primary.join(','));
    expect(f.good).toBe(want.aqi! <= 100 ? 1 : 0);
  });

  it('water: 18 hours make a daily mean; class, exceedances of the target class and the largest 超标倍数', () => {
    const rows = hourRows(18, (i) => ({ NH3N: i < 3 ? 2.5 : 0.5, DO: 6, TN: 3 }));
    const f = dayFields(water, DAY, rows, 24);
    // (3 × 2.5 + 15 × 0.5) / 18 = 0.8333…, kept to 5 decimals: class III.
    expect(f.NH3N).toBe(0.83333);
    expect(f.class).toBe(3);
    expect(f.class).toBe(
      ['I', 'II', 'III', 'IV', 'V', '劣V'].indexOf(waterClass({ NH3N: f.NH3N as number, DO: 6, TN: 3 }, { waterbody: 'river' }).class!) + 1,
    );
    expect(f.exceed_NH3N).toBe(3);
    expect(f.multiple_NH3N).toBe(1.5);
    expect(f.exceed_DO).toBe(0);
    // TN is a reference item at a river section: no exceedance counted.
    expect(f.exceed_TN).toBeUndefined();
    expect(
      dayFields(
        water,
        DAY,
        hourRows(17, () => ({ NH3N: 0.5 })),
        24,
      ).NH3N,
    ).toBeUndefined();
  });
});

describe('month and year', () => {
  const days = (n: number, f: (i: number) => Record<string, number | string>): AggregateRow[] =>
    Array.from({ length: n }, (_, i) => ({ ts: DAY + i * 86_400_000, fields: { readings: 24, ...f(i) } }));
  const MAY = Date.parse('2026-05-01T00:00:00+08:00');

  it('water: the class of the monthly means against the target class, exceedances summed', () => {
    const f = periodFields(
      water,
      'month',
      MAY,
      days(10, (i) => ({ NH3N: i < 5 ? 1.2 : 1.0, DO: 6, class: 4, exceed_NH3N: i < 5 ? 4 : 0, multiple_NH3N: i < 5 ? 0.5 + i / 10 : 0 })),
      31 * 24,
    );
    expect(f.NH3N).toBe(1.1);
    expect(f.class).toBe(4);
    expect(f.deciding).toBe('NH3N');
    expect(f.target).toBe(3);
    expect(f.meets).toBe(0);
    expect(f.exceed_NH3N).toBe(20);
    expect(f.multiple_NH3N).toBe(0.9);
    expect(f.days).toBe(10);
    expect(f.readings).toBe(240);
  });

  it('air: good-day ratio among days with an AQI, days by primary pollutant, 27 valid days for a monthly mean', () => {
    const f = periodFields(
      air,
      'month',
      MAY,
      days(30, (i): Record<string, number | string> =>
        i < 3
          ? { PM2_5: 30 }
          : { PM2_5: 30, aqi: i < 24 ? 80 : 130, level: i < 24 ? 2 : 3, primary: i < 24 ? 'PM2_5' : 'O3', O3_8h: 100 + i },
      ),
      31 * 24,
    );
    expect(f.valid_days).toBe(27);
    expect(f.good_days).toBe(21);
    expect(f.good_ratio).toBe(77.778);
    expect(f.primary_PM2_5).toBe(21);
    expect(f.primary_O3).toBe(6);
    expect(f.level_3).toBe(6);
    expect(f.PM2_5).toBe(30);
    expect(f.O3_8h_p90).toBe(
      percentile(
        Array.from({ length: 27 }, (_, i) => 103 + i),
        90,
      ),
    );
    expect(
      periodFields(
        air,
        'month',
        MAY,
        days(26, () => ({ PM2_5: 30 })),
        744,
      ).PM2_5,
    ).toBeUndefined();
    // February needs 25.
    expect(
      periodFields(
        air,
        'month',
        Date.parse('2026-02-01T00:00:00+08:00'),
        days(25, () => ({ PM2_5: 30 })),
        672,
      ).PM2_5,
    ).toBe(30);
  });

  it('HJ 663 percentile interpolates between ranks', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9.1);
    expect(percentile([5], 90)).toBe(5);
  });
});

describe('cities', () => {
  it("a city hour is the AQI of its stations' mean concentrations", () => {
    const f = cityFields('hour', DAY, [
      { ts: DAY, fields: { PM2_5: 130, PM10: 100, expected: 1, readings: 1 } },
      { ts: DAY, fields: { PM2_5: 91, expected: 1, readings: 1 } },
    ]);
    expect(f.PM2_5).toBe(110.5);
    expect(f.PM10).toBe(100);
    const want = computeAqi({ PM2_5_1h: 110.5, PM10_1h: 100 }, { date: new Date(DAY), mode: 'hourly' }).aqi;
    expect(want).toBeGreaterThan(100);
    expect(f.aqi).toBe(want);
    expect(f.stations).toBe(2);
  });
});
