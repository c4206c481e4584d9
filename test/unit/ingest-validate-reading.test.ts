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

/** A reading that passes whole: nothing refused. */
function accepted(r: RawReading) {
  const v = validateReading(r, ctx);
  expect(v.refused).toEqual([]);
  return v.reading;
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
    const r = accepted(raw('hongyuan', { values: { NH3N: 0.42, pH: 7.6 }, flags: { NH3N: 'M', pH: 'N' } }));
    expect(r).toEqual({
      station: 'hongyuan',
      city: 'chengdu',
      medium: 'water',
      ts: TS,
      period: 'rt',
      values: { NH3N: 0.42, pH: 7.6 },
      flags: { NH3N: 'M' },
      source: 'json',
    });
  });

  it('accepts an air reading of an air station', () => {
    const r = accepted(raw('ziyang-shijian', { values: { PM2_5: 35, CO: 0.8 } }));
    expect(r).toMatchObject({ station: 'ziyang-shijian', city: 'ziyang', medium: 'air', values: { PM2_5: 35, CO: 0.8 } });
  });

  it('accepts every flag of HJ 212 (N F M S D C T B) and stores all but N', () => {
    for (const f of ['F', 'M', 'S', 'D', 'C', 'T', 'B']) {
      expect(accepted(raw('hongyuan', { values: { DO: 6 }, flags: { DO: f } })).flags).toEqual({ DO: f });
    }
    expect(accepted(raw('hongyuan', { values: { DO: 6 }, flags: { DO: 'N' } })).flags).toEqual({});
  });

  it("converts a station's sending unit: gongchengpu sends NH3N in µg/L, stored in mg/L", () => {
    const r = accepted(raw('gongchengpu', { values: { NH3N: 420, pH: 7.2 } }));
    expect(r.values.NH3N).toBeCloseTo(0.42, 12);
    expect(r.values.pH).toBe(7.2); // only the configured parameter is scaled
  });

  it('does not convert the same parameter at a station sending the catalogue unit', () => {
    expect(accepted(raw('ziyang-city', { values: { NH3N: 420 } })).values.NH3N).toBe(420);
  });

  it('keeps the period, the source and HJ 212 extras', () => {
    const r = accepted(
      raw('hongyuan', { period: 'hour', source: 'hj212', values: { NH3N: 0.4 }, extras: { NH3N_min: 0.3, NH3N_max: 0.5 } }),
    );
    expect(r).toMatchObject({ period: 'hour', source: 'hj212', extras: { NH3N_min: 0.3, NH3N_max: 0.5 } });
  });

  it('omits empty extras', () => {
    expect('extras' in accepted(raw('hongyuan', { values: { NH3N: 0.4 }, extras: {} }))).toBe(false);
  });

  it("accepts both ends of every parameter's plausible range (inclusive)", () => {
    for (const p of PARAMETERS) {
      const station = p.medium === 'water' ? 'hongyuan' : 'ziyang-shijian';
      for (const v of [p.min, p.max]) expect(accepted(raw(station, { values: { [p.key]: v } })).values[p.key], `${p.key} = ${v}`).toBe(v);
    }
  });

  it.each([
    ['pH 0', 'pH', 0],
    ['pH 14', 'pH', 14],
    ['zero concentration', 'NH3N', 0],
    ['water temperature below zero', 'temp', -2],
    ['the 2004 spill peak at Hongyuan', 'NH3N', 51.3],
  ])('accepts %s', (_what, key, value) => {
    expect(accepted(raw('hongyuan', { values: { [key]: value } })).values[key]).toBe(value);
  });

  it('accepts a reading dated within the future tolerance (station clocks drift)', () => {
    expect(accepted(raw('hongyuan', { ts: NOW + 600_000, values: { NH3N: 1 } })).ts).toBe(NOW + 600_000);
  });
});

describe('validateReading: dead-letter reasons', () => {
  it('refuses an unknown parameter', () => {
    const e = rejection(raw('hongyuan', { values: { NH3N: 1, ammonia: 1 } }));
    expect(e.code).toBe('TJ_UNKNOWN_PARAMETER');
    expect(e.message).toContain('ammonia');
  });

  it('refuses prototype keys as unknown parameters', () => {
    expect(rejection(raw('hongyuan', { values: JSON.parse('{"__proto__": 1}') as Record<string, unknown> })).code).toBe(
      'TJ_UNKNOWN_PARAMETER',
    );
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

  it('gives every parameter of the catalogue a finite range, min < max, far below float overflow', () => {
    for (const p of PARAMETERS) {
      expect(Number.isFinite(p.min) && Number.isFinite(p.max), p.key).toBe(true);
      expect(p.min, p.key).toBeLessThan(p.max);
      // The sum of a day of readings of every station must still be finite for mean()/sum().
      expect(p.max, p.key).toBeLessThanOrEqual(1e12);
    }
  });

  it.each([
    ['pH above 14', 'pH', 14.01],
    ['pH below 0', 'pH', -0.1],
    ['a negative concentration', 'NH3N', -0.01],
    ['negative conductivity', 'cond', -1],
    ['DO above 50 mg/L', 'DO', 51],
    ['water at 61 °C', 'temp', 61],
    ["NH3N 1e308 (finite, but its sum overflows InfluxDB's mean())", 'NH3N', 1e308],
    ['NH3N just above its ceiling', 'NH3N', 10_000.000_001],
    ['the largest finite double as conductivity', 'cond', Number.MAX_VALUE],
  ])('refuses %s alone as TJ_IMPLAUSIBLE_VALUE, naming the range', (_what, key, value) => {
    const info = PARAMETERS.find((p) => p.key === key)!;
    const e = rejection(raw('hongyuan', { values: { [key]: value } }));
    expect(e.code).toBe('TJ_IMPLAUSIBLE_VALUE');
    expect(e.message).toContain(`[${info.min}, ${info.max}]`);
    expect(e.details).toEqual({ refused: [{ parameter: key, value, unit: info.unit, min: info.min, max: info.max }] });
  });

  it("refuses the value just beyond each end of every parameter's range", () => {
    for (const p of PARAMETERS) {
      const station = p.medium === 'water' ? 'hongyuan' : 'ziyang-shijian';
      for (const v of [p.min - Math.max(1e-9, Math.abs(p.min) * 1e-9), p.max + p.max * 1e-9]) {
        expect(rejection(raw(station, { values: { [p.key]: v } })).code, `${p.key} = ${v}`).toBe('TJ_IMPLAUSIBLE_VALUE');
      }
    }
  });

  it('checks the range after unit conversion', () => {
    expect(rejection(raw('gongchengpu', { values: { NH3N: -5 } })).code).toBe('TJ_IMPLAUSIBLE_VALUE');
    // gongchengpu sends µg/L: 10,000,000 µg/L is the 10,000 mg/L ceiling, one more is beyond it
    expect(accepted(raw('gongchengpu', { values: { NH3N: 10_000_000 } })).values.NH3N).toBeCloseTo(10_000, 9);
    expect(rejection(raw('gongchengpu', { values: { NH3N: 10_000_010 } })).code).toBe('TJ_IMPLAUSIBLE_VALUE');
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
  ])('refuses HJ 212 extras with %s', (_what, extras, code) => {
    expect(rejection(raw('hongyuan', { source: 'hj212', period: 'hour', values: { NH3N: 0.4 }, extras })).code).toBe(code);
  });

  it('refuses the reading whole when every value is out of range, listing each', () => {
    const e = rejection(raw('hongyuan', { values: { NH3N: 1e308, pH: 15 }, flags: { NH3N: 'N' } }));
    expect(e.code).toBe('TJ_IMPLAUSIBLE_VALUE');
    expect(e.message).toContain('NH3N');
    expect(e.message).toContain('pH');
    expect((e.details as { refused: unknown[] }).refused).toHaveLength(2);
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
    expect(accepted(raw('hongyuan', { ts: 946_684_800_000, values: { NH3N: 1 } })).ts).toBe(946_684_800_000);
  });
});

describe('validateReading: values out of range are refused one by one, the rest is kept', () => {
  it('keeps pH when NH3N is 1e308, and names the refused value with its range and unit', () => {
    const v = validateReading(raw('hongyuan', { values: { NH3N: 1e308, pH: 7.4 }, flags: { NH3N: 'N', pH: 'M' } }), ctx);
    expect(v.reading).toMatchObject({ station: 'hongyuan', values: { pH: 7.4 }, flags: { pH: 'M' } });
    expect(v.reading!.values).not.toHaveProperty('NH3N');
    expect(v.refused).toEqual([{ parameter: 'NH3N', value: 1e308, unit: 'mg/L', min: 0, max: 10_000 }]);
  });

  it('drops the flag and the -Min/-Max of a refused value with it', () => {
    const v = validateReading(
      raw('hongyuan', {
        source: 'hj212',
        period: 'hour',
        values: { NH3N: -3, TP: 0.1 },
        flags: { NH3N: 'T' },
        extras: { NH3N_min: 0.1, NH3N_max: 0.2, TP_max: 0.2 },
      }),
      ctx,
    );
    expect(v.reading).toMatchObject({ values: { TP: 0.1 }, flags: {}, extras: { TP_max: 0.2 } });
    expect(v.refused.map((r) => r.parameter)).toEqual(['NH3N']);
  });

  it.each([
    ['a negative -Min of a concentration', { NH3N_min: -0.1 }, 'NH3N_min'],
    ['a -Max of pH above 14', { pH_max: 15 }, 'pH_max'],
    ['an absurd -Max', { NH3N_max: 1e300 }, 'NH3N_max'],
  ])('refuses %s alone and keeps the average', (_what, extras, key) => {
    const v = validateReading(raw('hongyuan', { source: 'hj212', period: 'hour', values: { NH3N: 0.4, pH: 7 }, extras }), ctx);
    expect(v.reading).toMatchObject({ values: { NH3N: 0.4, pH: 7 } });
    expect(v.reading!.extras ?? {}).not.toHaveProperty(key);
    expect(v.refused).toEqual([expect.objectContaining({ parameter: key })]);
  });

  it('still refuses the whole reading for a value that is not a number (a broken encoder, not one sensor)', () => {
    expect(rejection(raw('hongyuan', { values: { NH3N: 'high', pH: 7 } })).code).toBe('TJ_INVALID_VALUE');
  });
});
