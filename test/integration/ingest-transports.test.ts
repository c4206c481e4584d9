/**
 * MQTT_URL accepts mqtts:// and ws:// as well as mqtt://. The ingest reads PUBLISH packets off the
 * connection's stream itself and writes its PUBACKs to that stream (lib/mqtt-publish-reader.ts), so
 * each transport is run for real: every reading stored once, read by the ingest's reader, and
 * acknowledged over the same transport (a second ingest on the same sessions is sent nothing again).
 * - mqtts: the shipped broker config with TLS on the services' listener (mosquitto's own TLS), a
 *   private CA the ingest trusts through NODE_EXTRA_CA_CERTS, as a site would (docs/operations.md);
 * - ws: a WebSocket front (the `ws` server, as a proxy or a broker's websockets listener would be;
 *   Debian's mosquitto is built without websockets) that cuts the broker's bytes into WebSocket
 *   messages of 31 bytes, so that every PUBLISH straddles two or more.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerConfigDir, freePort } from '../../devtools/local-services/index.js';
import { compareBurst, makeBurst, storedValues, type BurstReading } from '../helpers/burst.js';
import { certificate, makeCa } from '../helpers/certificates.js';
import { fetchMetrics, metricsByLabel } from '../helpers/fixtures.js';
import { publishAll, spawnIngest, startIngestStack, untilSubscribed, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

const READ_BY = 'tuojiang_ingest_mqtt_messages_total';
let stack: IngestStack | undefined;
let tmp: string | undefined;
const stops: Array<() => Promise<void>> = [];
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop().catch(() => undefined);
  // The ingests before the WebSocket front they connect through.
  await stack?.stop();
  stack = undefined;
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** Each water station publishes its share of the burst from its own login on the stations' listener, QoS 1. */
async function publishAsStations(s: IngestStack, burst: BurstReading[]): Promise<void> {
  const byStation = new Map<string, BurstReading[]>();
  for (const r of burst) byStation.set(r.station, [...(byStation.get(r.station) ?? []), r]);
  await Promise.all(
    [...byStation].map(async ([station, readings]) => {
      await publishAll(await s.connectAs(station), readings);
    }),
  );
}

async function expectStoredOnce(s: IngestStack, burst: BurstReading[]): Promise<void> {
  const from = burst[0]!.ts;
  const to = burst[burst.length - 1]!.ts;
  await waitFor(async () => (await storedValues(s.influx, from, to)).size >= burst.length, 30_000, `all ${burst.length} readings stored`);
  expect(compareBurst(burst, await storedValues(s.influx, from, to))).toEqual({ missing: 0, doubled: 0, wrong: 0, extra: 0 });
}

/** The ingest as a child process with this environment on top of the stack's, stopped after the test. */
function ingestProcess(s: IngestStack, env: NodeJS.ProcessEnv): ReturnType<typeof spawnIngest> {
  const ingest = spawnIngest({ ...s.childEnv(), ...env });
  stops.push(ingest.stop);
  return ingest;
}

describe('the ingest over mqtts://', () => {
  it("stores every reading once over the broker's TLS listener and acknowledges each over it", async () => {
    tmp = mkdtempSync(join(tmpdir(), 'tuojiang-ingest-tls-'));
    const dir = tmp;
    const caPem = await makeCa(dir);
    const { cert, key } = await certificate(dir, 'broker.test');
    // The shipped config, with TLS on the services' listener (its second): what a site whose ingest
    // reaches the broker across a network would add.
    const shipped = readFileSync(join(brokerConfigDir(), 'mosquitto.conf'), 'utf8');
    const listeners = [...shipped.matchAll(/^listener .*$/gm)];
    expect(listeners.length).toBeGreaterThanOrEqual(2);
    const at = listeners[1]!.index! + listeners[1]![0].length;
    const template = join(dir, 'mosquitto.conf');
    writeFileSync(template, `${shipped.slice(0, at)}\ncertfile ${cert}\nkeyfile ${key}\ntls_version tlsv1.2${shipped.slice(at)}`);
    stack = await startIngestStack({ brokerTemplate: template });
    const s = stack;
    const port = s.services.mosquitto.port;

    // The listener speaks TLS only: plain MQTT gets no session, so the ingest below cannot be on plain TCP.
    await expect(
      mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        username: 'ingest',
        password: s.users.ingest!,
        reconnectPeriod: 0,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow();
    // The certificate is trusted through the private CA only: without it the connection is refused.
    await expect(
      mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
        username: 'ingest',
        password: s.users.ingest!,
        reconnectPeriod: 0,
        connectTimeout: 3000,
      }),
    ).rejects.toThrow(/certificate/i);
    const probe = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      username: 'ingest',
      password: s.users.ingest!,
      ca: caPem,
      reconnectPeriod: 0,
    });
    await probe.endAsync();

    // NODE_TLS_REJECT_UNAUTHORIZED=0 inherited from a shell would make the CA pointless: never pass it on.
    const env = {
      MQTT_URL: `mqtts://127.0.0.1:${port}`,
      NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt'),
      NODE_TLS_REJECT_UNAUTHORIZED: undefined,
      TUOJIANG_INSTANCE: 'tls',
    };
    const httpA = await freePort();
    const a = ingestProcess(s, { ...env, INGEST_HTTP_PORT: String(httpA) });
    await untilSubscribed(httpA, a.output);
    const burst = makeBurst(600, Date.parse('2026-05-05T00:00:00Z'));
    await publishAsStations(s, burst);
    await expectStoredOnce(s, burst);
    expect(metricsByLabel(await fetchMetrics(httpA), READ_BY, 'read_by')).toEqual({ ingest: 600, 'mqtt.js': 0 });

    // Same instance, same sessions: a reading the first never acknowledged would come again.
    await a.stop();
    const httpB = await freePort();
    const b = ingestProcess(s, { ...env, INGEST_HTTP_PORT: String(httpB) });
    await untilSubscribed(httpB, b.output);
    await new Promise((r) => setTimeout(r, 1500));
    expect(metricsByLabel(await fetchMetrics(httpB), READ_BY, 'read_by')).toEqual({ ingest: 0, 'mqtt.js': 0 });
  });
});

describe('the ingest over ws://', () => {
  it('stores every reading once through a WebSocket front that splits packets across messages, and acknowledges each through it', async () => {
    stack = await startIngestStack();
    const s = stack;
    const CUT = 31;
    // PUBLISH packets cut across WebSocket messages on the way in; PUBACKs seen on the way out.
    let cutPublishes = 0;
    const pubacks = new Set<number>();
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => resolve());
        }),
    );
    wss.on('connection', (ws) => {
      const broker = tcpConnect(s.services.mosquitto.port, '127.0.0.1');
      const outbound = mqttPacket.parser({ protocolVersion: 5 });
      outbound.on('packet', (p: { cmd: string; messageId?: number }) => {
        if (p.cmd === 'puback') pubacks.add(p.messageId!);
      });
      const inbound = mqttPacket.parser({ protocolVersion: 5 });
      inbound.on('packet', (p: { cmd: string; length?: number }) => {
        // Its remaining length plus a fixed header of at least two bytes: more than one message.
        if (p.cmd === 'publish' && (p.length ?? 0) + 2 > CUT) cutPublishes++;
      });
      ws.on('message', (data: Buffer) => {
        outbound.parse(data);
        broker.write(data);
      });
      broker.on('data', (chunk: Buffer) => {
        inbound.parse(chunk);
        for (let i = 0; i < chunk.length; i += CUT) ws.send(chunk.subarray(i, i + CUT), { binary: true });
      });
      ws.on('close', () => broker.destroy());
      broker.on('close', () => ws.close());
      broker.on('error', () => ws.terminate());
      ws.on('error', () => broker.destroy());
    });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;

    const first = await s.startIngest({ instance: 'ws', env: { MQTT_URL: url } });
    await untilSubscribed(first.httpPort!);
    const burst = makeBurst(600, Date.parse('2026-05-06T00:00:00Z'));
    await publishAsStations(s, burst);
    await expectStoredOnce(s, burst);
    const readBy = Object.fromEntries((await first.metrics.mqttMessages.get()).values.map((v) => [v.labels.read_by, v.value]));
    expect(readBy).toEqual({ ingest: 600, 'mqtt.js': 0 });
    // Every reading came cut across WebSocket messages, and its PUBACK went back through the front.
    expect(cutPublishes).toBe(600);
    await waitFor(() => pubacks.size >= 600, 5_000, '600 PUBACKs through the front');
    expect(pubacks.size).toBe(600);

    await first.stop();
    const second = await s.startIngest({ instance: 'ws', env: { MQTT_URL: url } });
    await untilSubscribed(second.httpPort!);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await second.metrics.mqttMessages.get()).values.reduce((a, v) => a + v.value, 0)).toBe(0);
  });
});
