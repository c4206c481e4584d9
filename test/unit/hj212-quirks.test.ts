/**
 * Field quirks of HJ 212 loggers, per station (stations.yaml `hj212:`): frames built here by hand in
 * the shapes public captures and implementations show, with both CRC flavours computed.
 */
import { describe, expect, it } from 'vitest';
import { RegistrySchema } from '../../config/schema.js';
import { loadConfig } from '../../config/load.js';
import { hj212Crc, modbusCrc, modbusSwappedCrc } from '../../ingest/hj212/crc.js';
import { acceptableWith, describeFrame } from '../../ingest/hj212/describe.js';
import { parseFrame } from '../../ingest/hj212/frame.js';
import { mergeParts } from '../../ingest/split-packet-store.js';
import { MessageProcessor } from '../../ingest/process-message.js';
import { readingToPoint } from '../../ingest/reading-to-point.js';
import type { SplitPacketStore } from '../../ingest/split-packet-store.js';
import { ANYTHING, STRICT, type Hj212Tolerance, type Leniency } from '../../lib/hj212-tolerance.js';
import { StationRegistry } from '../../config/station-registry.js';
import { MN, codeOf } from '../helpers/fixtures.js';

/** `##` + length + segment + the given 4-hex CRC + CRLF. */
function framed(segment: string, crc: (s: string) => string = hj212Crc): string {
  return `##${String(Buffer.byteLength(segment)).padStart(4, '0')}${segment}${crc(segment)}\r\n`;
}

const SEG = `QN=20261201083000000;ST=21;CN=2011;PW=123456;MN=${MN.hongyuan};Flag=5;CP=&&DataTime=20261201083000;w21003-Rtd=0.42,w21003-Flag=N&&`;
const tol = (crc: Hj212Tolerance['crc'], ...lenient: Leniency[]): Hj212Tolerance => ({ crc, lenient: new Set(lenient) });

describe('CRC flavours', () => {
  it('computes CRC-16/MODBUS with its published check value, and the swapped form', () => {
    // The CRC catalogue's check value of CRC-16/MODBUS: the CRC of the ASCII string "123456789".
    expect(modbusCrc('123456789')).toBe('4B37');
    expect(modbusSwappedCrc('123456789')).toBe('374B');
    // Annex A's checksum is another function: not the same value on the same input.
    expect(hj212Crc('123456789')).not.toBe('4B37');
  });

  it('refuses a MODBUS or swapped-MODBUS CRC at a strict station, with the Annex A CRC it expected', () => {
    for (const crc of [modbusCrc, modbusSwappedCrc]) {
      expect(codeOf(() => parseFrame(framed(SEG, crc)))).toBe('TJ_FRAME_CRC');
    }
  });

  it('accepts the configured flavour, tagged, and still the standard CRC from the same logger, untagged', () => {
    expect(parseFrame(framed(SEG, modbusSwappedCrc), tol('modbus-swapped')).quirks).toEqual(['crc-modbus-swapped']);
    expect(parseFrame(framed(SEG, modbusCrc), tol('modbus')).quirks).toEqual(['crc-modbus']);
    expect(parseFrame(framed(SEG), tol('modbus-swapped')).quirks).toEqual([]);
    // One flavour does not open the door to the other, nor to any CRC.
    expect(codeOf(() => parseFrame(framed(SEG, modbusCrc), tol('modbus-swapped')))).toBe('TJ_FRAME_CRC');
    expect(
      codeOf(() =>
        parseFrame(
          framed(SEG, () => '0000'),
          tol('modbus'),
        ),
      ),
    ).toBe('TJ_FRAME_CRC');
  });

  it('with crc none takes any CRC, and says so', () => {
    expect(
      parseFrame(
        framed(SEG, () => 'BEEF'),
        tol('none'),
      ).quirks,
    ).toEqual(['crc-unchecked']);
  });

  it("chooses the tolerance by the frame's own MN", () => {
    const byMn = (mn: string | undefined) => (mn === MN.hongyuan ? tol('modbus-swapped') : STRICT);
    expect(parseFrame(framed(SEG, modbusSwappedCrc), byMn).mn).toBe(MN.hongyuan);
    const other = SEG.replace(MN.hongyuan, MN.zhaozhen);
    expect(codeOf(() => parseFrame(framed(other, modbusSwappedCrc), byMn))).toBe('TJ_FRAME_CRC');
  });
});

describe('leniencies', () => {
  const splitNoPnum = SEG.replace('Flag=5', 'Flag=7');
  const repeated = SEG.replace('w21003-Rtd=0.42,', 'w21003-Rtd=0.40,w21003-Rtd=0.42,');
  const ms17 = SEG.replace('DataTime=20261201083000', 'DataTime=20261201083000123');

  it('refuses each shape by default, with the code an operator can look up', () => {
    expect(codeOf(() => parseFrame(framed(splitNoPnum)))).toBe('TJ_MALFORMED_FRAME');
    expect(codeOf(() => parseFrame(framed(repeated)))).toBe('TJ_MALFORMED_FRAME');
    expect(codeOf(() => parseFrame(framed(ms17)))).toBe('TJ_INVALID_TIMESTAMP');
  });

  it('split flag without PNUM/PNO: a whole frame, bit D cleared, tagged', () => {
    const f = parseFrame(framed(splitNoPnum), tol('annex-a', 'split-flag-without-pnum'));
    expect(f.flag).toBe(5);
    expect(f.pnum).toBeUndefined();
    expect(f.quirks).toEqual(['split-flag-without-pnum']);
  });

  it('a repeated key: the last value wins, tagged once however many repeats', () => {
    const f = parseFrame(framed(repeated.replace('w21003-Flag=N', 'w21003-Flag=M,w21003-Flag=N')), tol('annex-a', 'repeated-key'));
    expect(f.cp.items.w21003).toEqual({ Rtd: '0.42', Flag: 'N' });
    expect(f.quirks).toEqual(['repeated-key']);
  });

  it('a key repeated across the parts of a split packet follows the same rule: the later part wins', () => {
    const part = (pno: number, v: string) =>
      parseFrame(framed(`QN=1;ST=21;CN=2011;PW=1;MN=M;Flag=7;PNUM=2;PNO=${pno};CP=&&DataTime=20261201083000;w21003-Rtd=${v}&&`));
    expect(mergeParts([part(2, '0.42'), part(1, '0.40')]).cp.items.w21003).toEqual({ Rtd: '0.42' });
  });

  it('a 17-digit DataTime, tolerated, keeps its milliseconds', () => {
    const f = parseFrame(framed(ms17), tol('annex-a', 'datatime-17-digits'));
    expect(f.cp.dataTime).toBe('20261201083000123');
    expect(f.quirks).toEqual(['datatime-17-digits']);
  });

  it('several quirks in one frame are all named', () => {
    const all = framed(ms17.replace('Flag=5', 'Flag=7').replace('w21003-Rtd=0.42,', 'w21003-Rtd=0.1,w21003-Rtd=0.42,'), modbusSwappedCrc);
    expect(parseFrame(all, { crc: 'modbus-swapped', lenient: ANYTHING.lenient }).quirks.sort()).toEqual([
      'crc-modbus-swapped',
      'datatime-17-digits',
      'repeated-key',
      'split-flag-without-pnum',
    ]);
  });
});

describe('hj212 decode without a station: which tolerance would accept the frame', () => {
  it('names the CRC flavour and the leniencies a refused frame needs', () => {
    const line = framed(SEG.replace('Flag=5', 'Flag=7').replace('w21003-Rtd=0.42,', 'w21003-Rtd=0.1,w21003-Rtd=0.42,'), modbusSwappedCrc);
    const d = describeFrame(line);
    expect(d.valid).toBe(false);
    expect(d).toMatchObject({
      error: { code: 'TJ_FRAME_CRC' },
      acceptableWith: { crc: 'modbus-swapped', lenient: ['split-flag-without-pnum', 'repeated-key'] },
    });
  });

  it('says nothing can help a frame whose length is wrong, and nothing is needed for a standard frame', () => {
    expect(acceptableWith(framed(SEG).replace('##0', '##1'))).toBeUndefined();
    expect(describeFrame(framed(SEG))).toMatchObject({ valid: true, quirks: [] });
  });

  it("with a station's tolerance decodes as that station would, quirks listed", () => {
    expect(describeFrame(framed(SEG, modbusCrc), tol('modbus'))).toMatchObject({ valid: true, quirks: ['crc-modbus'] });
    const refused = describeFrame(framed(SEG, modbusCrc), STRICT);
    expect(refused).toMatchObject({ valid: false, error: { code: 'TJ_FRAME_CRC' } });
    expect('acceptableWith' in refused).toBe(false);
  });
});

describe('a tolerated quirk is stored with the reading', () => {
  const base = loadConfig();
  const registryConfig = RegistrySchema.parse({
    ...base.registry,
    stations: base.registry.stations.map((s) =>
      s.id === 'hongyuan' ? { ...s, hj212: { crc: 'modbus-swapped', lenient: ['repeated-key'] } } : s,
    ),
  });
  const registry = new StationRegistry(registryConfig);
  const processor = new MessageProcessor({
    registry,
    topicPrefix: 'tuojiang',
    maxPayloadBytes: 32768,
    futureToleranceMs: 600_000,
    splitStore: {} as SplitPacketStore,
    now: () => Date.parse('2026-12-01T01:00:00Z'),
  });

  it("as the point's quirk field (not a tag: one series per station), sorted", () => {
    const line = framed(SEG.replace('w21003-Rtd=0.42,', 'w21003-Rtd=0.1,w21003-Rtd=0.42,'), modbusSwappedCrc);
    const out = processor.process('tuojiang/water/hongyuan', Buffer.from(line));
    if (out instanceof Promise) throw new Error('not a split packet');
    const item = out.items[0]!;
    if (item.kind !== 'reading') throw new Error(`dead-lettered: ${JSON.stringify(item)}`);
    expect(item.reading.quirks).toEqual(['crc-modbus-swapped', 'repeated-key']);
    expect(item.reading.values.NH3N).toBe(0.42);
    const point = readingToPoint(item.reading);
    expect(point.fields.quirk).toBe('crc-modbus-swapped,repeated-key');
    expect(Object.keys(point.tags).sort()).toEqual(['city', 'period', 'station']);
  });

  it('the same frame from a strict station is a dead letter', () => {
    const line = framed(SEG.replace(MN.hongyuan, MN.zhaozhen), modbusSwappedCrc);
    const out = processor.process('tuojiang/water/zhaozhen', Buffer.from(line));
    if (out instanceof Promise) throw new Error('not a split packet');
    expect(out.items).toMatchObject([{ kind: 'dead', dead: { reason: 'TJ_FRAME_CRC' } }]);
  });

  it('a standard frame carries no quirk field', () => {
    const out = processor.process('tuojiang/water/hongyuan', Buffer.from(framed(SEG)));
    if (out instanceof Promise) throw new Error('not a split packet');
    const item = out.items[0]!;
    expect(item.kind === 'reading' && readingToPoint(item.reading).fields.quirk).toBeUndefined();
  });

  it('stations.yaml refuses an unknown quirk or CRC flavour by name', () => {
    const bad = (hj212: unknown) =>
      RegistrySchema.safeParse({ ...base.registry, stations: [{ ...base.registry.stations[0], hj212 }] }).success;
    expect(bad({ crc: 'crc32' })).toBe(false);
    expect(bad({ lenient: ['anything-goes'] })).toBe(false);
    expect(bad({ pw_hash: 'sha256:abc' })).toBe(false);
    expect(bad({ crc: 'modbus', lenient: ['repeated-key'] })).toBe(true);
  });
});
