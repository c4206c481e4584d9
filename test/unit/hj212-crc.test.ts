import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hj212Crc } from '../../ingest/hj212/crc.js';
import { propertyRuns } from '../helpers/property-runs.js';

const CHECK_SEGMENT = 'QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&';

/**
 * An independent formulation of Annex A: after `reg = (reg >> 8) ^ byte` the register is below 0x100,
 * so the eight shift/xor steps are a 256-entry table lookup.
 */
const TABLE = Array.from({ length: 256 }, (_, i) => {
  let r = i;
  for (let k = 0; k < 8; k++) r = r & 1 ? (r >>> 1) ^ 0xa001 : r >>> 1;
  return r;
});
function tableCrc(bytes: Uint8Array): string {
  let reg = 0xffff;
  for (const b of bytes) reg = TABLE[(reg >>> 8) ^ b]!;
  return reg.toString(16).toUpperCase().padStart(4, '0');
}

/** CRC-16/MODBUS, what the standard is often confused with. */
function modbusCrc(bytes: Uint8Array): string {
  let reg = 0xffff;
  for (const b of bytes) {
    reg ^= b;
    for (let k = 0; k < 8; k++) reg = reg & 1 ? (reg >>> 1) ^ 0xa001 : reg >>> 1;
  }
  return reg.toString(16).toUpperCase().padStart(4, '0');
}

describe('hj212Crc (HJ 212-2017 Annex A)', () => {
  it('gives the check value 1C80 for the standard sample segment (not the misprinted 1C08)', () => {
    expect(hj212Crc(CHECK_SEGMENT)).toBe('1C80');
  });

  it('gives FFFF for an empty segment (the initial register)', () => {
    expect(hj212Crc('')).toBe('FFFF');
  });

  it('gives 7080 for "A", computed by hand', () => {
    // reg = 0xFFFF >> 8 ^ 0x41 = 0xBE; shifts: 5F, A02E, 5017, 880A, 4405, 8203, E100, 7080
    expect(hj212Crc('A')).toBe('7080');
  });

  it('matches frames captured from field data loggers', () => {
    // Segments and CRCs as sent by 2005-style loggers (published test data of the open-source
    // hj-t212-parser project); they use the Annex A CRC, not MODBUS.
    const captured: Array<[string, string]> = [
      ['ST=32;CN=2011;PW=123456;MN=LD130104000268;CP=&&DataTime=20160823235500;B01-Rtd=4.70,B01-Flag=N;011-Rtd=59.00,011-Flag=N&&', 'B381'],
      ['ST=32;CN=8013;PW=123456;MN=ZG130182201205;Flag=0;CP=&&HeartbeatTime=120&&', '0500'],
      ['ST=91;CN=9015;PW=123456;MN=LD130130000155;Flag=0;CP=&&DataTime=20160823234442000;CON-RT=0&&', 'B401'],
    ];
    for (const [segment, crc] of captured) expect(hj212Crc(segment)).toBe(crc);
  });

  it('is not CRC-16/MODBUS', () => {
    expect(modbusCrc(Buffer.from(CHECK_SEGMENT))).not.toBe('1C80');
    expect(hj212Crc(CHECK_SEGMENT)).not.toBe(modbusCrc(Buffer.from(CHECK_SEGMENT)));
  });

  it('works on the UTF-8 bytes of a string', () => {
    expect(hj212Crc('温')).toBe(tableCrc(Buffer.from([0xe6, 0xb8, 0xa9])));
    expect(hj212Crc('温')).not.toBe(tableCrc(Buffer.from([0x29]))); // not the UTF-16 code unit's low byte
    expect(hj212Crc(Buffer.from(CHECK_SEGMENT))).toBe('1C80');
  });

  it('always gives 4 upper-case hex digits and agrees with the table formulation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const crc = hj212Crc(bytes);
        expect(crc).toMatch(/^[0-9A-F]{4}$/);
        expect(crc).toBe(tableCrc(bytes));
      }),
      { numRuns: propertyRuns(2000) },
    );
  });
});
