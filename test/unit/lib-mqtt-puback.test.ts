/** lib/mqtt-puback.ts: PUBACKs written as one buffer read back by mqtt-packet as the same acknowledgements. */
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { encodePubacks, type PubackPacket } from '../../lib/mqtt-puback.js';

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

describe('encodePubacks', () => {
  const ids = [1, 2, 255, 256, 257, 4242, 65534, 65535];
  const packets: PubackPacket[] = ids.map((messageId) => ({ cmd: 'puback', messageId, reasonCode: 0 }));

  it('is what mqtt-packet reads as the same successful PUBACKs, in MQTT 5 and 3.1.1', () => {
    const buf = encodePubacks(packets)!;
    expect(buf).toHaveLength(ids.length * 4);
    for (const v of [5, 4] as const) {
      const read = parse(buf, v);
      expect(read.map((p) => p.cmd)).toEqual(ids.map(() => 'puback'));
      expect(read.map((p) => p.messageId)).toEqual(ids);
      expect(read.every((p) => (p.reasonCode ?? 0) === 0)).toBe(true);
    }
    // The short form mqtt-packet writes itself for a success without properties.
    expect(encodePubacks([{ cmd: 'puback', messageId: 258, reasonCode: 0 }])).toEqual(
      mqttPacket.generate({ cmd: 'puback', messageId: 258, reasonCode: 0 }, { protocolVersion: 5 }),
    );
  });

  it('leaves any packet it cannot write this way to MQTT.js (a reason code, properties, another packet, a bad id)', () => {
    const others: PubackPacket[] = [
      { cmd: 'puback', messageId: 7, reasonCode: 0x10 },
      { cmd: 'puback', messageId: 7, properties: { reasonString: 'x' } },
      { cmd: 'pubrec', messageId: 7 },
      { cmd: 'puback' },
      { cmd: 'puback', messageId: 0 },
      { cmd: 'puback', messageId: 65536 },
    ];
    for (const o of others) expect(encodePubacks([...packets, o]), JSON.stringify(o)).toBeUndefined();
    expect(encodePubacks([{ cmd: 'puback', messageId: 9 }])).toEqual(Buffer.from([0x40, 0x02, 0x00, 0x09]));
  });
});
