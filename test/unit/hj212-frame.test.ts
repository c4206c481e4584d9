import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TuojiangError } from '../../lib/errors.js';
import { hj212Crc } from '../../ingest/hj212/crc.js';
import { propertyRuns } from '../helpers/property-runs.js';
import {
  dataTimeToEpochMs,
  encodeCp,
  encodeFrame,
  epochMsToDataTime,
  epochMsToQn,
  flagHasSplit,
  flagVersion,
  flagWantsAnswer,
  frameSegment,
  parseCp,
  parseFrame,
} from '../../ingest/hj212/frame.js';

const CHECK_SEGMENT = 'QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&';
/** The standard's sample frame, written out by hand (not produced by our encoder). */
const CHECK_FRAME = `##0101${CHECK_SEGMENT}1C80\r\n`;

function errorOf(fn: () => unknown): TuojiangError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TuojiangError) return e;
    throw new Error(`expected a TuojiangError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected an error, got none');
}

/** A frame with a correct length and CRC around any segment: reaches the segment syntax checks. */
function framed(segment: string): string {
  return frameSegment(segment);
}

describe('parseFrame', () => {
  it('parses the standard sample frame', () => {
    const f = parseFrame(CHECK_FRAME);
    expect(f).toEqual({
      qn: '20160801085857223',
      st: '32',
      cn: '1062',
      pw: '100000',
      mn: '010000A8900016F000169DC0',
      flag: 5,
      cp: { items: {}, other: { RtdInterval: '30' } },
      segment: CHECK_SEGMENT,
      quirks: [],
    });
    expect(f.cp.dataTime).toBeUndefined();
    expect(f.pnum).toBeUndefined();
  });

  it('tolerates a missing line end, a bare \\n and surrounding whitespace', () => {
    const expected = parseFrame(CHECK_FRAME);
    expect(parseFrame(CHECK_FRAME.trimEnd())).toEqual(expected);
    expect(parseFrame(`${CHECK_FRAME.trimEnd()}\n`)).toEqual(expected);
    expect(parseFrame(`  \t${CHECK_FRAME}\r\n  `)).toEqual(expected);
  });

  it('accepts a lower-case CRC', () => {
    expect(parseFrame(`##0101${CHECK_SEGMENT}1c80`).mn).toBe('010000A8900016F000169DC0');
    const segment = 'ST=21;CN=2011;MN=X;CP=&&w01001-Rtd=7.1&&';
    const crc = hj212Crc(segment);
    expect(crc).toMatch(/[A-F]/); // the case-insensitivity is really exercised
    expect(parseFrame(`##${String(segment.length).padStart(4, '0')}${segment}${crc.toLowerCase()}`).cp.items).toEqual({
      w01001: { Rtd: '7.1' },
    });
  });

  it('accepts a Buffer', () => {
    expect(parseFrame(Buffer.from(CHECK_FRAME))).toEqual(parseFrame(CHECK_FRAME));
  });

  it('counts the length in UTF-8 bytes', () => {
    const segment = 'ST=21;CN=2011;PW=沱江;MN=X;CP=&&DataTime=20260301080000;w01001-Rtd=7.1&&';
    expect(Buffer.byteLength(segment)).toBe(segment.length + 4);
    const frame = `##${String(Buffer.byteLength(segment)).padStart(4, '0')}${segment}${hj212Crc(segment)}\r\n`;
    expect(parseFrame(frame).pw).toBe('沱江');
    expect(parseFrame(Buffer.from(frame)).pw).toBe('沱江');
    const byChars = `##${String(segment.length).padStart(4, '0')}${segment}${hj212Crc(segment)}\r\n`;
    expect(errorOf(() => parseFrame(byChars)).code).toBe('TJ_FRAME_LENGTH');
  });

  it('accepts a 2005-style frame without QN and Flag', () => {
    const segment = 'ST=32;CN=2011;PW=123456;MN=88888880000001;CP=&&DataTime=20040516020111;001-Rtd=7.5,001-Flag=N;060-Rtd=0.4&&';
    const f = parseFrame(`##${String(segment.length).padStart(4, '0')}${segment}${hj212Crc(segment)}\r\n`);
    expect(f.qn).toBeUndefined();
    expect(f.flag).toBeUndefined();
    expect(flagVersion(f.flag)).toBe(0);
    expect(f).toMatchObject({ st: '32', cn: '2011', pw: '123456', mn: '88888880000001' });
    expect(f.cp).toEqual({ dataTime: '20040516020111', items: { '001': { Rtd: '7.5', Flag: 'N' }, '060': { Rtd: '0.4' } }, other: {} });
  });

  it('parses a frame captured from a field logger', () => {
    const f = parseFrame(
      '##0121ST=32;CN=2011;PW=123456;MN=LD130104000268;CP=&&DataTime=20160823235500;B01-Rtd=4.70,B01-Flag=N;011-Rtd=59.00,011-Flag=N&&B381\r\n',
    );
    expect(f.cp.items).toEqual({ B01: { Rtd: '4.70', Flag: 'N' }, '011': { Rtd: '59.00', Flag: 'N' } });
  });

  it.each([
    [
      '2011',
      'DataTime=20260301080000;w21003-Rtd=0.42,w21003-Flag=N;w01001-Rtd=7.6,w01001-Flag=N',
      { w21003: { Rtd: '0.42', Flag: 'N' }, w01001: { Rtd: '7.6', Flag: 'N' } },
    ],
    [
      '2051',
      'DataTime=20260301080000;w21003-Min=0.40,w21003-Avg=0.42,w21003-Max=0.45,w21003-Flag=N',
      { w21003: { Min: '0.40', Avg: '0.42', Max: '0.45', Flag: 'N' } },
    ],
    [
      '2061',
      'DataTime=20260301080000;a34004-Min=20,a34004-Avg=35,a34004-Max=51,a34004-Flag=N;a21005-Avg=0.8,a21005-Flag=M',
      { a34004: { Min: '20', Avg: '35', Max: '51', Flag: 'N' }, a21005: { Avg: '0.8', Flag: 'M' } },
    ],
    [
      '2031',
      'DataTime=20260301000000;w01018-Cou=12.5,w01018-Avg=18,w01018-Flag=D,w01018-EFlag=A01',
      { w01018: { Cou: '12.5', Avg: '18', Flag: 'D', EFlag: 'A01' } },
    ],
  ])('parses CN %s data with its suffixes', (cn, cp, items) => {
    const f = parseFrame(encodeFrame({ qn: '20260301080000123', st: '21', cn, pw: '123456', mn: 'MN0001', flag: 5, cp }));
    expect(f.cn).toBe(cn);
    expect(f.cp.items).toEqual(items);
    expect(f.cp.dataTime).toBe(cp.slice('DataTime='.length, 'DataTime='.length + 14));
  });

  it('parses PNUM and PNO', () => {
    const f = parseFrame(encodeFrame({ qn: '20260301080000123', st: '21', cn: '2011', mn: 'M', flag: 7, pnum: 3, pno: 2, cp: '' }));
    expect(f).toMatchObject({ flag: 7, pnum: 3, pno: 2 });
    expect(flagHasSplit(f.flag)).toBe(true);
  });

  it('ignores unknown header fields and empty CP items', () => {
    const f = parseFrame(framed('QN=1;ST=21;CN=2011;MN=M;Vendor=x;CP=&&w01001-Rtd=7,;w01009-Rtd=8;;&&'));
    expect(f.cp.items).toEqual({ w01001: { Rtd: '7' }, w01009: { Rtd: '8' } });
    expect(f).not.toHaveProperty('Vendor');
  });

  it('keeps "__proto__" as a plain factor code', () => {
    const f = parseFrame(framed('ST=21;CN=2011;MN=M;CP=&&__proto__-Rtd=1,constructor-Avg=2;__proto__=3&&'));
    expect(Object.keys(f.cp.items)).toEqual(['__proto__', 'constructor']);
    expect(f.cp.items['__proto__']).toEqual({ Rtd: '1' });
    expect(Object.keys(f.cp.other)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['Rtd']).toBeUndefined();
  });

  describe('rejects', () => {
    // The ##, single-# and unclosed-CP cases are in hj212-frame-checks.test.ts, each pinned by its own message.
    const malformed: Array<[string, string | Buffer]> = [
      ['an empty string', ''],
      ['a non-digit length', CHECK_FRAME.replace('##0101', '##01a1')],
      ['a length with 3 digits', CHECK_FRAME.replace('##0101', '##101')],
      ['a frame without CRC', `##0101${CHECK_SEGMENT}\r\n`],
      ['a CRC with a non-hex digit', `##0101${CHECK_SEGMENT}1C8G\r\n`],
      ['a frame cut after the length', '##0101'],
      ['a segment without CP', framed('QN=1;ST=32;CN=2011;PW=1;MN=M')],
      ['a CP not at the end', framed('ST=32;CN=2011;MN=M;CP=&&w01001-Rtd=7&&;PW=1')],
      ['CP=&&& (too short)', framed('ST=32;CN=2011;MN=M;CP=&&&')],
      ['&& inside the CP', framed('ST=32;CN=2011;MN=M;CP=&&a-Rtd=1&&b-Rtd=2&&')],
      ['a header field without =', framed('ST=32;CN=2011;MNX;CP=&&&&')],
      ['a header field with an empty key', framed('ST=32;CN=2011;=M;MN=M;CP=&&&&')],
      ['a CP pair without =', framed('ST=32;CN=2011;MN=M;CP=&&w01001-Rtd&&')],
      ['a CP pair with an empty key', framed('ST=32;CN=2011;MN=M;CP=&&=7&&')],
      ['a header field given twice', framed('ST=32;CN=2011;MN=M;MN=N;CP=&&&&')],
      ['a CP key given twice', framed('ST=32;CN=2011;MN=M;CP=&&w01001-Rtd=7;w01001-Rtd=8&&')],
      ['DataTime given twice', framed('ST=32;CN=2011;MN=M;CP=&&DataTime=20260301080000;DataTime=20260301080000&&')],
      ['a frame without MN', framed('ST=32;CN=2011;PW=1;CP=&&&&')],
      ['a frame with an empty MN', framed('ST=32;CN=2011;MN=;CP=&&&&')],
      ['a frame without CN', framed('ST=32;PW=1;MN=M;CP=&&&&')],
      ['a non-numeric Flag', framed('ST=32;CN=2011;MN=M;Flag=x;CP=&&&&')],
      ['a Flag above 255', framed('ST=32;CN=2011;MN=M;Flag=256;CP=&&&&')],
      ['PNO above PNUM', framed('ST=32;CN=2011;MN=M;Flag=7;PNUM=2;PNO=3;CP=&&&&')],
      ['PNO 0', framed('ST=32;CN=2011;MN=M;Flag=7;PNUM=2;PNO=0;CP=&&&&')],
      ['PNUM without PNO', framed('ST=32;CN=2011;MN=M;Flag=5;PNUM=2;CP=&&&&')],
      ['Flag bit D without PNUM/PNO', framed('ST=32;CN=2011;MN=M;Flag=7;CP=&&&&')],
    ];
    it.each(malformed)('%s as MALFORMED_FRAME', (_name, raw) => {
      const e = errorOf(() => parseFrame(raw));
      expect(e.code).toBe('TJ_MALFORMED_FRAME');
      expect(e.hint).toMatch(/HJ 212/);
    });

    it('a segment that is not UTF-8 as MALFORMED_FRAME', () => {
      const segment = Buffer.concat([Buffer.from('ST=32;CN=2011;PW='), Buffer.from([0xff, 0xfe]), Buffer.from(';MN=M;CP=&&&&')]);
      const raw = Buffer.concat([Buffer.from(`##${String(segment.length).padStart(4, '0')}`), segment, Buffer.from(hj212Crc(segment))]);
      expect(errorOf(() => parseFrame(raw)).code).toBe('TJ_MALFORMED_FRAME');
    });

    it('a value that is neither string nor Buffer as MALFORMED_FRAME', () => {
      expect(errorOf(() => parseFrame(42 as unknown as string)).code).toBe('TJ_MALFORMED_FRAME');
    });

    it('a declared length that differs from the segment as FRAME_LENGTH', () => {
      const e = errorOf(() => parseFrame(CHECK_FRAME.replace('##0101', '##0100')));
      expect(e.code).toBe('TJ_FRAME_LENGTH');
      expect(e.details).toEqual({ declared: 100, actual: 101 });
      expect(errorOf(() => parseFrame(`##0101${CHECK_SEGMENT}X1C80`)).code).toBe('TJ_FRAME_LENGTH');
    });

    it('a wrong CRC as FRAME_CRC', () => {
      const e = errorOf(() => parseFrame(CHECK_FRAME.replace('1C80', '1C08')));
      expect(e.code).toBe('TJ_FRAME_CRC');
      expect(e.details).toEqual({ sent: '1C08', computed: '1C80' });
    });

    it('a changed byte in the segment as FRAME_CRC', () => {
      expect(errorOf(() => parseFrame(CHECK_FRAME.replace('RtdInterval=30', 'RtdInterval=31'))).code).toBe('TJ_FRAME_CRC');
    });
  });
});

describe('Flag helpers', () => {
  it.each([
    [5, true, false, 1],
    [4, false, false, 1],
    [7, true, true, 1],
    [6, false, true, 1],
    [0, false, false, 0],
    [1, true, false, 0],
    [3, true, true, 0],
    [9, true, false, 2],
    [255, true, true, 63],
  ])('Flag=%i: answer %s, split %s, version %i', (flag, answer, split, version) => {
    expect(flagWantsAnswer(flag)).toBe(answer);
    expect(flagHasSplit(flag)).toBe(split);
    expect(flagVersion(flag)).toBe(version);
  });

  it('treats a missing Flag as a 2005 packet wanting nothing', () => {
    expect(flagWantsAnswer(undefined)).toBe(false);
    expect(flagHasSplit(undefined)).toBe(false);
    expect(flagVersion(undefined)).toBe(0);
  });
});

describe('HJ 212 time (China Standard Time)', () => {
  it('reads DataTime as UTC+8', () => {
    expect(new Date(dataTimeToEpochMs('20260301080000')).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(new Date(dataTimeToEpochMs('20260101070000')).toISOString()).toBe('2025-12-31T23:00:00.000Z');
    expect(dataTimeToEpochMs('20040516020111')).toBe(Date.UTC(2004, 4, 15, 18, 1, 11));
  });

  it('reads the 17-digit QN form with milliseconds', () => {
    expect(dataTimeToEpochMs('20160801085857223')).toBe(Date.UTC(2016, 7, 1, 0, 58, 57, 223));
  });

  it('accepts real leap days', () => {
    expect(new Date(dataTimeToEpochMs('20240229120000')).toISOString()).toBe('2024-02-29T04:00:00.000Z');
    expect(new Date(dataTimeToEpochMs('20000229120000')).toISOString()).toBe('2000-02-29T04:00:00.000Z');
  });

  it.each([
    ['month 13', '20261301080000'],
    ['month 00', '20260001080000'],
    ['day 00', '20260300080000'],
    ['Feb 30', '20260230080000'],
    ['Feb 29 in a common year', '20230229080000'],
    ['Feb 29 in 1900', '19000229080000'],
    ['Apr 31', '20260431080000'],
    ['hour 24', '20260301240000'],
    ['minute 60', '20260301086000'],
    ['second 60', '20260301080060'],
    ['letters', '2026030108000a'],
    ['13 digits', '2026030108000'],
    // 15 to 18 digits: hj212-frame-checks.test.ts, pinned by the format message.
    ['an ISO string', '2026-03-01T08:00:00'],
    ['an empty string', ''],
  ])('rejects %s with INVALID_TIMESTAMP', (_name, text) => {
    expect(errorOf(() => dataTimeToEpochMs(text)).code).toBe('TJ_INVALID_TIMESTAMP');
  });

  it('formats epoch ms as DataTime and QN in UTC+8', () => {
    const ms = Date.UTC(2025, 11, 31, 23, 0, 5, 7);
    expect(epochMsToDataTime(ms)).toBe('20260101070005');
    expect(epochMsToQn(ms)).toBe('20260101070005007');
  });

  it('rejects non-finite epoch ms', () => {
    expect(errorOf(() => epochMsToDataTime(Number.NaN)).code).toBe('TJ_INVALID_TIMESTAMP');
  });

  it('round-trips epoch ms through the QN form', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        expect(dataTimeToEpochMs(epochMsToQn(ms))).toBe(ms);
        expect(dataTimeToEpochMs(epochMsToDataTime(ms))).toBe(ms - (ms % 1000));
      }),
      { numRuns: propertyRuns(2000) },
    );
  });
});

describe('encodeFrame / encodeCp', () => {
  it('reproduces the standard sample frame byte for byte', () => {
    expect(
      encodeFrame({
        qn: '20160801085857223',
        st: '32',
        cn: '1062',
        pw: '100000',
        mn: '010000A8900016F000169DC0',
        flag: 5,
        cp: 'RtdInterval=30',
      }),
    ).toBe(CHECK_FRAME);
  });

  it('omits absent optional fields', () => {
    expect(encodeFrame({ st: '32', cn: '2011', mn: 'M', cp: '' })).toBe(
      `##0026ST=32;CN=2011;MN=M;CP=&&&&${hj212Crc('ST=32;CN=2011;MN=M;CP=&&&&')}\r\n`,
    );
  });

  it('encodes CP items in the grammar the parser reads', () => {
    const cp = encodeCp('20260301080000', { w21003: { Avg: 0.42, Flag: 'N' }, w01001: { Avg: 7.6, Flag: 'N' } }, { RtdInterval: 30 });
    expect(cp).toBe('DataTime=20260301080000;w21003-Avg=0.42,w21003-Flag=N;w01001-Avg=7.6,w01001-Flag=N;RtdInterval=30');
    expect(parseCp(cp)).toEqual({
      dataTime: '20260301080000',
      items: { w21003: { Avg: '0.42', Flag: 'N' }, w01001: { Avg: '7.6', Flag: 'N' } },
      other: { RtdInterval: '30' },
    });
    expect(encodeCp(undefined, {})).toBe('');
  });

  it.each([
    ['a ; in MN', () => encodeFrame({ st: '32', cn: '2011', mn: 'A;B', cp: '' }), 'TJ_MALFORMED_FRAME'],
    ['an empty CN', () => encodeFrame({ st: '32', cn: '', mn: 'M', cp: '' }), 'TJ_MALFORMED_FRAME'],
    ['&& in CP', () => encodeFrame({ st: '32', cn: '2011', mn: 'M', cp: 'a=1&&' }), 'TJ_MALFORMED_FRAME'],
    ['Flag 256', () => encodeFrame({ st: '32', cn: '2011', mn: 'M', flag: 256, cp: '' }), 'TJ_MALFORMED_FRAME'],
    ['Flag 1.5', () => encodeFrame({ st: '32', cn: '2011', mn: 'M', flag: 1.5, cp: '' }), 'TJ_MALFORMED_FRAME'],
    ['a segment over 9999 bytes', () => encodeFrame({ st: '32', cn: '2011', mn: 'M', cp: `x=${'9'.repeat(9999)}` }), 'TJ_TOO_LARGE'],
    ['a , in a CP value', () => encodeCp(undefined, { w01: { Rtd: '1,2' } }), 'TJ_MALFORMED_FRAME'],
    ['an = in a CP key', () => encodeCp(undefined, {}, { 'a=b': 1 }), 'TJ_MALFORMED_FRAME'],
    ['an empty suffix', () => encodeCp(undefined, { w01: { '': 1 } }), 'TJ_MALFORMED_FRAME'],
  ])('refuses to encode %s', (_name, fn, code) => {
    expect(errorOf(fn).code).toBe(code);
  });

  it('accepts a segment of exactly 9999 bytes', () => {
    const head = 'ST=32;CN=2011;MN=M;CP=&&x=';
    const cp = `x=${'9'.repeat(9999 - head.length - 2)}`;
    const frame = encodeFrame({ st: '32', cn: '2011', mn: 'M', cp });
    expect(frame.startsWith('##9999')).toBe(true);
    expect(parseFrame(frame).cp.other['x']).toHaveLength(9999 - head.length - 2);
  });

  const code = fc.stringMatching(/^[a-z0-9]{1,6}$/);
  const suffix = fc.constantFrom('Rtd', 'Min', 'Avg', 'Max', 'Cou', 'Flag', 'EFlag', 'SampleTime');
  const value = fc.stringMatching(/^[^;,&]{0,12}$/);
  const items = fc.dictionary(code, fc.dictionary(suffix, value, { minKeys: 1, maxKeys: 4 }), { maxKeys: 6 });
  const otherKey = fc.stringMatching(/^[A-Za-z]{1,12}$/).filter((k) => k !== 'DataTime');
  const fields = fc.record({
    qn: fc.option(fc.stringMatching(/^\d{17}$/), { nil: undefined }),
    st: fc.constantFrom('21', '22', '31', '32'),
    cn: fc.constantFrom('2011', '2051', '2061', '2031'),
    pw: fc.option(fc.stringMatching(/^[^;]{0,8}$/), { nil: undefined }),
    mn: fc.stringMatching(/^[^;]{1,24}$/),
    flag: fc.option(
      fc.integer({ min: 0, max: 255 }).filter((f) => (f & 2) === 0),
      { nil: undefined },
    ),
    dataTime: fc.option(fc.stringMatching(/^\d{14}$/), { nil: undefined }),
    items,
    other: fc.dictionary(otherKey, value, { maxKeys: 3 }),
  });

  it('round-trips: parseFrame(encodeFrame(x)) gives x back', () => {
    fc.assert(
      fc.property(fields, (x) => {
        const frame = encodeFrame({
          qn: x.qn,
          st: x.st,
          cn: x.cn,
          pw: x.pw,
          mn: x.mn,
          flag: x.flag,
          cp: encodeCp(x.dataTime, x.items, x.other),
        });
        const f = parseFrame(frame);
        expect(f.qn).toBe(x.qn);
        expect(f.st).toBe(x.st);
        expect(f.cn).toBe(x.cn);
        expect(f.pw).toBe(x.pw);
        expect(f.mn).toBe(x.mn);
        expect(f.flag).toBe(x.flag);
        expect(f.cp.dataTime).toBe(x.dataTime);
        expect(f.cp.items).toEqual(x.items);
        expect(f.cp.other).toEqual(x.other);
      }),
      { numRuns: propertyRuns(2000) },
    );
  });
});
