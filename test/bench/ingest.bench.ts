/**
 * `npm run bench:ingest` (issues 2 and 16): 100,000 readings from 100 stations at full speed through
 * the real broker, ingest, Redis journal and InfluxDB, all on this machine, in interleaved rounds
 * (`--rounds N`, default 3, after `--warmup N` rounds, default 1, printed but not summarised): the
 * broker's own QoS 1 relay rate to one plain subscriber, then the pipeline, then the relay again…,
 * ending with a relay round, so that every pipeline round sits between two. Per round it prints
 * end-to-end readings/s (first publish to last reading visible in InfluxDB), the ratio to the mean
 * of the relay rates just before and just after it (and to each alone), loss, p50/p99 lag, the
 * ingest's CPU per reading (utime + stime from /proc, over the round) and its GC time (prom-client's
 * GC histogram), the CPU of every other process, and how busy the machine was; then a summary with
 * the SLOWEST round's ratio and the mean CPU per reading. One ingest process and one set of services
 * serve every round, as in production; each round writes its own time range.
 *
 * `npm run bench:ingest -- --appendfsync everysec|always` runs Redis with that AOF policy instead of
 * the shipped one, to measure what durability costs.
 *
 * `--spacing-s S` sets the sensor time between two readings of a station (default 60: each station's
 * 1,000 readings are ~17 hours of minute data, a backlog such as a logger uploads after an outage).
 *
 * `npm run bench:ingest -- --transport tcp` (issue 12): the same readings as HJ 212 frames, once
 * over MQTT and once from 100 data loggers over the ingest's HJ 212 TCP listener (each frame kept by
 * its logger until answered), against the same ingest in the same run; prints both and their ratio.
 *
 * Lag is measured per 1,000 readings: when the publisher had the k-th thousand acknowledged by the
 * broker, and when InfluxDB's own counter of points written (SHOW STATS, polled every 50 ms) first
 * reached k thousand. Loss is from a count query of the stored points at the end of the round.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { InfluxClient } from '../../lib/influx/client.js';
import { freePort, startServices } from '../../devtools/local-services/index.js';
import { hashPassword } from '../../lib/password-hash.js';
import { password } from '../helpers/ingest-stack.js';
import { ingestNodeArgs } from './ingest-node-options.js';
import { cpuSeconds } from './proc-cpu.js';

const ROOT = join(import.meta.dirname, '..', '..');
const COUNT = Number(process.env.BENCH_COUNT ?? 100_000);
const STATIONS = 100;
const arg = process.argv.indexOf('--transport');
const TRANSPORT = arg >= 0 ? process.argv[arg + 1] : 'mqtt';
if (TRANSPORT !== 'mqtt' && TRANSPORT !== 'tcp') throw new Error(`--transport must be mqtt or tcp, got ${TRANSPORT}`);
const LOGGER_PW = 'bench-logger-pw';
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg >= 0 ? Number(process.argv[roundsArg + 1]) : 3;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds must be a positive integer`);
// Warm-up rounds run first, exactly like the others, and are printed but left out of the SUMMARY: a
// freshly started ingest compiles its hot code during its first 100,000 readings (~3 µs a reading
// more, decision 0018), which a service running for weeks does once. `--warmup 0` counts it.
const warmupArg = process.argv.indexOf('--warmup');
const WARMUP = warmupArg >= 0 ? Number(process.argv[warmupArg + 1]) : 1;
if (!Number.isInteger(WARMUP) || WARMUP < 0) throw new Error(`--warmup must be a whole number of rounds (0 or more)`);
// Redis's AOF fsync policy for the run (default: what docker-compose.yml ships), to measure its cost.
const fsyncArg = process.argv.indexOf('--appendfsync');
const APPENDFSYNC = fsyncArg >= 0 ? process.argv[fsyncArg + 1] : undefined;
if (APPENDFSYNC !== undefined && APPENDFSYNC !== 'always' && APPENDFSYNC !== 'everysec') {
  throw new Error(`--appendfsync must be always or everysec`);
}
const appendfsync = APPENDFSYNC as 'always' | 'everysec' | undefined;
// Sensor time between two readings of a station (default 60 s, as stations send them): 1,000 readings
// a station make a backlog of about 17 hours. `--spacing-s 1` is what this bench used before issue 16's round 4.
const spacingArg = process.argv.indexOf('--spacing-s');
const SPACING_S = spacingArg >= 0 ? Number(process.argv[spacingArg + 1]) : 60;
if (!(SPACING_S > 0 && SPACING_S <= 60)) throw new Error(`--spacing-s must be a number of seconds in (0, 60]`);

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
  /** The publisher's own CPU, ms. */
  cpuMs: number;
}

function runPublisher(env: NodeJS.ProcessEnv, script = 'publisher.ts'): Promise<PublisherRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'bench', script)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const run: PublisherRun = { start: 0, done: 0, marks: new Map(), cpuMs: NaN };
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = JSON.parse(line) as { start?: number; sent?: number; t?: number; done?: number; cpuMs?: number };
      if (m.start) run.start = m.start;
      if (m.sent && m.t) run.marks.set(m.sent, m.t);
      if (m.done) run.done = m.done;
      if (m.cpuMs !== undefined) run.cpuMs = m.cpuMs;
    });
    child.on('exit', (code) => (code === 0 ? resolve(run) : reject(new Error(`publisher exited ${code}`))));
  });
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  // idle + iowait
  return { busy: total - cpu[3]! - cpu[4]!, total };
}

/** Sum of a Prometheus metric's samples whose line starts with `name` (any labels), from /metrics text. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Bytes Redis received from and sent to its clients since it started (INFO stats). */
async function redisNetBytes(redis: Redis): Promise<{ in: number; out: number }> {
  const info = await redis.info('stats');
  return {
    in: Number(/total_net_input_bytes:(\d+)/.exec(info)?.[1] ?? 0),
    out: Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1] ?? 0),
  };
}

/** Calls and µs per Redis command, from INFO commandstats. */
async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of (await redis.info('commandstats')).matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g))
    out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
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
    redis: { appendonly: true, ...(appendfsync ? { appendfsync } : {}) },
    influxdb: true,
  });
  const configDir = benchConfigDir(TRANSPORT === 'tcp' ? await hashPassword(LOGGER_PW) : undefined);
  const pubEnv = {
    URL: services.mosquitto.url,
    USER: 'simulator',
    PASS: users.simulator,
    COUNT: String(COUNT),
    STATIONS: String(STATIONS),
    SPACING_MS: String(SPACING_S * 1000),
  };
  try {
    /** The broker's own relay rate: one plain QoS 1 subscriber that acknowledges at once. */
    /**
     * The relay round's rate, and its CPU per message: the publisher, the broker, and this process
     * (the subscriber; the harness does nothing else meanwhile).
     */
    const relayRound = async (
      round: number,
      when: string,
    ): Promise<{ rate: number; cpuUsPerMsg: number; busy: number; subscriberUsPerMsg: number; relayCpu: Record<string, number> }> => {
      process.stderr.write(`broker relay ${when}, ${COUNT} QoS 1 messages to one MQTT.js subscriber…\n`);
      const sub = await mqtt.connectAsync(services.mosquitto.url, {
        username: 'ingest',
        password: users.ingest,
        protocolVersion: 5,
        clientId: `bench-relay-sub-${round}`,
        clean: true,
      });
      let received = 0;
      let lastAt = 0;
      sub.on('message', () => {
        received++;
        lastAt = Date.now();
      });
      await sub.subscribeAsync('tuojiang/relay/#', { qos: 1 });
      const brokerBefore = cpuSeconds(services.mosquitto.pid);
      const selfBefore = process.cpuUsage();
      const machineBefore = machineJiffies();
      const relay = await runPublisher({ ...pubEnv, MODE: 'relay' });
      while (received < COUNT && Date.now() - lastAt < 5000) await new Promise((r) => setTimeout(r, 20));
      const self = process.cpuUsage(selfBefore);
      const machineAfter = machineJiffies();
      // Seconds per process, to set beside the pipeline round's: the publisher's share moves with the machine.
      const relayCpu = {
        mosquitto: cpuSeconds(services.mosquitto.pid) - brokerBefore,
        subscriber: (self.user + self.system) / 1e6,
        publisher: relay.cpuMs / 1000,
      };
      const cpuS = relayCpu.mosquitto + relayCpu.subscriber + relayCpu.publisher;
      await sub.endAsync();
      return {
        relayCpu,
        rate: received / ((lastAt - relay.start) / 1000),
        cpuUsPerMsg: (cpuS * 1e6) / Math.max(1, received),
        // The subscriber alone: what receiving and acknowledging a QoS 1 message costs MQTT.js, the floor under any ingest built on it.
        subscriberUsPerMsg: (self.user + self.system) / Math.max(1, received),
        busy: (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total),
      };
    };

    // The pipeline: the ingest in its own process as in production, one for all rounds.
    const httpPort = await freePort();
    const tcpPort = await freePort();
    const nodeArgs = ingestNodeArgs();
    const ingest = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist', 'cli', 'main.js'), 'ingest', '--no-checks'], {
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
        INGEST_HTTP_PORT: String(httpPort),
        LOG_LEVEL: 'warn',
        ...(TRANSPORT === 'tcp' ? { HJ212_TCP_PORT: String(tcpPort), HJ212_TCP_HOST: '127.0.0.1' } : {}),
      },
      // INGEST_STDOUT=file keeps what the ingest prints (e.g. INGEST_NODE_ARGS=--trace-gc).
      stdio: ['ignore', process.env.INGEST_STDOUT ? openSync(process.env.INGEST_STDOUT, 'w') : 'ignore', 'inherit'],
    });
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
    /** InfluxDB's count of points its HTTP API wrote successfully since it started. */
    const httpdStat = async (column: string): Promise<number> => {
      let sum = 0;
      for (const series of await influx.query(`SHOW STATS FOR 'httpd'`)) {
        const i = series.columns.indexOf(column);
        for (const row of series.values) sum += Number(row[i] ?? 0);
      }
      return sum;
    };
    const pointsWrittenOk = (): Promise<number> => httpdStat('pointsWrittenOK');
    const statsRedis = new Redis(services.redis.url);
    const pids = { mosquitto: services.mosquitto.pid, redis: services.redis.pid, influxdb: services.influxdb.pid, ingest: ingest.pid };
    const metrics = (): Promise<string> =>
      fetch(`http://127.0.0.1:${httpPort}/metrics`).then(
        (r) => r.text(),
        () => '',
      );

    /** One pipeline run: publish, poll InfluxDB's count of points from t0 on, and measure. */
    const measure = async (label: string, t0: string, publish: () => Promise<PublisherRun>) => {
      process.stderr.write(`  pipeline (${label}): ${COUNT} readings from ${STATIONS} stations…\n`);
      const visible: Array<[number, number]> = [];
      let polling = true;
      let lastCount = 0;
      let lastChange = Date.now();
      // Progress from InfluxDB's own counter of points written (SHOW STATS), not a count query: 66
      // count queries over 100,000 points cost InfluxDB 1.4 s of CPU against 0.04 s for the counter,
      // which the pipeline round used to be charged for (decision 0018, round 3). The stored count
      // is still a query, once the counter says everything arrived.
      const storedNow = async (): Promise<number> =>
        Number((await influx.query(`SELECT count("NH3N") FROM "water_quality" WHERE time >= '${t0}'`))[0]?.values[0]?.[1] ?? 0);
      const written0 = await pointsWrittenOk();
      const poller = (async () => {
        while (polling) {
          const n = (await pointsWrittenOk().catch(() => written0)) - written0;
          const t = Date.now();
          if (n !== lastCount) {
            lastCount = n;
            lastChange = t;
            visible.push([t, n]);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const metricsBefore = await metrics();
      const redisBefore = await commandStats(statsRedis);
      const netBefore = await redisNetBytes(statsRedis);
      const influxBytesBefore = await httpdStat('writeReqBytes');
      const cpuBefore = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
      const machineBefore = machineJiffies();
      const pub = await publish();
      while (lastCount < COUNT && Date.now() - lastChange < 15_000) await new Promise((r) => setTimeout(r, 50));
      polling = false;
      await poller;
      // Points written twice (a redelivery) count twice in InfluxDB's counter: what is stored is the query.
      let stored = await storedNow().catch(() => 0);
      for (let stable = Date.now(); stored < COUNT && Date.now() - stable < 15_000;) {
        await new Promise((r) => setTimeout(r, 200));
        const n = await storedNow().catch(() => stored);
        if (n !== stored) [stored, stable] = [n, Date.now()];
      }
      const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid) - cpuBefore[k]!]));
      const machineAfter = machineJiffies();
      const metricsAfter = await metrics();
      const redisAfter = await commandStats(statsRedis);
      const netAfter = await redisNetBytes(statsRedis);
      const influxBytes = (await httpdStat('writeReqBytes')) - influxBytesBefore;
      const redisDelta = (cmd: string) => ({
        calls: (redisAfter.get(cmd)?.calls ?? 0) - (redisBefore.get(cmd)?.calls ?? 0),
        usec: (redisAfter.get(cmd)?.usec ?? 0) - (redisBefore.get(cmd)?.usec ?? 0),
      });
      const gc = (kind: string, what: 'sum' | 'count'): number =>
        metricSum(metricsAfter, `tuojiang_nodejs_gc_duration_seconds_${what}{kind="${kind}"}`) -
        metricSum(metricsBefore, `tuojiang_nodejs_gc_duration_seconds_${what}{kind="${kind}"}`);
      const gcMs = ['minor', 'major', 'incremental', 'weakcb'].reduce((a, k) => a + gc(k, 'sum'), 0) * 1000;
      const lastVisible = visible.find(([, n]) => n >= COUNT)?.[0] ?? visible[visible.length - 1]?.[0] ?? NaN;
      const e2eRate = stored / ((lastVisible - pub.start) / 1000);
      const lags: number[] = [];
      for (const [k, tPub] of pub.marks) {
        const tVis = visible.find(([, n]) => n >= k)?.[0];
        if (tVis !== undefined) lags.push(Math.max(0, tVis - tPub));
      }
      return {
        label,
        readings: COUNT,
        stored,
        loss: COUNT - stored,
        e2eRate,
        publishRate: COUNT / ((pub.done - pub.start) / 1000),
        lagP50: pct(lags, 50),
        lagP99: pct(lags, 99),
        cpuUsPerReading: (cpu.ingest! * 1e6) / Math.max(1, lastCount),
        gcMs,
        gcMajor: gc('major', 'count') + gc('incremental', 'count'),
        gcMinor: gc('minor', 'count'),
        cpu: { ...cpu, publisher: pub.cpuMs / 1000 },
        // The journal appends (one script call each; the re-send check is the other evalsha) and the writer's reads.
        appends: redisDelta('evalsha').calls + redisDelta('eval').calls,
        reads: redisDelta('xreadgroup').calls,
        // Commands a script runs are counted under their own names and inside the script's time too.
        redisTop: [...redisAfter.keys()]
          .map((k) => [k, redisDelta(k).usec / Math.max(1, stored)] as const)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6),
        // Loopback bytes per reading: each costs the sender's kernel (the largest item in the ingest's profile).
        bytes: {
          toRedis: (netAfter.in - netBefore.in) / Math.max(1, stored),
          fromRedis: (netAfter.out - netBefore.out) / Math.max(1, stored),
          toInflux: influxBytes / Math.max(1, stored),
        },
        machineBusy: (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total),
      };
    };
    type Relay = Awaited<ReturnType<typeof relayRound>>;
    /**
     * A pipeline round's reference: the relay rounds just before and just after it (A-B-A). The
     * machine drifts by 10-30 % between rounds a few seconds apart, and a relay round (~3 s) is
     * the shortest measurement of the run; the mean of the two around a pipeline round follows the
     * drift where one alone is as likely to catch a burst of another tenant's load as to miss it.
     */
    const bracket = (before: Relay, after: Relay) => ({
      relayRate: (before.rate + after.rate) / 2,
      relayBeforeRate: before.rate,
      relayAfterRate: after.rate,
      relayCpuUsPerMsg: (before.cpuUsPerMsg + after.cpuUsPerMsg) / 2,
      relayBusy: (before.busy + after.busy) / 2,
      subscriberUsPerMsg: (before.subscriberUsPerMsg + after.subscriberUsPerMsg) / 2,
      relayCpu: { before: before.relayCpu, after: after.relayCpu },
    });
    type Run = Awaited<ReturnType<typeof measure>> & { round: number; warmup: boolean } & ReturnType<typeof bracket>;

    const day = (round: number, month: number): string =>
      `2026-${String(month).padStart(2, '0')}-${String(round).padStart(2, '0')}T00:00:00Z`;
    const runs: Run[] = [];
    let relays = 0;
    const relayed = async (when: string): Promise<Relay> => {
      // Numbered for the subscriber's client id: one per relay round.
      const r = await relayRound(++relays, when);
      process.stderr.write(`  broker relay ${Math.round(r.rate)} msg/s\n`);
      return r;
    };
    let before = await relayed('before round 1');
    for (let round = 1; round <= WARMUP + ROUNDS; round++) {
      const warmup = round <= WARMUP;
      // Each round writes a time range of its own: the count is of that round's points only.
      const pipelines: Array<[label: string, t0: string, publish: () => ReturnType<typeof runPublisher>]> = [];
      if (TRANSPORT === 'mqtt') {
        const t0 = day(round, 6);
        pipelines.push(['MQTT, JSON', t0, () => runPublisher({ ...pubEnv, MODE: 'readings', T0: t0 })]);
      } else {
        // The same HJ 212 frames both ways: the difference is the transport (and, over TCP, one answer per frame).
        const t0 = day(round, 6);
        const t1 = day(round, 7);
        pipelines.push(
          ['MQTT, HJ 212 frames', t0, () => runPublisher({ ...pubEnv, MODE: 'readings', FORMAT: 'hj212', T0: t0 })],
          [
            'HJ 212 over TCP',
            t1,
            () =>
              runPublisher(
                {
                  HOST: '127.0.0.1',
                  PORT: String(tcpPort),
                  PW: LOGGER_PW,
                  COUNT: String(COUNT),
                  STATIONS: String(STATIONS),
                  SPACING_MS: String(SPACING_S * 1000),
                  T0: t1,
                },
                'tcp-publisher.ts',
              ),
          ],
        );
      }
      // Every pipeline measurement between two relay rounds, the TCP one as well.
      for (const [k, [label, t0, publish]] of pipelines.entries()) {
        const m = await measure(label, t0, publish);
        const last = round === WARMUP + ROUNDS && k === pipelines.length - 1;
        const after = await relayed(last ? 'after the last round' : `after round ${round}, ${label}`);
        runs.push({ round, warmup, ...bracket(before, after), ...m });
        before = after;
      }
    }
    const rss = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${ingest.pid}/status`, 'utf8'))?.[1];
    const metricsText = await metrics();
    ingest.kill('SIGTERM');
    await new Promise((r) => ingest.once('exit', r));
    statsRedis.disconnect();

    const f1 = (x: number): string => x.toFixed(1);
    const pipelineCpuUs = (r: Run): number => (Object.values(r.cpu).reduce((a, v) => a + v, 0) * 1e6) / Math.max(1, r.stored);
    console.log(
      `\nIngest benchmark, ${ROUNDS} interleaved round(s) after ${WARMUP} warm-up round(s), the ingest with node ${nodeArgs.join(' ') || '(no options)'} (this machine, 2 cores; publishers, broker, ingest, Redis, InfluxDB all local)`,
    );
    for (const r of runs) {
      console.log(`  round ${r.round}, ${r.label}${r.warmup ? ' — warm-up, not in the SUMMARY (the ingest compiling its hot code)' : ''}:`);
      console.log(`    stored / lost          ${r.stored} / ${r.loss}`);
      console.log(`    e2e_readings_per_s     ${Math.round(r.e2eRate)}   (publish ${Math.round(r.publishRate)}/s)`);
      console.log(
        `    broker_relay_per_s     ${Math.round(r.relayRate)}   (the mean of ${Math.round(r.relayBeforeRate)} just before and ${Math.round(r.relayAfterRate)} just after)`,
      );
      console.log(
        `    ratio_to_broker        ${(r.e2eRate / r.relayRate).toFixed(2)}   (to the relay before alone ${(r.e2eRate / r.relayBeforeRate).toFixed(2)}, after alone ${(r.e2eRate / r.relayAfterRate).toFixed(2)})`,
      );
      // With every core busy, a round's rate is the cores over the CPU each message costs all its
      // processes: the ratio cannot exceed what the relay's messages cost over what the pipeline's do.
      console.log(
        `    cpu per message, all processes: relay ${f1(r.relayCpuUsPerMsg)} µs, pipeline ${f1(pipelineCpuUs(r))} µs; ratio ceiling when CPU-bound ${(r.relayCpuUsPerMsg / pipelineCpuUs(r)).toFixed(2)}`,
      );
      console.log(`    lag p50 / p99 ms       ${r.lagP50} / ${r.lagP99}`);
      console.log(
        `    ingest_cpu_us_per_reading ${f1(r.cpuUsPerReading)}   (the relay rounds' bare MQTT.js subscriber: ${f1(r.subscriberUsPerMsg)} µs per message)`,
      );
      console.log(
        `    ingest_gc_ms           ${Math.round(r.gcMs)} (${f1((r.gcMs * 1000) / Math.max(1, r.stored))} µs/reading; ${r.gcMinor} minor, ${r.gcMajor} major/incremental)`,
      );
      console.log(
        `    bytes per reading      to Redis ${r.bytes.toRedis.toFixed(0)}, from Redis ${r.bytes.fromRedis.toFixed(0)}, to InfluxDB ${r.bytes.toInflux.toFixed(0)}`,
      );
      console.log(
        `    redis                  ${r.appends} script calls (journal appends and re-send checks), ${r.reads} XREADGROUP; µs per reading by command (a script's include the commands it runs): ${r.redisTop.map(([k, us]) => `${k} ${us.toFixed(2)}`).join(', ')}`,
      );
      console.log(
        `    cpu seconds: ${Object.entries(r.cpu)
          .map(([k, v]) => `${k} ${f1(v)}`)
          .join(', ')}; machine busy ${Math.round(r.machineBusy * 100)} % (relay rounds ${Math.round(r.relayBusy * 100)} %)`,
      );
      const seconds = (cpu: Record<string, number>): string =>
        Object.entries(cpu)
          .map(([k, v]) => `${k} ${f1(v)}`)
          .join(', ');
      console.log(`    cpu seconds, relay before: ${seconds(r.relayCpu.before)}; after: ${seconds(r.relayCpu.after)}`);
    }
    console.log(`  ingest_peak_rss_mb       ${rss ? Math.round(Number(rss) / 1024) : null}`);
    const labels = [...new Set(runs.map((r) => r.label))];
    for (const label of labels) {
      const of = runs.filter((r) => r.label === label && !r.warmup);
      const ratios = of.map((r) => r.e2eRate / r.relayRate);
      const toBefore = of.map((r) => r.e2eRate / r.relayBeforeRate);
      const ceilings = of.map((r) => r.relayCpuUsPerMsg / pipelineCpuUs(r));
      const rates = of.map((r) => r.e2eRate);
      const meanCpu = of.reduce((a, r) => a + r.cpuUsPerReading, 0) / of.length;
      const meanGc = of.reduce((a, r) => a + (r.gcMs * 1000) / Math.max(1, r.stored), 0) / of.length;
      const meanSub = of.reduce((a, r) => a + r.subscriberUsPerMsg, 0) / of.length;
      console.log(
        `  SUMMARY ${label}: slowest_ratio_to_broker ${Math.min(...ratios).toFixed(2)} (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}, ` +
          `each round to the mean of the relay rounds around it; to the one before alone ${Math.min(...toBefore).toFixed(2)}–${Math.max(...toBefore).toFixed(2)}); ` +
          `readings/s ${Math.round(Math.min(...rates))}–${Math.round(Math.max(...rates))}; ` +
          `mean ingest CPU ${f1(meanCpu)} µs/reading (GC ${f1(meanGc)}; a bare MQTT.js subscriber ${f1(meanSub)} µs/message); lost ${of.reduce((a, r) => a + r.loss, 0)}; ` +
          `ratio ceiling when CPU-bound ${Math.min(...ceilings).toFixed(2)}–${Math.max(...ceilings).toFixed(2)}`,
      );
    }
    if (TRANSPORT === 'tcp') {
      const ratios = runs
        .filter((r) => r.label === 'HJ 212 over TCP' && !r.warmup)
        .map((r, i) => r.e2eRate / runs.filter((x) => x.label !== r.label && !x.warmup)[i]!.e2eRate);
      console.log(`  tcp_to_mqtt_ratio        ${ratios.map((x) => x.toFixed(2)).join(', ')}`);
      const answers = /tuojiang_hj212_answers_total (\d+)/.exec(metricsText)?.[1];
      const resent = /tuojiang_hj212_resent_total\{[^}]*\} (\d+)/g;
      let dupes = 0;
      for (const m of metricsText.matchAll(resent)) dupes += Number(m[1]);
      console.log(`  hj212 answers sent ${answers ?? '?'}; frames recognised as re-sent ${dupes}`);
    }
    // What stays in Redis after the run: the re-send memory of every reading (decision 0009), dead letters.
    const redis = new Redis(services.redis.url);
    const usedMb = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN) / 1024 / 1024;
    console.log(
      `  redis used memory after the run: ${usedMb.toFixed(1)} MB, ${await redis.dbsize()} keys; appendfsync ${((await redis.config('GET', 'appendfsync')) as string[])[1]}`,
    );
    redis.disconnect();
    console.log(
      JSON.stringify(
        runs.map((r) => ({
          round: r.round,
          warmup: r.warmup,
          label: r.label,
          stored: r.stored,
          e2e_readings_per_s: Math.round(r.e2eRate),
          ratio_to_broker: Number((r.e2eRate / r.relayRate).toFixed(3)),
          ratio_to_relay_before: Number((r.e2eRate / r.relayBeforeRate).toFixed(3)),
          ratio_ceiling_cpu: Number((r.relayCpuUsPerMsg / pipelineCpuUs(r)).toFixed(3)),
          cpu_us_per_reading: Number(f1(r.cpuUsPerReading)),
          gc_ms: Math.round(r.gcMs),
        })),
      ),
    );
  } finally {
    await services.stopAll();
    rmSync(configDir, { recursive: true, force: true });
  }
}

await main();
