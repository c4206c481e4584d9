/**
 * Benchmark of the whole alert path (npm run bench:alerts): p50/p99 from the MQTT publish of the
 * reading that completes a sustained exceedance to the SMTP server receiving the e-mail, with a
 * background load of BENCH_RATE readings/s (default 2,000) over MQTT.
 *
 * Processes (the machine's 2 cores are shared by all of them, and by Mosquitto, Redis, InfluxDB):
 *  - this one: the SMTP server (smtp-server, in-process) and the probe driver;
 *  - `pipeline`: ingest -> checks (BullMQ) -> alert outbox, as `tuojiang ingest` and
 *    `tuojiang alerts worker` in one process;
 *  - `notify`: the notify workers -> SMTP, as `tuojiang notify worker`;
 *  - `publisher`: the background load, paced, readings within every limit (no alert).
 * Probes: BENCH_PROBES water sections in Chengdu take turns (one every BENCH_PROBE_EVERY_MS):
 * a breach, then 300 ms later the second breach (event time +60 min), which fires the alert (NH3-N
 * limit and water class, one e-mail per bureau); later two clean readings resolve it. Latency is
 * measured for the firing notice to the station's own bureau and to the downstream bureau. The
 * group wait in force (BENCH_GROUP_WAIT_S, default the shipped recipients.yaml) is part of it.
 * Real services on free loopback ports; everything stops by itself.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { startNotifyService } from '../../alerts/notify/service.js';
import { startAlertsService } from '../../alerts/service.js';
import { StaticThresholdSource, type ThresholdSet } from '../../alerts/thresholds.js';
import { recipientsSchemaFor } from '../../config/recipients-schema.js';
import { readEnv } from '../../config/env.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { RegistrySchema, type RegistryConfig } from '../../config/schema.js';
import { ThresholdsFileSchema } from '../../config/thresholds-schema.js';
import { IngestService } from '../../ingest/ingest-service.js';
import { InfluxClient } from '../../lib/influx/client.js';
import { startServices } from '../../lib/local-services/index.js';
import { createLogger } from '../../lib/logger.js';
import { StationRegistry } from '../../lib/station-registry.js';
import { header, startSmtpSink, type ReceivedMail } from '../helpers/smtp-sink.js';

const num = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const RATE = num('BENCH_RATE', 2000);
const SECONDS = num('BENCH_SECONDS', 30);
const STATIONS = num('BENCH_STATIONS', 400);
const PROBES = num('BENCH_PROBES', 40);
const PROBE_EVERY_MS = num('BENCH_PROBE_EVERY_MS', 250);
const HOUR = 3_600_000;
const T0 = Date.parse('2026-05-01T00:00:00+08:00');
const shipped = loadConfig();

function benchRegistry(): RegistryConfig {
  const water = (id: string, i: number, city: string, km: number) => ({
    id, name: { zh: id, en: id }, city, kind: 'water', river: 'tuojiang', river_km: km,
    coordinates: { lat: 30.5, lon: 104.5 }, mn: `B${String(i).padStart(10, '0')}`, target_class: 'III', waterbody: 'river',
  });
  return RegistrySchema.parse({
    version: 1,
    cities: shipped.registry.cities,
    rivers: shipped.registry.rivers,
    stations: [
      // Probes upstream in Chengdu (km < 45): their alerts go to Chengdu and, downstream, Ziyang.
      ...Array.from({ length: PROBES }, (_, i) => water(`probe-${String(i).padStart(2, '0')}`, i, 'chengdu', 5 + (i % 40))),
      ...Array.from({ length: STATIONS }, (_, i) => water(`bg-${String(i).padStart(3, '0')}`, 1000 + i, i % 2 ? 'ziyang' : 'chengdu', 50 + (i % 90))),
      // Ziyang's first section, downstream of every probe.
      water('zy-first', 9999, 'ziyang', 139),
    ],
  });
}

function benchThresholds(): ThresholdSet {
  const config = ThresholdsFileSchema.parse({ version: 'bench', defaults: { rules: { silence: { enabled: false } } } });
  return { version: 'bench', source: 'bench', config };
}

type ToParent = { t: 'ready' } | { t: 'relayed'; items: Array<[id: string, enqueued: number, relayed: number]> } | { t: 'stages'; items: Array<[id: string, routed: number, mailStart: number, sent: number]> };

// ---- the pipeline process: ingest, checks, alert outbox ----

const e = (k: string): string => process.env[k] ?? '';

function benchRecipients(registryConfig: RegistryConfig) {
  const notifyConfig = loadNotifyConfig(shipped.dir, shipped.registry);
  return recipientsSchemaFor(registryConfig).parse({
    ...notifyConfig.recipients,
    defaults: { ...notifyConfig.recipients.defaults, quiet_hours: null, ...(process.env.BENCH_GROUP_WAIT_S ? { group_wait_s: Number(process.env.BENCH_GROUP_WAIT_S) } : {}) },
    bureaus: Object.fromEntries(Object.entries(notifyConfig.recipients.bureaus).map(([k, b]) => [k, { ...b, quiet_hours: null }])),
  });
}

async function pipelineProcess(): Promise<void> {
  const send = (m: ToParent): void => void process.send?.(m);
  const registryConfig = benchRegistry();
  const registry = new StationRegistry(registryConfig);
  const log = createLogger('bench', 'error');
  const env = readEnv({
    MQTT_URL: e('B_MQTT_URL'), MQTT_USERNAME: 'ingest', MQTT_PASSWORD: e('B_INGEST_PASS'),
    REDIS_URL: e('B_REDIS_URL'), INFLUX_URL: e('B_INFLUX_URL'), INFLUX_DB: 'bench', TUOJIANG_INSTANCE: 'bench',
  });
  const influx = new InfluxClient({ url: env.INFLUX_URL, database: 'bench' });
  await influx.ensureDatabase();
  const config: LoadedConfig = { ...shipped, registry: registryConfig };
  const checks = new CheckEnqueuer({ redisUrl: env.REDIS_URL, granularity: 'batch' });
  const alerts = await startAlertsService({
    redisUrl: env.REDIS_URL, influx, registry, thresholds: new StaticThresholdSource(benchThresholds()), silence: false, workers: 2, concurrency: 16, log,
    onPublished: (events, at) => send({ t: 'relayed', items: events.filter((x) => x.kind === 'firing').map((x) => [x.id, x.enqueuedAt ?? 0, at]) }),
  });
  const ingest = new IngestService({ config, env, log, httpPort: 0, checks, drainMs: 2000 });
  await ingest.start();
  process.on('message', (m: { t: string }) => {
    if (m.t !== 'stop') return;
    void (async () => {
      await ingest.stop();
      await checks.close();
      await alerts.close();
      process.exit(0);
    })();
  });
  send({ t: 'ready' });
}

// ---- the notify process, as `tuojiang notify worker` ----

async function notifyProcess(): Promise<void> {
  const send = (m: ToParent): void => void process.send?.(m);
  const registryConfig = benchRegistry();
  const routed = new Map<string, number>();
  const notify = await startNotifyService({
    redisUrl: e('B_REDIS_URL'), registry: new StationRegistry(registryConfig),
    config: { recipients: benchRecipients(registryConfig), rivers: loadNotifyConfig(shipped.dir, shipped.registry).rivers },
    log: createLogger('bench', 'error'),
    smtpUrl: e('B_SMTP_URL'), mailFrom: 'Tuojiang <alerts@tuojiang.bench>', ackSecret: randomBytes(16).toString('hex'),
    publicUrl: 'http://127.0.0.1:8080', grafanaUrl: 'http://127.0.0.1:3000',
    onRouted: (ev, at) => { routed.set(ev.id, at); },
    onSent: (x) => {
      // Stage times of the firing notices to the own bureau, for the breakdown.
      if (x.recipient.bureau !== 'chengdu') return;
      send({ t: 'stages', items: x.items.filter((i) => i.event.kind === 'firing').map((i) => [i.id, routed.get(i.id) ?? 0, x.startedAt, x.at]) });
    },
  });
  process.on('message', (m: { t: string }) => {
    if (m.t === 'stop') void notify.close().then(() => process.exit(0));
  });
  send({ t: 'ready' });
}

// ---- the background publisher ----

async function publisherProcess(): Promise<void> {
  const client = await mqtt.connectAsync(process.env.B_MQTT_URL ?? '', { username: 'simulator', password: process.env.B_SIM_PASS ?? '', protocolVersion: 5, clientId: `bench-bg-${process.pid}` });
  const total = RATE * SECONDS;
  const start = Date.now();
  let sent = 0;
  let inflight = 0;
  while (sent < total) {
    // Paced: as many as the schedule allows by now, at most 2,000 unacknowledged.
    const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * RATE));
    while (sent < due && inflight < 2000) {
      const i = sent % STATIONS;
      const round = Math.floor(sent / STATIONS);
      const id = `bg-${String(i).padStart(3, '0')}`;
      inflight++;
      client.publish(`tuojiang/water/${id}`, JSON.stringify({ ts: T0 + round * 60_000, values: { NH3N: 0.3 + (i % 7) * 0.05, DO: 7.4, pH: 7.6, CODMn: 3.1, TP: 0.08, temp: 18 } }), { qos: 1 }, () => { inflight--; });
      sent++;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  while (inflight > 0) await new Promise((r) => setTimeout(r, 10));
  process.send?.({ t: 'done', sent, seconds: (Date.now() - start) / 1000 });
  await client.endAsync();
  process.exit(0);
}

// ---- the driver ----

function spawnChild(role: string, env: Record<string, string>): ChildProcess {
  return fork(fileURLToPath(import.meta.url), [role], { env: { ...process.env, ...env, LOG_LEVEL: 'error' }, execArgv: process.execArgv });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number);
}

async function main(): Promise<void> {
  const pass = { ingest: randomBytes(12).toString('hex'), simulator: randomBytes(12).toString('hex') };
  console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 cores; other work on the machine skews the figures)`);
  console.log(`starting Mosquitto, Redis, InfluxDB ... (background ${RATE} readings/s for ${SECONDS} s, ${STATIONS} stations; ${PROBES} probe stations)`);
  const services = await startServices({
    mosquitto: { users: [{ username: 'ingest', password: pass.ingest }, { username: 'simulator', password: pass.simulator }] },
    redis: { appendonly: true },
    influxdb: true,
  });
  const sink = await startSmtpSink({ replyBeforeParse: true, headersOnly: true });
  const children: ChildProcess[] = [];
  try {
    const env = { B_MQTT_URL: services.mosquitto.url, B_INGEST_PASS: pass.ingest, B_SIM_PASS: pass.simulator, B_REDIS_URL: services.redis.url, B_INFLUX_URL: services.influxdb.url, B_SMTP_URL: sink.url };
    const stages = new Map<string, number[]>();
    const startChild = async (role: string): Promise<void> => {
      const child = spawnChild(role, env);
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.once('exit', (c) => reject(new Error(`${role} exited ${c}`)));
        child.on('message', (m: ToParent) => {
          if (m.t === 'ready') resolve();
          else if (m.t === 'relayed') for (const [id, enq, rel] of m.items) stages.set(id, [enq, rel, ...(stages.get(id)?.slice(2) ?? [])]);
          else if (m.t === 'stages') for (const [id, ...times] of m.items) stages.set(id, [...(stages.get(id)?.slice(0, 2) ?? [0, 0]), ...times]);
        });
      });
    };
    await startChild('pipeline');
    await startChild('notify');
    const groupWait = process.env.BENCH_GROUP_WAIT_S ?? String(loadNotifyConfig(shipped.dir, shipped.registry).recipients.defaults.group_wait_s);
    const probe = await mqtt.connectAsync(services.mosquitto.url, { username: 'simulator', password: pass.simulator, protocolVersion: 5, clientId: 'bench-probe' });

    // item id -> publish time of the reading that completes the exceedance
    const published = new Map<string, number>();
    const arrivals = new Map<string, { own?: number; downstream?: number }>();
    sink.afterStore((m: ReceivedMail) => {
      const bureau = header(m, 'x-tuojiang-bureau');
      for (const id of header(m, 'x-tuojiang-items').split(' ')) {
        if (!published.has(id)) continue;
        const a = arrivals.get(id) ?? {};
        if (bureau === 'chengdu') a.own ??= m.receivedAt;
        else a.downstream ??= m.receivedAt;
        arrivals.set(id, a);
      }
    });

    const publisher = spawnChild('publisher', env);
    children.push(publisher);
    const bgDone = new Promise<{ sent: number; seconds: number }>((resolve) => publisher.on('message', (m: { t: string; sent: number; seconds: number }) => { if (m.t === 'done') resolve(m); }));
    const started = Date.now();
    const cycle = new Map<string, number>();
    const pub = (id: string, ts: number, v: number) => probe.publishAsync(`tuojiang/water/${id}`, JSON.stringify({ ts, values: { NH3N: v, DO: 7.4 } }), { qos: 1 });
    let k = 0;
    const probesRunning: Array<Promise<void>> = [];
    // Let the background load settle for 2 s before probing.
    await new Promise((r) => setTimeout(r, 2000));
    while (Date.now() - started < SECONDS * 1000 - 3000) {
      const id = `probe-${String(k % PROBES).padStart(2, '0')}`;
      k++;
      const n = cycle.get(id) ?? 0;
      cycle.set(id, n + 1);
      const base = T0 + n * 6 * HOUR;
      probesRunning.push((async () => {
        await pub(id, base, 1.6);
        await new Promise((r) => setTimeout(r, 300));
        const itemId = `ev.${id}.rt.limit.NH3N.firing.${base + HOUR}`;
        published.set(itemId, Date.now());
        await pub(id, base + HOUR, 1.7);
        await new Promise((r) => setTimeout(r, 2500));
        await pub(id, base + 2 * HOUR, 0.3);
        await pub(id, base + 3 * HOUR, 0.3);
      })());
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
    }
    await Promise.all(probesRunning);
    const bg = await bgDone;
    // Let the last notices arrive.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && [...published.keys()].some((id) => !arrivals.get(id)?.own || !arrivals.get(id)?.downstream)) await new Promise((r) => setTimeout(r, 200));
    const own: number[] = [];
    const down: number[] = [];
    for (const [id, t] of published) {
      const a = arrivals.get(id);
      if (a?.own) own.push(a.own - t);
      if (a?.downstream) down.push(a.downstream - t);
    }
    const f = (x: number) => `${Math.round(x)} ms`;
    console.log('');
    console.log(`background load: ${bg.sent} readings in ${bg.seconds.toFixed(1)} s = ${Math.round(bg.sent / bg.seconds)} readings/s over MQTT (QoS 1)`);
    console.log(`group wait in force: ${groupWait} s (part of every figure below)`);
    console.log(`firing notices measured: ${published.size}; e-mails received: ${sink.messages.length}`);
    console.log(`publish -> SMTP server received, own bureau (Chengdu):       p50 ${f(pct(own, 50))}  p90 ${f(pct(own, 90))}  p99 ${f(pct(own, 99))}  max ${f(Math.max(...own))}  (n=${own.length}, missing ${published.size - own.length})`);
    console.log(`publish -> SMTP server received, downstream bureau (Ziyang): p50 ${f(pct(down, 50))}  p90 ${f(pct(down, 90))}  p99 ${f(pct(down, 99))}  max ${f(Math.max(...down))}  (n=${down.length}, missing ${published.size - down.length})`);
    // Stage k ends at stages[k] and starts at stages[k - 1] (stage 0 at the publish).
    // A batch opened by an earlier item can go out while this item's router job is still placing
    // it for the other bureau: its routing then ends, at the latest, when its mail job starts.
    for (const times of stages.values()) if (times.length === 5 && (times[2] === 0 || (times[2] as number) > (times[3] as number))) times[2] = times[3] as number;
    const stage = (k: number) => [...published].filter(([id]) => (stages.get(id)?.length ?? 0) === 5).map(([id, t]) => (stages.get(id)![k] as number) - (k === 0 ? t : (stages.get(id)![k - 1] as number)));
    const names = ['ingest + InfluxDB write, handed to the checks', 'checks, commit, outbox relay', 'notify routing and placing', 'group wait, mail job start', 'render + SMTP until 250'];
    console.log('  stages, p50 / p99:');
    names.forEach((n, k) => console.log(`    ${n.padEnd(48)} ${f(pct(stage(k), 50)).padStart(8)} / ${f(pct(stage(k), 99))}`));
    console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`goal: p99 under 1 s — ${pct(own, 99) < 1000 && pct(down, 99) < 1000 ? 'met' : 'NOT met'}`);
    await probe.endAsync();
  } finally {
    for (const c of children) {
      if (c.exitCode !== null) continue;
      const exited = new Promise((r) => c.once('exit', r));
      c.send?.({ t: 'stop' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (c.exitCode === null) c.kill('SIGKILL');
    }
    await sink.close();
    await services.stopAll();
  }
}

const role = process.argv[2];
const entry = role === 'pipeline' ? pipelineProcess : role === 'notify' ? notifyProcess : role === 'publisher' ? publisherProcess : main;
entry().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

