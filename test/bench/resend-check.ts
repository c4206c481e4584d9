/**
 * `npx tsx test/bench/resend-check.ts`: the cost of the writer's re-send check (decision 0009) on its
 * own, against a real Redis: 100,000 readings of 100 stations, 4 parameters, one a minute, in writer
 * batches of 5,000, first as new readings, then as identical re-sends. Prints node and Redis CPU per
 * reading and Redis memory. RESEND_SPACING_S and RESEND_PARAMS change the spacing and the parameters,
 * RESEND_STATIONS the stations (2000: a province, each writer chunk one reading per station), and
 * RESEND_AOF=1 runs Redis with its AOF as shipped (`appendfsync always`).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ResendDetector } from '../../ingest/resend-detector.js';
import { startServices } from '../../devtools/local-services/index.js';
import type { Reading } from '../../lib/reading.js';

const services = await startServices({ redis: { appendonly: process.env.RESEND_AOF === '1' } });
const redis = new Redis(services.redis.url);
const cpu = async () => {
  const i = await redis.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(i)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(i)![1]);
};
const N = 100_000;
const STATIONS = Number(process.env.RESEND_STATIONS ?? 100);
// Sensor time between two readings of a station (RESEND_SPACING_S, default 60: one reading a minute).
const SPACING_MS = Number(process.env.RESEND_SPACING_S ?? 60) * 1000;
// RESEND_PARAMS=9: a full water station (its text then exceeds the 64 bytes of Redis's compact hash encoding).
const EXTRA = ['CODMn', 'TP', 'TN', 'turbidity', 'conductivity'].slice(0, Math.max(0, Number(process.env.RESEND_PARAMS ?? 4) - 4));
const readings: Reading[] = Array.from({ length: N }, (_, i) => ({
  station: `bench-${String(i % STATIONS).padStart(4, '0')}`,
  city: 'chengdu',
  medium: 'water',
  ts: 1_750_000_000_000 + Math.floor(i / STATIONS) * SPACING_MS,
  period: 'rt',
  values: { NH3N: 0.42 + (i % 7) / 100, pH: 7.1, DO: 6.5, temp: 18.2, ...Object.fromEntries(EXTRA.map((k, j) => [k, 1.25 + j])) },
  flags: {},
  source: 'json',
}));
for (const run of ['new', 'identical']) {
  const d = new ResendDetector(redis, { keyPrefix: run === 'new' ? `b${randomBytes(2).toString('hex')}:` : 'same:', windowS: 3600 });
  if (run === 'identical') for (let i = 0; i < N; i += 5000) await d.check(readings.slice(i, i + 5000));
  const r0 = await cpu();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i += 5000) await d.check(readings.slice(i, i + 5000));
  const t1 = performance.now();
  const c1 = process.cpuUsage(c0);
  const r1 = await cpu();
  console.log(
    `${run}: ${N} readings in ${(t1 - t0).toFixed(0)} ms wall; node CPU ${((c1.user + c1.system) / N).toFixed(1)} µs/reading; redis CPU ${(((r1 - r0) * 1e6) / N).toFixed(1)} µs/reading`,
  );
}
const mem = /used_memory:(\d+)/.exec(await redis.info('memory'))![1];
console.log(`redis used memory ${(Number(mem) / 1048576).toFixed(1)} MB for ${await redis.dbsize()} keys`);
redis.disconnect();
await services.stopAll();
