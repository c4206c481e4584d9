import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboxRelay, createNotifyQueue } from '../../alerts/outbox-relay.js';
import { AlertKeys } from '../../alerts/keys.js';
import { notifyReadiness } from '../../alerts/notify/readiness.js';
import { RedisThresholdSource } from '../../alerts/threshold-store/source.js';
import { THRESHOLDS_FILE, loadThresholdsFile } from '../../alerts/thresholds.js';
import { loadConfig } from '../../config/load.js';
import { SILENCE_SCHEDULER_ID } from '../../alerts/service.js';
import { INBOX_SWEEP_SCHEDULER_ID } from '../../alerts/inbox-sweep.js';
import { QUEUE_SILENCE, QUEUE_SWEEP } from '../../alerts/keys.js';
import { NotifyStore } from '../../alerts/notify/store.js';
import { startApiServer } from '../../api/server.js';
import { IngestService } from '../../ingest/ingest-service.js';
import { startOpsServer } from '../../lib/http-server.js';
import { startServices } from '../../devtools/local-services/index.js';
import { Registry } from 'prom-client';
import { compareBurst, makeBurst, storedValues } from '../helpers/burst.js';
import { startAlertsStack } from '../helpers/alerts-stack.js';
import { capturedLogger } from '../helpers/captured-log.js';
import { countPoints, publishAll, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';

/*
 * Issue 15, items 1 and 2: a Redis that comes back empty, and a Redis that is gone. The pipeline must
 * recover by itself from the first and say so (one event, a counter, /readyz), and /readyz must answer
 * during the second instead of waiting on a connection that retries forever.
 */
let stack: IngestStack | undefined;
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await stack?.stop();
  stack = undefined;
});

interface Readiness {
  status: number;
  checks: Record<string, boolean>;
}

/** GET /readyz with a client timeout far above the server's bound: failing to answer fails the test. */
async function readyz(port: number): Promise<Readiness> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3000) });
  const body = (await res.json()) as { checks?: Record<string, boolean> };
  return { status: res.status, checks: body.checks ?? {} };
}

async function startIngest(s: IngestStack, log: pino.Logger): Promise<IngestService> {
  const config = { ...s.config, settings: { ...s.config.settings, writer: { ...s.config.settings.writer, retry_max_ms: 1000 } } };
  const svc = new IngestService({ config, env: s.env, log, httpPort: 0, drainMs: 2000, healthIntervalMs: 0 });
  await svc.start();
  cleanups.push(() => svc.stop());
  return svc;
}

describe('a Redis that comes back empty', () => {
  it('the ingest recreates its journal group, stores the readings sent after the flush, logs and counts it once, and /readyz says so', async () => {
    stack = await startIngestStack();
    const s = stack;
    const { log, lines } = capturedLogger();
    const svc = await startIngest(s, log);
    const admin = new Redis(s.services.redis.url);
    cleanups.push(() => admin.quit());
    const pub = await s.publisher('burst-publisher-flush');

    // A burst in flight when Redis loses everything: what was journaled but not yet written is gone
    // with the flush (nothing can bring it back); what comes after must be stored without a restart.
    const before = makeBurst(3000, Date.parse('2026-05-01T00:00:00Z'));
    let flushed: Promise<unknown> | undefined;
    await publishAll(pub, before, 200, (sent) => {
      if (!flushed && sent === 1500) flushed = admin.flushall();
    });
    await flushed;

    const after = makeBurst(3000, Date.parse('2026-05-02T00:00:00Z'));
    await publishAll(pub, after, 200);
    const from = after[0]!.ts;
    const to = after[after.length - 1]!.ts;
    await waitFor(
      async () => (await countPoints(s.influx, 'water_quality', 'NH3N', `time >= ${from}ms AND time <= ${to}ms`)) >= after.length,
      60_000,
      'readings after the flush stored',
      250,
    );
    expect(compareBurst(after, await storedValues(s.influx, from, to))).toEqual({ missing: 0, doubled: 0, wrong: 0, extra: 0 });

    const events = lines.filter((l) => l.code === 'TJ_REDIS_STATE_LOST');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ level: 50, what: 'journal consumer group' });
    expect(String(events[0]!.hint)).toMatch(/AOF|volume/);
    const counted = (await svc.metrics.redisStateLost.get()).values.reduce((a, v) => a + v.value, 0);
    expect(counted).toBe(1);
    const r = await readyz(svc.httpPort!);
    expect(r.status).toBe(503);
    expect(r.checks).toMatchObject({ redis: true, redis_state: false });
  });

  it('the alert outbox relay recreates its group and publishes events written after the flush', async () => {
    const services = await startServices({ redis: { appendonly: false }, influxdb: true });
    cleanups.push(() => services.stopAll());
    const { log, lines } = capturedLogger();
    const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    const queueConn = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    cleanups.push(
      () => redis.quit(),
      () => queueConn.quit(),
    );
    const prefix = 'tjflush';
    const notify = createNotifyQueue(queueConn, prefix);
    cleanups.push(() => notify.close());
    const { InfluxClient } = await import('../../lib/influx/client.js');
    const influx = new InfluxClient({ url: services.influxdb.url, database: 'tjflush' });
    await influx.ensureDatabase();
    const published: string[] = [];
    const relay = new OutboxRelay({
      redis,
      influx,
      notify,
      prefix,
      blockMs: 100,
      log,
      onPublished: (evs) => published.push(...evs.map((e) => e.id)),
    });
    await relay.start();
    cleanups.push(() => relay.stop());
    await new Promise((r) => setTimeout(r, 300));
    await queueConn.flushall();
    const keys = new AlertKeys(prefix);
    const event = {
      id: 'ev-after-flush',
      kind: 'opened',
      station: 'hongyuan',
      city: 'chengdu',
      parameter: 'NH3N',
      rule: 'limit',
      period: 'hour',
      from: 'normal',
      to: 'alert',
      at: Date.parse('2026-05-03T00:00:00Z'),
      value: 2,
      limit: 1,
      thresholdVersion: 1,
      message: 'm',
      muted: false,
    };
    await queueConn.xadd(keys.outbox, '*', 'e', JSON.stringify(event));
    await waitFor(() => published.includes('ev-after-flush'), 30_000, 'event after the flush published');
    const events = lines.filter((l) => l.code === 'TJ_REDIS_STATE_LOST');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ what: 'alert outbox consumer group' });
  });
});

describe('the time-driven schedulers emptied under running workers', () => {
  it('are recreated, and each loss logged once', async () => {
    const services = await startServices({ redis: { appendonly: false }, influxdb: true });
    cleanups.push(() => services.stopAll());
    const { log, lines } = capturedLogger();
    const alerts = await startAlertsStack(services, { silence: true, silenceIntervalMs: 1000, sweep: { intervalMs: 1000 }, log });
    cleanups.push(() => alerts.close());
    const queues = [QUEUE_SILENCE, QUEUE_SWEEP].map((q) => new Queue(q, { connection: alerts.redis, prefix: alerts.prefix }));
    cleanups.push(() => Promise.all(queues.map((q) => q.close())));
    const schedulers = [
      { queue: queues[0]!, id: SILENCE_SCHEDULER_ID },
      { queue: queues[1]!, id: INBOX_SWEEP_SCHEDULER_ID },
    ];
    for (const { queue, id } of schedulers) expect(await queue.getJobScheduler(id)).toBeDefined();
    // Gone with the flush (the log lines below say each was found missing): looked for again within a second.
    await alerts.redis.flushall();
    // Without them no silent station would ever be noticed again, and a reading whose check job
    // failed would wait for its station's next reading.
    for (const { queue, id } of schedulers)
      await waitFor(async () => (await queue.getJobScheduler(id)) !== undefined, 30_000, `${id} recreated`);
    const losses = (what: string) => lines.filter((l) => l.code === 'TJ_REDIS_STATE_LOST' && l.what === what);
    await waitFor(() => losses('silence scheduler').length > 0 && losses('inbox sweep scheduler').length > 0, 10_000, 'losses logged');
    await new Promise((r) => setTimeout(r, 4000)); // a few more heartbeats: still one event each
    expect(losses('silence scheduler')).toHaveLength(1);
    expect(losses('inbox sweep scheduler')).toHaveLength(1);
  });
});

describe('a threshold store emptied under running workers', () => {
  it('is not re-seeded from thresholds.yaml: the version in force stays, the loss is logged once', async () => {
    const services = await startServices({ redis: { appendonly: false } });
    cleanups.push(() => services.stopAll());
    const { log, lines } = capturedLogger();
    const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined); // the outage is the point of the test
    cleanups.push(async () => redis.disconnect());
    const config = loadConfig();
    const seed = loadThresholdsFile(join(config.dir, THRESHOLDS_FILE), config.registry);
    const source = new RedisThresholdSource({ redis, registry: config.registry, prefix: 'tjthr', pollMs: 0, seed, log });
    const first = await source.current();
    expect(await source.store.headVersion()).toBe(1);

    await redis.flushall();
    for (let i = 0; i < 3; i++) expect((await source.refresh()).version).toBe(first.version);
    // Re-seeding would start a new history at version 1 and hide that the approved changes are gone.
    expect(await source.store.headVersion()).toBeNull();
    const events = lines.filter((l) => l.code === 'TJ_REDIS_STATE_LOST');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ level: 50, what: 'threshold store' });
  });
});

describe('/readyz while Redis is gone', () => {
  it('the ingest answers 503 with redis: false during the outage, and 200 once Redis is back', async () => {
    stack = await startIngestStack();
    const s = stack;
    const { log } = capturedLogger();
    const svc = await startIngest(s, log);
    await waitFor(async () => (await readyz(svc.httpPort!)).status === 200, 30_000, 'ingest ready');
    await s.services.redis.kill();
    const down = await readyz(svc.httpPort!);
    expect(down.status).toBe(503);
    expect(down.checks.redis).toBe(false);
    // A second probe while it is still down answers too (no probe left queued behind the first).
    expect((await readyz(svc.httpPort!)).checks.redis).toBe(false);
    await s.services.redis.start();
    await waitFor(async () => (await readyz(svc.httpPort!)).status === 200, 30_000, 'ready again after Redis returns');
  });

  it('the API answers 503 with redis: false during the outage, and 200 once Redis is back', async () => {
    const services = await startServices({ redis: { appendonly: false } });
    cleanups.push(() => services.stopAll());
    const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined); // the outage is the point of the test
    cleanups.push(async () => redis.disconnect());
    const api = await startApiServer({
      store: new NotifyStore(redis, 'tjapi'),
      redis,
      ackSecret: 'test-ack-secret-0123456789abcdef',
      publicUrl: 'http://api.test',
      cities: {},
      port: 0,
      host: '127.0.0.1',
    });
    cleanups.push(() => api.close());
    await waitFor(async () => (await readyz(api.port)).status === 200, 30_000, 'api ready');
    await services.redis.kill();
    const down = await readyz(api.port);
    expect(down.status).toBe(503);
    expect(down.checks).toEqual({ redis: false });
    await services.redis.start();
    await waitFor(async () => (await readyz(api.port)).status === 200, 30_000, 'ready again after Redis returns');
  });

  it('the notify worker reports Redis and SMTP, each false while it is gone', async () => {
    const services = await startServices({ redis: { appendonly: false } });
    cleanups.push(() => services.stopAll());
    const sink: SmtpSink = await startSmtpSink();
    let sinkOpen = true;
    cleanups.push(() => (sinkOpen ? sink.close() : Promise.resolve()));
    const redis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
    redis.on('error', () => undefined); // the outage is the point of the test
    cleanups.push(async () => redis.disconnect());
    const ready = notifyReadiness({ redis, smtpUrl: sink.url, cacheMs: 0 });
    const ops = await startOpsServer(0, { healthy: () => true, ready }, new Registry());
    cleanups.push(() => ops.close());

    // With redis.wait_replicas 1 it also asks for the replica (a single node has none).
    const store = new NotifyStore(redis, 'tjfaults', { replicas: 1 });
    const needingReplica = notifyReadiness({ redis, smtpUrl: sink.url, cacheMs: 0, replicasOnline: () => store.enoughReplicasOnline() });

    await waitFor(async () => (await readyz(ops.port)).status === 200, 30_000, 'notify ready');
    expect((await readyz(ops.port)).checks).toEqual({ redis: true, smtp: true });
    expect(await needingReplica()).toEqual({ ready: false, checks: { redis: true, smtp: true, redis_replicas: false } });

    await services.redis.kill();
    const noRedis = await readyz(ops.port);
    expect(noRedis.status).toBe(503);
    expect(noRedis.checks).toEqual({ redis: false, smtp: true });
    // Answered, and nothing left queued behind the reconnect (a question per probe would pile up).
    expect(await needingReplica()).toEqual({ ready: false, checks: { redis: false, smtp: true, redis_replicas: false } });
    expect((redis as unknown as { offlineQueue: { length: number } }).offlineQueue.length).toBe(0);

    await services.redis.start();
    await waitFor(async () => (await readyz(ops.port)).status === 200, 30_000, 'ready again after Redis returns');

    await sink.close();
    sinkOpen = false;
    const noSmtp = await readyz(ops.port);
    expect(noSmtp.status).toBe(503);
    expect(noSmtp.checks).toEqual({ redis: true, smtp: false });
  });
});
