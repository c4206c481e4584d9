/**
 * What a refused reading's dead letter says: the exact text and details an operator reads, with
 * hostile keys and values cut short, and the -Min/-Max of a refused value going with it.
 */
import { describe, expect, it } from 'vitest';
import { describeRefused, validateReading, type RawReading } from '../../ingest/validate-reading.js';
import { TuojiangError } from '../../lib/errors.js';
import { shippedRegistry } from '../helpers/fixtures.js';

const registry = shippedRegistry();
const NOW = Date.parse('2026-03-01T12:00:00Z');
const TS = Date.parse('2026-03-01T11:00:00Z');
const ctx = { registry, now: NOW, futureToleranceMs: 600_000 };

function raw(stationId: string, over: Partial<Omit<RawReading, 'station'>> = {}): RawReading {
  const station = registry.get(stationId);
  if (!station) throw new Error(`no station ${stationId}`);
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

const LONG = `x${'A'.repeat(5000)}`;

describe('dead-letter texts', () => {
  it('timestamps: not an instant, before 2000, too far ahead (in seconds)', () => {
    expect(rejection(raw('hongyuan', { ts: Number.NaN, values: { pH: 7 } })).message).toBe('timestamp is not a valid instant');
    expect(rejection(raw('hongyuan', { ts: Date.parse('1999-12-31T23:59:59.999Z'), values: { pH: 7 } })).message).toBe(
      'reading dated 1999-12-31T23:59:59.999Z, before 2000',
    );
    const ahead = rejection(raw('hongyuan', { ts: NOW + 600_001, values: { pH: 7 } }));
    expect(ahead.code).toBe('TJ_FUTURE_TIMESTAMP');
    expect(ahead.message).toBe('reading dated 2026-03-01T12:10:00.001Z is more than 600 s ahead of now');
    expect(validateReading(raw('hongyuan', { ts: Date.parse('2000-01-01T00:00:00Z'), values: { pH: 7 } }), ctx).reading.ts).toBe(
      946_684_800_000,
    );
  });

  it('no values', () => {
    expect(rejection(raw('hongyuan')).message).toBe('the reading carries no values');
  });

  it('an unknown parameter is named, cut to 40 characters in text and details', () => {
    const e = rejection(raw('hongyuan', { values: { [LONG]: 1 } }));
    expect(e.code).toBe('TJ_UNKNOWN_PARAMETER');
    expect(e.message).toBe(`unknown parameter "${LONG.slice(0, 40)}"`);
    expect(e.details).toEqual({ parameter: LONG.slice(0, 40) });
  });

  it('a parameter of the other medium names both media and the station', () => {
    const e = rejection(raw('hongyuan', { values: { PM2_5: 30 } }));
    expect(e.message).toBe('PM2_5 is an air parameter; station hongyuan is a water station');
    expect(e.details).toEqual({ parameter: 'PM2_5' });
    expect(rejection(raw('ziyang-yanjiang', { values: { NH3N: 1 } })).message).toBe(
      'NH3N is a water parameter; station ziyang-yanjiang is an air station',
    );
  });

  it('a value that is not a finite number is quoted, cut to 40 characters; undefined and functions too', () => {
    const e = rejection(raw('hongyuan', { values: { NH3N: LONG } }));
    expect(e.code).toBe('TJ_INVALID_VALUE');
    expect(e.message).toBe(`NH3N is ${JSON.stringify(LONG).slice(0, 40)}, not a finite number`);
    expect(e.details).toEqual({ parameter: 'NH3N' });
    expect(rejection(raw('hongyuan', { values: { NH3N: undefined } })).message).toBe('NH3N is undefined, not a finite number');
    expect(rejection(raw('hongyuan', { values: { NH3N: () => 1 } })).message).toBe('NH3N is undefined, not a finite number');
    expect(rejection(raw('hongyuan', { values: { NH3N: '0.5' } })).message).toBe('NH3N is "0.5", not a finite number');
  });

  it('a flag without a value is named, cut to 40 characters', () => {
    const e = rejection(raw('hongyuan', { values: { pH: 7 }, flags: { [LONG]: 'N' } }));
    expect(e.code).toBe('TJ_INVALID_FLAG');
    expect(e.message).toBe(`flag for "${LONG.slice(0, 40)}", which has no value`);
    expect(e.details).toEqual({ parameter: LONG.slice(0, 40) });
  });

  it('a flag that is no HJ 212 flag is quoted, cut to 20 characters; undefined too', () => {
    const e = rejection(raw('hongyuan', { values: { pH: 7 }, flags: { pH: LONG } }));
    expect(e.message).toBe(`flag ${JSON.stringify(LONG).slice(0, 20)} for pH is not one of N F M S D C T B`);
    expect(e.details).toEqual({ parameter: 'pH' });
    expect(rejection(raw('hongyuan', { values: { pH: 7 }, flags: { pH: undefined } })).message).toBe(
      'flag undefined for pH is not one of N F M S D C T B',
    );
  });

  it('a non-finite -Min/-Max names itself and its parameter', () => {
    const e = rejection(raw('hongyuan', { values: { NH3N: 0.4 }, extras: { NH3N_max: Number.POSITIVE_INFINITY } }));
    expect(e.code).toBe('TJ_INVALID_VALUE');
    expect(e.message).toBe('NH3N_max is Infinity, not a finite number');
    expect(e.details).toEqual({ parameter: 'NH3N' });
  });

  it('lists every refused value, separated by "; "', () => {
    expect(
      describeRefused([
        { parameter: 'NH3N', value: 1e308, unit: 'mg/L', min: 0, max: 10_000 },
        { parameter: 'pH', value: 15, unit: '', min: 0, max: 14 },
      ]),
    ).toBe('NH3N = 1e+308 mg/L is outside the plausible range [0, 10000] mg/L; pH = 15  is outside the plausible range [0, 14] ');
    expect(describeRefused([])).toBe('');
  });
});

describe('-Min/-Max go with their average', () => {
  it('in-range extremes of a refused average are dropped too (exactly, nothing else kept)', () => {
    const v = validateReading(
      raw('hongyuan', {
        source: 'hj212',
        period: 'hour',
        values: { NH3N: -3, TP: 0.1 },
        extras: { NH3N_min: 0.1, NH3N_max: 0.2, TP_max: 0.2 },
      }),
      ctx,
    );
    expect(v.reading.extras).toEqual({ TP_max: 0.2 });
    expect(v.refused).toEqual([{ parameter: 'NH3N', value: -3, unit: 'mg/L', min: 0, max: 10_000 }]);
  });

  it("only a trailing _min/_max names the parameter: NH_min3N is not NH3N's minimum and is not range-checked as one", () => {
    const v = validateReading(raw('hongyuan', { source: 'hj212', values: { NH3N: 0.4 }, extras: { NH_min3N: 1e9, NH3N_min: 0.3 } }), ctx);
    expect(v.reading.extras).toEqual({ NH_min3N: 1e9, NH3N_min: 0.3 });
    expect(v.refused).toEqual([]);
  });

  it('an out-of-range extreme is refused with its own name and range', () => {
    const v = validateReading(raw('hongyuan', { source: 'hj212', values: { NH3N: 0.4 }, extras: { NH3N_max: 20_000 } }), ctx);
    expect(v.refused).toEqual([{ parameter: 'NH3N_max', value: 20_000, unit: 'mg/L', min: 0, max: 10_000 }]);
    expect(v.reading).not.toHaveProperty('extras');
  });
});
