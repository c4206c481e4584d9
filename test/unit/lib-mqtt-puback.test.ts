/** lib/mqtt-puback.ts: PUBACKs written as one buffer read back by mqtt-packet as the same acknowledgements. */
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { encodePubackIds } from '../../lib/mqtt-puback.js';

function parse(buf: Buffer, protocolVersion: 4 | 5): Array<{ cmd: string; messageId?: number; reasonCode?: number }> {
  const parser = mqttPacket.parser({ protocolVersion });
  const out: Array<{ cmd: string; messageId?: number; reasonCode?: number }> = [];
  parser.on('packet', (p: { cmd: string; messageId?: number; reasonCode?: number }) => out.push(p));
  parser.on('error', (e: Error) => {
    throw e;
  });
  parser.parse(buf);
  return out;
}

describe('encodePubackIds', () => {
  const ids = [1, 2, 255, 256, 257, 4242, 65534, 65535];

  it('is what mqtt-packet reads as the same successful PUBACKs, in order, in MQTT 5 and 3.1.1', () => {
    const buf = encodePubackIds(ids);
    expect(buf).toHaveLength(ids.length * 4);
    for (const v of [5, 4] as const) {
      const read = parse(buf, v);
      expect(read.map((p) => p.cmd)).toEqual(ids.map(() => 'puback'));
      expect(read.map((p) => p.messageId)).toEqual(ids);
      expect(read.every((p) => (p.reasonCode ?? 0) === 0)).toBe(true);
    }
    // The short form mqtt-packet writes itself for a success without properties.
    expect(encodePubackIds([258])).toEqual(mqttPacket.generate({ cmd: 'puback', messageId: 258, reasonCode: 0 }, { protocolVersion: 5 }));
    expect(encodePubackIds([9])).toEqual(Buffer.from([0x40, 0x02, 0x00, 0x09]));
    expect(encodePubackIds([])).toHaveLength(0);
  });

  it('refuses an identifier outside 1-65535 instead of writing a wrong acknowledgement', () => {
    for (const id of [0, 65536, 1.5, -1, NaN]) {
      expect(() => encodePubackIds([1, id]), String(id)).toThrow(new RangeError(`PUBACK packet identifier ${id} outside 1-65535`));
    }
  });
});
