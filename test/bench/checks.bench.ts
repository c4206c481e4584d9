/**
 * Benchmark of the threshold checks (npm run bench:checks).
 *
 * The alerts workers run in their own process (as `tuojiang alerts worker` does); this process
 * plays the ingest writer.
 * 1. Steady load: BENCH_RATE readings/s (default 2,000) for BENCH_SECONDS (default 20), spread over
 *    BENCH_STATIONS synthetic water stations; each 100-ms batch is written to InfluxDB first and
 *    then handed to the CheckEnqueuer, as the writer does. 1 reading in 24 causes a transition.
 *    Prints check jobs/s through the workers and p50/p99 from "reading stored" (just before the
 *    enqueue) to "transition recorded" (its point written to the InfluxDB measurement `alerts`).
 * 2. Capacity: BENCH_BURST readings (default 30,000) enqueued at once; check jobs/s until drained,
 *    and CPU per reading of both processes and of redis-server (robust on a busy machine).
 * Both run twice: with one check job per reading (CheckEnqueuer's default) and with one per
 * enqueue call (granularity 'batch'); BENCH_GRANULARITY=reading|batch runs one of them.
 * BENCH_COMMANDSTATS=1 also prints where redis-server spent its time.
 *
 * Real Redis and InfluxDB are started on free loopback ports; everything stops by itself.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import { AlertKeys, QUEUE_CHECKS } from '../../alerts/keys.js';
import { startAlertsService } from '../../alerts/service.js';
import { StaticThresholdSource, type ThresholdSet } from '../../alerts/thresholds.js';
import { RegistrySchema } from '../../config/schema.js';
import { ThresholdsFileSchema } from '../../alerts/thresholds-schema.js';
import { InfluxClient } from '../../lib/influx/client.js';
import { encodePoint } from '../../lib/influx/line-protocol.js';
import { startServices } from '../../devtools/local-services/index.js';
import type { Reading } from '../../lib/reading.js';
import { StationRegistry } from '../../config/station-registry.js';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const RATE = env('BENCH_RATE', 2000);
const SECONDS = env('BENCH_SECONDS', 20);
const STATIONS = env('BENCH_STATIONS', 400);
const WORKERS = env('BENCH_WORKERS', 4);
const CONCURRENCY = env('BENCH_CONCURRENCY', 16);
const BURST = env('BENCH_BURST', 30_000);
const TICK_MS = 100;
/** One check job per reading (the default of CheckEnqueuer) and/or per enqueue call; default both. */
type Granularity = 'reading' | 'batch';
const GRANULARITIES: Granularity[] =
  process.env.BENCH_GRANULARITY === 'batch' ? ['batch'] : process.env.BENCH_GRANULARITY === 'reading' ? ['reading'] : ['reading', 'batch'];
const T0 = Date.parse('2026-05-01T00:00:00+08:00');

function benchRegistry(): StationRegistry {
  return new StationRegistry(
    RegistrySchema.parse({
      version: 1,
      cities: { chengdu: { zh: '成都市', en: 'Chengdu' }, ziyang: { zh: '资阳市', en: 'Ziyang' } },
      rivers: { tuojiang: { zh: '沱江', en: 'Tuojiang' } },
      stations: Array.from({ length: STATIONS }, (_, i) => ({
        id: `bench-${i}`,
        name: { zh: `测站${i}`, en: `Bench ${i}` },
        city: i % 2 ? 'ziyang' : 'chengdu',
        kind: 'water',
        river: 'tuojiang',
        river_km: i % 130,
        coordinates: { lat: 30.4, lon: 104.5 },
        mn: `BENCH${String(i).padStart(8, '0')}`,
        target_class: 'III',
        waterbody: 'river',
      })),
    }),
  );
}

/** The shipped policy's defaults, with silence off (synthetic stations never all report). */
function benchThresholds(): ThresholdSet {
  const config = ThresholdsFileSchema.parse({ version: 'bench', defaults: { rules: { silence: { enabled: false } } } });
  return { version: 'bench', source: 'bench', config };
}

/** 1-minute cadence per station; NH3N high for 8 of every 48 readings: fires and resolves once each. */
function makeReading(station: number, n: number): Reading {
  const high = n % 48 >= 40;
  return {
    station: `bench-${station}`,
    city: station % 2 ? 'ziyang' : 'chengdu',
    medium: 'water',
    ts: T0 + n * 60_000,
    period: 'rt',
    values: { NH3N: high ? 1.6 : 0.3, DO: 7.2, pH: 7.4, CODMn: 3.1, TP: 0.08, TN: 0.9, temp: 18, cond: 400, turb: 12 },
    flags: {},
    source: 'json',
  };
}

// ---- the alerts worker process ----

type ToParent =
  | { t: 'ready' }
  | { t: 'published'; items: Array<[station: string, at: number, publishedAt: number]> }
  | { t: 'checked'; n: number; applied: number; cpuUs: number };

async function workerProcess(): Promise<void> {
  // The parent may be gone (it failed): then there is no one to tell, and nothing to do but exit.
  const send = (m: ToParent): void => {
    if (!process.connected) process.exit(1);
    process.send?.(m);
  };
  const influx = new InfluxClient({ url: process.env.BENCH_INFLUX_URL ?? '', database: process.env.BENCH_DB ?? '' });
  let checked = 0;
  let applied = 0;
  const service = await startAlertsService({
    redisUrl: process.env.BENCH_REDIS_URL ?? '',
    influx,
    registry: benchRegistry(),
    thresholds: new StaticThresholdSource(benchThresholds()),
    prefix: process.env.BENCH_PREFIX ?? '',
    workers: WORKERS,
    concurrency: CONCURRENCY,
    silence: false,
    onChecked: (outcome) => {
      checked++;
      if (outcome.status === 'done') applied += outcome.applied;
    },
    onPublished: (events, at) => send({ t: 'published', items: events.map((e) => [e.station, e.at, at]) }),
  });
  const cpu0 = process.cpuUsage();
  const report = setInterval(() => {
    const c = process.cpuUsage(cpu0);
    send({ t: 'checked', n: checked, applied, cpuUs: c.user + c.system });
  }, 100);
  process.on('message', (m: { t: string }) => {
    if (m.t !== 'stop') return;
    clearInterval(report);
    const c = process.cpuUsage(cpu0);
    send({ t: 'checked', n: checked, applied, cpuUs: c.user + c.system });
    void service.close().then(() => process.exit(0));
  });
  send({ t: 'ready' });
}

// ---- the writer side ----

class WorkerHandle {
  checked = 0;
  applied = 0;
  cpuUs = 0;
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;

  constructor(vars: Record<string, string>, onPublished: (items: Array<[string, number, number]>) => void) {
    this.child = fork(fileURLToPath(import.meta.url), ['worker-process'], { env: { ...process.env, ...vars }, execArgv: process.execArgv });
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`alerts worker process exited with ${code}`)));
      this.child.on('message', (m: ToParent) => {
        if (m.t === 'ready') resolve();
        else if (m.t === 'published') onPublished(m.items);
        else {
          this.checked = m.n;
          this.applied = m.applied;
          this.cpuUs = m.cpuUs;
        }
      });
    });
  }

  start(): Promise<void> {
    return this.ready;
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ t: 'stop' });
    await exited;
  }
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function drained(redis: Redis, prefix: string, timeoutMs: number): Promise<void> {
  const checks = new Queue(QUEUE_CHECKS, { connection: redis, prefix });
  const outbox = new AlertKeys(prefix).outbox;
  const until = Date.now() + timeoutMs;
  try {
    for (;;) {
      const c = await checks.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(c).every((n) => n === 0) && (await redis.xlen(outbox)) === 0) return;
      if (Date.now() > until) throw new Error(`not drained after ${timeoutMs} ms: ${JSON.stringify(c)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await checks.close();
  }
}

async function main(): Promise<void> {
  const services = await startBenchServices();
  const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
  const all: Record<string, unknown>[] = [];
  try {
    for (const g of GRANULARITIES) all.push(await run(services, redis, g));
    console.log(JSON.stringify(all));
  } finally {
    redis.disconnect();
    await services.stopAll();
  }
}

type BenchServices = Awaited<ReturnType<typeof startBenchServices>>;
function startBenchServices() {
  return startServices({ redis: { appendonly: true }, influxdb: true });
}

async function run(services: BenchServices, redis: Redis, GRANULARITY: Granularity): Promise<Record<string, unknown>> {
  console.log(
    `checks bench: ${RATE} readings/s for ${SECONDS} s over ${STATIONS} stations; alerts process with ${WORKERS} workers × concurrency ${CONCURRENCY}; one check job per ${GRANULARITY}`,
  );
  const results: Record<string, unknown> = {
    rate: RATE,
    seconds: SECONDS,
    stations: STATIONS,
    workers: WORKERS,
    concurrency: CONCURRENCY,
    granularity: GRANULARITY,
  };
  const vars = (prefix: string, db: string) => ({
    BENCH_REDIS_URL: services.redis.url,
    BENCH_INFLUX_URL: services.influxdb.url,
    BENCH_PREFIX: prefix,
    BENCH_DB: db,
  });
  {
    // ---- 1. steady load ----
    if (SECONDS > 0) {
      const prefix = `benchsteady${GRANULARITY}`;
      const influx = new InfluxClient({ url: services.influxdb.url, database: `bench_steady_${GRANULARITY}` });
      await influx.ensureDatabase();
      const storedAt = new Map<string, number>();
      const latencies: number[] = [];
      const worker = new WorkerHandle(vars(prefix, `bench_steady_${GRANULARITY}`), (items) => {
        for (const [station, at, publishedAt] of items) {
          const t0 = storedAt.get(`${station}|${at}`);
          if (t0 !== undefined) latencies.push(publishedAt - t0);
        }
      });
      await worker.start();
      const enqueuer = new CheckEnqueuer({ redisUrl: services.redis.url, prefix, granularity: GRANULARITY });
      const perTick = Math.round((RATE * TICK_MS) / 1000);
      const ticks = Math.round((SECONDS * 1000) / TICK_MS);
      let n = 0;
      let lateTicks = 0;
      const start = performance.now();
      for (let t = 0; t < ticks; t++) {
        const wait = start + t * TICK_MS - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else lateTicks++;
        const batch: Reading[] = [];
        for (let i = 0; i < perTick; i++, n++) batch.push(makeReading(n % STATIONS, Math.floor(n / STATIONS)));
        // what the writer does: store, then hand over for checks
        await influx.writeLines(
          batch.map((r) =>
            encodePoint({
              measurement: 'water_quality',
              tags: { station: r.station, city: r.city, period: r.period },
              fields: r.values,
              ts: r.ts,
            }),
          ),
        );
        const now = Date.now();
        for (const r of batch) storedAt.set(`${r.station}|${r.ts}`, now);
        await enqueuer.enqueue(batch);
      }
      const loadSeconds = (performance.now() - start) / 1000;
      const checkedDuringLoad = worker.checked;
      const appliedDuringLoad = worker.applied;
      await drained(redis, prefix, 120_000);
      const totalSeconds = (performance.now() - start) / 1000;
      await enqueuer.close();
      await worker.stop();
      latencies.sort((a, b) => a - b);
      const steady = {
        readings: n,
        offeredPerSec: Math.round(n / loadSeconds),
        checkJobsPerSecDuringLoad: Math.round(checkedDuringLoad / loadSeconds),
        readingsAppliedPerSecDuringLoad: Math.round(appliedDuringLoad / loadSeconds),
        checkJobsPerSecOverall: Math.round(worker.checked / totalSeconds),
        drainAfterLoadMs: Math.round((totalSeconds - loadSeconds) * 1000),
        transitions: latencies.length,
        latencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies[latencies.length - 1] ?? NaN },
        loadTicksBehindSchedule: lateTicks,
      };
      results.steady = steady;
      console.log(`steady: offered ${steady.offeredPerSec} readings/s (${n} readings; ${lateTicks}/${ticks} ticks behind schedule)`);
      console.log(
        `steady: check jobs/s through the workers ${steady.checkJobsPerSecDuringLoad} during the load (readings applied/s ${steady.readingsAppliedPerSecDuringLoad}: a job drains its whole series); all jobs done ${steady.drainAfterLoadMs} ms after the load stopped`,
      );
      console.log(
        `steady: ${steady.transitions} transitions; reading stored -> transition recorded p50 ${steady.latencyMs.p50} ms, p99 ${steady.latencyMs.p99} ms, max ${steady.latencyMs.max} ms`,
      );
    }

    // ---- 2. capacity ----
    if (BURST > 0) {
      const prefix = `benchburst${GRANULARITY}`;
      await new InfluxClient({ url: services.influxdb.url, database: `bench_burst_${GRANULARITY}` }).ensureDatabase();
      const worker = new WorkerHandle(vars(prefix, `bench_burst_${GRANULARITY}`), () => undefined);
      await worker.start();
      const enqueuer = new CheckEnqueuer({ redisUrl: services.redis.url, prefix, granularity: GRANULARITY });
      const readings = Array.from({ length: BURST }, (_, n) => makeReading(n % STATIONS, Math.floor(n / STATIONS)));
      await redis.config('RESETSTAT');
      const cpu0 = process.cpuUsage();
      const workerCpu0 = worker.cpuUs;
      const redisCpu0 = await redisCpu(redis);
      const start = performance.now();
      for (let i = 0; i < readings.length; i += 1000) await enqueuer.enqueue(readings.slice(i, i + 1000));
      const enqueuedS = (performance.now() - start) / 1000;
      await drained(redis, prefix, 300_000);
      const s = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const redisCpuS = (await redisCpu(redis)) - redisCpu0;
      await enqueuer.close();
      await worker.stop();
      const burst = {
        readings: BURST,
        enqueuePerSec: Math.round(BURST / enqueuedS),
        checkJobsPerSec: Math.round(worker.checked / s),
        readingsAppliedPerSec: Math.round(worker.applied / s),
        seconds: Number(s.toFixed(2)),
        cpuUsPerReading: {
          writer: Math.round((cpu.user + cpu.system) / BURST),
          alertsWorker: Math.round((worker.cpuUs - workerCpu0) / BURST),
          redis: Math.round((redisCpuS * 1e6) / BURST),
        },
      };
      results.burst = burst;
      console.log(
        `burst: ${BURST} readings enqueued at ${burst.enqueuePerSec}/s; check jobs/s through the workers ${burst.checkJobsPerSec}, readings applied/s ${burst.readingsAppliedPerSec} (drained in ${burst.seconds} s)`,
      );
      console.log(
        `burst: CPU per reading: writer (enqueue) ${burst.cpuUsPerReading.writer} µs, alerts worker ${burst.cpuUsPerReading.alertsWorker} µs, redis-server ${burst.cpuUsPerReading.redis} µs`,
      );
      if (process.env.BENCH_COMMANDSTATS) {
        // Commands run inside scripts are counted under their own names as well as under evalsha.
        const rows = (await redis.info('commandstats'))
          .split('\n')
          .map((l) => /cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(l))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => ({ cmd: m[1] ?? '', calls: Number(m[2]), us: Number(m[3]) / BURST }))
          .sort((a, b) => b.us - a.us)
          .slice(0, 15);
        for (const r of rows)
          console.log(`  redis ${r.cmd.padEnd(18)} calls ${String(r.calls).padStart(8)}  ${r.us.toFixed(1)} µs/reading`);
      }
    }
  }
  return results;
}

const entry = process.argv[2] === 'worker-process' ? workerProcess : main;
entry().then(
  () => {
    if (entry === main) process.exit(0);
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
