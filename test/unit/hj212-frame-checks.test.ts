/**
 * Each check of parseFrame pinned by the refusal it gives, so a frame is known to be refused by
 * the check its test names (not by a later one that happens to catch it too); the Flag bits, the
 * integer header fields and DataTime at their edges.
 */
import { describe, expect, it } from 'vitest';
import { hj212Crc } from '../../ingest/hj212/crc.js';
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
import { TuojiangError } from '../../lib/errors.js';

function refusal(f: () => unknown): TuojiangError {
  try {
    f();
  } catch (e) {
    if (e instanceof TuojiangError) return e;
    throw new Error(`expected a TuojiangError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a TuojiangError, nothing was thrown');
}

/** A frame whose length and CRC are right for whatever segment it carries. */
const framed = (segment: string): string => frameSegment(segment);
const GOOD = framed('ST=32;CN=2011;MN=M;CP=&&w01001-Rtd=7&&');

describe('the envelope: each damage refused by its own check', () => {
  it.each([
    ['no ## (the length digits first)', GOOD.slice(2), 'The frame does not start with ##.'],
    ['a single #', GOOD.slice(1), 'The frame does not start with ##.'],
    ['#  instead of ##', `# ${GOOD.slice(2)}`, 'The frame does not start with ##.'],
    ['one byte', '#', 'The frame does not start with ##.'],
    ['nothing but whitespace', ' \r\n\t', 'The frame does not start with ##.'],
    ['a letter in the length', GOOD.replace(/^##\d{4}/, '##00a1'), 'The frame has no 4-digit decimal length after ##.'],
    ['a length of 3 digits', `##999${GOOD.slice(6)}`, 'The frame has no 4-digit decimal length after ##.'],
    ['a colon (after 9) in the length', GOOD.replace(/^##\d{4}/, '##00:1'), 'The frame has no 4-digit decimal length after ##.'],
    ['a slash (before 0) in the length', GOOD.replace(/^##\d{4}/, '##00/1'), 'The frame has no 4-digit decimal length after ##.'],
    ['nothing after the length', '##0000', 'The frame ends before its 4-digit CRC.'],
    ['9 bytes', '##0000ABC', 'The frame ends before its 4-digit CRC.'],
    ['a G in the CRC', `${GOOD.trim().slice(0, -1)}G`, 'The frame does not end with a 4-hex-digit CRC.'],
    ['a @ (before A) in the CRC', `${GOOD.trim().slice(0, -1)}@`, 'The frame does not end with a 4-hex-digit CRC.'],
    ['a ` (before a) in the CRC', `${GOOD.trim().slice(0, -1)}\``, 'The frame does not end with a 4-hex-digit CRC.'],
    ['a g in the CRC', `${GOOD.trim().slice(0, -1)}g`, 'The frame does not end with a 4-hex-digit CRC.'],
  ])('%s', (_name, raw, message) => {
    const e = refusal(() => parseFrame(raw));
    expect(e.code).toBe('TJ_MALFORMED_FRAME');
    expect(e.message).toBe(message);
  });

  it('accepts the smallest envelope (an empty segment, 10 bytes) up to its segment checks', () => {
    expect(refusal(() => parseFrame(`##0000${hj212Crc('')}`)).message).toBe('The data segment has no CP=&&…&& field.');
  });

  it('accepts lower-case CRC digits and every hex digit', () => {
    const f = parseFrame(GOOD.trim().slice(0, -4) + GOOD.trim().slice(-4).toLowerCase());
    expect(f.mn).toBe('M');
    // Segments whose CRCs between them use every hex digit A–F and a–f in both cases.
    const digits = new Set<string>();
    for (let i = 0; digits.size < 16 && i < 500; i++) {
      const seg = `ST=32;CN=2011;MN=M${i};CP=&&&&`;
      const crc = hj212Crc(seg);
      for (const c of crc) digits.add(c);
      expect(parseFrame(`##${String(seg.length).padStart(4, '0')}${seg}${crc.toLowerCase()}`).mn).toBe(`M${i}`);
    }
    expect(digits.size).toBe(16);
  });

  it('trims every kind of ASCII whitespace around the frame, and only that', () => {
    for (const ws of [' ', '\t', '\n', '\r', '\v', '\f']) expect(parseFrame(`${ws}${GOOD.trim()}${ws}`).mn, JSON.stringify(ws)).toBe('M');
    expect(refusal(() => parseFrame(`\u00a0${GOOD.trim()}`)).message).toBe('The frame does not start with ##.');
    expect(refusal(() => parseFrame(`${GOOD.trim()}\u00a0`)).message).toBe('The frame does not end with a 4-hex-digit CRC.');
  });

  it('a wrong length names both lengths', () => {
    const seg = 'ST=32;CN=2011;MN=M;CP=&&&&';
    const e = refusal(() => parseFrame(`##0099${seg}${hj212Crc(seg)}`));
    expect(e.code).toBe('TJ_FRAME_LENGTH');
    expect(e.message).toBe(`The frame declares a 99-byte data segment but carries ${seg.length} bytes.`);
    expect(e.details).toEqual({ declared: 99, actual: seg.length });
  });

  it('a wrong CRC names both CRCs, upper-case', () => {
    const seg = 'ST=32;CN=2011;MN=M;CP=&&&&';
    const e = refusal(() => parseFrame(`##${String(seg.length).padStart(4, '0')}${seg}abcd`));
    expect(e.code).toBe('TJ_FRAME_CRC');
    expect(e.message).toBe(`The frame's CRC is ABCD; its data segment's CRC is ${hj212Crc(seg)}.`);
    expect(e.details).toEqual({ sent: 'ABCD', computed: hj212Crc(seg) });
  });

  it('refuses what is neither a string nor a Buffer', () => {
    expect(refusal(() => parseFrame(42 as unknown as string)).message).toBe('An HJ 212 frame must be a string or a Buffer.');
    expect(parseFrame(Buffer.from(GOOD)).mn).toBe('M');
  });
});

describe('the segment: each damage refused by its own check', () => {
  it.each([
    ['no CP', 'ST=32;CN=2011;MN=M', 'The data segment has no CP=&&…&& field.'],
    [
      'a CP without its closing && (712 would be read as 7)',
      'ST=32;CN=2011;MN=M;CP=&&w01001-Rtd=712',
      'The CP field must be CP=&&…&& and end the data segment.',
    ],
    ['a CP without its opening &&', 'ST=32;CN=2011;MN=M;CP=w01001-Rtd=7&&', 'The CP field must be CP=&&…&& and end the data segment.'],
    ['CP=&&& (too short)', 'ST=32;CN=2011;MN=M;CP=&&&', 'The CP field must be CP=&&…&& and end the data segment.'],
    ['&& inside the CP', 'ST=32;CN=2011;MN=M;CP=&&a-Rtd=1&&b-Rtd=2&&', 'The CP field has "&&" inside it.'],
    ['no CN', 'ST=32;MN=M;CP=&&&&', 'The data segment has no CN.'],
    ['an empty CN', 'ST=32;CN=;MN=M;CP=&&&&', 'The data segment has no CN.'],
    ['no MN', 'ST=32;CN=2011;CP=&&&&', 'The data segment has no MN (station identifier).'],
    ['a header field without =', 'ST=32;CN=2011;MNX;CP=&&&&', 'Header field: "MNX" has no "=".'],
    ['a header field with an empty key', 'ST=32;=1;CN=2011;MN=M;CP=&&&&', 'Header field: "=1" has an empty key.'],
    ['a header field twice', 'ST=32;CN=2011;MN=M;MN=N;CP=&&&&', 'The header field MN appears twice.'],
    ['a CP pair without =', 'ST=32;CN=2011;MN=M;CP=&&w01001-Rtd&&', 'CP: "w01001-Rtd" has no "=".'],
    ['a CP key twice', 'ST=32;CN=2011;MN=M;CP=&&w01001-Rtd=7;w01001-Rtd=8&&', 'CP has w01001-Rtd twice.'],
    ['another CP key twice', 'ST=32;CN=2011;MN=M;CP=&&RtdInterval=30;RtdInterval=60&&', 'CP has RtdInterval twice.'],
    ['DataTime twice', 'ST=32;CN=2011;MN=M;CP=&&DataTime=1;DataTime=2&&', 'CP has DataTime twice.'],
  ])('%s', (_name, segment, message) => {
    const e = refusal(() => parseFrame(framed(segment)));
    expect(e.code).toBe('TJ_MALFORMED_FRAME');
    expect(e.message).toBe(message);
  });

  it('cuts a long bad field to 40 characters in the message', () => {
    const long = 'X'.repeat(100);
    expect(refusal(() => parseFrame(framed(`ST=32;${long};CN=1;MN=M;CP=&&&&`))).message).toBe(
      `Header field: "${'X'.repeat(40)}…" has no "=".`,
    );
    expect(refusal(() => parseFrame(framed(`ST=32;CN=1;MN=M;Flag=${'9'.repeat(41)};CP=&&&&`))).message).toBe(
      `Flag must be a decimal integer, got "${'9'.repeat(40)}…".`,
    );
    expect(refusal(() => parseFrame(framed(`ST=32;CN=1;MN=M;Flag=${'9'.repeat(40)};CP=&&&&`))).message).toBe(
      `Flag must be a decimal integer, got "${'9'.repeat(40)}".`,
    );
  });

  it('a header without a trailing CP at all, or with text after the last ;', () => {
    expect(refusal(() => parseFrame(framed('ST=32;CN=2011;MN=M;'))).message).toBe('The data segment has no CP=&&…&& field.');
    expect(refusal(() => parseFrame(framed(''))).message).toBe('The data segment has no CP=&&…&& field.');
  });

  it('keeps the segment as received, and each header field', () => {
    const seg = 'QN=20260301080000123;ST=32;CN=2011;PW=123456;MN=M;Flag=5;CP=&&w01001-Rtd=7&&';
    expect(parseFrame(framed(seg))).toEqual({
      qn: '20260301080000123',
      st: '32',
      cn: '2011',
      pw: '123456',
      mn: 'M',
      flag: 5,
      segment: seg,
      cp: { items: { w01001: { Rtd: '7' } }, other: {} },
      quirks: [],
    });
    expect(parseFrame(framed('CN=2011;MN=M;CP=&&&&'))).toEqual({
      cn: '2011',
      mn: 'M',
      segment: 'CN=2011;MN=M;CP=&&&&',
      cp: { items: {}, other: {} },
      quirks: [],
    });
  });
});

describe('Flag, PNUM and PNO: whole decimal numbers in range, anchored', () => {
  it.each([
    ['Flag=5x', 'Flag=5x', 'Flag must be a decimal integer, got "5x".'],
    ['Flag=x5', 'Flag=x5', 'Flag must be a decimal integer, got "x5".'],
    ['Flag=-1', 'Flag=-1', 'Flag must be a decimal integer, got "-1".'],
    ['Flag= 5', 'Flag= 5', 'Flag must be a decimal integer, got " 5".'],
    ['an empty Flag', 'Flag=', 'Flag must be a decimal integer, got "".'],
    ['Flag=12345 (5 digits)', 'Flag=12345', 'Flag must be a decimal integer, got "12345".'],
    ['Flag=256', 'Flag=256', 'Flag must be between 0 and 255, got 256.'],
    ['PNUM=2x', 'Flag=7;PNUM=2x;PNO=1', 'PNUM must be a decimal integer, got "2x".'],
    ['PNO=1x', 'Flag=7;PNUM=2;PNO=1x', 'PNO must be a decimal integer, got "1x".'],
    ['PNUM=0', 'Flag=7;PNUM=0;PNO=1', 'PNUM must be between 1 and 9999, got 0.'],
    ['PNO=0', 'Flag=7;PNUM=2;PNO=0', 'PNO must be between 1 and 9999, got 0.'],
    ['PNO above PNUM', 'Flag=7;PNUM=2;PNO=3', 'PNO 3 exceeds PNUM 2.'],
    ['PNUM alone', 'Flag=5;PNUM=2', 'PNUM and PNO must come together.'],
    ['PNO alone', 'Flag=5;PNO=1', 'PNUM and PNO must come together.'],
    ['bit D without PNUM/PNO', 'Flag=7', 'Flag marks a split packet (bit D) but PNUM/PNO are missing.'],
    ['bit D alone (Flag=2) without PNUM/PNO', 'Flag=2', 'Flag marks a split packet (bit D) but PNUM/PNO are missing.'],
  ])('%s is refused', (_name, fields, message) => {
    expect(refusal(() => parseFrame(framed(`ST=32;CN=2011;MN=M;${fields};CP=&&&&`))).message).toBe(message);
  });

  it.each([
    ['Flag=0', 'Flag=0', { flag: 0 }],
    ['Flag=253 (all bits but D)', 'Flag=253', { flag: 253 }],
    ['Flag=255 with PNUM/PNO', 'Flag=255;PNUM=1;PNO=1', { flag: 255 }],
    ['Flag=0253 (leading zero)', 'Flag=0253', { flag: 253 }],
    ['PNO = PNUM', 'Flag=7;PNUM=3;PNO=3', { flag: 7, pnum: 3, pno: 3 }],
    ['PNUM=9999', 'Flag=7;PNUM=9999;PNO=1', { pnum: 9999, pno: 1 }],
    ['PNUM/PNO without bit D', 'Flag=5;PNUM=2;PNO=1', { flag: 5, pnum: 2, pno: 1 }],
  ])('%s is read', (_name, fields, expected) => {
    expect(parseFrame(framed(`ST=32;CN=2011;MN=M;${fields};CP=&&&&`))).toMatchObject(expected);
  });

  it('bit A asks for an answer, bit D marks a split packet, V5..V0 the version; no Flag means 2005, no answer, no split', () => {
    for (let flag = 0; flag <= 255; flag++) {
      expect(flagWantsAnswer(flag), `A ${flag}`).toBe(flag % 2 === 1);
      expect(flagHasSplit(flag), `D ${flag}`).toBe(Math.floor(flag / 2) % 2 === 1);
      expect(flagVersion(flag), `V ${flag}`).toBe(Math.floor(flag / 4));
    }
    expect(flagWantsAnswer(undefined)).toBe(false);
    expect(flagHasSplit(undefined)).toBe(false);
    expect(flagVersion(undefined)).toBe(0);
  });
});

describe('CP parsing', () => {
  it('splits code-suffix keys at the first dash; other keys (no dash, leading or trailing dash) are kept whole', () => {
    expect(parseCp('a-b-c=1;-x=2;y-=3;z=4;DataTime=20260301080000')).toEqual({
      dataTime: '20260301080000',
      items: { a: { 'b-c': '1' } },
      other: { '-x': '2', 'y-': '3', z: '4' },
    });
  });

  it('keeps empty values and = inside values', () => {
    expect(parseCp('a-Rtd=;b-Rtd=x=y')).toEqual({ items: { a: { Rtd: '' }, b: { Rtd: 'x=y' } }, other: {} });
  });

  it('a key named like an Object member is a plain key, and a repeat of it is still refused', () => {
    expect(parseCp('toString=1;a-constructor=2').other.toString).toBe('1');
    expect(refusal(() => parseCp('toString=1;toString=2')).message).toBe('CP has toString twice.');
    expect(refusal(() => parseCp('a-valueOf=1;a-valueOf=2')).message).toBe('CP has a-valueOf twice.');
  });
});

describe('encoding refuses what it cannot write', () => {
  it.each([
    ['an empty ST', () => encodeFrame({ st: '', cn: '2011', mn: 'M', cp: '' }), 'Cannot encode a frame with an empty ST.'],
    ['an empty MN', () => encodeFrame({ st: '32', cn: '2011', mn: '', cp: '' }), 'Cannot encode a frame with an empty MN.'],
    ['a ; in MN', () => encodeFrame({ st: '32', cn: '2011', mn: 'M;N', cp: '' }), 'Cannot encode MN "M;N": it contains a separator.'],
    [
      'a Flag of 256',
      () => encodeFrame({ st: '32', cn: '2011', mn: 'M', flag: 256, cp: '' }),
      'Cannot encode Flag=256: not an integer in 0..255.',
    ],
    [
      'a Flag of -1',
      () => encodeFrame({ st: '32', cn: '2011', mn: 'M', flag: -1, cp: '' }),
      'Cannot encode Flag=-1: not an integer in 0..255.',
    ],
    [
      'a Flag of 1.5',
      () => encodeFrame({ st: '32', cn: '2011', mn: 'M', flag: 1.5, cp: '' }),
      'Cannot encode Flag=1.5: not an integer in 0..255.',
    ],
    [
      'a PNO of 0',
      () => encodeFrame({ st: '32', cn: '2011', mn: 'M', flag: 7, pnum: 1, pno: 0, cp: '' }),
      'Cannot encode PNO=0: not an integer in 1..9999.',
    ],
    ['&& in the CP', () => encodeFrame({ st: '32', cn: '2011', mn: 'M', cp: 'a&&b' }), 'Cannot encode a CP that contains "&&".'],
    [
      'a , in a CP value',
      () => encodeCp(undefined, { a: { Rtd: '1,2' } }),
      'Cannot encode CP value of a-Rtd "1,2": it contains a separator.',
    ],
    ['an = in a CP key', () => encodeCp(undefined, { 'a=b': { Rtd: 1 } }), 'Cannot encode CP key "a=b-Rtd": it contains a separator.'],
    ['an empty suffix', () => encodeCp(undefined, { a: { '': 1 } }), 'Cannot encode a CP item with an empty factor code or suffix.'],
    ['an empty factor code', () => encodeCp(undefined, { '': { Rtd: 1 } }), 'Cannot encode a CP item with an empty factor code or suffix.'],
  ])('%s', (_name, f, message) => {
    const e = refusal(f);
    expect(e.code).toBe('TJ_MALFORMED_FRAME');
    expect(e.message).toBe(message);
  });

  it('a segment over 9999 bytes is too large; 9999 is not', () => {
    const e = refusal(() => frameSegment('x'.repeat(10_000)));
    expect(e.code).toBe('TJ_TOO_LARGE');
    expect(e.message).toBe('The data segment is 10000 bytes; HJ 212 allows at most 9999.');
    expect(frameSegment('x'.repeat(9999)).startsWith('##9999x')).toBe(true);
  });

  it('writes the optional fields only when given, in order, and items without pairs not at all', () => {
    expect(encodeFrame({ qn: '1', st: '32', cn: '2011', pw: 'p', mn: 'M', flag: 7, pnum: 2, pno: 1, cp: 'x=1' })).toBe(
      frameSegment('QN=1;ST=32;CN=2011;PW=p;MN=M;Flag=7;PNUM=2;PNO=1;CP=&&x=1&&'),
    );
    expect(encodeFrame({ st: '32', cn: '2011', mn: 'M', qn: '', pw: '', cp: '' })).toBe(frameSegment('QN=;ST=32;CN=2011;PW=;MN=M;CP=&&&&'));
    expect(encodeCp('20260301080000', { a: {}, b: { Rtd: 1.5, Flag: 'N' } }, { RtdInterval: 30 })).toBe(
      'DataTime=20260301080000;b-Rtd=1.5,b-Flag=N;RtdInterval=30',
    );
    expect(encodeCp(undefined, {})).toBe('');
  });
});

describe('DataTime and QN', () => {
  it.each([
    ['15 digits', '202603010800000'],
    ['16 digits', '2026030108000000'],
    ['18 digits', '202603010800000000'],
    ['a leading space', ' 20260301080000'],
    ['a trailing newline', '20260301080000\n'],
  ])('refuses %s as not the format (not as an unreal date)', (_name, text) => {
    const e = refusal(() => dataTimeToEpochMs(text));
    expect(e.code).toBe('TJ_INVALID_TIMESTAMP');
    expect(e.message).toBe(`HJ 212 time "${text}" is not YYYYMMDDhhmmss (or the 17-digit QN form).`);
  });

  it('refuses a non-string and cuts a long text to 40 characters', () => {
    expect(refusal(() => dataTimeToEpochMs(20260301080000 as unknown as string)).message).toBe(
      'HJ 212 time "20260301080000" is not YYYYMMDDhhmmss (or the 17-digit QN form).',
    );
    expect(refusal(() => dataTimeToEpochMs('9'.repeat(50))).message).toBe(
      `HJ 212 time "${'9'.repeat(40)}…" is not YYYYMMDDhhmmss (or the 17-digit QN form).`,
    );
  });

  it.each([
    ['month 0', '20260001080000'],
    ['month 13', '20261301080000'],
    ['day 0', '20260300080000'],
    ['31 April', '20260431080000'],
    ['31 June', '20260631080000'],
    ['31 September', '20260931080000'],
    ['31 November', '20261131080000'],
    ['29 February 2026', '20260229080000'],
    ['29 February 1900', '19000229080000'],
    ['30 February 2024', '20240230080000'],
    ['hour 24', '20260301240000'],
    ['minute 60', '20260301086000'],
    ['second 60', '20260301080060'],
  ])('refuses %s as not a real date and time', (_name, text) => {
    expect(refusal(() => dataTimeToEpochMs(text)).message).toBe(`HJ 212 time "${text}" is not a real date and time.`);
  });

  it.each([
    ['29 February 2024', '20240229080000', '2024-02-29T00:00:00.000Z'],
    ['29 February 2000', '20000229080000', '2000-02-29T00:00:00.000Z'],
    ['31 January', '20260131235959', '2026-01-31T15:59:59.000Z'],
    ['31 December', '20261231000000', '2026-12-30T16:00:00.000Z'],
    ['30 April', '20260430080000', '2026-04-30T00:00:00.000Z'],
    ['a QN with milliseconds', '20260301080000123', '2026-03-01T00:00:00.123Z'],
    ['year 0050 (not 1950)', '00500301080000', '0050-03-01T00:00:00.000Z'],
  ])('reads %s', (_name, text, iso) => {
    expect(new Date(dataTimeToEpochMs(text)).toISOString()).toBe(iso);
  });

  it('formats back in China Standard Time, and refuses what it cannot format', () => {
    const ms = Date.parse('2026-03-01T00:00:00.123Z');
    expect(epochMsToDataTime(ms)).toBe('20260301080000');
    expect(epochMsToQn(ms)).toBe('20260301080000123');
    expect(epochMsToQn(Date.parse('0001-01-01T00:00:00Z'))).toBe('00010101080000000');
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      8.64e15 + 1,
      Date.parse('9999-12-31T16:00:00Z'),
      Date.parse('-000001-12-31T15:59:59Z'),
    ]) {
      const e = refusal(() => epochMsToQn(bad));
      expect(e.code).toBe('TJ_INVALID_TIMESTAMP');
      expect(e.message).toBe(`Cannot format ${bad} as an HJ 212 time.`);
    }
    expect(epochMsToDataTime(Date.parse('9999-12-31T15:59:59Z'))).toBe('99991231235959');
  });
});

describe('more edges, each pinned by its own refusal or result', () => {
  it.each([
    ['## alone', '##', 'The frame has no 4-digit decimal length after ##.'],
    ['x# (only the second byte is #)', `x#${GOOD.slice(2)}`, 'The frame does not start with ##.'],
    ['a short frame after leading whitespace', '  ##0000ABC', 'The frame ends before its 4-digit CRC.'],
    ['a leading ;', ';ST=32;CN=2011;MN=M;CP=&&&&', 'Header field: "" has no "=".'],
  ])('%s', (_name, raw, message) => {
    const input = raw.startsWith(';') ? framed(raw) : raw;
    expect(refusal(() => parseFrame(input)).message).toBe(message);
  });

  it('a segment that is not UTF-8 says so', () => {
    const segment = Buffer.concat([Buffer.from('ST=32;CN=2011;PW='), Buffer.from([0xff, 0xfe]), Buffer.from(';MN=M;CP=&&&&')]);
    const raw = Buffer.concat([Buffer.from(`##${String(segment.length).padStart(4, '0')}`), segment, Buffer.from(hj212Crc(segment))]);
    expect(refusal(() => parseFrame(raw)).message).toBe('The data segment is not valid UTF-8.');
  });

  it('a frame has no key for a header field it did not carry', () => {
    expect(Object.keys(parseFrame(framed('CN=2011;MN=M;CP=&&&&'))).sort()).toEqual(['cn', 'cp', 'mn', 'quirks', 'segment']);
    expect(Object.keys(parseFrame(framed('QN=1;ST=2;CN=2011;PW=3;MN=M;Flag=7;PNUM=1;PNO=1;CP=&&&&'))).sort()).toEqual([
      'cn',
      'cp',
      'flag',
      'mn',
      'pno',
      'pnum',
      'pw',
      'qn',
      'quirks',
      'segment',
      'st',
    ]);
  });

  it('encodes the largest Flag, PNUM and PNO', () => {
    expect(parseFrame(encodeFrame({ st: '32', cn: '2011', mn: 'M', flag: 255, pnum: 9999, pno: 9999, cp: '' }))).toMatchObject({
      flag: 255,
      pnum: 9999,
      pno: 9999,
    });
  });

  it('encodes a CP without other keys without a trailing separator', () => {
    expect(encodeCp('20260301080000', { b: { Rtd: 1 } })).toBe('DataTime=20260301080000;b-Rtd=1');
  });

  it('formats the year 0', () => {
    expect(epochMsToQn(Date.parse('0000-01-01T00:00:00+08:00'))).toBe('00000101000000000');
  });
});
