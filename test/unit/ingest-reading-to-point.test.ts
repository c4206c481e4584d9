import { describe, expect, it } from 'vitest';
import { MEASUREMENT, readingToPoint } from '../../ingest/reading-to-point.js';
import { encodePoint } from '../../lib/influx/line-protocol.js';
import type { Reading } from '../../lib/reading.js';

const TS = 1772323200000;
const water: Reading = {
  station: 'hongyuan',
  city: 'chengdu',
  medium: 'water',
  ts: TS,
  period: 'rt',
  values: { NH3N: 0.42, pH: 7 },
  flags: {},
  source: 'json',
};

describe('readingToPoint', () => {
  it('maps a water reading to water_quality with tags station, city, period and one float field per parameter', () => {
    expect(readingToPoint(water)).toEqual({
      measurement: 'water_quality',
      tags: { station: 'hongyuan', city: 'chengdu', period: 'rt' },
      fields: { NH3N: 0.42, pH: 7 },
      ts: TS,
    });
    expect(encodePoint(readingToPoint(water))).toBe('water_quality,city=chengdu,period=rt,station=hongyuan NH3N=0.42,pH=7.0 1772323200000');
  });

  it('maps an air reading to air_quality', () => {
    const p = readingToPoint({ ...water, station: 'ziyang-shijian', city: 'ziyang', medium: 'air', values: { PM2_5: 35 } });
    expect(p.measurement).toBe('air_quality');
    expect(p.tags).toEqual({ station: 'ziyang-shijian', city: 'ziyang', period: 'rt' });
    expect(MEASUREMENT).toEqual({ water: 'water_quality', air: 'air_quality' });
  });

  it('adds a {param}_flag string field for each flag it carries (validation leaves out N)', () => {
    const p = readingToPoint({ ...water, flags: { NH3N: 'M', pH: 'T' } });
    expect(p.fields).toEqual({ NH3N: 0.42, pH: 7, NH3N_flag: 'M', pH_flag: 'T' });
    expect(encodePoint(p)).toContain('NH3N_flag="M",pH_flag="T"');
  });

  it('adds the HJ 212 extras as fields', () => {
    const p = readingToPoint({ ...water, period: 'hour', source: 'hj212', extras: { NH3N_min: 0.3, NH3N_max: 0.5 } });
    expect(p.fields).toEqual({ NH3N: 0.42, pH: 7, NH3N_min: 0.3, NH3N_max: 0.5 });
    expect(p.tags.period).toBe('hour');
  });

  it('uses the sensor timestamp, so the same reading twice is the same point', () => {
    expect(encodePoint(readingToPoint(water))).toBe(encodePoint(readingToPoint({ ...water })));
    expect(readingToPoint(water).ts).toBe(TS);
  });

  it('keeps the period apart: an hourly average and a real-time value at one instant are different series', () => {
    expect(encodePoint(readingToPoint(water))).not.toBe(encodePoint(readingToPoint({ ...water, period: 'hour' })));
  });
});
