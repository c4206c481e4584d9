import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { readEnv, type Env } from '../../config/env.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { IngestService } from '../../ingest/ingest-service.js';
import type { InfluxClient } from '../../lib/influx/client.js';
import { influxFromEnv } from '../../config/connections.js';
import { createLogger } from '../../lib/logger.js';
import { SERVICE_ACCOUNTS, startServices, type MosquittoOverrides } from '../../devtools/local-services/index.js';

export const password = (): string => randomBytes(12).toString('hex');

export interface IngestStack {
  services: Awaited<ReturnType<typeof startStackServices>>;
  env: Env;
  config: LoadedConfig;
  influx: InfluxClient;
  users: Record<string, string>;
  startIngest(
    overrides?: Partial<{
      connections: number;
      splitTimeoutS: number;
      receiveMaximum: number;
      shareGroup: string;
      instance: string;
      config: LoadedConfig;
      env: Partial<Env>;
    }>,
  ): Promise<IngestService>;
  publisher(clientId?: string): Promise<MqttClient>;
  connectAs(username: string): Promise<MqttClient>;
  /** Environment for a child `tuojiang ingest` process. */
  childEnv(): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

async function startStackServices(
  users: Record<string, string>,
  appendfsync?: 'everysec' | 'always',
  brokerTemplate?: string,
  brokerOverrides?: MosquittoOverrides,
) {
  return startServices({
    mosquitto: {
      users: Object.entries(users).map(([username, pw]) => ({ username, password: pw })),
      ...(brokerTemplate ? { templateFile: brokerTemplate } : {}),
      ...(brokerOverrides ? { overrides: brokerOverrides } : {}),
    },
    redis: { appendonly: true, ...(appendfsync ? { appendfsync } : {}) },
    influxdb: true,
  });
}

/** Real Mosquitto (production config: auth + ACL), Redis and InfluxDB on free ports, and helpers. */
export async function startIngestStack(
  o: {
    appendfsync?: 'everysec' | 'always';
    /** A broker config template instead of the shipped config/mosquitto/mosquitto.conf (e.g. TLS on the services' listener). */
    brokerTemplate?: string;
    /** Broker directives changed from the shipped config (e.g. a smaller queue, so an attack shows sooner). */
    brokerOverrides?: MosquittoOverrides;
  } = {},
): Promise<IngestStack> {
  const base = loadConfig();
  const users: Record<string, string> = { ingest: password(), simulator: password() };
  for (const s of base.registry.stations) users[s.id] = password();
  const services = await startStackServices(users, o.appendfsync, o.brokerTemplate, o.brokerOverrides);
  const envVars = {
    MQTT_URL: services.mosquitto.url,
    MQTT_USERNAME: 'ingest',
    MQTT_PASSWORD: users.ingest!,
    REDIS_URL: services.redis.url,
    INFLUX_URL: services.influxdb.url,
    INFLUX_DB: 'tuojiang',
    TUOJIANG_INSTANCE: 'test',
  };
  const env = readEnv(envVars);
  const influx = influxFromEnv(env);
  const clients: MqttClient[] = [];
  const ingests: IngestService[] = [];

  const connectAs = async (username: string, clientId?: string): Promise<MqttClient> => {
    // Service accounts log in on the service listener, stations on theirs (client id = username there).
    const c = await mqtt.connectAsync(SERVICE_ACCOUNTS.includes(username) ? services.mosquitto.url : services.mosquitto.stationUrl, {
      username,
      password: users[username]!,
      protocolVersion: 5,
      clientId: clientId ?? `${username}-${randomBytes(4).toString('hex')}`,
      // A named publisher keeps its session, so its unacknowledged messages survive a broker restart.
      ...(clientId ? { clean: false, properties: { sessionExpiryInterval: 3600 } } : {}),
      reconnectPeriod: 500,
    });
    clients.push(c);
    return c;
  };

  return {
    services,
    env,
    config: base,
    influx,
    users,
    async startIngest(o = {}) {
      const from = o.config ?? base;
      const config: LoadedConfig = {
        ...from,
        settings: {
          ...from.settings,
          mqtt: {
            ...from.settings.mqtt,
            connections: o.connections ?? from.settings.mqtt.connections,
            receive_maximum: o.receiveMaximum ?? from.settings.mqtt.receive_maximum,
            share_group: o.shareGroup ?? from.settings.mqtt.share_group,
          },
          ingest: { ...from.settings.ingest, split_timeout_s: o.splitTimeoutS ?? from.settings.ingest.split_timeout_s },
          writer: { ...from.settings.writer, retry_max_ms: 1000 },
        },
      };
      const svc = new IngestService({
        config,
        env: { ...env, ...(o.instance ? { TUOJIANG_INSTANCE: o.instance } : {}), ...o.env },
        log: createLogger('ingest-test', process.env.LOG_LEVEL ?? 'error'),
        httpPort: 0,
        drainMs: 2000,
        healthIntervalMs: 500,
      });
      await svc.start();
      ingests.push(svc);
      return svc;
    },
    publisher: (clientId?: string) => connectAs('simulator', clientId),
    connectAs: (u) => connectAs(u),
    childEnv: () => ({ ...process.env, ...envVars, HTTP_PORT: '0', LOG_LEVEL: 'warn' }),
    async stop() {
      await Promise.all(ingests.map((i) => i.stop().catch(() => undefined)));
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await services.stopAll();
    },
  };
}

/** Poll until `fn` returns a truthy value; fails with the last value seen after `timeoutMs`. */
export async function waitFor<T>(fn: () => Promise<T> | T, timeoutMs = 30_000, what = 'condition', intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = undefined;
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Number of points of one field in a measurement (InfluxQL count over all series). */
export async function countPoints(influx: InfluxClient, measurement: string, field: string, where = ''): Promise<number> {
  const res = await influx.query(`SELECT count("${field}") FROM "${measurement}"${where ? ` WHERE ${where}` : ''}`);
  return Number(res[0]?.values[0]?.[1] ?? 0);
}

/** Publish many QoS 1 messages, keeping at most `window` unacknowledged; resolves when all are acked. */
export async function publishAll(
  client: MqttClient,
  messages: Iterable<{ topic: string; payload: string | Buffer }>,
  window = 500,
  onProgress?: (sent: number) => void,
): Promise<void> {
  const inflight = new Set<Promise<unknown>>();
  let sent = 0;
  for (const m of messages) {
    const p = client.publishAsync(m.topic, m.payload, { qos: 1 }).finally(() => inflight.delete(p));
    inflight.add(p);
    sent++;
    onProgress?.(sent);
    if (inflight.size >= window) await Promise.race(inflight);
  }
  await Promise.all(inflight);
}

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * `tuojiang ingest` as a child process with exactly this environment (e.g. a stack's childEnv() and
 * more): `--no-checks` unless `checks`; what it prints (its log lines, stdout and stderr) in output().
 */
export function spawnIngest(
  env: NodeJS.ProcessEnv,
  opts: { checks?: boolean } = {},
): { child: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const args = ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), 'ingest', ...(opts.checks ? [] : ['--no-checks'])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    child,
    output: () => out,
    /** SIGTERM, and until it has exited. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Until the ingest on this ops port says in /readyz that every MQTT connection's subscriptions were granted. */
export async function untilSubscribed(port: number, context: () => string = () => ''): Promise<void> {
  await waitFor(
    async () => ((await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { checks: { mqtt: boolean } }).checks.mqtt,
    30_000,
    `the ingest to subscribe${context() ? ` (${context().slice(-2000)})` : ''}`,
    250,
  );
}
