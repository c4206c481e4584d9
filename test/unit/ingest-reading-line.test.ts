import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readingLine, readingToPoint } from '../../ingest/reading-to-point.js';
import { resendText } from '../../ingest/resend-detector.js';
import { encodePoint } from '../../lib/influx/line-protocol.js';
import { DATA_FLAGS, PARAMETERS } from '../../lib/parameters.js';
import type { Reading } from '../../lib/reading.js';
import { propertyRuns } from '../helpers/property-runs.js';

/**
 * The writer's fast paths (docs/decisions/0018) against what they replace: readingLine against
 * encodePoint(readingToPoint(r)), resendText against the pair-by-pair text the re-send check used.
 */

/** The re-send text as ResendDetector built it before: [field, value] pairs, then joined. */
function resendTextByPairs(r: Reading): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(r.values)) {
    const flag = r.flags[k];
    pairs.push([k, flag ? `${v} ${flag}` : String(v)]);
  }
  for (const [k, v] of Object.entries(r.extras ?? {})) pairs.push([k, String(v)]);
  return pairs.map(([f, v]) => `${f}=${v}`).join(';');
}

const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.constantFrom(0, -0, 1e21, -1e21, 1e-7, 123456789012345680000, 5e-324, Number.MAX_VALUE),
);

/** Readings as the ingest journals them: catalogue keys, flags of values only, -Min/-Max of values. */
const reading: fc.Arbitrary<Reading> = fc
  .record({
    medium: fc.constantFrom('water' as const, 'air' as const),
    // Names with the characters line protocol escapes, and the empty city a point leaves out.
    station: fc.oneof(fc.constantFrom('hongyuan', 'bench-001', 'a b', 'x,y=z', 'back\\slash'), fc.string({ minLength: 1, maxLength: 12 })),
    city: fc.oneof(fc.constantFrom('chengdu', 'ziyang', '', 'c d'), fc.string({ maxLength: 8 })),
    period: fc.constantFrom('rt' as const, 'min' as const, 'hour' as const, 'day' as const),
    ts: fc.oneof(
      fc.integer({ min: 946_684_800_000, max: 32_503_680_000_000 }),
      fc.double({ min: 946_684_800_000, max: 4e12, noNaN: true }),
    ),
    keys: fc.uniqueArray(fc.constantFrom(...PARAMETERS.map((p) => p.key)), { minLength: 1, maxLength: 8 }),
    nums: fc.array(number, { minLength: 8, maxLength: 8 }),
    flagOf: fc.array(fc.option(fc.constantFrom(...DATA_FLAGS.filter((f) => f !== 'N')), { nil: undefined }), {
      minLength: 8,
      maxLength: 8,
    }),
    mins: fc.array(fc.option(number, { nil: undefined }), { minLength: 8, maxLength: 8 }),
    maxs: fc.array(fc.option(number, { nil: undefined }), { minLength: 8, maxLength: 8 }),
    quirks: fc.option(fc.uniqueArray(fc.constantFrom('crc-reversed', 'datatime-17-digits', 'a,b', 'say "hi"'), { maxLength: 3 }), {
      nil: undefined,
    }),
  })
  .map(({ medium, station, city, period, ts, keys, nums, flagOf, mins, maxs, quirks }) => {
    const values: Record<string, number> = {};
    const flags: Reading['flags'] = {};
    const extras: Record<string, number> = {};
    keys.forEach((k, i) => {
      values[k] = nums[i]!;
      if (flagOf[i]) flags[k] = flagOf[i];
      if (mins[i] !== undefined) extras[`${k}_min`] = mins[i];
      if (maxs[i] !== undefined) extras[`${k}_max`] = maxs[i];
    });
    const r: Reading = { station, city, medium, ts, period, values, flags, source: 'json' };
    if (Object.keys(extras).length > 0) r.extras = extras;
    if (quirks) r.quirks = quirks;
    return r;
  });

describe('readingLine', () => {
  it('is byte for byte encodePoint(readingToPoint(r)), for any reading the ingest journals', () => {
    fc.assert(
      fc.property(reading, (r) => {
        expect(readingLine(r)).toBe(encodePoint(readingToPoint(r)));
      }),
      { numRuns: propertyRuns(5000) },
    );
  });

  it('stays the same line after a JSON round trip through the journal', () => {
    fc.assert(
      fc.property(reading, (r) => {
        const back = JSON.parse(JSON.stringify(r)) as Reading;
        expect(readingLine(back)).toBe(encodePoint(readingToPoint(back)));
      }),
      { numRuns: propertyRuns(1000) },
    );
  });

  it('keeps stations apart when one changes city or medium (the cached prefix is per station, checked)', () => {
    const r: Reading = {
      station: 'moved',
      city: 'chengdu',
      medium: 'water',
      ts: 1772323200000,
      period: 'rt',
      values: { pH: 7 },
      flags: {},
      source: 'json',
    };
    expect(readingLine(r)).toBe('water_quality,city=chengdu,period=rt,station=moved pH=7.0 1772323200000');
    expect(readingLine({ ...r, city: 'ziyang' })).toBe('water_quality,city=ziyang,period=rt,station=moved pH=7.0 1772323200000');
    expect(readingLine({ ...r, medium: 'air', values: { PM2_5: 35 } })).toBe(
      'air_quality,city=chengdu,period=rt,station=moved PM2_5=35.0 1772323200000',
    );
    expect(readingLine({ ...r, period: 'hour' })).toBe('water_quality,city=chengdu,period=hour,station=moved pH=7.0 1772323200000');
  });

  it('leaves out non-finite values and refuses a reading with no field left, as encodePoint does', () => {
    const r: Reading = {
      station: 's',
      city: 'c',
      medium: 'water',
      ts: 1772323200000,
      period: 'rt',
      values: { pH: Number.NaN, DO: 8 },
      flags: {},
      source: 'json',
    };
    expect(readingLine(r)).toBe('water_quality,city=c,period=rt,station=s DO=8.0 1772323200000');
    expect(readingLine({ ...r, extras: { DO_min: Number.POSITIVE_INFINITY, DO_max: 9 } })).toBe(
      'water_quality,city=c,period=rt,station=s DO=8.0,DO_max=9.0 1772323200000',
    );
    expect(() => readingLine({ ...r, values: { pH: Number.NaN } })).toThrow('point water_quality has no fields');
    expect(() => encodePoint(readingToPoint({ ...r, values: { pH: Number.NaN } }))).toThrow('point water_quality has no fields');
  });
});

describe('resendText', () => {
  it('is the pair-by-pair text the re-send check stored, for any reading', () => {
    fc.assert(
      fc.property(reading, (r) => {
        expect(resendText(r)).toBe(resendTextByPairs(r));
      }),
      { numRuns: propertyRuns(5000) },
    );
  });

  it('writes value and flag together, then the extras', () => {
    const r: Reading = {
      station: 's',
      city: 'c',
      medium: 'water',
      ts: 1772323200000,
      period: 'hour',
      values: { NH3N: 0.5, pH: 7 },
      flags: { NH3N: 'D' },
      extras: { NH3N_max: 0.9 },
      source: 'hj212',
    };
    expect(resendText(r)).toBe('NH3N=0.5 D;pH=7;NH3N_max=0.9');
    expect(resendText({ ...r, flags: {}, extras: undefined })).toBe('NH3N=0.5;pH=7');
  });
});
