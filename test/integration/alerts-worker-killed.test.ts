/**
 * An alerts worker killed (SIGKILL) in the middle of its check jobs: the jobs it held stay active
 * in Redis under a lock nobody renews. Another worker must find them stalled and run them, with
 * the shipped lock settings (alerts/service.ts CHECK_LOCK_MS, CHECK_STALLED_INTERVAL_MS), so that
 * the readings they check are applied and none is failed. The same path serves a job whose
 * completion was lost with a failed-over Redis master (decision 0016).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckEnqueuer, checkJobId } from '../../alerts/check-enqueuer.js';
import { QUEUE_CHECKS } from '../../alerts/keys.js';
import { CHECK_LOCK_MS, CHECK_STALLED_INTERVAL_MS, startAlertsService, type AlertsService } from '../../alerts/service.js';
import { StaticThresholdSource } from '../../alerts/thresholds.js';
import { InfluxClient } from '../../lib/influx/client.js';
import type { Period } from '../../lib/reading.js';
import { HOUR, T0, reading, registry, shippedThresholds, startAlertServices, waitFor, type Services } from '../helpers/alerts-stack.js';

const ROOT = join(import.meta.dirname, '..', '..');
let services: Services;
let child: ChildProcess | undefined;
let second: AlertsService | undefined;

beforeAll(async () => {
  services = await startAlertServices();
}, 120_000);
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await second?.close();
  await services?.stopAll();
});

describe('an alerts worker killed mid-job', () => {
  it('leaves its check jobs to another worker, which runs every one of them; none fails', async () => {
    const prefix = `k${randomBytes(3).toString('hex')}`;
    const db = `alerts_killed_${prefix}`;
    const env = { ...process.env, REDIS_URL: services.redis.url, INFLUX_URL: services.influxdb.url, INFLUX_DB: db, LOG_LEVEL: 'info' };
    child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), 'alerts', 'worker', '--workers', '1', '--prefix', prefix, '--no-silence'],
      { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => log.includes('alerts started'), 60_000, `the worker to start; its log:\n${log}`);

    // Enough readings, one check job each, that the worker is still busy when it is killed.
    const stations = registry.stations.map((s) => s.id);
    const readings = Array.from({ length: 3000 }, (_, i) =>
      reading(stations[i % stations.length]!, T0 + Math.floor(i / stations.length) * HOUR, { NH3N: (i % 20) / 10 }),
    );
    const enqueuer = new CheckEnqueuer({ redisUrl: services.redis.url, prefix });
    await enqueuer.enqueue(readings);
    await enqueuer.close();

    const queue = new Queue(QUEUE_CHECKS, { connection: { host: '127.0.0.1', port: services.redis.port }, prefix });
    try {
      await waitFor(async () => ((await queue.getJobCounts('wait')).wait ?? 0) < 2500, 60_000, 'the worker to be under way');
      const worker = child;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      // What it held: active, locked, and nobody to finish them.
      const held = (await queue.getActive()).map((j) => j.id!);
      expect(held.length).toBeGreaterThan(0);

      const ranAgain = new Set<string>();
      second = await startAlertsService({
        redisUrl: services.redis.url,
        influx: new InfluxClient({ url: services.influxdb.url, database: db }),
        registry,
        thresholds: new StaticThresholdSource(shippedThresholds),
        prefix,
        silence: false,
        aggregates: false,
        healthIntervalMs: 0,
        onChecked: (_outcome, job) => {
          // The job's id is its reading's (check-enqueuer.ts checkJobId).
          if ('s' in job) ranAgain.add(checkJobId({ station: job.s, period: job.p as Period, ts: job.ts }));
        },
      });
      // The lock lapses CHECK_LOCK_MS after its last renewal; the job, marked at an earlier stalled
      // check, moves at the next (one interval, two if a worker skipped its turn). Twice that as a margin.
      const bound = 2 * (CHECK_LOCK_MS + 2 * CHECK_STALLED_INTERVAL_MS);
      await waitFor(
        async () => held.every((id) => ranAgain.has(id)),
        bound,
        `the ${held.length} jobs held by the killed worker to run again`,
      );
      console.log(
        `alerts-worker-killed: ${held.length} held jobs ran again ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
      );
      await waitFor(
        async () => {
          const c = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
          return Object.values(c).every((n) => n === 0);
        },
        60_000,
        'every check job to finish',
      );
      expect((await queue.getJobCounts('failed')).failed).toBe(0);
    } finally {
      await queue.close();
    }
  }, 180_000);
});
