/**
 * MQTT_URL accepts mqtts:// and ws:// as well as mqtt://. The ingest reads PUBLISH packets off the
 * connection's stream itself and writes its PUBACKs to that stream (lib/mqtt-publish-reader.ts), so
 * each transport is run for real: every reading stored once, read by the ingest's reader, and
 * acknowledged over the same transport (a second ingest on the same sessions is sent nothing again).
 * - mqtts: the shipped broker config with TLS on the services' listener (mosquitto's own TLS), a
 *   private CA the ingest trusts through NODE_EXTRA_CA_CERTS, as a site would (docs/operations.md);
 * - ws: a WebSocket front (the `ws` server, as a proxy or a broker's websockets listener would be;
 *   Debian's mosquitto is built without websockets) that cuts the broker's bytes into 777-byte
 *   WebSocket messages, so that packets straddle messages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerConfigDir, freePort } from '../../devtools/local-services/index.js';
import { compareBurst, makeBurst, storedValues, type BurstReading } from '../helpers/burst.js';
import { certificate, makeCa } from '../helpers/certificates.js';
import { fetchMetrics, metricsByLabel } from '../helpers/fixtures.js';
import { startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';
import type { IngestService } from '../../ingest/ingest-service.js';

const ROOT = join(import.meta.dirname, '..', '..');
const READ_BY = 'tuojiang_ingest_mqtt_messages_total';
let stack: IngestStack | undefined;
let tmp: string | undefined;
const children: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  await stack?.stop();
  stack = undefined;
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/** Each water station publishes its share of the burst from its own login on the stations' listener, QoS 1. */
async function publishAsStations(s: IngestStack, burst: BurstReading[]): Promise<void> {
  const byStation = new Map<string, BurstReading[]>();
  for (const r of burst) byStation.set(r.station, [...(byStation.get(r.station) ?? []), r]);
  await Promise.all(
    [...byStation].map(async ([station, readings]) => {
      const c = await s.connectAs(station);
      await Promise.all(readings.map((r) => c.publishAsync(r.topic, r.payload, { qos: 1 })));
    }),
  );
}

async function expectStoredOnce(s: IngestStack, burst: BurstReading[]): Promise<void> {
  const from = burst[0]!.ts;
  const to = burst[burst.length - 1]!.ts;
  await waitFor(async () => (await storedValues(s.influx, from, to)).size >= burst.length, 30_000, `all ${burst.length} readings stored`);
  expect(compareBurst(burst, await storedValues(s.influx, from, to))).toEqual({ missing: 0, doubled: 0, wrong: 0, extra: 0 });
}

/** A `tuojiang ingest` process with this environment on top of the stack's. */
function spawnIngest(s: IngestStack, env: NodeJS.ProcessEnv): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), 'ingest', '--no-checks'], {
    cwd: ROOT,
    env: { ...s.childEnv(), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  children.push(child);
  return { child, stderr: () => err };
}

async function subscribedAt(port: number, stderr: () => string): Promise<void> {
  await waitFor(
    async () => ((await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { checks: { mqtt: boolean } }).checks.mqtt,
    30_000,
    `the ingest to subscribe (its stderr: ${stderr().slice(-2000)})`,
    250,
  );
}

/** Until the in-process ingest's /readyz says every connection's subscriptions were granted. */
async function subscribed(svc: IngestService): Promise<void> {
  await subscribedAt(svc.httpPort!, () => '');
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
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
    // And the CA is what makes the certificate trusted.
    const probe = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      username: 'ingest',
      password: s.users.ingest!,
      ca: caPem,
      reconnectPeriod: 0,
    });
    await probe.endAsync();

    const env = { MQTT_URL: `mqtts://127.0.0.1:${port}`, NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt'), TUOJIANG_INSTANCE: 'tls' };
    const httpA = await freePort();
    const a = spawnIngest(s, { ...env, HTTP_PORT: String(httpA) });
    await subscribedAt(httpA, a.stderr);
    const burst = makeBurst(600, Date.parse('2026-05-05T00:00:00Z'));
    await publishAsStations(s, burst);
    await expectStoredOnce(s, burst);
    expect(metricsByLabel(await fetchMetrics(httpA), READ_BY, 'read_by')).toEqual({ ingest: 600, 'mqtt.js': 0 });

    // Same instance, same sessions: a reading the first never acknowledged would come again.
    await stopChild(a.child);
    const httpB = await freePort();
    const b = spawnIngest(s, { ...env, HTTP_PORT: String(httpB) });
    await subscribedAt(httpB, b.stderr);
    await new Promise((r) => setTimeout(r, 1500));
    expect(metricsByLabel(await fetchMetrics(httpB), READ_BY, 'read_by')).toEqual({ ingest: 0, 'mqtt.js': 0 });
    await stopChild(b.child);
  });
});

describe('the ingest over ws://', () => {
  it('stores every reading once through a WebSocket front that splits packets across messages, and acknowledges each through it', async () => {
    stack = await startIngestStack();
    const s = stack;
    const CUT = 777;
    let toIngest = 0;
    let fromIngest = 0;
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
      ws.on('message', (data: Buffer) => {
        fromIngest += data.length;
        broker.write(data);
      });
      broker.on('data', (chunk: Buffer) => {
        for (let i = 0; i < chunk.length; i += CUT) {
          toIngest++;
          ws.send(chunk.subarray(i, i + CUT), { binary: true });
        }
      });
      ws.on('close', () => broker.destroy());
      broker.on('close', () => ws.close());
      broker.on('error', () => ws.terminate());
      ws.on('error', () => broker.destroy());
    });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;

    const first = await s.startIngest({ instance: 'ws', env: { MQTT_URL: url } });
    await subscribed(first);
    const burst = makeBurst(600, Date.parse('2026-05-06T00:00:00Z'));
    await publishAsStations(s, burst);
    await expectStoredOnce(s, burst);
    const readBy = Object.fromEntries((await first.metrics.mqttMessages.get()).values.map((v) => [v.labels.read_by, v.value]));
    expect(readBy).toEqual({ ingest: 600, 'mqtt.js': 0 });
    // The readings came in many more WebSocket messages than packets fit whole; PUBACKs went back through it.
    expect(toIngest).toBeGreaterThan((600 * 60) / CUT);
    expect(fromIngest).toBeGreaterThan(0);

    await first.stop();
    const second = await s.startIngest({ instance: 'ws', env: { MQTT_URL: url } });
    await subscribed(second);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await second.metrics.mqttMessages.get()).values.reduce((a, v) => a + v.value, 0)).toBe(0);
  });
});
