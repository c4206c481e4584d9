/**
 * `npm run bench:ingest` (issue #2): 100,000 readings from 100 stations at full speed through the
 * real broker, ingest, Redis journal and InfluxDB, all on this machine. Prints end-to-end
 * readings/s (first publish to last reading visible in InfluxDB), loss, p50/p99 lag, the ingest's
 * peak RSS, and the broker's own QoS 1 relay rate to one subscriber for comparison.
 *
 * `npm run bench:ingest -- --transport tcp` (issue 12): the same readings as HJ 212 frames, once
 * over MQTT and once from 100 data loggers over the ingest's HJ 212 TCP listener (each frame kept by
 * its logger until answered), against the same ingest in the same run; prints both and their ratio.
 *
 * Lag is measured per 1,000 readings: when the publisher had the k-th thousand acknowledged by the
 * broker, and when InfluxDB first counted k thousand points (polled every 50 ms).
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { InfluxClient } from '../../lib/influx/client.js';
import { freePort, startServices } from '../../devtools/local-services/index.js';
import { hashPassword } from '../../lib/password-hash.js';
import { password } from '../helpers/ingest-stack.js';

const ROOT = join(import.meta.dirname, '..', '..');
const COUNT = Number(process.env.BENCH_COUNT ?? 100_000);
const STATIONS = 100;
const arg = process.argv.indexOf('--transport');
const TRANSPORT = arg >= 0 ? process.argv[arg + 1] : 'mqtt';
if (TRANSPORT !== 'mqtt' && TRANSPORT !== 'tcp') throw new Error(`--transport must be mqtt or tcp, got ${TRANSPORT}`);
const LOGGER_PW = 'bench-logger-pw';

function benchConfigDir(pwHash?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tuojiang-bench-config-'));
  copyFileSync(join(ROOT, 'config', 'tuojiang.yaml'), join(dir, 'tuojiang.yaml'));
  const stations = Array.from({ length: STATIONS }, (_, i) => {
    const id = `bench-${String(i).padStart(3, '0')}`;
    return `  - { id: ${id}, name: { zh: 测试${i}, en: Bench ${i} }, city: ${i < 50 ? 'chengdu' : 'ziyang'}, kind: water, river: tuojiang, river_km: ${i}, coordinates: { lat: 30.3, lon: 104.5 }, mn: "BENCH${String(i).padStart(19, '0')}", target_class: III${pwHash ? `, hj212: { pw_hash: "${pwHash}" }` : ''} }`;
  });
  writeFileSync(
    join(dir, 'stations.yaml'),
    `version: 1\ncities:\n  chengdu: { zh: 成都市, en: Chengdu }\n  ziyang: { zh: 资阳市, en: Ziyang }\nrivers:\n  tuojiang: { zh: 沱江, en: Tuojiang }\nstations:\n${stations.join('\n')}\n`,
  );
  return dir;
}

interface PublisherRun {
  start: number;
  done: number;
  marks: Map<number, number>;
}

function runPublisher(env: NodeJS.ProcessEnv, script = 'publisher.ts'): Promise<PublisherRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'bench', script)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const run: PublisherRun = { start: 0, done: 0, marks: new Map() };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { start?: number; sent?: number; t?: number; done?: number };
      if (m.start) run.start = m.start;
      if (m.sent && m.t) run.marks.set(m.sent, m.t);
      if (m.done) run.done = m.done;
    });
    child.on('exit', (code) => (code === 0 ? resolve(run) : reject(new Error(`publisher exited ${code}`))));
  });
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function main(): Promise<void> {
  // Measure what production runs: the compiled build, not the TypeScript loader.
  process.stderr.write('building (npm run build)…\n');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const users = { ingest: password(), simulator: password() };
  process.stderr.write('starting Mosquitto, Redis, InfluxDB…\n');
  const services = await startServices({
    mosquitto: { users: Object.entries(users).map(([username, pw]) => ({ username, password: pw })) },
    redis: { appendonly: true },
    influxdb: true,
  });
  const configDir = benchConfigDir(TRANSPORT === 'tcp' ? await hashPassword(LOGGER_PW) : undefined);
  const pubEnv = {
    URL: services.mosquitto.url,
    USER: 'simulator',
    PASS: users.simulator,
    COUNT: String(COUNT),
    STATIONS: String(STATIONS),
  };
  try {
    // 1. The broker's own relay rate: one QoS 1 subscriber that acknowledges at once.
    process.stderr.write(`broker relay: ${COUNT} QoS 1 messages to one MQTT.js subscriber…\n`);
    const sub = await mqtt.connectAsync(services.mosquitto.url, {
      username: 'ingest',
      password: users.ingest,
      protocolVersion: 5,
      clientId: 'bench-relay-sub',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    let received = 0;
    let lastAt = 0;
    sub.on('message', () => {
      received++;
      lastAt = Date.now();
    });
    await sub.subscribeAsync('tuojiang/relay/#', { qos: 1 });
    const relay = await runPublisher({ ...pubEnv, MODE: 'relay' });
    while (received < COUNT && Date.now() - lastAt < 5000) await new Promise((r) => setTimeout(r, 20));
    await sub.endAsync();
    const relayRate = received / ((lastAt - relay.start) / 1000);

    // 2. The pipeline, the ingest in its own process as in production.
    const httpPort = await freePort();
    const tcpPort = await freePort();
    const ingest = spawn(
      process.execPath,
      [...(process.env.INGEST_NODE_ARGS?.split(' ').filter(Boolean) ?? []), join(ROOT, 'dist', 'cli', 'main.js'), 'ingest', '--no-checks'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          TUOJIANG_CONFIG: configDir,
          MQTT_URL: services.mosquitto.url,
          MQTT_USERNAME: 'ingest',
          MQTT_PASSWORD: users.ingest,
          REDIS_URL: services.redis.url,
          INFLUX_URL: services.influxdb.url,
          INFLUX_DB: 'tuojiang',
          TUOJIANG_INSTANCE: 'bench',
          HTTP_PORT: String(httpPort),
          LOG_LEVEL: 'warn',
          ...(TRANSPORT === 'tcp' ? { HJ212_TCP_PORT: String(tcpPort), HJ212_TCP_HOST: '127.0.0.1' } : {}),
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (i > 300) throw new Error('ingest did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    const influx = new InfluxClient({ url: services.influxdb.url, database: 'tuojiang' });
    const pids = { mosquitto: services.mosquitto.pid, redis: services.redis.pid, influxdb: services.influxdb.pid, ingest: ingest.pid };

    /** One run: publish, poll InfluxDB's count of points from t0 on, and measure. */
    const measure = async (label: string, t0: string, publish: () => Promise<PublisherRun>) => {
      process.stderr.write(`pipeline (${label}): ${COUNT} readings from ${STATIONS} stations…\n`);
      const visible: Array<[number, number]> = [];
      let polling = true;
      let lastCount = 0;
      let lastChange = Date.now();
      const poller = (async () => {
        while (polling) {
          const res = await influx.query(`SELECT count("NH3N") FROM "water_quality" WHERE time >= '${t0}'`).catch(() => []);
          const n = Number(res[0]?.values[0]?.[1] ?? 0);
          const t = Date.now();
          if (n !== lastCount) {
            lastCount = n;
            lastChange = t;
            visible.push([t, n]);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
      const pub = await publish();
      while (lastCount < COUNT && Date.now() - lastChange < 15_000) await new Promise((r) => setTimeout(r, 50));
      polling = false;
      await poller;
      const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, Number((cpuSeconds(pid) - cpuBefore[k]!).toFixed(1))]));
      const lastVisible = visible.find(([, n]) => n >= COUNT)?.[0] ?? visible[visible.length - 1]?.[0] ?? NaN;
      const e2eRate = lastCount / ((lastVisible - pub.start) / 1000);
      const lags: number[] = [];
      for (const [k, tPub] of pub.marks) {
        const tVis = visible.find(([, n]) => n >= k)?.[0];
        if (tVis !== undefined) lags.push(Math.max(0, tVis - tPub));
      }
      return {
        result: {
          readings: COUNT,
          stored: lastCount,
          loss: COUNT - lastCount,
          e2e_readings_per_s: Math.round(e2eRate),
          publish_rate_per_s: Math.round(COUNT / ((pub.done - pub.start) / 1000)),
          lag_p50_ms: pct(lags, 50),
          lag_p99_ms: pct(lags, 99),
        },
        cpu,
        e2eRate,
      };
    };

    const runs: Array<{ label: string } & Awaited<ReturnType<typeof measure>>> = [];
    if (TRANSPORT === 'mqtt') {
      runs.push({
        label: 'MQTT, JSON',
        ...(await measure('MQTT, JSON', '2026-06-01T00:00:00Z', () => runPublisher({ ...pubEnv, MODE: 'readings' }))),
      });
    } else {
      // The same HJ 212 frames both ways: the difference is the transport (and, over TCP, one answer per frame).
      runs.push({
        label: 'MQTT, HJ 212 frames',
        ...(await measure('MQTT, HJ 212 frames', '2026-06-01T00:00:00Z', () =>
          runPublisher({ ...pubEnv, MODE: 'readings', FORMAT: 'hj212', T0: '2026-06-01T00:00:00Z' }),
        )),
      });
      runs.push({
        label: 'HJ 212 over TCP',
        ...(await measure('HJ 212 over TCP', '2026-07-01T00:00:00Z', () =>
          runPublisher(
            {
              HOST: '127.0.0.1',
              PORT: String(tcpPort),
              PW: LOGGER_PW,
              COUNT: String(COUNT),
              STATIONS: String(STATIONS),
              T0: '2026-07-01T00:00:00Z',
            },
            'tcp-publisher.ts',
          ),
        )),
      });
    }
    const rss = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${ingest.pid}/status`, 'utf8'))?.[1];
    const metricsText = await fetch(`http://127.0.0.1:${httpPort}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    ingest.kill('SIGTERM');
    await new Promise((r) => ingest.once('exit', r));

    console.log('\nIngest benchmark (this machine, 2 cores; publishers, broker, ingest, Redis, InfluxDB all local)');
    for (const run of runs) {
      console.log(`  ${run.label}:`);
      for (const [k, v] of Object.entries(run.result)) console.log(`    ${k.padEnd(22)} ${v}`);
      console.log(`    ratio_to_broker        ${(run.e2eRate / relayRate).toFixed(2)}`);
      console.log(
        `    cpu seconds: ${Object.entries(run.cpu)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    }
    console.log(`  ingest_peak_rss_mb       ${rss ? Math.round(Number(rss) / 1024) : null}`);
    console.log(`  broker_relay_per_s       ${Math.round(relayRate)}`);
    if (runs.length === 2) {
      console.log(`  tcp_to_mqtt_ratio        ${(runs[1]!.e2eRate / runs[0]!.e2eRate).toFixed(2)}`);
      const answers = /tuojiang_hj212_answers_total (\d+)/.exec(metricsText)?.[1];
      const resent = /tuojiang_hj212_resent_total\{[^}]*\} (\d+)/g;
      let dupes = 0;
      for (const m of metricsText.matchAll(resent)) dupes += Number(m[1]);
      console.log(`  hj212 answers sent ${answers ?? '?'}; frames recognised as re-sent ${dupes}`);
    }
    // What stays in Redis after the run: the re-send memory of every reading (decision 0009), dead letters.
    const redis = new Redis(services.redis.url);
    const usedMb = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN) / 1024 / 1024;
    console.log(`  redis used memory after the run: ${usedMb.toFixed(1)} MB, ${await redis.dbsize()} keys`);
    redis.disconnect();
    console.log(JSON.stringify(Object.fromEntries(runs.map((r) => [r.label, r.result]))));
  } finally {
    await services.stopAll();
    rmSync(configDir, { recursive: true, force: true });
  }
}

await main();
