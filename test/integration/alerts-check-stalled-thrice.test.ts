/**
 * A check job whose worker dies three times in a row (killed, or cut off from a failed-over Redis
 * master each time) must still run: the alerts service's workers let a stalled job go back to
 * wait up to three times (alerts/service.ts, `maxStalledCount: 3`; BullMQ's default is once). Had
 * it failed, its reading would wait in the series' inbox until the station's next reading, an
 * hour later for an air station, and its exceedance would reach no bureau until then.
 *
 * The three dead workers are BullMQ workers that take the job, never finish it and are then closed
 * without waiting for it: their locks lapse as a killed process's do. Each next one finds the job
 * stalled, so the job's stall count is 2 when the real service starts; the service finds the third
 * stall, and must run the job rather than fail it.
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import type { AlertEvent } from '../../alerts/events.js';
import { QUEUE_CHECKS } from '../../alerts/keys.js';
import { CHECK_STALLED_INTERVAL_MS, startAlertsService, type AlertsService } from '../../alerts/service.js';
import { StaticThresholdSource } from '../../alerts/thresholds.js';
import { InfluxClient } from '../../lib/influx/client.js';
import { HOUR, T0, reading, registry, shippedThresholds, startAlertServices, waitFor, type Services } from '../helpers/alerts-stack.js';

/** The dying workers' lock: short, so that a stall is quick; long enough that a busy test process still renews it. */
const DYING_LOCK_MS = 3000;

let services: Services;
let service: AlertsService | undefined;
const dying: Worker[] = [];

beforeAll(async () => {
  services = await startAlertServices();
}, 120_000);
afterAll(async () => {
  await Promise.all(dying.map((w) => w.close(true)));
  await service?.close();
  await services?.stopAll();
});

describe('a check job stalled three times', () => {
  it('is run by the service the third time, not failed, and its exceedance is published', async () => {
    const prefix = `s${randomBytes(3).toString('hex')}`;
    const connection = { host: '127.0.0.1', port: services.redis.port };
    const station = registry.stations.find((s) => s.kind === 'water')!.id;
    // One job for the three readings, as the ingest hands over a batch.
    const enqueuer = new CheckEnqueuer({ redisUrl: services.redis.url, prefix, granularity: 'batch' });
    // Far over every NH3N limit of the shipped thresholds, three hours in a row: an exceedance the
    // shipped rules confirm (consecutive readings) and the bureaus must hear about.
    await enqueuer.enqueue([1, 2, 3].map((h) => reading(station, T0 + h * HOUR, { NH3N: 9, DO: 7 })));
    await enqueuer.close();
    const queue = new Queue(QUEUE_CHECKS, { connection, prefix });
    const stalls = async (): Promise<number[]> => (await queue.getActive()).map((j) => j.stalledCounter);
    try {
      expect((await queue.getJobCounts('wait')).wait).toBe(1);

      // Workers that die holding the job. Each after the first finds it stalled (its own limit is
      // high, so that only the service's decides) and takes it; the short lock makes a stall quick.
      for (let stalled = 0; stalled < 3; stalled++) {
        const w = new Worker(QUEUE_CHECKS, () => new Promise<void>(() => undefined), {
          connection,
          prefix,
          lockDuration: DYING_LOCK_MS,
          stalledInterval: 300,
          maxStalledCount: 100,
        });
        dying.push(w);
        await waitFor(
          async () => (await stalls()).join() === String(stalled),
          30_000,
          `a dying worker to hold the job stalled ${stalled} times`,
        );
        await w.close(true);
      }
      expect(await stalls()).toEqual([2]);

      const published: AlertEvent[] = [];
      let ran = 0;
      const influx = new InfluxClient({ url: services.influxdb.url, database: `alerts_stalled_${prefix}` });
      await influx.ensureDatabase();
      service = await startAlertsService({
        redisUrl: services.redis.url,
        influx,
        registry,
        thresholds: new StaticThresholdSource(shippedThresholds),
        prefix,
        silence: false,
        aggregates: false,
        healthIntervalMs: 0,
        onChecked: () => ran++,
        onPublished: (events) => published.push(...events),
      });
      // The last dead worker's lock lapses DYING_LOCK_MS after its last renewal; the service's checker
      // marks the job at one pass and moves it at the next. Twice that as a margin.
      const ranOrFailed = async (): Promise<boolean> => {
        const [failed] = await queue.getFailed();
        if (failed) throw new Error(`the job stalled three times was failed, not run: ${failed.failedReason}`);
        return ran > 0;
      };
      await waitFor(ranOrFailed, 2 * (DYING_LOCK_MS + 2 * CHECK_STALLED_INTERVAL_MS), 'the service to run the job stalled three times');
      await waitFor(
        async () => Object.values(await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized')).every((n) => n === 0),
        30_000,
        'the check queue to be empty',
      );
      expect((await queue.getJobCounts('failed')).failed).toBe(0);
      expect(ran).toBe(1);
      await waitFor(
        () => published.some((e) => e.station === station && e.parameter === 'NH3N' && e.to === 'firing'),
        30_000,
        'the NH3N exceedance to be published',
      );
    } finally {
      await queue.close();
    }
  }, 180_000);
});
