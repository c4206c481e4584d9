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
 * connection's parked messages are checked deterministically, and that nothing follows our own
 * DISCONNECT (MQTT 5.0 §3.14.4) when a batch is made durable while the source stops. The ingest end to end against
 * Mosquitto: ingest-held-bound.test.ts, ingest-publish-paths.test.ts.
 */

interface Peer {
  port: number;
  /** Packet identifiers of the PUBACKs received, in order. */
  pubacks: number[];
  /** What the client sent after its SUBSCRIBE, in order: `puback 3`, `disconnect`, … */
  log: string[];
  /** Sockets of the connections, newest last. */
  sockets: Socket[];
  /** Sends these PUBLISH packets on the newest connection, whatever the client allows. */
  flood(messages: Array<{ id: number; props?: boolean }>): void;
  close(): Promise<void>;
}

async function startPeer(): Promise<Peer> {
  const pubacks: number[] = [];
  const log: string[] = [];
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
      if (p.cmd === 'puback' || p.cmd === 'disconnect') log.push(p.cmd === 'puback' ? `puback ${p.messageId}` : p.cmd);
    });
    socket.on('data', (b) => parser.parse(b));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    pubacks,
    log,
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

/**
 * A handler whose promises the test settles, oldest first. Shared, as the journal's are, by the
 * messages handed on until the test settles (`perMessage` false), or one per message (true: the
 * count held then falls one at a time, which is when a release can overfill).
 */
function batchHandler(perMessage: boolean) {
  type Batch = { ids: number[]; resolve: () => void; reject: (e: Error) => void; promise: Promise<void> };
  const seen: number[] = [];
  const batches: Batch[] = [];
  const unsettled: Batch[] = [];
  const handler = (_topic: string, payload: Buffer): Promise<void> => {
    let b = perMessage ? undefined : unsettled[unsettled.length - 1];
    if (!b) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      b = { ids: [], resolve, reject, promise };
      batches.push(b);
      unsettled.push(b);
    }
    const id = Number(payload.toString());
    seen.push(id);
    b.ids.push(id);
    return b.promise;
  };
  /** Settles the oldest unsettled batch, rejecting it when it holds `rejectIfHas`; returns its ids. */
  const settle = (rejectIfHas?: number): number[] => {
    const b = unsettled.shift();
    if (!b) return [];
    if (rejectIfHas !== undefined && b.ids.includes(rejectIfHas)) b.reject(new Error('journal refused'));
    else b.resolve();
    return b.ids;
  };
  return { seen, batches, handler, settle, unsettled };
}

let peer: Peer | undefined;
let source: MqttSource | undefined;

afterEach(async () => {
  source?.drop();
  source = undefined;
  await peer?.close();
  peer = undefined;
});

function newSource(port: number, receiveMaximum = 2): MqttSource {
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
      receiveMaximum,
    },
    createLogger('overshoot-test', 'silent'),
  );
}

describe('MQTT source: a broker that sends more than Receive Maximum', () => {
  for (const [receiveMaximum, count, perMessage] of [
    [2, 10, true],
    [4, 20, false],
  ] as const) {
    it(`Receive Maximum ${receiveMaximum}, ${count} messages sent at once, ${perMessage ? 'made durable one by one' : 'in batches'}: never more held than that across both read paths, PUBACKs in the order received, none for what was not made durable`, async () => {
      peer = await startPeer();
      source = newSource(peer.port, receiveMaximum);
      const h = batchHandler(perMessage);
      await source.start(h.handler);
      await waitFor(() => source!.allSubscribed, 10_000, 'the source to subscribe');

      // Every third carries properties (read by MQTT.js).
      peer.flood(Array.from({ length: count }, (_, i) => ({ id: i + 1, props: i % 3 === 1 })));
      const refused: number[] = [];
      for (let round = 0; h.seen.length < count || h.unsettled.length > 0; round++) {
        if (round > 100) throw new Error(`stuck: seen ${JSON.stringify(h.seen)}`);
        await waitFor(() => h.unsettled.length > 0, 5_000, 'a message handed to the handler');
        // Let everything the source will take arrive before settling: the bound is what stops it.
        await new Promise((r) => setTimeout(r, 50));
        expect(source.held).toBeLessThanOrEqual(receiveMaximum);
        const ids = h.settle(4);
        if (ids.includes(4)) refused.push(...ids);
      }
      expect(source.peakHeld).toBe(receiveMaximum);
      expect([...h.seen].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      // Some batches had a message read by MQTT.js between two read by the ingest: their PUBACKs still
      // leave in the order the messages came in.
      const viaLibrary = (id: number): boolean => id % 3 === 2;
      if (receiveMaximum > 2)
        expect(h.batches.some((b) => b.ids.some((id, k) => viaLibrary(id) && k > 0 && k < b.ids.length - 1))).toBe(true);
      const acked = h.seen.filter((id) => !refused.includes(id));
      await waitFor(() => peer!.pubacks.length >= acked.length, 5_000, 'the PUBACKs');
      await new Promise((r) => setTimeout(r, 100));
      expect(peer.pubacks).toEqual(acked);
      expect(refused).toContain(4);
    });
  }

  it('hands a closed connection’s parked messages to nobody: the broker sends them again', async () => {
    peer = await startPeer();
    source = newSource(peer.port);
    const h = batchHandler(false);
    await source.start(h.handler);
    await waitFor(() => source!.allSubscribed, 10_000, 'the source to subscribe');

    peer.flood([1, 2, 3, 4, 5].map((id) => ({ id })));
    await waitFor(() => h.seen.length === 2, 5_000, 'two messages handed on');
    await new Promise((r) => setTimeout(r, 50));
    expect(h.seen).toEqual([1, 2]);
    // The broker goes away while 3, 4 and 5 wait for room.
    peer.sockets[0]!.end();
    await waitFor(() => !source!.allConnected, 5_000, 'the connection to close');
    h.settle();
    await new Promise((r) => setTimeout(r, 200));
    expect(h.seen).toEqual([1, 2]);
    expect(source.held).toBe(0);
    // Their PUBACKs would have gone nowhere: nothing was written after the end.
    expect(peer.pubacks).toEqual([]);
  });

  it('writes no PUBACK after its DISCONNECT: what is made durable while it stops, the broker sends again', async () => {
    peer = await startPeer();
    source = newSource(peer.port, 4);
    const h = batchHandler(false);
    await source.start(h.handler);
    await waitFor(() => source!.allSubscribed, 10_000, 'the source to subscribe');

    // One batch of four, the second read by MQTT.js (properties), the others by the ingest.
    peer.flood([1, 2, 3, 4].map((id) => ({ id, props: id === 2 })));
    await waitFor(() => h.seen.length === 4, 5_000, 'four messages handed on');
    // The journal answers while the source stops: MQTT.js has written the DISCONNECT but not yet
    // ended the stream (it does so on the next turn of the event loop).
    const stopped = source.stop();
    h.settle();
    await stopped;
    await waitFor(() => peer!.log.includes('disconnect'), 5_000, 'the DISCONNECT');
    await new Promise((r) => setTimeout(r, 200));
    expect(peer.log).toEqual(['disconnect']);
  });
});
