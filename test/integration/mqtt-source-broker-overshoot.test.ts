import { createServer, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSource } from '../../ingest/sources/mqtt.js';
import { createLogger } from '../../lib/logger.js';
import { waitFor } from '../helpers/ingest-stack.js';

/*
 * The MQTT source against a broker that ignores the Receive Maximum the ingest announced, as
 * Mosquitto 2.0 did when PUBACKs arrived in batches (issue 15), and that closes connections under
 * it. Real Mosquitto does this only now and then; this peer, a TCP server speaking MQTT 5 with
 * mqtt-packet, does it every time, so that the bound, the order of the PUBACKs and a closed
 * connection's parked messages are checked deterministically. The ingest end to end against
 * Mosquitto: ingest-held-bound.test.ts, ingest-publish-paths.test.ts.
 */

interface Peer {
  port: number;
  /** Packet identifiers of the PUBACKs received, in order. */
  pubacks: number[];
  /** Sockets of the connections, newest last. */
  sockets: Socket[];
  /** Sends these PUBLISH packets on the newest connection, whatever the client allows. */
  flood(messages: Array<{ id: number; props?: boolean }>): void;
  close(): Promise<void>;
}

async function startPeer(): Promise<Peer> {
  const pubacks: number[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const send = (p: Record<string, unknown>): void => {
      if (!socket.destroyed) socket.write(mqttPacket.generate(p as unknown as mqttPacket.Packet, { protocolVersion: 5 }));
    };
    parser.on('packet', (p: { cmd: string; messageId?: number; subscriptions?: unknown[] }) => {
      if (p.cmd === 'connect') send({ cmd: 'connack', sessionPresent: false, reasonCode: 0 });
      else if (p.cmd === 'subscribe') send({ cmd: 'suback', messageId: p.messageId, granted: (p.subscriptions ?? []).map(() => 1) });
      else if (p.cmd === 'pingreq') send({ cmd: 'pingresp' });
      else if (p.cmd === 'puback') pubacks.push(p.messageId!);
    });
    socket.on('data', (b) => parser.parse(b));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    pubacks,
    sockets,
    flood(messages) {
      const socket = sockets[sockets.length - 1]!;
      socket.write(
        Buffer.concat(
          messages.map((m) =>
            mqttPacket.generate(
              {
                cmd: 'publish',
                topic: `tuojiang/water/s${m.id}`,
                payload: Buffer.from(String(m.id)),
                qos: 1,
                messageId: m.id,
                retain: false,
                dup: false,
                ...(m.props ? { properties: { userProperties: { from: 'station' } } } : {}),
              },
              { protocolVersion: 5 },
            ),
          ),
        ),
      );
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A handler whose promises the test settles: one per message, by the payload's id. */
function controlledHandler() {
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const seen: number[] = [];
  const handler = (_topic: string, payload: Buffer): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const id = Number(payload.toString());
      seen.push(id);
      pending.set(id, { resolve, reject });
    });
  return { pending, seen, handler };
}

let peer: Peer | undefined;
let source: MqttSource | undefined;

afterEach(async () => {
  source?.drop();
  source = undefined;
  await peer?.close();
  peer = undefined;
});

function newSource(port: number): MqttSource {
  return new MqttSource(
    {
      url: `mqtt://127.0.0.1:${port}`,
      clientIdPrefix: 'overshoot',
      instance: 't',
      connections: 1,
      shareGroup: '',
      // No reconnect within a test: a closed connection stays closed.
      reconnectPeriodMs: 600_000,
      subscriptions: ['tuojiang/#'],
      sessionExpiryS: 60,
      receiveMaximum: 2,
    },
    createLogger('overshoot-test', 'silent'),
  );
}

describe('MQTT source: a broker that sends more than Receive Maximum', () => {
  it('never holds more than the bound across both read paths, acknowledges in the order received, and nothing it could not make durable', async () => {
    peer = await startPeer();
    source = newSource(peer.port);
    const h = controlledHandler();
    await source.start(h.handler);
    await waitFor(() => source!.allSubscribed, 10_000, 'the source to subscribe');

    // Ten messages at once against a bound of 2; every third carries properties (read by MQTT.js).
    peer.flood(Array.from({ length: 10 }, (_, i) => ({ id: i + 1, props: i % 3 === 1 })));
    const rejected = 4;
    for (let round = 0; h.seen.length < 10 || h.pending.size > 0; round++) {
      if (round > 50) throw new Error(`stuck: seen ${JSON.stringify(h.seen)}, pending ${[...h.pending.keys()].join(',')}`);
      await waitFor(() => h.pending.size > 0, 5_000, 'a message handed to the handler');
      // Let everything the reader can take arrive before settling: the bound is what stops it.
      await new Promise((r) => setTimeout(r, 50));
      expect(source.held).toBeLessThanOrEqual(2);
      for (const [id, p] of [...h.pending]) {
        h.pending.delete(id);
        if (id === rejected) p.reject(new Error('journal refused'));
        else p.resolve();
      }
    }
    expect(source.peakHeld).toBe(2);
    expect([...h.seen].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const acked = [1, 2, 3, 5, 6, 7, 8, 9, 10];
    await waitFor(() => peer!.pubacks.length >= acked.length, 5_000, 'the PUBACKs');
    await new Promise((r) => setTimeout(r, 100));
    expect(peer.pubacks).toEqual(acked);
  });

  it('hands a closed connection’s parked messages to nobody: the broker sends them again', async () => {
    peer = await startPeer();
    source = newSource(peer.port);
    const h = controlledHandler();
    await source.start(h.handler);
    await waitFor(() => source!.allSubscribed, 10_000, 'the source to subscribe');

    peer.flood([1, 2, 3, 4, 5].map((id) => ({ id })));
    await waitFor(() => h.seen.length === 2, 5_000, 'two messages handed on');
    await new Promise((r) => setTimeout(r, 50));
    expect(h.seen).toEqual([1, 2]);
    // The broker goes away while 3, 4 and 5 wait for room.
    peer.sockets[0]!.end();
    await waitFor(() => !source!.allConnected, 5_000, 'the connection to close');
    for (const [, p] of h.pending) p.resolve();
    await new Promise((r) => setTimeout(r, 200));
    expect(h.seen).toEqual([1, 2]);
    expect(source.held).toBe(0);
    // Their PUBACKs would have gone nowhere: nothing was written after the end.
    expect(peer.pubacks).toEqual([]);
  });
});
