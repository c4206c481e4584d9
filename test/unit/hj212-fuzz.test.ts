/**
 * parseFrame reads bytes from the field: whatever arrives, it must return a frame or throw a
 * TuojiangError with a frame error code, never anything else (a TypeError here would crash or
 * mis-file a message instead of dead-lettering it).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TuojiangError } from '../../lib/errors.js';
import { encodeCp, encodeFrame, frameSegment, parseFrame } from '../../ingest/hj212/frame.js';
import { describeFrame } from '../../ingest/hj212/describe.js';
import { propertyRuns } from '../helpers/property-runs.js';

// INVALID_TIMESTAMP: a 17-digit DataTime is refused by the parser unless the station tolerates it.
const FRAME_CODES = new Set(['TJ_MALFORMED_FRAME', 'TJ_FRAME_LENGTH', 'TJ_FRAME_CRC', 'TJ_INVALID_TIMESTAMP']);
const RUNS = propertyRuns(10_000);

/** Parses; returns the frame or the error code; fails the property on any other exception. */
function parseOrCode(raw: string | Buffer): ReturnType<typeof parseFrame> | string {
  try {
    return parseFrame(raw);
  } catch (e) {
    if (!(e instanceof TuojiangError)) throw new Error(`parseFrame threw a non-TuojiangError: ${String(e)}`, { cause: e });
    if (!FRAME_CODES.has(e.code)) throw new Error(`parseFrame threw unexpected code ${e.code}`, { cause: e });
    return e.code;
  }
}

const validFrame = fc
  .record({
    qn: fc.option(fc.stringMatching(/^\d{17}$/), { nil: undefined }),
    st: fc.constantFrom('21', '22', '32'),
    cn: fc.constantFrom('2011', '2051', '2061', '2031'),
    pw: fc.option(fc.constant('123456'), { nil: undefined }),
    mn: fc.stringMatching(/^[0-9A-F]{1,24}$/),
    flag: fc.option(fc.constantFrom(0, 1, 4, 5, 7), { nil: undefined }),
    dataTime: fc.option(fc.constant('20260301080000'), { nil: undefined }),
    values: fc.array(
      fc.tuple(fc.constantFrom('w21003', 'w01001', 'a34004', '060', '__proto__'), fc.double({ noNaN: true, noDefaultInfinity: true })),
      { maxLength: 5 },
    ),
  })
  .map((x) => {
    const items: Record<string, Record<string, string>> = {};
    for (const [code, v] of x.values)
      Object.defineProperty(items, code, { value: { Rtd: String(v), Flag: 'N' }, enumerable: true, configurable: true, writable: true });
    const split = x.flag !== undefined && (x.flag & 2) !== 0;
    return encodeFrame({
      qn: x.qn,
      st: x.st,
      cn: x.cn,
      pw: x.pw,
      mn: x.mn,
      flag: x.flag,
      ...(split ? { pnum: 2, pno: 1 } : {}),
      cp: encodeCp(x.dataTime, items),
    });
  });

/** Edits that damage text the way radios, serial lines and buggy firmware do. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ unit: 'binary', maxLength: 6 }) }),
  fc.record({
    kind: fc.constant('token' as const),
    at: fc.nat(),
    text: fc.constantFrom(
      ';',
      ',',
      '=',
      '&&',
      '&',
      '-',
      'CP=&&',
      'QN=',
      'MN=',
      'CN=',
      'Flag=7',
      'PNUM=2',
      'PNO=3',
      '##',
      '\r\n',
      '\u0000',
      '温',
      '\uD800',
      'DataTime=',
    ),
  }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(s: string, m: Mutation): string {
  const at = s.length === 0 ? 0 : m.at % (s.length + 1);
  switch (m.kind) {
    case 'delete':
      return s.slice(0, at) + s.slice(at + m.len);
    case 'insert':
    case 'token':
      return s.slice(0, at) + m.text + s.slice(at);
    case 'replace':
      return s.slice(0, at) + m.text + s.slice(at + m.text.length);
    case 'duplicate':
      return s.slice(0, at) + s.slice(at, at + m.len) + s.slice(at);
    case 'truncate':
      return s.slice(0, at);
  }
}

describe('parseFrame under fuzzing', { timeout: 120_000 }, () => {
  it('never throws anything but a frame TuojiangError on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => void parseOrCode(s)),
      { numRuns: RUNS },
    );
  });

  it('never throws anything but a frame TuojiangError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => void parseOrCode(Buffer.from(bytes))),
      { numRuns: RUNS },
    );
  });

  it('never throws anything but a frame TuojiangError on strings that start like a frame', () => {
    const frameish = fc.tuple(fc.stringMatching(/^##\d{4}$/), fc.string({ unit: 'binary', maxLength: 200 })).map(([h, rest]) => h + rest);
    fc.assert(
      fc.property(frameish, (s) => void parseOrCode(s)),
      { numRuns: RUNS },
    );
  });

  it('never throws anything but a frame TuojiangError on mutated valid frames', () => {
    fc.assert(
      fc.property(validFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, ms) => {
        const damaged = ms.reduce(mutate, frame);
        const out = parseOrCode(damaged);
        // A frame that still parses is exactly what was sent: re-framing its segment gives the same bytes.
        if (typeof out !== 'string') {
          const sent = damaged.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, '');
          expect(Buffer.from(frameSegment(out.segment).trimEnd())).toEqual(Buffer.from(sent.slice(0, -4) + sent.slice(-4).toUpperCase()));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws anything but MALFORMED_FRAME (or INVALID_TIMESTAMP) on mutated segments with a correct length and CRC', () => {
    // Re-framing after the mutation gets past the length and CRC checks into the segment parser,
    // which also refuses a 17-digit DataTime (a mutation can add digits to it).
    fc.assert(
      fc.property(validFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, ms) => {
        const segment = frame.slice(6, -6);
        const mutated = ms.reduce(mutate, segment);
        if (Buffer.byteLength(mutated) > 9999) return;
        const out = parseOrCode(frameSegment(mutated));
        if (typeof out === 'string') expect(['TJ_MALFORMED_FRAME', 'TJ_INVALID_TIMESTAMP']).toContain(out);
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws anything but MALFORMED_FRAME on segments made of protocol tokens', () => {
    const token = fc.constantFrom(
      'QN=',
      'ST=',
      'CN=',
      'PW=',
      'MN=',
      'Flag=',
      'PNUM=',
      'PNO=',
      'CP=',
      '&&',
      '&',
      ';',
      ',',
      '=',
      '-',
      'DataTime',
      'Rtd',
      'Flag',
      '__proto__',
      'constructor',
      '0',
      '1',
      '2',
      '7',
      '255',
      '256',
      'w21003',
      ' ',
      '\n',
      '',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (tokens) => {
        const out = parseOrCode(frameSegment(tokens.join('')));
        if (typeof out === 'string') expect(out).toBe('TJ_MALFORMED_FRAME');
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps valid frames valid and their parse stable', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        const f = parseFrame(frame);
        // The segment is kept as sent, and parsing the re-framed segment gives the same frame.
        expect(frameSegment(f.segment)).toBe(frame);
        expect(parseFrame(frameSegment(f.segment))).toEqual(f);
        expect(f.segment).toContain(`CN=${f.cn};`);
        expect(f.segment).toContain(`MN=${f.mn};`);
      }),
      { numRuns: propertyRuns(2_000) },
    );
  });
});

describe('describeFrame under fuzzing', { timeout: 120_000 }, () => {
  it('describeFrame never throws and always yields JSON', () => {
    fc.assert(
      fc.property(validFrame, fc.array(mutation, { maxLength: 3 }), (frame, ms) => {
        const d = describeFrame(ms.reduce(mutate, frame));
        expect(typeof JSON.stringify(d)).toBe('string');
      }),
      { numRuns: RUNS },
    );
  });
});
