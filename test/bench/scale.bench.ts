/**
 * `npm run bench:scale` (issue 16): the pipeline scaled out on engines that keep their state, with a
 * broker restart and a Redis master failover in the middle of the run.
 *
 *  - a Redis Cluster of 3 masters with one replica each (redis-server in cluster mode on loopback);
 *  - Mosquitto with persistence (restarted once), InfluxDB;
 *  - 2 ingest processes, each taking one partition of the stations (`INGEST_PARTITION=k/2`, plain
 *    persistent subscriptions: no `$share`), each with its own journal stream in its own slot;
 *  - 3 alerts worker processes (checks, silence scheduler, outbox relay) on the shared BullMQ queues;
 *  - this process publishes BENCH_COUNT readings (default 100,000) over 200 stations, one reading
 *    per station and minute of event time, QoS 1 with a persistent session; BENCH_EXCEEDING stations
 *    (default 20) carry a 10-minute NH3-N breach (2.5 mg/L against 1.0) in the middle of their
 *    series, so each must give exactly one `firing` and one `resolved` transition of the limit rule
 *    (the only rule enabled).
 *
 * At 30 % of the readings acknowledged by the broker, the broker is restarted (graceful stop, start
 * on the same port and persistence file); at 60 %, the master serving the first ingest's journal is
 * SIGKILLed and its replica promoted.
 *
 * Then it waits until InfluxDB holds every reading and the relay has written every transition (or
 * nothing changed for BENCH_SETTLE_S), and counts per station: loss = readings published and
 * acknowledged but not in InfluxDB, doubled = points beyond one per reading plus transitions beyond
 * one per (station, kind); transitions = the `alerts` measurement's events. CPU = user + system
 * time of the two ingest processes over the run, per reading stored.
 * Prints numbers, asserts none; the last line is
 *   scale: <n> readings, loss <l>, doubled <d>, alert transitions <t> (expected <e>), CPU <x> µs/reading
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { InfluxClient } from '../../lib/influx/client.js';
import { freePort, startRedisCluster, startServices } from '../../devtools/local-services/index.js';
import { password } from '../helpers/ingest-stack.js';
import { ingestNodeArgs } from './ingest-node-options.js';
import { cpuSeconds } from './proc-cpu.js';

const ROOT = join(import.meta.dirname, '..', '..');
const num = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const COUNT = num('BENCH_COUNT', 100_000);
const STATIONS = num('BENCH_STATIONS', 200);
const EXCEEDING = num('BENCH_EXCEEDING', 20);
const SETTLE_S = num('BENCH_SETTLE_S', 60);
const PARTITIONS = 2;
const WORKERS = 3;
const PER_STATION = Math.ceil(COUNT / STATIONS);
const MINUTE = 60_000;
/** Event time of the first reading: whole minutes, far enough back that the last is not in the future. */
const T0 = Math.floor((Date.now() - (PER_STATION + 10) * MINUTE) / MINUTE) * MINUTE;
/** The breach: readings BREACH_FROM … BREACH_FROM + 9 of an exceeding station. */
const BREACH_FROM = Math.floor(PER_STATION / 2);
const PREFIX = '{tuojiang}';

const stationId = (i: number): string => `scale-${String(i).padStart(3, '0')}`;

function configDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tuojiang-scale-config-'));
  cpSync(join(ROOT, 'config'), dir, { recursive: true });
  const stations = Array.from({ length: STATIONS }, (_, i) => {
    const id = stationId(i);
    return `  - { id: ${id}, name: { zh: 测试${i}, en: Scale ${i} }, city: ${i % 2 === 0 ? 'chengdu' : 'ziyang'}, kind: water, river: tuojiang, river_km: ${(i % 100) + 0.5}, coordinates: { lat: 30.3, lon: 104.5 }, mn: "SCALE${String(i).padStart(19, '0')}", target_class: III }`;
  });
  writeFileSync(
    join(dir, 'stations.yaml'),
    `version: 1\ncities:\n  chengdu: { zh: 成都市, en: Chengdu }\n  ziyang: { zh: 资阳市, en: Ziyang }\nrivers:\n  tuojiang: { zh: 沱江, en: Tuojiang }\nstations:\n${stations.join('\n')}\n`,
  );
  // Only the limit rule: each breach is one firing and one resolved transition, nothing else.
  writeFileSync(
    join(dir, 'thresholds.yaml'),
    [
      'version: 1',
      'description: bench:scale (limit rule only)',
      'defaults:',
      '  water_class: III',
      '  air_grade: 2',
      '  reminder_min: 44640',
      '  rules:',
      '    limit: { enabled: true, consecutive: 3, duration_min: 600, clear_consecutive: 2, hysteresis: 0.1 }',
      '    rate: { enabled: false }',
      '    water_class: { enabled: false }',
      '    aqi: { enabled: false }',
      '    equipment: { enabled: false }',
      '    silence: { enabled: false }',
      'maintenance: []',
      '',
    ].join('\n'),
  );
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const say = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

async function waitReady(port: number, what: string, child: ChildProcess): Promise<void> {
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    if (i > 600) throw new Error(`${what} did not become ready`);
    await sleep(100);
  }
}

function payload(station: number, k: number): string {
  const breach = station < EXCEEDING && k >= BREACH_FROM && k < BREACH_FROM + 10;
  return JSON.stringify({ ts: T0 + k * MINUTE, values: { NH3N: breach ? 2.5 : 0.2 + (k % 7) / 100, pH: 7.4, DO: 8.1 } });
}

async function main(): Promise<void> {
  say('building (npm run build)…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const users = { ingest: password(), simulator: password() };
  say('starting a Redis Cluster (3 masters, 1 replica each), Mosquitto, InfluxDB…');
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const services = await startServices({
    mosquitto: { users: Object.entries(users).map(([username, pw]) => ({ username, password: pw })), persistence: true },
    influxdb: true,
  });
  const dir = configDir();
  const children: Array<{ name: string; proc: ChildProcess; port: number }> = [];
  const baseEnv = {
    ...process.env,
    TUOJIANG_CONFIG: dir,
    TUOJIANG_PROFILE: 'demo',
    MQTT_URL: services.mosquitto.url,
    MQTT_USERNAME: 'ingest',
    MQTT_PASSWORD: users.ingest,
    REDIS_CLUSTER_NODES: cluster.addresses.join(','),
    REDIS_WAIT_REPLICAS: '1',
    REDIS_PREFIX: PREFIX,
    INFLUX_URL: services.influxdb.url,
    INFLUX_DB: 'tuojiang',
    LOG_LEVEL: 'warn',
  };
  const startChild = async (name: string, args: string[], env: Record<string, string>): Promise<void> => {
    const port = await freePort();
    // The ingests as shipped, plus INGEST_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), as in bench:ingest.
    const nodeArgs = args[0] === 'ingest' ? ingestNodeArgs() : [];
    const proc = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist', 'cli', 'main.js'), ...args], {
      cwd: ROOT,
      env: { ...baseEnv, ...env, TUOJIANG_INSTANCE: name, INGEST_HTTP_PORT: String(port), ALERTS_HTTP_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push({ name, proc, port });
    await waitReady(port, name, proc);
  };
  let publisher: mqtt.MqttClient | undefined;
  try {
    say(`starting ${WORKERS} alerts workers and ${PARTITIONS} partitioned ingests…`);
    // The first worker seeds the threshold store; the others and the ingests start together.
    await startChild('alerts-1', ['alerts', 'worker'], {});
    const starting: Array<Promise<void>> = [];
    for (let w = 2; w <= WORKERS; w++) starting.push(startChild(`alerts-${w}`, ['alerts', 'worker'], {}));
    for (let p = 1; p <= PARTITIONS; p++) {
      starting.push(
        startChild(`ingest-${p}`, ['ingest'], {
          INGEST_PARTITION: `${p}/${PARTITIONS}`,
          JOURNAL_STREAM: `{tj-p${p}}:journal`,
          JOURNAL_DEAD_LETTER_STREAM: `{tj-p${p}}:deadletters`,
        }),
      );
    }
    await Promise.all(starting);
    const ingests = children.filter((c) => c.name.startsWith('ingest-'));
    const cpuBefore = ingests.map((c) => cpuSeconds(c.proc.pid));
    const workers = children.filter((c) => c.name.startsWith('alerts-'));
    const workerCpuBefore = workers.map((c) => cpuSeconds(c.proc.pid));

    // The publisher: QoS 1, a persistent session, resending what the broker had not acknowledged when
    // it went away (MQTT.js keeps those in its outgoing store).
    publisher = await mqtt.connectAsync(services.mosquitto.url, {
      username: 'simulator',
      password: users.simulator,
      protocolVersion: 5,
      clientId: `scale-pub-${process.pid}`,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 200,
    });
    const pub = publisher;
    const total = PER_STATION * STATIONS;
    const t0 = Date.now();
    let acked = 0;
    let restart: Promise<void> | undefined;
    let failover: Promise<number> | undefined;
    say(`publishing ${total} readings from ${STATIONS} stations (${EXCEEDING} with a breach)…`);
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let inflight = 0;
      const pump = (): void => {
        while (inflight < 1000 && next < total) {
          const i = next++;
          const station = i % STATIONS;
          const k = Math.floor(i / STATIONS);
          inflight++;
          pub.publish(`tuojiang/water/${stationId(station)}`, payload(station, k), { qos: 1 }, (err) => {
            if (err) return reject(err);
            inflight--;
            acked++;
            if (!restart && acked >= total * 0.3) {
              say(`${acked} acknowledged: restarting the broker`);
              restart = services.mosquitto.restart().then(() => {
                say('broker back');
              });
            }
            if (!failover && acked >= total * 0.6) {
              say(`${acked} acknowledged: killing the Redis master of {tj-p1}:journal`);
              failover = cluster.keySlot('{tj-p1}:journal').then(async (slot) => {
                const { killed, promoted, failoverMs } = await cluster.killMaster(slot);
                say(`failover done in ${failoverMs} ms: ${promoted.port} serves slot ${slot} instead of ${killed.port}`);
                // What a supervisor does (a container's restart policy): the dead node comes back and
                // joins as the new master's replica. Until then, with REDIS_WAIT_REPLICAS=1, that
                // master's journal appends are refused and its readings wait at the broker.
                await cluster.restartNode(killed);
                say(`node ${killed.port} back as a replica`);
                return failoverMs;
              });
            }
            if (acked === total) resolve();
            else pump();
          });
        }
      };
      pump();
    });
    const published = Date.now();
    say(`all ${total} acknowledged by the broker in ${((published - t0) / 1000).toFixed(1)} s`);
    await restart;
    const failoverMs = await failover;

    // Settle: every reading in InfluxDB and every transition written by the relay, or no change for SETTLE_S.
    const influx = new InfluxClient({ url: services.influxdb.url, database: 'tuojiang' });
    const since = new Date(T0 - MINUTE).toISOString();
    const readingCounts = async (): Promise<Map<string, number>> => {
      const rows = await influx
        .query(`SELECT count("NH3N") FROM "water_quality" WHERE time >= '${since}' GROUP BY "station"`)
        .catch(() => []);
      return new Map(rows.map((r) => [String(r.tags?.station), Number(r.values[0]?.[1] ?? 0)]));
    };
    const transitionCounts = async (): Promise<Map<string, number>> => {
      const rows = await influx
        .query(`SELECT count("event_id") FROM "alerts" WHERE time >= '${since}' GROUP BY "station", "state"`)
        .catch(() => []);
      return new Map(rows.map((r) => [`${String(r.tags?.station)}/${String(r.tags?.state)}`, Number(r.values[0]?.[1] ?? 0)]));
    };
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    const expected = EXCEEDING * 2;
    let stored = 0;
    let transitions = 0;
    let lastChange = Date.now();
    let storedAt = published;
    for (;;) {
      const [s, t] = [sum(await readingCounts()), sum(await transitionCounts())];
      if (s !== stored || t !== transitions) {
        if (s !== stored) storedAt = Date.now();
        [stored, transitions, lastChange] = [s, t, Date.now()];
      }
      if ((stored >= total && transitions >= expected) || Date.now() - lastChange > SETTLE_S * 1000) break;
      await sleep(250);
    }
    const cpu = ingests.map((c, i) => cpuSeconds(c.proc.pid) - cpuBefore[i]!);
    const workerCpu = workers.map((c, i) => cpuSeconds(c.proc.pid) - workerCpuBefore[i]!);
    // A few more seconds for a late duplicate transition to show up before it is counted.
    await sleep(3000);

    const perStation = await readingCounts();
    const perTransition = await transitionCounts();
    let loss = 0;
    let doubledReadings = 0;
    for (let s = 0; s < STATIONS; s++) {
      const n = perStation.get(stationId(s)) ?? 0;
      if (n < PER_STATION) loss += PER_STATION - n;
      if (n > PER_STATION) doubledReadings += n - PER_STATION;
    }
    let doubledTransitions = 0;
    let unexpected = 0;
    let missingTransitions = 0;
    for (let s = 0; s < STATIONS; s++) {
      for (const state of ['firing', 'resolved']) {
        const n = perTransition.get(`${stationId(s)}/${state}`) ?? 0;
        const want = s < EXCEEDING ? 1 : 0;
        if (want === 0 && n > 0) unexpected += n;
        if (want === 1 && n > 1) doubledTransitions += n - 1;
        if (want === 1 && n === 0) missingTransitions++;
      }
    }
    const t = sum(perTransition);
    const storedNow = sum(perStation);
    const cpuTotal = cpu.reduce((a, b) => a + b, 0);
    const usPerReading = (cpuTotal * 1e6) / Math.max(1, storedNow);
    const e2e = (storedAt - t0) / 1000;

    console.log('\nScale-out benchmark (this machine; every process and service shares its cores)');
    console.log(`  readings published (acknowledged)   ${total}`);
    console.log(`  readings stored                     ${storedNow} in ${e2e.toFixed(1)} s (${Math.round(storedNow / e2e)}/s end to end)`);
    console.log(`  broker restarted once; Redis master failover took ${failoverMs ?? '?'} ms (cluster-node-timeout 1 s)`);
    console.log(`  per ingest partition CPU s          ${cpu.map((c) => c.toFixed(1)).join(', ')}`);
    console.log(
      `  alerts workers CPU s                ${workerCpu.map((c) => c.toFixed(1)).join(', ')} (${((workerCpu.reduce((a, b) => a + b, 0) * 1e6) / Math.max(1, storedNow)).toFixed(1)} µs/reading)`,
    );
    console.log(`  loss ${loss}, doubled readings ${doubledReadings}`);
    console.log(
      `  transitions ${t}: expected ${expected}, missing ${missingTransitions}, doubled ${doubledTransitions}, unexpected ${unexpected}`,
    );
    console.log(
      `  load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    console.log(
      `scale: ${storedNow} readings, loss ${loss}, doubled ${doubledReadings + doubledTransitions}, alert transitions ${t} (expected ${expected}), CPU ${usPerReading.toFixed(1)} µs/reading`,
    );
  } finally {
    await publisher?.endAsync(true).catch(() => undefined);
    for (const c of children) c.proc.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.proc.exitCode === null ? new Promise((r) => c.proc.once('exit', r)) : undefined)));
    await services.stopAll();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
