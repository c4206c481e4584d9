/**
 * lib/mqtt-publish-reader.ts: PUBLISH packets taken off an MQTT client's inbound bytes, everything
 * else handed on unchanged and in order. The bytes come from mqtt-packet's own encoder, the one
 * MQTT.js and the broker's peers use, and are cut at every possible place.
 */
import mqttPacket from 'mqtt-packet';
import { describe, expect, it, vi } from 'vitest';
import { PublishReader, type InboundPublish } from '../../lib/mqtt-publish-reader.js';

type Event = { publish: { topic: string; payload: string; qos: number; messageId: number } } | { other: string } | { malformed: string };

function gen(packet: Record<string, unknown>, protocolVersion: 4 | 5 = 5): Buffer {
  return mqttPacket.generate(packet as unknown as mqttPacket.Packet, { protocolVersion });
}

function publish(
  topic: string,
  payload: string,
  messageId: number,
  qos: 0 | 1 | 2 = 1,
  extra: Record<string, unknown> = {},
  v: 4 | 5 = 5,
): Buffer {
  return gen(
    { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false, ...(qos > 0 ? { messageId } : {}), ...extra },
    v,
  );
}

/** Feeds the chunks one by one, reading after each, and records what the reader handed on. */
function run(chunks: Buffer[], v: 4 | 5 = 5): { events: Event[]; pending: number } {
  const events: Event[] = [];
  const reader = new PublishReader(v, {
    publish: (p: InboundPublish) => {
      events.push({ publish: { topic: p.topic, payload: p.payload.toString(), qos: p.qos, messageId: p.messageId } });
      return true;
    },
    other: (bytes) => events.push({ other: bytes.toString('hex') }),
    malformed: (reason) => events.push({ malformed: reason }),
  });
  for (const c of chunks) {
    reader.push(c);
    expect(reader.read()).toBe(true);
  }
  return { events, pending: reader.pending };
}

/** Consecutive `other` events joined: the reader may hand a run of other bytes on in pieces. */
function merged(events: Event[]): Event[] {
  const out: Event[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if ('other' in e && last && 'other' in last) last.other += e.other;
    else out.push('other' in e ? { other: e.other } : e);
  }
  return out;
}

const connack = gen({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: true });
const suback = gen({ cmd: 'suback', messageId: 7, granted: [1, 0x87] });
const pingresp = gen({ cmd: 'pingresp' });
const p1 = publish('tuojiang/chengdu/water/CD-01', '{"nh3n":1.2}', 1);
const p2 = publish('tuojiang/ziyang/water/ZY-02', '{"cod":25}', 65535);
const p0 = publish('tuojiang/ziyang/air/ZY-03', 'x', 0, 0);
// 200 bytes of payload: a two-byte remaining length, so that cuts fall inside a length too.
const long = publish('tuojiang/chengdu/air/CD-06', 'z'.repeat(200), 12);
const withProps = publish('tuojiang/chengdu/water/CD-04', '{}', 9, 1, { properties: { userProperties: { a: 'b' } } });
const qos2 = publish('tuojiang/chengdu/water/CD-05', '{}', 10, 2);
const stream = [connack, suback, p1, pingresp, p2, withProps, p0, qos2, long];
const expected: Event[] = [
  { other: Buffer.concat([connack, suback]).toString('hex') },
  { publish: { topic: 'tuojiang/chengdu/water/CD-01', payload: '{"nh3n":1.2}', qos: 1, messageId: 1 } },
  { other: pingresp.toString('hex') },
  { publish: { topic: 'tuojiang/ziyang/water/ZY-02', payload: '{"cod":25}', qos: 1, messageId: 65535 } },
  { other: withProps.toString('hex') },
  { publish: { topic: 'tuojiang/ziyang/air/ZY-03', payload: 'x', qos: 0, messageId: 0 } },
  { other: qos2.toString('hex') },
  { publish: { topic: 'tuojiang/chengdu/air/CD-06', payload: 'z'.repeat(200), qos: 1, messageId: 12 } },
];

describe('PublishReader', () => {
  it('takes QoS 0/1 PUBLISH packets and hands every other packet on, whole and in order', () => {
    const { events, pending } = run([Buffer.concat(stream)]);
    expect(merged(events)).toEqual(expected);
    expect(pending).toBe(0);
  });

  it('gives the same result however the bytes are cut: at every single place, and into single bytes', () => {
    const all = Buffer.concat(stream);
    for (let cut = 1; cut < all.length; cut++) {
      const { events, pending } = run([all.subarray(0, cut), all.subarray(cut)]);
      expect(merged(events), `cut at ${cut}`).toEqual(expected);
      expect(pending).toBe(0);
    }
    const bytes = [...all].map((b) => Buffer.from([b]));
    expect(merged(run(bytes).events)).toEqual(expected);
  });

  it('reads MQTT 3.1.1, where a PUBLISH has no property length', () => {
    const v4 = publish('tuojiang/chengdu/water/CD-01', '{"ph":7}', 300, 1, {}, 4);
    const { events } = run([v4], 4);
    expect(events).toEqual([{ publish: { topic: 'tuojiang/chengdu/water/CD-01', payload: '{"ph":7}', qos: 1, messageId: 300 } }]);
  });

  it('reads MQTT 3.1.1 QoS 0, and a topic in several-byte UTF-8 characters', () => {
    const v4 = publish('tuojiang/沱江/资阳', '{}', 0, 0, {}, 4);
    expect(run([v4], 4).events).toEqual([{ publish: { topic: 'tuojiang/沱江/资阳', payload: '{}', qos: 0, messageId: 0 } }]);
    const v5 = publish('tuojiang/沱江/资阳', 'ok', 77);
    expect(run([v5.subarray(0, 12), v5.subarray(12)]).events).toEqual([
      { publish: { topic: 'tuojiang/沱江/资阳', payload: 'ok', qos: 1, messageId: 77 } },
    ]);
  });

  it('reads a 300 KB payload that arrives in 64 KB chunks, and an empty one', () => {
    const big = 'y'.repeat(300_000);
    const packet = Buffer.concat([publish('t/big', big, 2), publish('t/empty', '', 3)]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < packet.length; i += 65_536) chunks.push(packet.subarray(i, i + 65_536));
    const { events } = run(chunks);
    expect(events).toEqual([
      { publish: { topic: 't/big', payload: big, qos: 1, messageId: 2 } },
      { publish: { topic: 't/empty', payload: '', qos: 1, messageId: 3 } },
    ]);
  });

  it('answers a read with nothing received, and waits on a header whose four-byte length is not yet complete', () => {
    expect(run([]).events).toEqual([]);
    const reader = new PublishReader(5, {
      publish: () => true,
      other: () => {
        throw new Error('nothing should be handed on yet');
      },
      malformed: () => {
        throw new Error('a four-byte length is not malformed');
      },
    });
    expect(reader.read()).toBe(true);
    // Remaining length 2,097,152: four length bytes, a legal packet the reader must wait for.
    reader.push(Buffer.from([0x32, 0x80, 0x80, 0x80]));
    expect(reader.read()).toBe(true);
    reader.push(Buffer.from([0x01, 0x00]));
    expect(reader.read()).toBe(true);
    expect(reader.pending).toBe(6);
  });

  it('joins the chunks of a long packet once, when it is whole, not at every chunk', () => {
    const packet = publish('t/big', 'y'.repeat(300_000), 2);
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      // Whole packets, one per chunk: nothing to join.
      expect(run([p1, p2, p1]).events).toHaveLength(3);
      expect(concat).not.toHaveBeenCalled();
      const { events } = run([0, 1, 2, 3, 4].map((k) => packet.subarray(k * 65_536, (k + 1) * 65_536)));
      expect(events).toHaveLength(1);
      expect(concat).toHaveBeenCalledTimes(1);
    } finally {
      concat.mockRestore();
    }
  });

  it('stops after a publish handler says so and goes on from the next packet when read again', () => {
    const taken: number[] = [];
    let stopAt = 2;
    const reader = new PublishReader(5, {
      publish: (p) => {
        taken.push(p.messageId);
        return p.messageId !== stopAt;
      },
      other: () => undefined,
      malformed: () => undefined,
    });
    reader.push(Buffer.concat([1, 2, 3, 4].map((id) => publish('t/a', String(id), id))));
    expect(reader.read()).toBe(false);
    expect(taken).toEqual([1, 2]);
    expect(reader.pending).toBeGreaterThan(0);
    stopAt = 0;
    expect(reader.read()).toBe(true);
    expect(taken).toEqual([1, 2, 3, 4]);
    expect(reader.pending).toBe(0);
  });

  describe('leaves to the library what it cannot be sure of', () => {
    const cases: Array<[string, Buffer]> = [
      ['QoS 3 (reserved flags)', Buffer.from([0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01])],
      ['packet identifier 0', Buffer.from([0x32, 0x06, 0x00, 0x01, 0x74, 0x00, 0x00, 0x00])],
      ['a topic longer than its packet', Buffer.from([0x32, 0x04, 0x00, 0x09, 0x74, 0x74])],
      ['no room for the packet identifier', Buffer.from([0x32, 0x04, 0x00, 0x01, 0x74, 0x00])],
      ['no room for the property length', Buffer.from([0x32, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01])],
      ['a remaining length too short for a topic length', Buffer.from([0x30, 0x01, 0x00])],
      ['an empty topic (a topic alias without the property)', Buffer.from([0x32, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00])],
      ['a topic alias property', publish('t/alias', '{}', 4, 1, { properties: { topicAlias: 1 } })],
      ['another packet type shaped like a PUBLISH', Buffer.from([0x22, 0x06, 0x00, 0x01, 0x74, 0x00, 0x01, 0x00])],
    ];
    for (const [what, bytes] of cases) {
      it(`${what}: handed on whole, and the next packet is still taken`, () => {
        const { events } = run([Buffer.concat([bytes, p1])]);
        expect(events).toEqual([{ other: bytes.toString('hex') }, expected[1]]);
      });
    }
  });

  it('hands on a PUBLISH too short for its topic length when it is the last byte received, without reading past it', () => {
    const tails = [
      Buffer.from([0x30, 0x00]),
      Buffer.from([0x30, 0x01, 0x00]),
      // Room for the topic but not for the packet identifier.
      Buffer.from([0x32, 0x04, 0x00, 0x01, 0x74, 0x00]),
    ];
    for (const tail of tails) {
      const { events, pending } = run([Buffer.concat([p1, tail])]);
      expect(events).toEqual([expected[1], { other: tail.toString('hex') }]);
      expect(pending).toBe(0);
    }
  });

  it('reports a remaining length it cannot frame once, and reads nothing after it, now or later', () => {
    const bad = Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00]);
    const { events, pending } = run([Buffer.concat([p1, bad, p2]), Buffer.alloc(0), p2]);
    expect(events).toEqual([expected[1], { malformed: 'a remaining length longer than four bytes (MQTT 5.0 §1.5.5)' }]);
    expect(pending).toBe(0);
  });

  it('what it hands on is what mqtt-packet parses as the same packets', () => {
    const others: Buffer[] = [];
    const reader = new PublishReader(5, { publish: () => true, other: (b) => others.push(b), malformed: () => undefined });
    reader.push(Buffer.concat(stream));
    reader.read();
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const cmds: string[] = [];
    parser.on('packet', (p: { cmd: string }) => cmds.push(p.cmd));
    parser.on('error', (e: Error) => {
      throw e;
    });
    for (const b of others) parser.parse(b);
    expect(cmds).toEqual(['connack', 'suback', 'pingresp', 'publish', 'publish']);
  });
});
