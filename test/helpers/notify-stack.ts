/**
 * Test and benchmark helpers for the notifications: the whole path with real services, from an
 * MQTT publish through ingest, checks and the alert outbox to the notify workers and an in-process
 * SMTP server (test/helpers/smtp-sink.ts); or just Redis, the notify workers and the sink, fed with
 * alert events the way the outbox relay feeds them.
 * Each stack gets its own BullMQ/Redis prefix, InfluxDB database, journal stream and MQTT client
 * ids, so stacks in one test file do not see each other.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import mqtt, { type MqttClient } from 'mqtt';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import { eventId, type AlertEvent } from '../../alerts/events.js';
import { AlertKeys, QUEUE_CHECKS, QUEUE_NOTIFY } from '../../alerts/keys.js';
import { QUEUE_ESCALATE, QUEUE_INCIDENT, QUEUE_MAIL } from '../../alerts/notify/keys.js';
import type { NotifyConfig } from '../../alerts/notify/config.js';
import { startNotifyService, type NotifyService, type NotifyServiceOptions } from '../../alerts/notify/service.js';
import { createNotifyQueue } from '../../alerts/outbox-relay.js';
import { startAlertsService, type AlertsService } from '../../alerts/service.js';
import { StaticThresholdSource, loadThresholdsFile, type ThresholdSet } from '../../alerts/thresholds.js';
import { RecipientsFileSchema, recipientsSchemaFor, type RecipientsFile } from '../../config/recipients-schema.js';
import { RiversFileSchema, riversSchemaFor } from '../../config/rivers-schema.js';
import { readEnv } from '../../config/env.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { RegistrySchema, type RegistryConfig } from '../../config/schema.js';
import { IngestService } from '../../ingest/ingest-service.js';
import type { InfluxClient } from '../../lib/influx/client.js';
import { createRedis, influxFromEnv, type RedisClient } from '../../config/connections.js';
import { startServices } from '../../devtools/local-services/index.js';
import { createLogger } from '../../lib/logger.js';
import { StationRegistry } from '../../config/station-registry.js';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from './smtp-sink.js';

export const ACK_SECRET = 'test-ack-secret-0123456789abcdef';
export const PUBLIC_URL = 'http://tuojiang-api.test';
export const GRAFANA_URL = 'http://grafana.test';
export const MAIL_FROM = '沱江联合预警 <alerts@tuojiang.test>';

/** Addresses of the test recipients. */
export const ADDR = {
  chengdu: 'duty@chengdu.test',
  ziyang: 'duty@ziyang.test',
  chengduHead: 'head@chengdu.test',
  ziyangHead: 'head@ziyang.test',
} as const;

export const shipped = loadConfig();
export const shippedThresholds: ThresholdSet = loadThresholdsFile(join(shipped.dir, 'thresholds.yaml'), shipped.registry);

/** Recipients of the tests: one duty and one escalation address per bureau, no quiet hours. */
export function testRecipients(
  change?: (r: RecipientsFile) => void,
  registry: RegistryConfig = shipped.registry,
  incidents = false,
): RecipientsFile {
  const r = RecipientsFileSchema.parse({
    version: 1,
    defaults: { group_wait_s: 0.5, ack_timeout_min: 30, quiet_hours: null },
    bureaus: {
      chengdu: {
        name: { zh: '成都市生态环境局', en: 'Chengdu Bureau' },
        duty: [{ name: '值班室 Duty', email: ADDR.chengdu }],
        escalation: [{ name: '处长 Head', email: ADDR.chengduHead }],
      },
      ziyang: {
        name: { zh: '资阳市生态环境局', en: 'Ziyang Bureau' },
        duty: [{ name: '值班室 Duty', email: ADDR.ziyang }],
        escalation: [{ name: '处长 Head', email: ADDR.ziyangHead }],
      },
    },
    delivery: { retry_initial_s: 0.5, retry_max_s: 2, attempt_timeout_s: 6 },
    // The delivery mechanics tests (grouping, quiet hours, SMTP faults, escalation, links) run on
    // one notice per transition; the incident tests switch incidents on (incidents-*.test.ts).
    incidents: { enabled: incidents },
  });
  change?.(r);
  return recipientsSchemaFor(registry).parse(r);
}

export function testNotifyConfig(
  registry: RegistryConfig = shipped.registry,
  change?: (r: RecipientsFile) => void,
  incidents = false,
  moreRivers: Record<string, unknown> = {},
): NotifyConfig {
  const rivers = RiversFileSchema.parse({
    version: 1,
    rivers: {
      tuojiang: {
        reaches: [
          { from_km: 0, to_km: 45, velocity: { min_m_s: 0.3, max_m_s: 1.2 } },
          { from_km: 45, to_km: 640, velocity: { min_m_s: 0.1, max_m_s: 0.6 } },
        ],
      },
      ...moreRivers,
    },
  });
  return { recipients: testRecipients(change, registry, incidents), rivers: riversSchemaFor(registry).parse(rivers) };
}

/**
 * A registry of ten water sections on the Tuojiang (five in Chengdu, five in Ziyang, the first
 * Ziyang one a boundary section) plus the shipped air stations: the ten-section spill.
 */
export function spillRegistry(): RegistryConfig {
  const sections = Array.from({ length: 10 }, (_, i) => ({
    id: `sec-${String(i + 1).padStart(2, '0')}`,
    name: { zh: `断面${i + 1}`, en: `Section ${i + 1}` },
    city: i < 5 ? 'chengdu' : 'ziyang',
    kind: 'water' as const,
    river: 'tuojiang',
    river_km: 10 + i * 12,
    coordinates: { lat: 30.8 - i * 0.07, lon: 104.45 + i * 0.025 },
    mn: `SPILL${String(i + 1).padStart(6, '0')}`,
    target_class: 'III' as const,
    waterbody: 'river' as const,
    boundary: i === 5,
  }));
  return RegistrySchema.parse({
    ...shipped.registry,
    stations: [...sections, ...shipped.registry.stations.filter((s) => s.kind === 'air')],
  });
}

export type NotifyServices = Awaited<ReturnType<typeof startNotifyServices>>;

/** Real Mosquitto (production config), Redis and InfluxDB; `full: false` starts Redis alone. */
export function startNotifyServices(full = true) {
  const users = [
    { username: 'ingest', password: randomBytes(12).toString('hex') },
    { username: 'simulator', password: randomBytes(12).toString('hex') },
  ];
  return full
    ? startServices({ mosquitto: { users }, redis: { appendonly: false }, influxdb: true }).then((s) => ({ ...s, users }))
    : startServices({ redis: { appendonly: false } }).then((s) => ({ ...s, users, mosquitto: undefined, influxdb: undefined }));
}

export interface NotifyStackOptions {
  registry?: RegistryConfig;
  recipients?: (r: RecipientsFile) => void;
  sink?: SmtpSinkOptions;
  /** Options for the in-process notify service; `false`: do not start one (the test runs its own). */
  notify?: Partial<NotifyServiceOptions> | false;
  /** Start ingest and alerts too (needs full services). */
  pipeline?: boolean;
  thresholds?: ThresholdSet;
  /** Incident reports (true) or one notice per transition (false, the default of these helpers). */
  incidents?: boolean;
  /** Rivers besides the Tuojiang (config/rivers.yaml entries: reaches, receptors), for registries with more than one river. */
  rivers?: Record<string, unknown>;
  /** Key prefix (default a random one); a hash-tag prefix such as `{n1a2b}` on a Redis Cluster. */
  prefix?: string;
}

export interface NotifyStack {
  prefix: string;
  registry: StationRegistry;
  registryConfig: RegistryConfig;
  config: NotifyConfig;
  sink: SmtpSink;
  redis: RedisClient;
  notify: NotifyService | undefined;
  alerts: AlertsService | undefined;
  ingest: IngestService | undefined;
  /** Options to start (another) notify service on this stack. */
  notifyOptions(extra?: Partial<NotifyServiceOptions>): NotifyServiceOptions;
  /** Hand an alert event to the notify queue as the outbox relay does (job id = event id). */
  emit(...events: AlertEvent[]): Promise<void>;
  /** Publish one JSON reading as the simulator (pipeline stacks), with data flags (HJ 212: D fault, F stopped, …) when given. */
  publish(station: string, ts: number, values: Record<string, number>, flags?: Record<string, string>): Promise<void>;
  /** No check/notify/mail/escalate job waiting or active (nor delayed, but escalations, with `delayed`). */
  idle(opts?: { delayed?: boolean; timeoutMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export async function startNotifyStack(services: NotifyServices, o: NotifyStackOptions = {}): Promise<NotifyStack> {
  const prefix = o.prefix ?? `n${randomBytes(4).toString('hex')}`;
  // The prefix without a hash tag's braces, for names that allow none (database, instance, client id).
  const plain = prefix.replace(/[^A-Za-z0-9_-]/g, '');
  const registryConfig = o.registry ?? shipped.registry;
  const registry = new StationRegistry(registryConfig);
  const config = testNotifyConfig(registryConfig, o.recipients, o.incidents ?? false, o.rivers);
  const sink = await startSmtpSink(o.sink ?? {});
  const redis = createRedis(services.redis.url, { maxRetriesPerRequest: null });
  const notifyQueue = createNotifyQueue(redis, prefix);
  const queues = [QUEUE_NOTIFY, QUEUE_MAIL, QUEUE_ESCALATE, QUEUE_INCIDENT].map((q) => new Queue(q, { connection: redis, prefix }));
  const log = createLogger('notify-test', process.env.LOG_LEVEL ?? 'silent');
  const notifyOptions = (extra: Partial<NotifyServiceOptions> = {}): NotifyServiceOptions => ({
    redisUrl: services.redis.url,
    prefix,
    registry,
    config,
    smtpUrl: sink.url,
    mailFrom: MAIL_FROM,
    ackSecret: ACK_SECRET,
    publicUrl: PUBLIC_URL,
    grafanaUrl: GRAFANA_URL,
    lockDurationMs: 4000,
    stalledIntervalMs: 1000,
    log,
    ...extra,
  });
  const notify = o.notify === false ? undefined : await startNotifyService(notifyOptions(o.notify ?? {}));

  let alerts: AlertsService | undefined;
  let ingest: IngestService | undefined;
  let enqueuer: CheckEnqueuer | undefined;
  let publisher: MqttClient | undefined;
  let influx: InfluxClient | undefined;
  if (o.pipeline) {
    if (!services.mosquitto || !services.influxdb) throw new Error('a pipeline stack needs Mosquitto and InfluxDB');
    influx = influxFromEnv({ INFLUX_URL: services.influxdb.url, INFLUX_DB: `n_${plain}` });
    await influx.ensureDatabase();
    const { users } = services;
    const env = readEnv({
      MQTT_URL: services.mosquitto.url,
      MQTT_USERNAME: 'ingest',
      MQTT_PASSWORD: users[0]?.password,
      REDIS_URL: services.redis.url,
      INFLUX_URL: services.influxdb.url,
      INFLUX_DB: `n_${plain}`,
      TUOJIANG_INSTANCE: plain,
    });
    const loaded: LoadedConfig = {
      ...shipped,
      registry: registryConfig,
      settings: {
        ...shipped.settings,
        journal: { ...shipped.settings.journal, stream: `${prefix}:journal`, dead_letter_stream: `${prefix}:deadletters` },
        writer: { ...shipped.settings.writer, retry_max_ms: 1000 },
      },
    };
    enqueuer = new CheckEnqueuer({ redisUrl: services.redis.url, prefix });
    alerts = await startAlertsService({
      redisUrl: services.redis.url,
      influx,
      registry,
      thresholds: new StaticThresholdSource(o.thresholds ?? shippedThresholds),
      prefix,
      silence: false,
      workers: 1,
      concurrency: 16,
      log,
    });
    ingest = new IngestService({ config: loaded, env, log, httpPort: 0, drainMs: 1000, checks: enqueuer, prefix });
    await ingest.start();
    publisher = await mqtt.connectAsync(services.mosquitto.url, {
      username: 'simulator',
      password: users[1]?.password ?? '',
      protocolVersion: 5,
      clientId: `sim-${plain}`,
    });
  }

  const checks = new Queue(QUEUE_CHECKS, { connection: redis, prefix });
  const outbox = new AlertKeys(prefix).outbox;
  return {
    prefix,
    registry,
    registryConfig,
    config,
    sink,
    redis,
    notify,
    alerts,
    ingest,
    notifyOptions,
    async emit(...events) {
      await notifyQueue.addBulk(events.map((e) => ({ name: e.kind, data: e, opts: { jobId: e.id } })));
    },
    async publish(station, ts, values, flags) {
      const s = registry.get(station);
      if (!publisher || !s) throw new Error(`cannot publish for ${station}`);
      await publisher.publishAsync(`tuojiang/${s.kind}/${station}`, JSON.stringify(flags ? { ts, values, flags } : { ts, values }), {
        qos: 1,
      });
    },
    async idle({ delayed = false, timeoutMs = 30_000 } = {}) {
      const until = Date.now() + timeoutMs;
      let streak = 0;
      while (streak < 3) {
        if (Date.now() > until) throw new Error(`notify pipeline not idle after ${timeoutMs} ms`);
        // Escalation checks wait their ack timeout, and incident checks their due time (a close, a
        // scheduled follow-up): delayed ones there are timers, not work in progress.
        const timers = new Set<string>([QUEUE_ESCALATE, QUEUE_INCIDENT]);
        const counts = await Promise.all(
          [...queues, checks].map((q) =>
            q.getJobCounts('waiting', 'active', 'prioritized', ...(delayed && !timers.has(q.name) ? (['delayed'] as const) : [])),
          ),
        );
        const busy = counts.some((c) => Object.values(c).some((n) => n > 0)) || (o.pipeline ? (await redis.xlen(outbox)) > 0 : false);
        streak = busy ? 0 : streak + 1;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      await publisher?.endAsync(true).catch(() => undefined);
      await ingest?.stop().catch(() => undefined);
      await enqueuer?.close().catch(() => undefined);
      await alerts?.close().catch(() => undefined);
      await notify?.close().catch(() => undefined);
      await notifyQueue.close();
      await Promise.all([...queues, checks].map((q) => q.close()));
      await sink.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** An alert event as the checks produce it (limit rule on NH3-N by default). */
export function alertEvent(p: {
  station: string;
  kind: AlertEvent['kind'];
  at: number;
  value?: number | null;
  limit?: number | null;
  parameter?: string;
  rule?: AlertEvent['rule'];
  period?: AlertEvent['period'];
  catchUp?: boolean;
  detail?: AlertEvent['detail'];
}): AlertEvent {
  const s = shipped.registry.stations.find((x) => x.id === p.station) ?? spillRegistry().stations.find((x) => x.id === p.station);
  if (!s) throw new Error(`unknown station ${p.station}`);
  const rule = p.rule ?? 'limit';
  const parameter = p.parameter ?? 'NH3N';
  const key = rule === 'limit' || rule === 'rate' ? `${rule}.${parameter}` : rule;
  const period = p.period ?? 'hour';
  const from = p.kind === 'firing' ? 'pending' : 'firing';
  const to = p.kind === 'resolved' ? 'resolved' : 'firing';
  return {
    id: eventId({ station: p.station, period, key, kind: p.kind, at: p.at }),
    station: p.station,
    city: s.city,
    period,
    key,
    rule,
    parameter,
    kind: p.kind,
    from,
    to,
    at: p.at,
    value: p.value === undefined ? 1.6 : p.value,
    limit: p.limit === undefined ? 1 : p.limit,
    thresholdVersion: '1',
    muted: false,
    catchUp: p.catchUp ?? false,
    message: '',
    detail: p.detail ?? { unit: 'mg/L', basis: 'GB3838-2002 III', limitKind: 'max', limitText: '≤ 1' },
  };
}
