/**
 * Issue 11's broker findings, replayed against the shipped broker config (config/mosquitto/, rendered
 * by the launcher with only ports and paths changed) with the real ingest, Redis and InfluxDB:
 * - a station connecting with the ingest's client id cannot take the ingest's persistent session;
 * - a takeover that does happen (the ingest's own account, a second process) is logged, counted and
 *   shown by /readyz;
 * - oversize messages are refused by the broker, so with the ingest stopped they cannot push
 *   another station's readings out of its queue; what the ingest dead-letters is capped.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { DEAD_LETTER_PREFIX_BYTES } from '../../ingest/journal.js';
import { MAX_SEGMENT_BYTES } from '../../ingest/hj212/frame.js';
import { parametersOf } from '../../lib/parameters.js';
import { freePort } from '../../devtools/local-services/index.js';
import { MN, deadLetters, eventually, fetchMetrics, hj212Frame, jsonPayload, metric, topicOf } from '../helpers/fixtures.js';
import { countPoints, spawnIngest, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

let stack: IngestStack | undefined;
const clients: MqttClient[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  await stack?.stop();
  stack = undefined;
});

/** Readings of one station, one per minute from `from`, NH3N = index / 1000. */
function readings(station: string, from: number, n: number): Array<{ topic: string; payload: string }> {
  return Array.from({ length: n }, (_, i) => ({
    topic: topicOf(station),
    payload: jsonPayload({ ts: from + i * 60_000, values: { NH3N: i / 1000 } }),
  }));
}

async function publishEach(client: MqttClient, messages: Array<{ topic: string; payload: string | Buffer }>): Promise<void> {
  for (const m of messages) await client.publishAsync(m.topic, m.payload, { qos: 1 });
}

const stationPoints = (s: IngestStack, station: string, from: number, n: number): Promise<number> =>
  countPoints(s.influx, 'water_quality', 'NH3N', `"station" = '${station}' AND time >= ${from}ms AND time < ${from + n * 60_000}ms`);

/** A station's own login, on the station listener, with whatever client options it chooses. */
async function stationClient(s: IngestStack, station: string, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(s.services.mosquitto.stationUrl, {
    username: station,
    password: s.users[station]!,
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  });
  clients.push(c);
  return c;
}

/** The ingest as a child process on this ops port, killed after the test. */
function spawnIngestOn(s: IngestStack, httpPort: number): ReturnType<typeof spawnIngest> {
  const ingest = spawnIngest({ ...s.childEnv(), INGEST_HTTP_PORT: String(httpPort) });
  children.push(ingest.child);
  return ingest;
}

describe('session takeover', () => {
  it("refuses a station the ingest's client id: the ingest keeps its session and every other station's readings are stored", async () => {
    stack = await startIngestStack();
    const s = stack;
    const svc = await s.startIngest();
    const ingestIds = ['tuojiang-ingest-test-0', 'tuojiang-ingest-test-1'];

    // The station's password does not exist on the service listener at all.
    await expect(
      mqtt.connectAsync(s.services.mosquitto.url, {
        username: 'zhaozhen',
        password: s.users.zhaozhen!,
        protocolVersion: 5,
        reconnectPeriod: 0,
        clientId: ingestIds[0],
      }),
    ).rejects.toThrow(/Not authorized/i);

    // On its own listener it asks for the ingest's ids (persistent session, as the attack did), and
    // reconnects as fast as it can to win the session back, subscribed to everything.
    const attackers: MqttClient[] = [];
    const stolen: string[] = [];
    for (const clientId of ingestIds) {
      const a = await stationClient(s, 'zhaozhen', {
        clientId,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
        reconnectPeriod: 50,
      });
      a.on('message', (topic) => stolen.push(topic));
      await a.subscribeAsync(['tuojiang/#'], { qos: 1 });
      attackers.push(a);
    }

    const from = Date.parse('2025-07-01T00:00:00Z');
    const N = 200;
    const others = ['huaikou', 'hongyuan'];
    for (const station of others) await publishEach(await stationClient(s, station), readings(station, from, N));

    for (const station of others) {
      await waitFor(async () => (await stationPoints(s, station, from, N)) >= N, 30_000, `${N} readings of ${station} in InfluxDB`, 250);
      expect(await stationPoints(s, station, from, N)).toBe(N);
    }
    expect(stolen).toEqual([]);
    const text = await fetchMetrics(svc.httpPort!);
    expect(metric(text, 'tuojiang_mqtt_session_takeovers_total')).toBe(0);
    const ready = await fetch(`http://127.0.0.1:${svc.httpPort}/readyz`);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks).toMatchObject({ mqtt: true, mqtt_session: true });
  });

  it('logs, counts and reports in /readyz a takeover by a client holding the ingest account', async () => {
    stack = await startIngestStack();
    const s = stack;
    const port = await freePort();
    const ingest = spawnIngestOn(s, port);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000, 'ingest ready');

    // A second process with the ingest's account and client id (a duplicate TUOJIANG_INSTANCE, or a
    // leaked password): the broker hands it the session and drops the ingest's connection.
    const taker = await mqtt.connectAsync(s.services.mosquitto.url, {
      username: 'ingest',
      password: s.users.ingest!,
      protocolVersion: 5,
      reconnectPeriod: 0,
      clientId: 'tuojiang-ingest-test-0',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    clients.push(taker);

    const text = await eventually(async () => {
      const t = await fetchMetrics(port);
      return metric(t, 'tuojiang_mqtt_session_takeovers_total', { client_id: 'tuojiang-ingest-test-0' }) >= 1 ? t : undefined;
    }, 'takeover counted');
    expect(metric(text, 'tuojiang_mqtt_session_takeovers_total', { client_id: 'tuojiang-ingest-test-1' })).toBe(0);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks.mqtt_session).toBe(false);
    const lines = ingest
      .output()
      .split('\n')
      .filter((l) => l.includes('TJ_MQTT_SESSION_TAKEN_OVER'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatchObject({ level: 50, code: 'TJ_MQTT_SESSION_TAKEN_OVER', clientId: 'tuojiang-ingest-test-0' });
    expect(String(lines[0]!.hint)).toMatch(/TUOJIANG_INSTANCE/);
  });
});

describe('message size and queue bounds', () => {
  it('admits the largest legitimate frame and JSON reading', async () => {
    stack = await startIngestStack();
    const s = stack;
    await s.startIngest();
    const ts = Date.parse('2025-07-02T00:00:00Z');
    // Every water parameter with a flag and a long value: the largest JSON reading of the contract.
    const keys = parametersOf('water').map((p) => p.key);
    const values = Object.fromEntries(keys.map((k) => [k, 0.12345678901234568]));
    const flags = Object.fromEntries(keys.map((k) => [k, 'N']));
    const json = jsonPayload({ ts, values, flags, station: 'zhaozhen' });
    // The largest HJ 212 frame: a 9,999-byte data segment (padding in a CP field the decoder ignores).
    const base = hj212Frame({ mn: MN.zhaozhen, ts: ts + 60_000, items: { w21003: { Rtd: 0.5, Flag: 'N' } } });
    const pad = MAX_SEGMENT_BYTES - (base.length - 12) - 'Pad=;'.length;
    const frame = hj212Frame({
      mn: MN.zhaozhen,
      ts: ts + 60_000,
      items: { w21003: { Rtd: 0.5, Flag: 'N' } },
      other: { Pad: 'x'.repeat(pad) },
    });
    expect(frame.length).toBe(MAX_SEGMENT_BYTES + 12);
    console.log(
      `largest legitimate payloads: JSON ${Buffer.byteLength(json)} bytes, HJ 212 frame ${frame.length} bytes; broker limit 65536`,
    );
    const station = await stationClient(s, 'zhaozhen');
    await station.publishAsync(topicOf('zhaozhen'), json, { qos: 1 });
    await station.publishAsync(topicOf('zhaozhen'), frame, { qos: 1 });
    await waitFor(async () => (await stationPoints(s, 'zhaozhen', ts, 2)) === 2, 30_000, 'both stored', 250);
  });

  it('keeps all 50 readings of another station while one floods oversize messages with the ingest stopped; dead letters are capped', async () => {
    stack = await startIngestStack();
    const s = stack;
    // The ingest's persistent sessions (with their subscriptions: a first reading went through)
    // exist at the broker, then the ingest stops (an upgrade).
    const first = await s.startIngest();
    const from = Date.parse('2025-07-03T00:00:00Z');
    const huaikou = await stationClient(s, 'huaikou');
    await publishEach(huaikou, readings('huaikou', from - 60_000, 1));
    await waitFor(async () => (await stationPoints(s, 'huaikou', from - 60_000, 1)) === 1, 30_000, 'a first reading stored', 250);
    await first.stop();

    // 30 messages of 10 MB from an MQTT 3.1.1 client (no Maximum Packet Size to respect): each
    // costs the attacker its connection, and not one byte of the ingest's queue.
    const big = Buffer.alloc(10 * 1024 * 1024, 0x7b);
    for (let i = 0; i < 30; i++) {
      const c = await stationClient(s, 'zhaozhen', { protocolVersion: 4 });
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      c.publish(topicOf('zhaozhen'), big, { qos: 1 });
      await closed;
      c.end(true);
    }
    // 300 messages of 200 KB: answered with a PUBACK and dropped.
    const flood = await stationClient(s, 'zhaozhen', { protocolVersion: 4 });
    const medium = Buffer.alloc(200 * 1024, 0x7b);
    for (let i = 0; i < 300; i++) await flood.publishAsync(topicOf('zhaozhen'), medium, { qos: 1 });
    expect(flood.connected).toBe(true);
    // And 20 junk messages just under the limit, which the ingest will dead-letter.
    const junk = Buffer.alloc(60_000, 0x78);
    for (let i = 0; i < 20; i++) await flood.publishAsync(topicOf('zhaozhen'), junk, { qos: 1 });

    await publishEach(huaikou, readings('huaikou', from, 50));

    const redis = new Redis(s.env.REDIS_URL);
    try {
      await s.startIngest();
      await waitFor(async () => (await stationPoints(s, 'huaikou', from, 50)) >= 50, 60_000, '50 readings of huaikou', 250);
      expect(await stationPoints(s, 'huaikou', from, 50)).toBe(50);

      const dead = await eventually(async () => {
        const d = await deadLetters(redis);
        return d.length >= 20 ? d : undefined;
      }, '20 dead letters');
      // Only the junk reached the ingest: the oversize messages never left the broker.
      expect(dead).toHaveLength(20);
      const sha = createHash('sha256').update(junk).digest('hex');
      for (const d of dead) {
        expect(d.station).toBe('zhaozhen');
        expect(Buffer.byteLength(d.payload, d.encoding === 'base64' ? 'base64' : 'utf8')).toBeLessThanOrEqual(DEAD_LETTER_PREFIX_BYTES);
        expect(d.size).toBe(60_000);
        expect(d.sha256).toBe(sha);
      }
      // Redis holds ~the prefixes plus stream overhead (measured ~112 KB): far from the 1.2 MB sent.
      const stream = (await redis.call('MEMORY', 'USAGE', 'tuojiang:deadletters')) as number;
      expect(stream).toBeLessThan(20 * 2 * DEAD_LETTER_PREFIX_BYTES);
      expect(stream).toBeLessThan((junk.length * 20) / 5);
    } finally {
      redis.disconnect();
    }
  });
});
