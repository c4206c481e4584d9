import { PassThrough, Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { encodeFrame, frameSegment } from '../../ingest/hj212/frame.js';
import { decodeStream, describeFrame } from '../../ingest/hj212/describe.js';

const WATER = encodeFrame({
  qn: '20260301080000123',
  st: '21',
  cn: '2061',
  pw: '123456',
  mn: 'MN-HONGYUAN',
  flag: 5,
  cp: 'DataTime=20260301080000;w21003-Avg=0.42,w21003-Flag=N;w01001-Min=7.5,w01001-Avg=7.6,w01001-Max=7.8,w01001-Flag=N;RtdInterval=30',
});

describe('describeFrame', () => {
  it('describes a valid frame with typed values and the DataTime in UTC', () => {
    expect(describeFrame(WATER)).toEqual({
      valid: true,
      qn: '20260301080000123',
      st: '21',
      cn: '2061',
      pw: '123456',
      mn: 'MN-HONGYUAN',
      flag: 5,
      pnum: null,
      pno: null,
      dataTime: '2026-03-01T00:00:00.000Z',
      values: {
        w21003: { Avg: 0.42, Flag: 'N' },
        w01001: { Min: 7.5, Avg: 7.6, Max: 7.8, Flag: 'N' },
      },
      other: { RtdInterval: 30 },
      quirks: [],
    });
  });

  it('gives null for the fields a 2005-style frame lacks', () => {
    const d = describeFrame(encodeFrame({ st: '32', cn: '2011', mn: '88888880000001', cp: '060-Rtd=0.4' }));
    expect(d).toMatchObject({
      valid: true,
      qn: null,
      pw: null,
      flag: null,
      pnum: null,
      pno: null,
      dataTime: null,
      values: { '060': { Rtd: 0.4 } },
    });
  });

  it('shows PNUM and PNO of a split part', () => {
    const d = describeFrame(encodeFrame({ qn: '1', st: '21', cn: '2011', mn: 'M', flag: 7, pnum: 4, pno: 2, cp: '' }));
    expect(d).toMatchObject({ valid: true, flag: 7, pnum: 4, pno: 2, values: {} });
  });

  it('makes numbers of numeric-looking values only, and keeps flags, codes and times as text', () => {
    const d = describeFrame(
      encodeFrame({
        st: '21',
        cn: '2011',
        mn: 'M',
        cp: 'a-Rtd=1.2e3,b-Rtd=-0.5,c-Rtd=abc,d-Rtd=,e-Rtd=0x10,f-Rtd=Infinity,g-Rtd=.5,h-Flag=1,h-EFlag=01,h-SampleTime=20260301080000',
      }),
    );
    expect(d.valid && d.values).toEqual({
      a: { Rtd: 1200 },
      b: { Rtd: -0.5 },
      c: { Rtd: 'abc' },
      d: { Rtd: '' },
      e: { Rtd: '0x10' },
      f: { Rtd: 'Infinity' },
      g: { Rtd: 0.5 },
      h: { Flag: '1', EFlag: '01', SampleTime: '20260301080000' },
    });
  });

  it('keeps "__proto__" a plain key in its JSON', () => {
    const d = describeFrame(frameSegment('ST=21;CN=2011;MN=M;CP=&&__proto__-Rtd=1;x-__proto__=2&&'));
    expect(JSON.parse(JSON.stringify(d)).values).toEqual(JSON.parse('{"__proto__":{"Rtd":1},"x":{"__proto__":2}}'));
  });

  it.each([
    // A CRC no flavour computes is accepted only by `crc: none`: the decoder says so.
    ['a wrong CRC', WATER.replace(/[0-9A-F]{4}\r\n$/, '0000\r\n'), 'TJ_FRAME_CRC', { acceptableWith: { crc: 'none', lenient: [] } }],
    ['a wrong length', WATER.replace(/^##\d{4}/, '##0001'), 'TJ_FRAME_LENGTH', {}],
    ['no ##', 'hello', 'TJ_MALFORMED_FRAME', {}],
    [
      'an impossible DataTime',
      encodeFrame({ st: '21', cn: '2011', mn: 'M', cp: 'DataTime=20260230080000;w01001-Rtd=7' }),
      'TJ_INVALID_TIMESTAMP',
      {},
    ],
  ])('reports %s as invalid with its code', (_name, line, code, extra) => {
    const d = describeFrame(line);
    expect(d).toEqual({ valid: false, error: { code, message: expect.any(String) }, ...extra });
    expect(d.valid === false && d.error.message.length).toBeGreaterThan(10);
  });
});

describe('decodeStream', () => {
  it('writes one JSON line per frame, skipping blank lines, and counts', async () => {
    const input = Readable.from([`${WATER}\r\n`, '   \n', 'not a frame\n', `${WATER.trimEnd()}`]);
    const output = new PassThrough();
    const chunks: Buffer[] = [];
    output.on('data', (c: Buffer) => chunks.push(c));
    const counts = await decodeStream(input, output);
    expect(counts).toEqual({ valid: 2, invalid: 1 });
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l).valid)).toEqual([true, false, true]);
    expect(JSON.parse(lines[0]!)).toEqual(describeFrame(WATER));
    expect(JSON.parse(lines[1]!).error.code).toBe('TJ_MALFORMED_FRAME');
  });

  it('waits for a slow output instead of buffering without limit', async () => {
    const input = Readable.from(Array.from({ length: 200 }, () => WATER));
    const received: string[] = [];
    let maxBuffered = 0;
    const output = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _enc, callback) {
        maxBuffered = Math.max(maxBuffered, this.writableLength);
        received.push(chunk.toString('utf8'));
        setImmediate(callback);
      },
    });
    await expect(decodeStream(input, output)).resolves.toEqual({ valid: 200, invalid: 0 });
    output.end();
    await finished(output);
    expect(received).toHaveLength(200);
    // Ignoring 'drain' would queue all 200 lines (tens of kB) in the stream.
    const lineBytes = Buffer.byteLength(received[0]!);
    expect(maxBuffered).toBeLessThanOrEqual(2 * lineBytes);
  });
});
