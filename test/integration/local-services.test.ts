/**
 * The local-services launcher against the real binaries, and the production broker config
 * (config/mosquitto/) verified with real MQTT.js clients: authentication, per-station ACL, shared
 * subscriptions, persistence across a broker restart.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Redis } from 'ioredis';
import { isTuojiangError } from '../../lib/errors.js';
import { ADDRESS_IN_USE } from '../../devtools/local-services/ports.js';
import { ServiceProcess, launch } from '../../devtools/local-services/process.js';
import { redisPing } from '../../devtools/local-services/redis.js';
import {
  INSTALL_COMMAND,
  SERVICE_ACCOUNTS,
  brokerConfigDir,
  ensureBinaries,
  freePort,
  missingBinariesError,
  pidsOfLiveChildren,
  startMosquitto,
  startRedis,
  startServices,
  type Services,
} from '../../devtools/local-services/index.js';

const USERS = [
  { username: 'ingest', password: 'ingest-secret' },
  { username: 'simulator', password: 'simulator-secret' },
  { username: 'ST_A', password: 'a-secret' },
  { username: 'ST_B', password: 'b-secret' },
];
const passwordOf = (u: string): string => USERS.find((x) => x.username === u)?.password ?? 'nope';

type Opts = { mosquitto: { users: typeof USERS }; redis: { appendonly: true }; influxdb: true };
let services: Services<Opts>;
const clients: MqttClient[] = [];

beforeAll(async () => {
  services = await startServices<Opts>({ mosquitto: { users: USERS }, redis: { appendonly: true }, influxdb: true });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await services?.stopAll();
});

interface Received {
  topic: string;
  payload: string;
}

/**
 * Connects with the 'message' listener already attached: queued messages of a persistent session
 * arrive right behind the CONNACK and would be emitted before an awaited connectAsync() returns.
 */
async function connect(username: string, extra: IClientOptions = {}): Promise<{ client: MqttClient; received: Received[] }> {
  const received: Received[] = [];
  // Service accounts live on the service listener, stations on theirs (config/mosquitto/mosquitto.conf).
  const client = mqtt.connect(SERVICE_ACCOUNTS.includes(username) ? services.mosquitto.url : services.mosquitto.stationUrl, {
    username,
    password: passwordOf(username),
    protocolVersion: 5,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  });
  client.on('message', (topic, payload) => received.push({ topic, payload: payload.toString('utf8') }));
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return { client, received };
}

/**
 * Resolves when `received` holds a message with this payload. The bound only turns a message that
 * never comes (an ACL that denies it) into a prompt, readable failure; it asserts no speed.
 */
async function waitFor(received: Received[], payload: string): Promise<void> {
  const giveUp = Date.now() + 15_000;
  while (!received.some((m) => m.payload === payload)) {
    if (Date.now() > giveUp) throw new Error(`never received "${payload}"; got ${JSON.stringify(received)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The PUBACK reason code of a QoS1 publish: 0 for success (MQTT 5 "no matching subscribers", 16,
 * counts as success too), the code MQTT.js rejects with otherwise, -1 if the broker closes the
 * connection instead of answering (MQTT.js would otherwise wait for a reconnect forever).
 */
async function publishReasonCode(client: MqttClient, topic: string, payload: string): Promise<number> {
  let onClose: (() => void) | undefined;
  const closed = new Promise<number>((resolve) => {
    onClose = () => resolve(-1);
    client.once('close', onClose);
  });
  const acked = client.publishAsync(topic, payload, { qos: 1 }).then(
    () => 0,
    (e: unknown) => (e as { code?: number }).code ?? -2,
  );
  try {
    return await Promise.race([acked, closed]);
  } finally {
    if (onClose) client.removeListener('close', onClose);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('launcher', () => {
  it('hands out distinct free ports', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) expect(p).toBeGreaterThan(0);
  });

  it('starts all three on free loopback ports, never the system ones', () => {
    const ports = [
      services.mosquitto.port,
      services.mosquitto.stationPort,
      services.redis.port,
      services.influxdb.port,
      services.influxdb.rpcPort,
    ];
    expect(new Set(ports).size).toBe(5);
    for (const p of [1883, 1884, 6379, 8086, 8088]) expect(ports).not.toContain(p);
    expect(services.mosquitto.url).toBe(`mqtt://127.0.0.1:${services.mosquitto.port}`);
    expect(services.mosquitto.stationUrl).toBe(`mqtt://127.0.0.1:${services.mosquitto.stationPort}`);
    expect(services.redis.url).toBe(`redis://127.0.0.1:${services.redis.port}`);
    expect(services.influxdb.url).toBe(`http://127.0.0.1:${services.influxdb.port}`);
  });

  it('each service answers', async () => {
    const { client } = await connect('ingest');
    expect(client.connected).toBe(true);

    const redis = new Redis(services.redis.url);
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }

    const ping = await fetch(`${services.influxdb.url}/ping`);
    expect(ping.status).toBe(204);
  });

  it('renders the broker config from the production file, changing only listeners, paths, logging and user', async () => {
    const production = await readFile(join(brokerConfigDir(), 'mosquitto.conf'), 'utf8');
    const rendered = await readFile(services.mosquitto.configFile, 'utf8');
    const directives = (text: string): string[] =>
      text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.length > 0 && !l.startsWith('#'));
    // include_dir: the site's drop-ins (the TLS listener, docker-compose.tls.yml) are not the tests' to load.
    const local = new Set(['listener', 'password_file', 'acl_file', 'persistence_location', 'log_dest', 'user', 'include_dir']);
    const kept = directives(production).filter((l) => !local.has(l.split(/\s+/)[0] ?? ''));
    const renderedLines = new Set(directives(rendered));
    for (const line of kept) expect(renderedLines, line).toContain(line);
    // The settings the decision record is about (docs/decisions/0002), straight from production:
    // a count limit no burst reaches, but not 0 (buggy in mosquitto 2.0.11); a byte cap instead.
    const value = (key: string): number => Number(kept.find((l) => l.startsWith(`${key} `))?.split(/\s+/)[1]);
    expect(value('max_queued_messages')).toBeGreaterThanOrEqual(1_000_000);
    expect(value('max_queued_bytes')).toBeGreaterThan(0);
    expect(kept).toContain('allow_anonymous false');
    expect(value('message_size_limit')).toBe(65536);
    expect(kept).toContain('per_listener_settings true');
    // Each listener keeps its own options, in order: stations first (client id = username), then services.
    const lines = directives(rendered);
    const at = (l: string): number => lines.indexOf(l);
    const d = services.mosquitto.dir;
    expect(at(`listener ${services.mosquitto.stationPort} 127.0.0.1`)).toBeGreaterThan(at('per_listener_settings true'));
    expect(at('use_username_as_clientid true')).toBeGreaterThan(at(`listener ${services.mosquitto.stationPort} 127.0.0.1`));
    expect(at(`password_file ${join(d, 'passwd')}`)).toBeGreaterThan(at('use_username_as_clientid true'));
    expect(at(`listener ${services.mosquitto.port} 127.0.0.1`)).toBeGreaterThan(at(`acl_file ${join(d, 'acl')}`));
    expect(at(`password_file ${join(d, 'passwd-services')}`)).toBeGreaterThan(at(`listener ${services.mosquitto.port} 127.0.0.1`));
    expect(at(`acl_file ${join(d, 'acl-services')}`)).toBeGreaterThan(at(`listener ${services.mosquitto.port} 127.0.0.1`));
    expect(lines.filter((l) => l === 'use_username_as_clientid true')).toHaveLength(1);
    expect(renderedLines).not.toContain('listener 1883');
    expect(renderedLines).not.toContain('listener 1884');
    // The ACLs are the production files, byte for byte.
    for (const f of ['acl', 'acl-services']) {
      expect(await readFile(join(d, f), 'utf8')).toBe(await readFile(join(brokerConfigDir(), f), 'utf8'));
    }
  });

  it('fails with SERVICE_START and the tail of the broker log when mosquitto rejects its config', async () => {
    const error = await startMosquitto({ users: USERS, overrides: { no_such_directive: 'x' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isTuojiangError(error)) throw new Error(`expected a TuojiangError, got ${String(error)}`);
    expect(error.code).toBe('TJ_SERVICE_START');
    expect(error.message).toMatch(/Unknown configuration variable "no_such_directive"/);
    // The temp dir it created is gone with it.
    const log = String(error.details?.['log']);
    expect(log).toMatch(/mosquitto\.log$/);
    expect(existsSync(log)).toBe(false);
  });

  it('reports a taken port in words our launcher recognises (it retries those when it chose the port)', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const error = await startRedis({ port }).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!isTuojiangError(error)) throw new Error(`expected a TuojiangError, got ${String(error)}`);
      expect(error.code).toBe('TJ_SERVICE_START');
      expect(error.message).toMatch(ADDRESS_IN_USE);
    } finally {
      blocker.close();
    }
  });

  it('starts again on a new port when the port it chose was taken before the service bound it', async () => {
    const bins = await ensureBinaries(['redis']);
    const blocker = createServer();
    const taken = await freePort();
    await new Promise<void>((resolve) => blocker.listen(taken, '127.0.0.1', resolve));
    const dir = await mkdtemp(join(tmpdir(), 'tuojiang-launch-test-'));
    const tried: number[] = [];
    try {
      const { port, control } = await launch({
        dir,
        ownsDir: true,
        fixedPort: false,
        prepare: async () => {
          const port = tried.length === 0 ? taken : await freePort();
          tried.push(port);
          const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
          const proc = new ServiceProcess({
            name: 'redis-server',
            bin: String(bins['redis-server']),
            args,
            logFile: join(dir, 'redis.log'),
            port,
            ready: () => redisPing(port),
          });
          return { proc, port };
        },
      });
      expect(tried[0]).toBe(taken);
      expect(tried).toHaveLength(2);
      expect(port).toBe(tried[1]);
      expect(await redisPing(port)).toBe(true);
      await control.destroy();
      expect(existsSync(dir)).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('names the exact install command when binaries are missing and we are not root', () => {
    const e = missingBinariesError(['influxdb'], ['influxd']);
    expect(e.code).toBe('TJ_SERVICE_START');
    expect(INSTALL_COMMAND).toBe('sudo apt-get install -y mosquitto redis-server influxdb');
    expect(e.message).toContain(INSTALL_COMMAND);
    expect(e.message).toContain('influxd');
  });
});

describe('production broker config: authentication and per-station ACL', () => {
  it('refuses anonymous clients and wrong passwords (MQTT 5 and 3.1.1)', async () => {
    for (const protocolVersion of [5, 4] as const) {
      const options = { protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 };
      await expect(mqtt.connectAsync(services.mosquitto.url, options)).rejects.toThrow(/Not authorized/i);
      await expect(mqtt.connectAsync(services.mosquitto.url, { ...options, username: 'ST_A', password: 'wrong' })).rejects.toThrow(
        /Not authorized/i,
      );
    }
  });

  it("delivers a station's own readings to ingest's shared subscription, and only those", async () => {
    const ingest = await connect('ingest', { clientId: 'acl-ingest' });
    const granted = await ingest.client.subscribeAsync('$share/tuojiang/tuojiang/#', { qos: 1 });
    expect(granted[0]?.qos).toBe(1);

    // MQTT 5: mosquitto answers the forbidden publish with PUBACK reason 0x87 Not authorized.
    const a5 = await connect('ST_A');
    expect(await publishReasonCode(a5.client, 'tuojiang/water/ST_A', 'a-own-water')).toBe(0);
    expect(await publishReasonCode(a5.client, 'tuojiang/water/ST_B', 'a-as-b-v5')).toBe(135);
    expect(await publishReasonCode(a5.client, 'tuojiang/reply/ST_B', 'a-fake-reply')).toBe(135);
    // ...and keeps the station connected (with max_queued_messages 0, mosquitto 2.0.11 drops the
    // connection after every rejected publish: see config/mosquitto/mosquitto.conf).
    expect(await publishReasonCode(a5.client, 'tuojiang/air/ST_A', 'a-own-air')).toBe(0);

    // MQTT 3.1.1: a plain PUBACK, and the message silently dropped.
    const a4 = await connect('ST_A', { protocolVersion: 4 });
    expect(await publishReasonCode(a4.client, 'tuojiang/water/ST_B', 'a-as-b-v311')).toBe(0);
    // A marker from the same connection: had the forbidden message been delivered, it would be
    // in front of the marker (one publisher, one subscriber: order is kept).
    expect(await publishReasonCode(a4.client, 'tuojiang/water/ST_A', 'a-marker')).toBe(0);
    await waitFor(ingest.received, 'a-marker');

    expect(ingest.received).toEqual([
      { topic: 'tuojiang/water/ST_A', payload: 'a-own-water' },
      { topic: 'tuojiang/air/ST_A', payload: 'a-own-air' },
      { topic: 'tuojiang/water/ST_A', payload: 'a-marker' },
    ]);
  });

  it('lets a station read only its own reply topic, whatever it subscribes to', async () => {
    const a = await connect('ST_A');
    // mosquitto 2.0 grants every SUBSCRIBE and checks `read` per delivered message.
    const granted = await a.client.subscribeAsync(['tuojiang/#', '$share/x/tuojiang/water/#'], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1]);

    const b = await connect('ST_B');
    expect(await publishReasonCode(b.client, 'tuojiang/water/ST_B', 'b-reading')).toBe(0);
    const ingest = await connect('ingest');
    expect(await publishReasonCode(ingest.client, 'tuojiang/reply/ST_B', 'reply-for-b')).toBe(0);
    expect(await publishReasonCode(ingest.client, 'tuojiang/reply/ST_A', 'reply-for-a')).toBe(0);
    await waitFor(a.received, 'reply-for-a');

    expect(a.received).toEqual([{ topic: 'tuojiang/reply/ST_A', payload: 'reply-for-a' }]);
  });

  it('lets the simulator publish as any station, and not read readings', async () => {
    const ingest = await connect('ingest');
    await ingest.client.subscribeAsync('tuojiang/air/#', { qos: 1 });
    const sim = await connect('simulator');
    await sim.client.subscribeAsync('tuojiang/air/#', { qos: 1 });
    expect(await publishReasonCode(sim.client, 'tuojiang/air/ST_B', 'sim-as-b')).toBe(0);
    expect(await publishReasonCode(sim.client, 'tuojiang/air/ANY_STATION', 'sim-as-any')).toBe(0);
    await waitFor(ingest.received, 'sim-as-any');
    expect(ingest.received.map((m) => m.payload)).toEqual(['sim-as-b', 'sim-as-any']);
    // A reply-topic marker the simulator may read shows its air subscription delivered nothing.
    await sim.client.subscribeAsync('tuojiang/reply/#', { qos: 1 });
    expect(await publishReasonCode(ingest.client, 'tuojiang/reply/ST_B', 'sim-marker')).toBe(0);
    await waitFor(sim.received, 'sim-marker');
    expect(sim.received.map((m) => m.payload)).toEqual(['sim-marker']);
  });

  it('keeps a persistent session and its queued QoS1 messages across restart(), on the same port', async () => {
    const session = { clientId: 'persist-ingest', clean: false, properties: { sessionExpiryInterval: 3600 } };
    const first = await connect('ingest', session);
    await first.client.subscribeAsync('tuojiang/water/ST_A', { qos: 1 });
    await first.client.endAsync();

    const a = await connect('ST_A');
    expect(await publishReasonCode(a.client, 'tuojiang/water/ST_A', 'queued-while-away')).toBe(0);
    await a.client.endAsync();

    const port = services.mosquitto.port;
    await services.mosquitto.restart();
    expect(services.mosquitto.port).toBe(port);

    const again = await connect('ingest', session);
    await waitFor(again.received, 'queued-while-away');
    expect(again.received.map((m) => m.payload)).toEqual(['queued-while-away']);
  });
});

describe('Redis and InfluxDB keep data across restarts', () => {
  it('Redis with appendonly keeps a key across restart()', async () => {
    const write = new Redis(services.redis.url);
    await write.set('tuojiang:test', 'survives');
    write.disconnect();
    const pid = services.redis.pid;
    await services.redis.restart();
    expect(services.redis.pid).not.toBe(pid);
    const read = new Redis(services.redis.url);
    try {
      expect(await read.get('tuojiang:test')).toBe('survives');
    } finally {
      read.disconnect();
    }
  });

  it('InfluxDB keeps a written point across stop() and start(), on the same port', async () => {
    const base = services.influxdb.url;
    const create = await fetch(`${base}/query`, { method: 'POST', body: new URLSearchParams({ q: 'CREATE DATABASE tuojiang_test' }) });
    expect(create.status).toBe(200);
    const write = await fetch(`${base}/write?db=tuojiang_test&precision=ms`, {
      method: 'POST',
      body: 'water_quality,station=ST_A,city=chengdu NH3N=0.42 1772323200000',
    });
    expect(write.status).toBe(204);

    await services.influxdb.stop();
    await expect(fetch(`${base}/ping`)).rejects.toThrow();
    await services.influxdb.start();

    const query = new URLSearchParams({
      db: 'tuojiang_test',
      q: 'SELECT "NH3N" FROM "water_quality" WHERE "station" = \'ST_A\'',
      epoch: 'ms',
    });
    const res = await fetch(`${base}/query?${query.toString()}`);
    const body = (await res.json()) as { results: Array<{ series?: Array<{ values: unknown[][] }> }> };
    expect(body.results[0]?.series?.[0]?.values).toEqual([[1772323200000, 0.42]]);
  });
});

describe('stopAll', () => {
  it('leaves no child process and removes the temp dir', async () => {
    const pids = [services.mosquitto.pid, services.redis.pid, services.influxdb.pid];
    for (const pid of pids) {
      expect(pid).toBeTypeOf('number');
      expect(alive(pid as number)).toBe(true);
    }
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await services.stopAll();
    for (const pid of pids) expect(alive(pid as number)).toBe(false);
    expect(pidsOfLiveChildren()).toEqual([]);
    expect(existsSync(services.dir)).toBe(false);
  });
});
