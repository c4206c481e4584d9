import { describe, expect, it } from 'vitest';
import { validateReading, type RawReading } from '../../ingest/validate-reading.js';
import { TuojiangError } from '../../lib/errors.js';
import { PARAMETERS } from '../../lib/parameters.js';
import { shippedRegistry } from '../helpers/fixtures.js';

const registry = shippedRegistry();
const NOW = Date.parse('2026-03-01T12:00:00Z');
const TS = Date.parse('2026-03-01T11:00:00Z');
const ctx = { registry, now: NOW, futureToleranceMs: 600_000 };

function raw(stationId: string, over: Partial<Omit<RawReading, 'station'>> = {}): RawReading {
  const station = registry.get(stationId);
  if (!station) throw new Error(`no station ${stationId} in the shipped registry`);
  return { station, ts: TS, period: 'rt', values: {}, flags: {}, source: 'json', ...over };
}

function rejection(r: RawReading): TuojiangError {
  try {
    validateReading(r, ctx);
  } catch (e) {
    if (e instanceof TuojiangError) return e;
    throw e;
  }
  throw new Error('expected a TuojiangError, got none');
}

describe('validateReading: accepted readings', () => {
  it('normalises a water reading: station, city, medium, values, N flags dropped', () => {
    const r = validateReading(raw('hongyuan', { values: { NH3N: 0.42, pH: 7.6 }, flags: { NH3N: 'M', pH: 'N' } }), ctx);
    expect(r).toEqual({
      station: 'hongyuan', city: 'chengdu', medium: 'water', ts: TS, period: 'rt',
      values: { NH3N: 0.42, pH: 7.6 }, flags: { NH3N: 'M' }, source: 'json',
    });
  });

  it('accepts an air reading of an air station', () => {
    const r = validateReading(raw('ziyang-shijian', { values: { PM2_5: 35, CO: 0.8 } }), ctx);
    expect(r).toMatchObject({ station: 'ziyang-shijian', city: 'ziyang', medium: 'air', values: { PM2_5: 35, CO: 0.8 } });
  });

  it('accepts every flag of HJ 212 (N F M S D C T B) and stores all but N', () => {
    for (const f of ['F', 'M', 'S', 'D', 'C', 'T', 'B']) {
      expect(validateReading(raw('hongyuan', { values: { DO: 6 }, flags: { DO: f } }), ctx).flags).toEqual({ DO: f });
    }
    expect(validateReading(raw('hongyuan', { values: { DO: 6 }, flags: { DO: 'N' } }), ctx).flags).toEqual({});
  });

  it('converts a station\'s sending unit: gongchengpu sends NH3N in µg/L, stored in mg/L', () => {
    const r = validateReading(raw('gongchengpu', { values: { NH3N: 420, pH: 7.2 } }), ctx);
    expect(r.values.NH3N).toBeCloseTo(0.42, 12);
    expect(r.values.pH).toBe(7.2); // only the configured parameter is scaled
  });

  it('does not convert the same parameter at a station sending the catalogue unit', () => {
    expect(validateReading(raw('ziyang-city', { values: { NH3N: 420 } }), ctx).values.NH3N).toBe(420);
  });

  it('keeps the period, the source and HJ 212 extras', () => {
    const r = validateReading(raw('hongyuan', { period: 'hour', source: 'hj212', values: { NH3N: 0.4 }, extras: { NH3N_min: 0.3, NH3N_max: 0.5 } }), ctx);
    expect(r).toMatchObject({ period: 'hour', source: 'hj212', extras: { NH3N_min: 0.3, NH3N_max: 0.5 } });
  });

  it('omits empty extras', () => {
    expect('extras' in validateReading(raw('hongyuan', { values: { NH3N: 0.4 }, extras: {} }), ctx)).toBe(false);
  });

  it.each([
    ['pH 0', 'pH', 0],
    ['pH 14', 'pH', 14],
    ['zero concentration', 'NH3N', 0],
    ['water temperature below zero', 'temp', -2],
  ])('accepts the edge of the possible range: %s', (_what, key, value) => {
    expect(validateReading(raw('hongyuan', { values: { [key]: value } }), ctx).values[key]).toBe(value);
  });

  it('accepts a reading dated within the future tolerance (station clocks drift)', () => {
    expect(validateReading(raw('hongyuan', { ts: NOW + 600_000, values: { NH3N: 1 } }), ctx).ts).toBe(NOW + 600_000);
  });
});

describe('validateReading: dead-letter reasons', () => {
  it('refuses an unknown parameter', () => {
    const e = rejection(raw('hongyuan', { values: { NH3N: 1, ammonia: 1 } }));
    expect(e.code).toBe('TJ_UNKNOWN_PARAMETER');
    expect(e.message).toContain('ammonia');
  });

  it('refuses prototype keys as unknown parameters', () => {
    expect(rejection(raw('hongyuan', { values: JSON.parse('{"__proto__": 1}') as Record<string, unknown> })).code).toBe('TJ_UNKNOWN_PARAMETER');
    expect(rejection(raw('hongyuan', { values: { constructor: 1 } })).code).toBe('TJ_UNKNOWN_PARAMETER');
  });

  it('refuses an air parameter at a water station and the reverse', () => {
    expect(rejection(raw('hongyuan', { values: { PM10: 40 } })).code).toBe('TJ_UNKNOWN_PARAMETER');
    expect(rejection(raw('ziyang-shijian', { values: { NH3N: 0.4 } })).code).toBe('TJ_UNKNOWN_PARAMETER');
  });

  it.each([
    ['a string', 'high'],
    ['a numeric string', '0.42'],
    ['null', null],
    ['a boolean', true],
    ['an array', [0.42]],
    ['an object', { v: 1 }],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('refuses %s as a value (TJ_INVALID_VALUE)', (_what, v) => {
    expect(rejection(raw('hongyuan', { values: { NH3N: v } })).code).toBe('TJ_INVALID_VALUE');
  });

  it.each([
    ['pH above 14', 'pH', 14.01],
    ['pH below 0', 'pH', -0.1],
    ['a negative concentration', 'NH3N', -0.01],
    ['negative conductivity', 'cond', -1],
    ['DO above 50 mg/L', 'DO', 51],
    ['water at 61 °C', 'temp', 61],
  ])('refuses %s as TJ_IMPOSSIBLE_VALUE', (_what, key, value) => {
    const e = rejection(raw('hongyuan', { values: { [key]: value } }));
    expect(e.code).toBe('TJ_IMPOSSIBLE_VALUE');
    expect(e.details).toMatchObject({ parameter: key });
  });

  it('refuses a negative concentration of every concentration parameter', () => {
    for (const p of PARAMETERS.filter((x) => x.unit === 'mg/L' || x.unit === 'µg/m³')) {
      const station = p.medium === 'water' ? 'hongyuan' : 'ziyang-shijian';
      expect(rejection(raw(station, { values: { [p.key]: -1 } })).code, p.key).toBe('TJ_IMPOSSIBLE_VALUE');
    }
  });

  it('checks the range after unit conversion', () => {
    expect(rejection(raw('gongchengpu', { values: { NH3N: -5 } })).code).toBe('TJ_IMPOSSIBLE_VALUE');
  });

  it.each([
    ['an unknown letter', 'X'],
    ['a lower-case flag', 'n'],
    ['two letters', 'NM'],
    ['an empty string', ''],
    ['a number', 1],
    ['null', null],
  ])('refuses %s as a flag (TJ_INVALID_FLAG)', (_what, f) => {
    expect(rejection(raw('hongyuan', { values: { NH3N: 1 }, flags: { NH3N: f } })).code).toBe('TJ_INVALID_FLAG');
  });

  it('refuses a flag for a parameter that has no value', () => {
    const e = rejection(raw('hongyuan', { values: { NH3N: 1 }, flags: { pH: 'M' } }));
    expect(e.code).toBe('TJ_INVALID_FLAG');
    expect(e.message).toContain('pH');
  });

  it('refuses a flag named after an Object.prototype member (it has no value either)', () => {
    expect(rejection(raw('hongyuan', { values: { NH3N: 1 }, flags: { toString: 'M' } })).code).toBe('TJ_INVALID_FLAG');
    expect(rejection(raw('hongyuan', { values: { NH3N: 1 }, flags: { constructor: 'N' } })).code).toBe('TJ_INVALID_FLAG');
  });

  it.each([
    ['an infinite -Max (1e999 in the frame)', { NH3N_max: Number.POSITIVE_INFINITY }, 'TJ_INVALID_VALUE'],
    ['a NaN -Min', { NH3N_min: Number.NaN }, 'TJ_INVALID_VALUE'],
    ['a negative -Min of a concentration', { NH3N_min: -0.1 }, 'TJ_IMPOSSIBLE_VALUE'],
    ['a -Max of pH above 14', { pH_max: 15 }, 'TJ_IMPOSSIBLE_VALUE'],
  ])('refuses HJ 212 extras with %s', (_what, extras, code) => {
    expect(rejection(raw('hongyuan', { source: 'hj212', period: 'hour', values: { NH3N: 0.4 }, extras })).code).toBe(code);
  });

  it('refuses a reading with no values', () => {
    expect(rejection(raw('hongyuan', { values: {} })).code).toBe('TJ_EMPTY_READING');
  });

  it('refuses a reading dated beyond the future tolerance', () => {
    const e = rejection(raw('hongyuan', { ts: NOW + 600_001, values: { NH3N: 1 } }));
    expect(e.code).toBe('TJ_FUTURE_TIMESTAMP');
  });

  it('refuses a non-finite timestamp', () => {
    expect(rejection(raw('hongyuan', { ts: Number.NaN, values: { NH3N: 1 } })).code).toBe('TJ_INVALID_TIMESTAMP');
  });

  it('refuses a reading dated before 2000 (a corrupted DataTime; InfluxDB refuses points before 1677)', () => {
    expect(rejection(raw('hongyuan', { ts: Date.UTC(1026, 2, 1), values: { NH3N: 1 } })).code).toBe('TJ_INVALID_TIMESTAMP');
    expect(rejection(raw('hongyuan', { ts: 946_684_799_999, values: { NH3N: 1 } })).code).toBe('TJ_INVALID_TIMESTAMP');
    expect(validateReading(raw('hongyuan', { ts: 946_684_800_000, values: { NH3N: 1 } }), ctx).ts).toBe(946_684_800_000);
  });
});
