import { describe, expect, it } from 'vitest';
import { frameToRawReading, stationOfFrame } from '../../ingest/decode-hj212.js';
import { encodeFrame, parseFrame } from '../../ingest/hj212/frame.js';
import type { TopicInfo } from '../../ingest/topics.js';
import { validateReading } from '../../ingest/validate-reading.js';
import { MN, codeOf, frameOf, shippedRegistry, type FrameInput } from '../helpers/fixtures.js';

const registry = shippedRegistry();
const TS = Date.parse('2026-03-01T00:00:00Z'); // DataTime 20260301080000 (UTC+8)
const HONGYUAN: TopicInfo = { medium: 'water', stationId: 'hongyuan' };

function frame(over: Partial<FrameInput> = {}) {
  return frameOf({ mn: MN.hongyuan, ts: TS, items: { w21003: { Rtd: '0.42', Flag: 'N' } }, ...over });
}

describe('frameToRawReading: data commands', () => {
  it.each([
    ['2011', 'rt', 'Rtd'],
    ['2051', 'min', 'Avg'],
    ['2061', 'hour', 'Avg'],
    ['2031', 'day', 'Avg'],
  ])('CN %s is a %s reading valued by -%s', (cn, period, suffix) => {
    const other = suffix === 'Rtd' ? 'Avg' : 'Rtd';
    // The other suffix carries a decoy value: the right one must be chosen.
    const f = frame({ cn, items: { w21003: { [suffix]: '0.42', [other]: '9.99', Flag: 'N' }, w01001: { [suffix]: '7.6' } } });
    const raw = frameToRawReading(f, HONGYUAN, registry);
    expect(raw).toMatchObject({ period, values: { NH3N: 0.42, pH: 7.6 }, flags: { NH3N: 'N' }, source: 'hj212', ts: TS });
    expect(raw.station.id).toBe('hongyuan');
  });

  it('reads DataTime as China Standard Time (UTC+8)', () => {
    const f = parseFrame(
      encodeFrame({
        qn: '20260301080000000',
        st: '21',
        cn: '2011',
        mn: MN.hongyuan,
        flag: 4,
        cp: 'DataTime=20260301080000;w21003-Rtd=0.4',
      }),
    );
    expect(frameToRawReading(f, HONGYUAN, registry).ts).toBe(Date.parse('2026-03-01T08:00:00+08:00'));
  });

  it('falls back to -Rtd for an average command when the logger sends no -Avg', () => {
    expect(frameToRawReading(frame({ cn: '2061', items: { w21003: { Rtd: '0.5' } } }), HONGYUAN, registry).values).toEqual({ NH3N: 0.5 });
  });

  it('does not fall back to -Avg for real-time data', () => {
    expect(codeOf(() => frameToRawReading(frame({ cn: '2011', items: { w21003: { Avg: '0.5' } } }), HONGYUAN, registry))).toBe(
      'TJ_INVALID_VALUE',
    );
  });

  it('keeps -Min and -Max as {param}_min / {param}_max extras', () => {
    const f = frame({ cn: '2061', items: { w21003: { Min: '0.3', Avg: '0.4', Max: '0.55', Flag: 'N' } } });
    expect(frameToRawReading(f, HONGYUAN, registry).extras).toEqual({ NH3N_min: 0.3, NH3N_max: 0.55 });
  });

  it('scales the value and the extras to the catalogue unit (gongchengpu sends NH3N in µg/L)', () => {
    const f = frame({ mn: MN.gongchengpu, cn: '2061', items: { w21003: { Min: '300', Avg: '420', Max: '550' } } });
    const raw = frameToRawReading(f, { medium: 'water', stationId: 'gongchengpu' }, registry);
    expect(raw.extras?.NH3N_min).toBeCloseTo(0.3, 12);
    expect(raw.extras?.NH3N_max).toBeCloseTo(0.55, 12);
    expect(raw.values.NH3N).toBe(420); // scaled by validation, with the range check
    expect(validateReading(raw, { registry, now: TS, futureToleranceMs: 0 }).reading.values.NH3N).toBeCloseTo(0.42, 12);
  });

  it('skips a factor the station ignores (gongchengpu: w00000, flow)', () => {
    const f = frame({ mn: MN.gongchengpu, items: { w21003: { Rtd: '420' }, w00000: { Rtd: '12.5', Flag: 'N' } } });
    const raw = frameToRawReading(f, { medium: 'water', stationId: 'gongchengpu' }, registry);
    expect(raw.values).toEqual({ NH3N: 420 });
    expect(raw.flags).toEqual({});
  });

  it('refuses the same factor at a station that does not ignore it', () => {
    expect(codeOf(() => frameToRawReading(frame({ items: { w00000: { Rtd: '12.5' } } }), HONGYUAN, registry))).toBe('TJ_UNKNOWN_PARAMETER');
  });

  it('refuses an unknown factor code', () => {
    expect(codeOf(() => frameToRawReading(frame({ items: { w21003: { Rtd: '1' }, w99999: { Rtd: '1' } } }), HONGYUAN, registry))).toBe(
      'TJ_UNKNOWN_PARAMETER',
    );
  });

  it('refuses factor codes that are Object.prototype members as unknown parameters', () => {
    const ctx = { registry, now: TS, futureToleranceMs: 0 };
    for (const code of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const f = frame({ items: { [code]: { Rtd: '1' } } });
      expect(
        codeOf(() => validateReading(frameToRawReading(f, HONGYUAN, registry), ctx)),
        code,
      ).toBe('TJ_UNKNOWN_PARAMETER');
    }
  });

  it('maps 2005-style factor codes', () => {
    const f = frame({ flag: null, qn: null, items: { '060': { Rtd: '0.4' }, '001': { Rtd: '7.1' }, '011': { Rtd: '12' } } });
    expect(frameToRawReading(f, HONGYUAN, registry).values).toEqual({ NH3N: 0.4, pH: 7.1, COD: 12 });
  });

  it('maps the air factor codes of an ambient station', () => {
    const f = frame({
      mn: MN['ziyang-shijian'],
      st: '22',
      items: {
        a34004: { Rtd: '35' },
        a34002: { Rtd: '60' },
        a21026: { Rtd: '8' },
        a21004: { Rtd: '30' },
        a21005: { Rtd: '0.8' },
        a05024: { Rtd: '90' },
      },
    });
    expect(frameToRawReading(f, { medium: 'air', stationId: 'ziyang-shijian' }, registry).values).toEqual({
      PM2_5: 35,
      PM10: 60,
      SO2: 8,
      NO2: 30,
      CO: 0.8,
      O3: 90,
    });
  });

  it.each([
    ['a word', 'abc'],
    ['an empty value', ''],
    ['hex', '0x10'],
    ['two points', '1.2.3'],
    ['Infinity', 'Infinity'],
  ])('refuses %s as a value (TJ_INVALID_VALUE)', (_what, v) => {
    expect(codeOf(() => frameToRawReading(frame({ items: { w21003: { Rtd: v } } }), HONGYUAN, registry))).toBe('TJ_INVALID_VALUE');
  });

  it('refuses a non-numeric -Min or -Max', () => {
    expect(codeOf(() => frameToRawReading(frame({ cn: '2061', items: { w21003: { Avg: '1', Min: 'x' } } }), HONGYUAN, registry))).toBe(
      'TJ_INVALID_VALUE',
    );
    expect(codeOf(() => frameToRawReading(frame({ cn: '2061', items: { w21003: { Avg: '1', Max: '' } } }), HONGYUAN, registry))).toBe(
      'TJ_INVALID_VALUE',
    );
  });

  it('reads numbers in the forms loggers send', () => {
    for (const [text, value] of [
      ['+0.5', 0.5],
      ['.5', 0.5],
      ['5.', 5],
      ['-1', -1],
      ['1e-3', 0.001],
      ['1E2', 100],
    ] as const) {
      expect(frameToRawReading(frame({ items: { w21003: { Rtd: text } } }), HONGYUAN, registry).values.NH3N, text).toBe(value);
    }
  });

  it('passes the flags on as sent, for validation to judge', () => {
    expect(frameToRawReading(frame({ items: { w21003: { Rtd: '1', Flag: 'Q' } } }), HONGYUAN, registry).flags).toEqual({ NH3N: 'Q' });
  });

  it('refuses a data frame without DataTime', () => {
    expect(codeOf(() => frameToRawReading(frame({ ts: undefined, qn: '20260301080000000' }), HONGYUAN, registry))).toBe(
      'TJ_INVALID_TIMESTAMP',
    );
  });

  it('refuses an impossible DataTime', () => {
    const f = parseFrame(encodeFrame({ st: '21', cn: '2011', mn: MN.hongyuan, flag: 4, cp: 'DataTime=20260230080000;w21003-Rtd=0.4' }));
    expect(codeOf(() => frameToRawReading(f, HONGYUAN, registry))).toBe('TJ_INVALID_TIMESTAMP');
  });

  it.each(['1062', '9014', '2021', '3020', '1011'])('refuses CN %s, which carries no readings', (cn) => {
    expect(codeOf(() => frameToRawReading(frame({ cn }), HONGYUAN, registry))).toBe('TJ_UNSUPPORTED_COMMAND');
  });

  it('returns no values for a frame whose only factor is ignored (validation then refuses it as empty)', () => {
    const raw = frameToRawReading(
      frame({ mn: MN.gongchengpu, items: { w00000: { Rtd: '3' } } }),
      { medium: 'water', stationId: 'gongchengpu' },
      registry,
    );
    expect(raw.values).toEqual({});
  });
});

describe('stationOfFrame', () => {
  it('finds the station by MN, ignoring case', () => {
    expect(stationOfFrame(frame({ mn: MN.hongyuan.toLowerCase() }), HONGYUAN, registry).id).toBe('hongyuan');
    expect(stationOfFrame(frame({ mn: '510185w0000000000000a003' }), HONGYUAN, registry).id).toBe('hongyuan');
  });

  it('accepts a frame arriving on no station topic, identified by its MN alone', () => {
    expect(stationOfFrame(frame(), undefined, registry).id).toBe('hongyuan');
  });

  it('refuses an MN not in the registry', () => {
    expect(codeOf(() => stationOfFrame(frame({ mn: '0000000000000000DEADBEEF' }), HONGYUAN, registry))).toBe('TJ_UNKNOWN_STATION');
  });

  it("refuses a frame whose MN is another station than the topic's", () => {
    expect(codeOf(() => stationOfFrame(frame({ mn: MN.huaikou }), HONGYUAN, registry))).toBe('TJ_STATION_MISMATCH');
  });

  it('refuses a frame whose MN is another station than the one its connection authenticated', () => {
    expect(codeOf(() => stationOfFrame(frame({ mn: MN.huaikou }), undefined, registry, 'hongyuan'))).toBe('TJ_STATION_MISMATCH');
    expect(stationOfFrame(frame(), undefined, registry, 'hongyuan').id).toBe('hongyuan');
    // No station's password opened the connection (an unknown MN's frame, taken for its dead letter).
    expect(codeOf(() => stationOfFrame(frame(), undefined, registry, null))).toBe('TJ_STATION_MISMATCH');
  });

  it("refuses a water station's frame on an air topic", () => {
    expect(codeOf(() => stationOfFrame(frame(), { medium: 'air', stationId: 'hongyuan' }, registry))).toBe('TJ_KIND_MISMATCH');
  });

  it('frameToRawReading applies the same checks', () => {
    expect(codeOf(() => frameToRawReading(frame({ mn: MN.huaikou }), HONGYUAN, registry))).toBe('TJ_STATION_MISMATCH');
    expect(codeOf(() => frameToRawReading(frame(), { medium: 'air', stationId: 'hongyuan' }, registry))).toBe('TJ_KIND_MISMATCH');
    expect(codeOf(() => frameToRawReading(frame({ mn: 'NOPE' }), HONGYUAN, registry))).toBe('TJ_UNKNOWN_STATION');
  });
});
