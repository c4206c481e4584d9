/**
 * A notify process: BullMQ workers on the `notify` queue (routing and grouping), `notify-mail`
 * (one delivery per batch on its channel: e-mail through the pooled SMTP transport, WeCom robots,
 * webhooks; the queue keeps its name from when e-mail was the only one) and `notify-escalate`
 * (escalation checks). Stateless apart from Redis: run as many as you like, on any machines.
 */
import { hostname } from 'node:os';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { createRedis, isClusterTarget, type RedisClient } from '../../config/connections.js';
import { checkClusterNames } from '../../config/redis-layout.js';
import { Counter, Histogram, Registry } from 'prom-client';
import type { Logger } from '../../lib/logger.js';
import type { StationRegistry } from '../../config/station-registry.js';
import type { AlertEvent } from '../events.js';
import { DEFAULT_PREFIX, QUEUE_NOTIFY } from '../keys.js';
import type { NotifyConfig } from './config.js';
import { runEscalation } from './escalation.js';
import { QUEUE_ESCALATE, QUEUE_INCIDENT, QUEUE_MAIL } from './keys.js';
import { cappedBackoff, deliverBatch, type SentNotice } from './deliver.js';
import { createChannels } from './channels/index.js';
import { handedOverAt } from './delivery-latency.js';
import { routeTransition, type EscalateJobData, type MailJobData } from './router.js';
import { drain, isIncidentEvidence, runTick, takeEvidence, type IncidentContext, type IncidentJobData } from '../incidents/processor.js';
import { IncidentStore } from '../incidents/store.js';
import { NotifyStore, type DeadLetter } from './store.js';
import { ThresholdNoticeRelay } from './threshold-notices.js';
import { createSmtpTransport, type MailTransport } from './transport.js';
import { logErrorsRateLimited, logRedisRecovery } from '../../lib/redis-outage-log.js';

export interface NotifyServiceOptions {
  redisUrl: string;
  prefix?: string;
  registry: StationRegistry;
  config: NotifyConfig;
  /** SMTP_URL, MAIL_FROM, ACK_SECRET, PUBLIC_URL, GRAFANA_URL (alerts/notify/env.ts). */
  smtpUrl: string;
  mailFrom: string;
  ackSecret: string;
  publicUrl: string;
  grafanaUrl: string;
  /** Replaces the SMTP transport (tests of what happens around it). */
  transport?: MailTransport;
  /** redis.wait_replicas and wait_timeout_ms: replicas that must hold a delivery's commit before the message is handed over. */
  waitReplicas?: { replicas: number; timeoutMs: number };
  /** Where the URLs and secrets of WeCom robots and webhook endpoints are read (default process.env). */
  channelEnv?: Record<string, string | undefined>;
  /** Length of the channels' rate windows (default 60 000: WeCom's per-minute limit); tests shorten it. */
  rateWindowMs?: number;
  routeConcurrency?: number;
  mailConcurrency?: number;
  /** BullMQ lock and stalled-check timing (tests shorten them to see a killed worker's jobs sooner). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Run only some of the workers in this process (default all; `thresholds`: e-mails about threshold changes). */
  roles?: Array<'route' | 'mail' | 'escalate' | 'thresholds'>;
  /** How often the threshold-notice relay looks for changes (ms, default 500). */
  thresholdPollMs?: number;
  now?: () => number;
  /** Clock ms per wall ms of `now` (the demo's replay speed): timers are set in wall time. */
  timeScale?: number;
  log?: Logger;
  onSent?: (s: SentNotice) => void;
  /** Called when a transition has been routed and placed (wall clock). */
  onRouted?: (event: AlertEvent, at: number) => void;
  onDead?: (d: Omit<DeadLetter, 'id'>) => void;
}

export interface NotifyService {
  readonly store: NotifyStore;
  readonly metrics: Registry;
  readonly workers: readonly Worker[];
  /** The service's own connection, for /readyz. */
  readonly redis: RedisClient;
  close(): Promise<void>;
}

/** Mail jobs retry on 4xx and connection errors until delivered or given up (delivery.give_up_after_h). */
export const MAIL_JOB_OPTIONS = {
  attempts: 1_000_000,
  backoff: { type: 'capped' },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

export const INCIDENT_JOB_OPTIONS = {
  attempts: 20,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

export const ESCALATE_JOB_OPTIONS = {
  attempts: 20,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
} as const;

export function createNotifyMetrics() {
  const registry = new Registry();
  return {
    registry,
    routed: new Counter({
      name: 'tuojiang_notify_transitions_total',
      help: 'Alert transitions routed to bureaus',
      labelNames: ['kind'],
      registers: [registry],
    }),
    sent: new Counter({ name: 'tuojiang_notify_emails_total', help: 'E-mails by outcome', labelNames: ['outcome'], registers: [registry] }),
    deliveries: new Counter({
      name: 'tuojiang_notify_deliveries_total',
      help: 'Deliveries by channel (email, wecom, webhook) and outcome',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    }),
    waits: new Counter({
      name: 'tuojiang_notify_rate_waits_total',
      help: "Deliveries held back by a channel's rate limit (queued, not dropped), by channel",
      labelNames: ['channel'],
      registers: [registry],
    }),
    reports: new Counter({
      name: 'tuojiang_incident_reports_total',
      help: 'Incident reports issued (initial, followup, final)',
      labelNames: ['kind'],
      registers: [registry],
    }),
    escalations: new Counter({
      name: 'tuojiang_notify_escalations_total',
      help: 'Escalation checks by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    thresholdNotices: new Counter({
      name: 'tuojiang_notify_threshold_emails_total',
      help: "E-mails telling a bureau of the other city's threshold changes and proposals, by outcome",
      labelNames: ['outcome'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'tuojiang_notify_delivery_seconds',
      help: 'From the reading being handed to the checks to the SMTP server accepting the e-mail (notices and incident reports; not escalations)',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
  };
}

export async function startNotifyService(o: NotifyServiceOptions): Promise<NotifyService> {
  const prefix = o.prefix ?? DEFAULT_PREFIX;
  if (isClusterTarget(o.redisUrl)) checkClusterNames({ prefix });
  const roles = new Set(o.roles ?? ['route', 'mail', 'escalate', 'thresholds']);
  const connections: RedisClient[] = [];
  const connect = (): RedisClient => {
    const r = createRedis(o.redisUrl, { maxRetriesPerRequest: null });
    logErrorsRateLimited(r, `notify redis #${connections.length}`, o.log);
    connections.push(r);
    return r;
  };
  const main = connect();
  logRedisRecovery(main, 'notify', o.log);
  const store = new NotifyStore(main, prefix, {
    replicas: o.waitReplicas?.replicas ?? 0,
    replicaTimeoutMs: o.waitReplicas?.timeoutMs ?? 2000,
  });
  const m = createNotifyMetrics();
  const now = o.now ?? Date.now;
  const delivery = o.config.recipients.delivery;
  const transport =
    o.transport ??
    createSmtpTransport({
      url: o.smtpUrl,
      maxConnections: delivery.max_connections,
      // Every SMTP wait ends well inside one attempt's lease.
      timeoutMs: Math.max(1000, Math.floor((delivery.attempt_timeout_s * 1000) / 3)),
      ...(o.log ? { log: o.log } : {}),
    });
  let channels;
  try {
    channels = createChannels({
      config: o.config,
      env: o.channelEnv ?? process.env,
      redis: main,
      prefix,
      transport,
      now: Date.now,
      ...(o.rateWindowMs ? { rateWindowMs: o.rateWindowMs } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
  } catch (e) {
    // A robot or endpoint without its URL or secret: refuse to start, and leave nothing open.
    await transport.close();
    main.disconnect();
    throw e;
  }
  const mailQueue = new Queue<MailJobData>(QUEUE_MAIL, { connection: main, prefix, defaultJobOptions: MAIL_JOB_OPTIONS });
  const escalateQueue = new Queue<EscalateJobData>(QUEUE_ESCALATE, { connection: main, prefix, defaultJobOptions: ESCALATE_JOB_OPTIONS });
  const incidentQueue = new Queue<IncidentJobData>(QUEUE_INCIDENT, { connection: main, prefix, defaultJobOptions: INCIDENT_JOB_OPTIONS });
  logErrorsRateLimited(mailQueue, 'mail queue', o.log);
  logErrorsRateLimited(escalateQueue, 'escalate queue', o.log);
  logErrorsRateLimited(incidentQueue, 'incident queue', o.log);
  const ctx: IncidentContext = {
    store,
    registry: o.registry,
    config: o.config,
    links: { publicUrl: o.publicUrl, grafanaUrl: o.grafanaUrl, ackSecret: o.ackSecret },
    mailQueue,
    escalateQueue,
    now,
    timeScale: o.timeScale ?? 1,
    ...(o.log ? { log: o.log } : {}),
    incidents: new IncidentStore(main, prefix),
    incidentQueue,
  };
  const timing = {
    ...(o.lockDurationMs ? { lockDuration: o.lockDurationMs } : {}),
    ...(o.stalledIntervalMs ? { stalledInterval: o.stalledIntervalMs } : {}),
    // A worker killed mid-job leaves it stalled; it must go back to wait, not fail.
    maxStalledCount: 10,
  };
  const workers: Worker[] = [];
  const instance = `${hostname()}-${process.pid}`;

  if (roles.has('route')) {
    const w = new Worker<AlertEvent>(
      QUEUE_NOTIFY,
      async (job: Job<AlertEvent>) => {
        const station = o.registry.get(job.data.station);
        if (station && o.config.recipients.incidents.enabled && isIncidentEvidence(job.data, station)) {
          // Pollution transitions are evidence of incidents: the reports are what the bureaus get.
          const { scope } = await takeEvidence(ctx, job.data, station);
          m.routed.inc({ kind: job.data.kind });
          o.onRouted?.(job.data, now());
          return { status: 'evidence', scope };
        }
        const out = await routeTransition(ctx, job.data, job.attemptsMade);
        if (out.status === 'routed') {
          m.routed.inc({ kind: job.data.kind });
          o.onRouted?.(job.data, now());
        }
        return out;
      },
      { connection: connect(), prefix, concurrency: o.routeConcurrency ?? 8, name: instance, ...timing },
    );
    w.on('failed', (job, err) =>
      o.log?.[err.name === 'EpisodeNotYetKnown' ? 'debug' : 'warn'](
        { job: job?.id, err: err.message, attempts: job?.attemptsMade },
        'notify routing failed',
      ),
    );
    workers.push(w);
  }
  if (roles.has('route')) {
    const w = new Worker<IncidentJobData>(
      QUEUE_INCIDENT,
      async (job: Job<IncidentJobData>) => {
        const reports = job.data.type === 'tick' ? await runTick(ctx, job.data.scope) : await drain(ctx, job.data.scope);
        for (const r of reports) m.reports.inc({ kind: r.kind });
        return { reports: reports.map((r) => r.id) };
      },
      { connection: connect(), prefix, concurrency: o.routeConcurrency ?? 8, name: instance, ...timing },
    );
    w.on('failed', (job, err) => o.log?.warn({ job: job?.id, err: err.message, attempts: job?.attemptsMade }, 'incident job failed'));
    workers.push(w);
  }
  if (roles.has('mail')) {
    const w = new Worker<MailJobData>(
      QUEUE_MAIL,
      async (job: Job<MailJobData>, token?: string) => {
        return deliverBatch(
          {
            store,
            registry: o.registry,
            config: o.config,
            channels,
            mailFrom: o.mailFrom,
            now,
            ...(o.log ? { log: o.log } : {}),
            onSent: (s) => {
              const from = handedOverAt(s.items);
              if (from !== undefined) m.latency.observe((s.at - from) / 1000);
              o.onSent?.(s);
            },
            ...(o.onDead ? { onDead: o.onDead } : {}),
            onOutcome: (channel, outcome) => {
              m.deliveries.inc({ channel, outcome });
              if (channel === 'email' && outcome !== 'waiting' && outcome !== 'rate-limited') m.sent.inc({ outcome });
              if (outcome === 'rate-limited') m.waits.inc({ channel });
            },
          },
          job,
          token,
        );
      },
      {
        connection: connect(),
        prefix,
        concurrency: o.mailConcurrency ?? 8,
        name: instance,
        ...timing,
        settings: { backoffStrategy: cappedBackoff(delivery.retry_initial_s * 1000, delivery.retry_max_s * 1000) },
      },
    );
    w.on('failed', (job, err) => {
      if (err instanceof DelayedError) return;
      o.log?.debug({ job: job?.id, err: err.message, attempts: job?.attemptsMade }, 'delivery job failed');
    });
    workers.push(w);
  }
  if (roles.has('escalate')) {
    const w = new Worker<EscalateJobData>(
      QUEUE_ESCALATE,
      async (job: Job<EscalateJobData>) => {
        const outcome = await runEscalation(ctx, job.data);
        m.escalations.inc({ outcome });
        return outcome;
      },
      { connection: connect(), prefix, concurrency: 4, name: instance, ...timing },
    );
    workers.push(w);
  }
  let thresholdNotices: ThresholdNoticeRelay | undefined;
  if (roles.has('thresholds')) {
    thresholdNotices = new ThresholdNoticeRelay({
      redis: connect(),
      prefix,
      registry: o.registry,
      config: o.config,
      transport,
      mailFrom: o.mailFrom,
      publicUrl: o.publicUrl,
      consumer: instance,
      now,
      sent: m.thresholdNotices,
      ...(o.thresholdPollMs ? { pollMs: o.thresholdPollMs } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    thresholdNotices.start();
  }
  for (const w of workers) logErrorsRateLimited(w, `notify worker ${w.name}`, o.log);
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  o.log?.info({ prefix, roles: [...roles] }, 'notify started');

  return {
    store,
    metrics: m.registry,
    workers,
    redis: main,
    async close() {
      await thresholdNotices?.stop();
      await Promise.all(workers.map((w) => w.close()));
      await mailQueue.close();
      await escalateQueue.close();
      await incidentQueue.close();
      for (const c of channels.values()) await c.close();
      await Promise.all(connections.map((r) => r.quit().catch(() => r.disconnect())));
    },
  };
}
