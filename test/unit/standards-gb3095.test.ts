import { describe, expect, it } from 'vitest';
import { TuojiangError } from '../../lib/errors.js';
import { airLimit, gb3095LimitSetFor, gb3095VersionFor, type Averaging } from '../../lib/standards/gb3095.js';
import type { AirPollutant } from '../../lib/standards/hj633.js';

// Independent copy of docs/domain.md §2 (grade II) and GB 3095-2012 grade I.
type Cell = [AirPollutant, Averaging];
const CELLS: Cell[] = [
  ['SO2', '24h'],
  ['SO2', '1h'],
  ['NO2', '24h'],
  ['NO2', '1h'],
  ['CO', '24h'],
  ['CO', '1h'],
  ['O3', '8h'],
  ['O3', '1h'],
  ['PM10', '24h'],
  ['PM2_5', '24h'],
];
const G2_2012 = [150, 500, 80, 200, 4, 10, 160, 200, 150, 75];
const G2_2026_TRANSITION = [150, 500, 80, 200, 4, 10, 160, 200, 120, 60];
const G2_2026_FINAL = [50, 150, 50, 200, 4, 10, 160, 200, 100, 50];
const G1 = [50, 150, 80, 200, 4, 10, 100, 160, 50, 35];

const LAST_2012 = new Date(Date.parse('2026-02-28T16:00:00Z') - 1);
const FIRST_2026 = new Date('2026-02-28T16:00:00Z');
const LAST_TRANSITION = new Date(Date.parse('2030-12-31T16:00:00Z') - 1);
const FIRST_FINAL = new Date('2030-12-31T16:00:00Z');

describe('GB 3095 version and limit set by date (China Standard Time)', () => {
  it('switches to 2026 at 2026-03-01 00:00 CST and to the final limits at 2031-01-01 00:00 CST', () => {
    expect(gb3095VersionFor(LAST_2012)).toBe('GB3095-2012');
    expect(gb3095VersionFor(FIRST_2026)).toBe('GB3095-2026');
    expect(gb3095VersionFor(FIRST_FINAL)).toBe('GB3095-2026');
    expect(gb3095LimitSetFor(LAST_2012)).toBe('GB3095-2012');
    expect(gb3095LimitSetFor(FIRST_2026)).toBe('GB3095-2026-transition');
    expect(gb3095LimitSetFor(LAST_TRANSITION)).toBe('GB3095-2026-transition');
    expect(gb3095LimitSetFor(FIRST_FINAL)).toBe('GB3095-2026-final');
    expect(gb3095LimitSetFor(new Date('2031-01-01T00:00:00+08:00'))).toBe('GB3095-2026-final');
    expect(gb3095LimitSetFor(new Date('2030-12-31T23:59:59+08:00'))).toBe('GB3095-2026-transition');
  });

  it('rejects an invalid date', () => {
    expect(() => gb3095VersionFor(new Date('nope'))).toThrow(TuojiangError);
    expect(() => airLimit('SO2', '1h', 2, new Date('nope'))).toThrow(TuojiangError);
    expect(() => airLimit('SO2', '1h', 1, new Date('nope'))).toThrow(TuojiangError);
  });
});

describe('grade II limits either side of each switch', () => {
  const phases: [string, Date, number[]][] = [
    ['2012 (last instant)', LAST_2012, G2_2012],
    ['2012 (2020)', new Date('2020-07-01T00:00:00+08:00'), G2_2012],
    ['2026 transition (first instant)', FIRST_2026, G2_2026_TRANSITION],
    ['2026 transition (last instant)', LAST_TRANSITION, G2_2026_TRANSITION],
    ['2026 final (first instant)', FIRST_FINAL, G2_2026_FINAL],
    ['2026 final (2035)', new Date('2035-01-01T00:00:00+08:00'), G2_2026_FINAL],
  ];
  for (const [name, date, values] of phases) {
    CELLS.forEach(([pollutant, averaging], i) => {
      it(`${name}: ${pollutant} ${averaging} = ${values[i]}`, () => {
        expect(airLimit(pollutant, averaging, 2, date)).toBe(values[i]);
      });
    });
  }

  it('the values that change at each switch', () => {
    expect(airLimit('PM2_5', '24h', 2, LAST_2012)).toBe(75);
    expect(airLimit('PM2_5', '24h', 2, FIRST_2026)).toBe(60);
    expect(airLimit('PM2_5', '24h', 2, FIRST_FINAL)).toBe(50);
    expect(airLimit('PM10', '24h', 2, LAST_2012)).toBe(150);
    expect(airLimit('PM10', '24h', 2, FIRST_2026)).toBe(120);
    expect(airLimit('PM10', '24h', 2, FIRST_FINAL)).toBe(100);
    expect(airLimit('SO2', '1h', 2, LAST_TRANSITION)).toBe(500);
    expect(airLimit('SO2', '1h', 2, FIRST_FINAL)).toBe(150);
    expect(airLimit('NO2', '24h', 2, FIRST_FINAL)).toBe(50);
  });
});

describe('grade I limits (GB 3095-2012, also applied under 2026)', () => {
  for (const date of [LAST_2012, FIRST_2026, FIRST_FINAL]) {
    CELLS.forEach(([pollutant, averaging], i) => {
      it(`${date.toISOString()}: ${pollutant} ${averaging} = ${G1[i]}`, () => {
        expect(airLimit(pollutant, averaging, 1, date)).toBe(G1[i]);
      });
    });
  }
});

describe('combinations the standard does not set', () => {
  const none: Cell[] = [
    ['PM2_5', '1h'],
    ['PM10', '1h'],
    ['O3', '24h'],
    ['SO2', '8h'],
    ['NO2', '8h'],
    ['CO', '8h'],
    ['PM2_5', '8h'],
  ];
  for (const [pollutant, averaging] of none) {
    it(`${pollutant} ${averaging} is undefined`, () => {
      for (const grade of [1, 2] as const)
        for (const d of [LAST_2012, FIRST_2026, FIRST_FINAL]) expect(airLimit(pollutant, averaging, grade, d)).toBeUndefined();
    });
  }
});
