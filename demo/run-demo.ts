/**
 * `npm run demo`: the whole pipeline on local services, replaying a 2004-style ammonia spill in about
 * a minute. Prints a timeline (plume → alert → e-mail to which bureau → resolution) and a summary,
 * saves every e-mail as an .eml file, stops everything it started and exits 0.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CheckEnqueuer } from '../alerts/check-enqueuer.js';
import type { AlertEvent } from '../alerts/events.js';
import { loadNotifyConfig } from '../alerts/notify/config.js';
import { startNotifyService } from '../alerts/notify/service.js';
import { startAlertsService } from '../alerts/service.js';
import { createRedis } from '../config/connections.js';
import { readEnv } from '../config/env.js';
import { loadConfig } from '../config/load.js';
import { IngestService } from '../ingest/ingest-service.js';
import type { Hj212TcpSource } from '../ingest/sources/hj212-tcp.js';
import { RegistrySchema } from '../config/schema.js';
import { hashPassword } from '../lib/password-hash.js';
import { readDeadLetters } from '../ingest/journal.js';
import { openWorld } from '../runtime/open-world.js';
import { startServices } from '../devtools/local-services/index.js';
import { startSmtpSink } from '../devtools/local-services/smtp-sink.js';
import { createLogger } from '../lib/logger.js';
import { StationRegistry } from '../config/station-registry.js';
import { cstText, formatEvent } from '../simulator/format.js';
import { spillSpanMs } from '../simulator/plume.js';
import { loadRivers, withRiverVelocities } from '../simulator/rivers.js';
import { runSimulation, type SimSummary } from '../simulator/run.js';
import { alertLine } from './alert-line.js';
import { bureauSummary, type BureauSummary } from './bureau-summary.js';
import type { Incident } from '../alerts/incidents/types.js';

export interface DemoOptions {
  outDir: string;
  /** Wall-clock seconds the spill replay should take. */
  seconds: number;
  /** How long to wait for the pipeline to settle after the replay (alerts, grouped e-mails). */
  settleSeconds: number;
  seed: number;
  print?: (line: string) => void;
}

export interface DemoSummary {
  published: number;
  readings: number;
  stored: number;
  rejected: number;
  alerts: Record<string, number>;
  emailsPerBureau: Record<string, number>;
  emails: number;
  mailDir: string;
  /** Per bureau: incidents, reports by kind, duty e-mails, escalation e-mails. */
  bureaus: Record<string, BureauSummary>;
  /** The incidents as they stand at the end (track, windows, arrivals). */
  incidents: Incident[];
  /** The version of the threshold store the checks ran on (the store is seeded from config/thresholds.yaml). */
  thresholdVersion: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDemo(o: DemoOptions, signal?: AbortSignal): Promise<DemoSummary> {
  const print = o.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const wallStart = Date.now();
  const t = () => `+${((Date.now() - wallStart) / 1000).toFixed(1).padStart(5)}s`;
  const log = createLogger('demo', process.env.LOG_LEVEL ?? 'error');
  const shipped = loadConfig();
  // Ziyang's air stations report as HJ 212 data loggers over TCP, as most loggers in the field do;
  // the others through the broker. Not the river sections: the replay runs thousands of times real
  // speed, so a few hundred milliseconds of login and answer round trips on a busy machine would be
  // hours of river time and could reorder the spill's evidence beyond the incidents' reorder wait
  // (shortened for the demo). Each logger gets a password for this run, stored hashed.
  const loggerPw = randomBytes(6).toString('hex');
  const loggerHash = await hashPassword(loggerPw);
  const tcpStations = shipped.registry.stations.filter((s) => s.city === 'ziyang' && s.kind === 'air').map((s) => s.id);
  const config = {
    ...shipped,
    registry: RegistrySchema.parse({
      ...shipped.registry,
      stations: shipped.registry.stations.map((s) =>
        tcpStations.includes(s.id) ? { ...s, hj212: { ...s.hj212, pw_hash: loggerHash } } : s,
      ),
    }),
  };
  const registry = new StationRegistry(config.registry);
  const mailDir = resolve(o.outDir, 'mail');
  rmSync(mailDir, { recursive: true, force: true });
  mkdirSync(mailDir, { recursive: true });

  print('tuojiang demo: starting Mosquitto, Redis and InfluxDB on free local ports…');
  const users = { ingest: randomBytes(12).toString('hex'), simulator: randomBytes(12).toString('hex') };
  const services = await startServices({
    mosquitto: { users: Object.entries(users).map(([username, password]) => ({ username, password })) },
    redis: { appendonly: true },
    influxdb: true,
  });
  const stops: Array<() => Promise<unknown>> = [() => services.stopAll()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const sink = await startSmtpSink({ dir: mailDir });
    stops.push(() => sink.close());
    const env = readEnv({
      MQTT_URL: services.mosquitto.url,
      MQTT_USERNAME: 'ingest',
      MQTT_PASSWORD: users.ingest,
      REDIS_URL: services.redis.url,
      INFLUX_URL: services.influxdb.url,
      INFLUX_DB: 'tuojiang',
      TUOJIANG_INSTANCE: 'demo',
      HJ212_TCP_PORT: '0',
      HJ212_TCP_HOST: '127.0.0.1',
    });
    const world = openWorld({ config, env, use: 'service', log });
    stops.push(() => world.close());
    const { influx } = world;
    const checks = new CheckEnqueuer({ redisUrl: env.REDIS_URL, granularity: 'batch' });
    stops.push(() => checks.close());
    const ingest = new IngestService({ config, env, log, httpPort: 0, checks, drainMs: 5000 });
    await ingest.start();
    stops.push(() => ingest.stop());
    const tcpPort = ingest.source<Hj212TcpSource>('hj212-tcp')!.port!;
    print(
      `HJ 212 over TCP on 127.0.0.1:${tcpPort}: ${tcpStations.join(', ')} report as data loggers (each frame answered once journaled); the other stations through MQTT`,
    );

    // The thresholds in force come from the versioned store, as in production: seeded here from
    // config/thresholds.yaml (the store of a fresh Redis is empty), then read like any worker does.
    const thresholds = await world.openThresholds({ influx, seedFromConfig: true });
    const thresholdVersion = thresholds.version?.version ?? null;
    print(`thresholds: version ${thresholdVersion ?? '?'} of the store (seeded from config/thresholds.yaml)`);
    const alertCounts: Record<string, number> = {};
    const alerts = await startAlertsService({
      redisUrl: env.REDIS_URL,
      influx,
      registry,
      log,
      thresholds,
      onPublished: (events: AlertEvent[]) => {
        for (const e of events) {
          if (e.muted) continue;
          const key = `${e.rule}:${e.kind}`;
          alertCounts[key] = (alertCounts[key] ?? 0) + 1;
          if (e.kind === 'reminder') continue;
          print(`${t()}  ${cstText(e.at)}  ${alertLine(e)}`);
        }
      },
    });
    stops.push(() => alerts.close());

    const notifyConfig = loadNotifyConfig(config.dir, config.registry);
    // The replay runs thousands of times real speed: the 1 s wait that orders transitions of several
    // sections would stand for over an hour of river time before each report. A few milliseconds
    // here are what a second is on a real day (sections' transitions are hours apart either way).
    notifyConfig.recipients.incidents.reorder_s = Math.min(notifyConfig.recipients.incidents.reorder_s, 0.005);
    const rivers = loadRivers(config.dir, config.registry);
    const span = spillSpanMs(registry, withRiverVelocities({}, rivers), 1);
    const speed = Math.ceil(span / (o.seconds * 1000));
    // The notify workers run on the simulator's clock (group waits, reminders, hold times,
    // escalation timers), anchored when the replay starts and running on at the replay's speed
    // after it, so the demo shows what a real-speed day would send.
    let anchor: { wall: number; sim: number } | null = null;
    const simNow = (): number => (anchor ? anchor.sim + (Date.now() - anchor.wall) * speed : Date.now());
    const notify = await startNotifyService({
      redisUrl: env.REDIS_URL,
      registry,
      config: notifyConfig,
      log,
      now: simNow,
      timeScale: speed,
      smtpUrl: sink.url,
      mailFrom: 'Tuojiang joint alerts <alerts@tuojiang.local>',
      ackSecret: randomBytes(24).toString('hex'),
      publicUrl: 'http://127.0.0.1:8080',
      grafanaUrl: 'http://localhost:3000',
    });
    stops.push(() => notify.close());
    sink.afterStore((m) => {
      print(`${t()}  ${anchor ? cstText(simNow()) : ''}  E-MAIL #${m.n} to ${m.envelope.to.join(', ')}: ${m.parsed.subject ?? ''}`);
    });

    print(
      `replaying the spill: ${(span / 3_600_000).toFixed(0)} h of river time in ~${o.seconds} s (×${speed}); e-mails are saved in ${mailDir}`,
    );
    const sim: SimSummary = await runSimulation({
      mqttUrl: env.MQTT_URL,
      username: 'simulator',
      password: users.simulator,
      registry,
      rivers,
      tcpStations,
      hj212Tcp: { host: '127.0.0.1', port: tcpPort, password: loggerPw },
      scenario: 'spill',
      speed,
      compress: 1,
      durationMs: span / speed,
      jsonShare: 0.5,
      seed: o.seed,
      invalidShare: 0.003,
      incidents: { dropoutPerDay: 0 },
      progressEveryMs: 0,
      ...(signal ? { signal } : {}),
      onEvent: (e) => {
        if (e.type === 'start') anchor = { wall: e.wall, sim: e.sim };
        if (e.type === 'plume-arrival' || e.type === 'plume-cleared' || e.type === 'spill-start' || e.type === 'start') {
          for (const line of formatEvent(e, wallStart)) print(line);
        }
      },
    });

    print(`${t()}  replay finished; waiting for the pipeline to settle…`);
    const redis = createRedis(env.REDIS_URL);
    stops.push(async () => redis.quit());
    const stored = async () => {
      let n = 0;
      for (const m of ['water_quality', 'air_quality']) {
        const res = await influx.query(`SELECT count("${m === 'water_quality' ? 'NH3N' : 'PM2_5'}") FROM "${m}"`);
        n += Number(res[0]?.values[0]?.[1] ?? 0);
      }
      return n;
    };
    const deadline = Date.now() + o.settleSeconds * 1000;
    let lastMail = sink.messages.length;
    let quietSince = Date.now();
    while (Date.now() < deadline && !signal?.aborted) {
      const n = await stored();
      if (sink.messages.length !== lastMail) {
        lastMail = sink.messages.length;
        quietSince = Date.now();
      }
      const backlog = await redis.xlen(config.settings.journal.stream);
      // Settled: every valid reading stored, the journal empty, no new e-mail for a grouping window.
      if (n >= sim.readings && backlog === 0 && Date.now() - quietSince > 8000) break;
      await sleep(500);
    }
    const dead = await readDeadLetters(redis, config.settings.journal.dead_letter_stream, { limit: 100_000 });
    const perBureau: Record<string, number> = {};
    for (const m of sink.messages) for (const to of m.envelope.to) perBureau[to] = (perBureau[to] ?? 0) + 1;
    const bureauReport = await bureauSummary(sink.messages, notifyConfig, redis, registry);
    const summary: DemoSummary = {
      published: sim.messages,
      readings: sim.readings,
      stored: await stored(),
      rejected: dead.length,
      alerts: alertCounts,
      emailsPerBureau: perBureau,
      emails: sink.messages.length,
      mailDir,
      bureaus: bureauReport.bureaus,
      incidents: bureauReport.incidents,
      thresholdVersion,
    };
    print('');
    print('summary');
    print(`  messages published      ${summary.published} (${summary.readings} readings, ${sim.invalid} deliberately broken)`);
    print(`  readings stored         ${summary.stored}`);
    print(`  rejected (dead letters) ${summary.rejected}`);
    print(
      `  alert transitions       ${
        Object.entries(alertCounts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }`,
    );
    print(
      `  e-mails                 ${summary.emails}: ${Object.entries(perBureau)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    for (const line of bureauReport.lines) print(line);
    print(`  saved in                ${join(o.outDir, 'mail')}`);
    return summary;
  } finally {
    print('stopping everything the demo started…');
    await stopAll();
  }
}
