/**
 * What the HJ 212 decoder makes of a frame's values and why it refuses one: the number syntax it
 * accepts, each refusal's text and details (cut short for hostile input), -Min/-Max scaling.
 */
import { describe, expect, it } from 'vitest';
import { frameToRawReading, stationOfFrame } from '../../ingest/decode-hj212.js';
import type { Hj212Frame } from '../../ingest/hj212/frame.js';
import type { TopicInfo } from '../../ingest/topics.js';
import { TuojiangError } from '../../lib/errors.js';
import { MN, frameOf, shippedRegistry, type FrameInput } from '../helpers/fixtures.js';

const registry = shippedRegistry();
const TS = Date.parse('2026-03-01T00:00:00Z');
const HONGYUAN: TopicInfo = { medium: 'water', stationId: 'hongyuan' };

const frame = (over: Partial<FrameInput> = {}): Hj212Frame =>
  frameOf({ mn: MN.hongyuan, ts: TS, items: { w21003: { Rtd: '0.42' } }, ...over });

function refusal(f: () => unknown): TuojiangError {
  try {
    f();
  } catch (e) {
    if (e instanceof TuojiangError) return e;
    throw new Error(`expected a TuojiangError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a TuojiangError, nothing was thrown');
}

describe('numbers as HJ 212 writes them', () => {
  it.each([
    ['0.42', 0.42],
    ['42', 42],
    ['42.', 42],
    ['.5', 0.5],
    ['-1.5', -1.5],
    ['+2', 2],
    ['1e3', 1000],
    ['1.5E-2', 0.015],
    ['2e+1', 20],
    ['007', 7],
  ])('reads %s as %s', (text, value) => {
    expect(frameToRawReading(frame({ items: { w21003: { Rtd: text } } }), HONGYUAN, registry).values.NH3N).toBe(value);
  });

  it.each([['0x10'], [''], ['.'], ['1e'], ['e5'], ['1.2.3'], [' 1'], ['1 '], ['NaN'], ['Infinity'], ['--1'], ['1e5x'], ['x1']])(
    'refuses %j',
    (text) => {
      const e = refusal(() => frameToRawReading(frame({ items: { w21003: { Rtd: text } } }), HONGYUAN, registry));
      expect(e.code).toBe('TJ_INVALID_VALUE');
      expect(e.message).toBe(`w21003-Rtd=${text} is not a number`);
      expect(e.details).toEqual({ factor: 'w21003' });
    },
  );

  it('cuts a long bad value to 30 characters in the message', () => {
    const long = `x${'9'.repeat(100)}`;
    expect(refusal(() => frameToRawReading(frame({ items: { w21003: { Rtd: long } } }), HONGYUAN, registry)).message).toBe(
      `w21003-Rtd=${long.slice(0, 30)} is not a number`,
    );
  });

  it('refuses a bad -Min or -Max by its own suffix', () => {
    expect(
      refusal(() => frameToRawReading(frame({ cn: '2061', items: { w21003: { Avg: '1', Min: 'low' } } }), HONGYUAN, registry)).message,
    ).toBe('w21003-Min=low is not a number');
    expect(
      refusal(() => frameToRawReading(frame({ cn: '2061', items: { w21003: { Avg: '1', Max: 'high' } } }), HONGYUAN, registry)).message,
    ).toBe('w21003-Max=high is not a number');
  });
});

describe('refusals of the frame as a whole', () => {
  it('an MN not in the registry, cut to 40 characters', () => {
    const mn = `X${'0'.repeat(60)}`;
    const e = refusal(() => frameToRawReading(frame({ mn }), undefined, registry));
    expect(e.code).toBe('TJ_UNKNOWN_STATION');
    expect(e.message).toBe(`MN ${mn.slice(0, 40)} is not in the registry`);
    expect(e.details).toEqual({ mn: mn.slice(0, 40) });
  });

  it("a frame of one station on another station's topic, or of one medium on the other's", () => {
    const e = refusal(() => stationOfFrame(frame(), { medium: 'water', stationId: 'shiqiao' }, registry));
    expect(e.code).toBe('TJ_STATION_MISMATCH');
    expect(e.message).toBe(`frame MN ${MN.hongyuan} is station hongyuan but the topic is for "shiqiao"`);
    const k = refusal(() => stationOfFrame(frame(), { medium: 'air', stationId: 'hongyuan' }, registry));
    expect(k.code).toBe('TJ_KIND_MISMATCH');
    expect(k.message).toBe('station hongyuan is a water station but published on an air topic');
    expect(stationOfFrame(frame(), undefined, registry).id).toBe('hongyuan');
  });

  it('a command that carries no readings, cut to 10 characters', () => {
    const e = refusal(() => frameToRawReading(frame({ cn: '9014' }), HONGYUAN, registry));
    expect(e.code).toBe('TJ_UNSUPPORTED_COMMAND');
    expect(e.message).toBe('CN 9014 carries no readings');
    expect(refusal(() => frameToRawReading(frame({ cn: '2011123456789' }), HONGYUAN, registry)).message).toBe(
      'CN 2011123456 carries no readings',
    );
  });

  it('a frame without DataTime', () => {
    const e = refusal(() => frameToRawReading(frameOf({ mn: MN.hongyuan, items: { w21003: { Rtd: '1' } } }), HONGYUAN, registry));
    expect(e.code).toBe('TJ_INVALID_TIMESTAMP');
    expect(e.message).toBe('the frame has no DataTime');
  });

  it('an unknown factor code, cut to 20 characters', () => {
    const code = `z${'9'.repeat(30)}`;
    const e = refusal(() => frameToRawReading(frame({ items: { [code]: { Rtd: '1' } } }), HONGYUAN, registry));
    expect(e.code).toBe('TJ_UNKNOWN_PARAMETER');
    expect(e.message).toBe(`factor code ${code.slice(0, 20)} is not known for station hongyuan`);
    expect(e.details).toEqual({ factor: code.slice(0, 20) });
  });

  it("a factor without the command's value suffix", () => {
    const e = refusal(() => frameToRawReading(frame({ cn: '2061', items: { w21003: { Min: '1' } } }), HONGYUAN, registry));
    expect(e.code).toBe('TJ_INVALID_VALUE');
    expect(e.message).toBe('w21003 has no -Avg value for CN 2061');
    expect(e.details).toEqual({ factor: 'w21003' });
  });
});

describe('what is kept', () => {
  it('flags as sent, extras only when sent, unscaled at a station sending the catalogue unit', () => {
    const raw = frameToRawReading(
      frame({ cn: '2061', items: { w21003: { Avg: '0.4', Flag: 'T' }, w01001: { Avg: '7.1' } } }),
      HONGYUAN,
      registry,
    );
    expect(raw.values).toEqual({ NH3N: 0.4, pH: 7.1 });
    expect(raw.flags).toEqual({ NH3N: 'T' });
    expect(raw.extras).toEqual({});
    const mm = frameToRawReading(frame({ cn: '2061', items: { w21003: { Avg: '0.4', Min: '0.3' } } }), HONGYUAN, registry);
    expect(mm.extras).toEqual({ NH3N_min: 0.3 });
  });

  it("scales -Min and -Max by the station's unit (µg/L → mg/L at gongchengpu)", () => {
    const raw = frameToRawReading(
      frameOf({ mn: MN.gongchengpu, ts: TS, cn: '2061', items: { w21003: { Avg: '400', Min: '200', Max: '800' } } }),
      { medium: 'water', stationId: 'gongchengpu' },
      registry,
    );
    expect(raw.extras?.NH3N_min).toBeCloseTo(0.2, 12);
    expect(raw.extras?.NH3N_max).toBeCloseTo(0.8, 12);
  });
});

describe('numbers with more than one digit after the point or in the exponent', () => {
  it.each([
    ['.55', 0.55],
    ['1e10', 1e10],
    ['2.5E-12', 2.5e-12],
    ['-.125', -0.125],
  ])('reads %s', (text, value) => {
    expect(frameToRawReading(frame({ items: { w21003: { Rtd: text } } }), HONGYUAN, registry).values.NH3N).toBe(value);
  });
});
