import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LoadedConfig } from '../config/load.js';
import type { Env } from '../config/env.js';
import { ingestHttpPort } from '../config/http-ports.js';
import type { InfluxClient } from '../lib/influx/client.js';
import { createRedis, influxFromEnv, isClusterTarget, type RedisClient } from '../config/connections.js';
import { checkClusterNames, redisLayout, type RedisLayout } from '../config/redis-layout.js';
import { startOpsServer } from '../lib/http-server.js';
import { cachedProbe, influxAnswers, READINESS_BOUND_MS, redisAnswers, within } from '../lib/readiness.js';
import type { Logger } from '../lib/logger.js';
import { createIngestMetrics, type IngestMetrics } from '../lib/metrics.js';
import { StationRegistry } from '../config/station-registry.js';
import { ingestPartition, type Partition } from '../config/partition.js';
import { parseFrame } from './hj212/frame.js';
import { DeadLetterLog } from './dead-letter-log.js';
import { JournalBatcher } from './journal-batcher.js';
import { RedisJournal, type JournalItem } from './journal.js';
import { JournalWriter, type CheckSink } from './journal-writer.js';
import { MessageProcessor, type MessageContext, type Outcome } from './process-message.js';
import { StationRate } from './station-rate.js';
import { SOURCES, type Source, type SourceFactory } from './sources/index.js';
import { SPLIT_SWEEP_BATCH, SplitPacketStore } from './split-packet-store.js';
import { ERRORS, TuojiangError } from '../lib/errors.js';
import { logErrorsRateLimited, logRedisRecovery } from '../lib/redis-outage-log.js';
import { startHealthReporter, type HealthReporter } from '../lib/health-reporter.js';
import { diskFreeRatio, overcommitWarning, redisMemoryRatio } from '../lib/host-resources.js';
import type { Counter } from 'prom-client';
import type { TakeoverEvidence } from './session-takeover.js';

/** How long /readyz reports `mqtt_session: false` after a takeover: long enough for a probe to see it. */
const TAKEOVER_ALERT_MS = 5 * 60_000;
/** How long /readyz reports `redis_state: false` after Redis was found emptied: as long, for the same reason. */
const STATE_LOST_ALERT_MS = 5 * 60_000;
/** How often the station budget's unrecorded refusals are looked for (ingest/station-rate.ts takeUnrecorded). */
const RATE_RECORD_TICK_MS = 2000;

/** Sum over all label sets of a counter. */
async function counterValue(c: Counter): Promise<number> {
  return (await c.get()).values.reduce((a, v) => a + v.value, 0);
}

export interface IngestServiceOptions {
  config: LoadedConfig;
  env: Env;
  log: Logger;
  /** Overrides the configured HTTP port (0 = any free port). */
  httpPort?: number;
  /** Where stored readings are handed for threshold checks; none = ingest only. */
  checks?: CheckSink;
  /** How long SIGTERM may spend writing the journal backlog before exiting. */
  drainMs?: number;
  /** Bound on all of stop(); default SHUTDOWN_DEADLINE_S. */
  shutdownDeadlineMs?: number;
  /** Interval of the `pipeline_health` points for the dashboards; 0 = none. Default 10 s. */
  healthIntervalMs?: number;
  /** Where the host's vm.overcommit_memory is read (tests point it at a file of their own). */
  overcommitPath?: string;
  /** Where messages come from; default the list of ingest/sources/index.ts (each enabled by config). */
  sources?: readonly SourceFactory[];
  /** Key prefix (the split-packet store's keys), overriding REDIS_PREFIX and config redis.prefix (a command's --prefix). */
  prefix?: string;
}

/**
 * The ingest process: sources (MQTT, HJ 212 over TCP) -> decode/validate -> journal (acknowledged
 * to the sender after: PUBACK, HJ 212 answer) -> writer -> InfluxDB. Stateless apart from Redis and
 * InfluxDB, so any number can run: each with a partition of the stations (mqtt.partition, decision
 * 0017) or in one $share group (TCP loggers: behind a load balancer).
 */
export class IngestService {
  readonly metrics: IngestMetrics = createIngestMetrics();
  readonly instance: string;
  /** The key prefix and journal streams in use (config/redis-layout.ts). */
  readonly layout: RedisLayout;
  private readonly redis: RedisClient;
  private readonly writerRedis: RedisClient;
  private readonly influx: InfluxClient;
  readonly sources: readonly Source[];
  private readonly batcher: JournalBatcher;
  private readonly journal: RedisJournal;
  private readonly writer: JournalWriter;
  private readonly processor: MessageProcessor;
  private readonly splitStore: SplitPacketStore;
  private readonly registry: StationRegistry;
  private ops: Awaited<ReturnType<typeof startOpsServer>> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private rateTimer: NodeJS.Timeout | undefined;
  private recordingRefusals: Promise<void> | undefined;
  private readonly rateRecordSource = `station-budget:${randomUUID()}`;
  private rateRecordSeq = 0;
  private readonly stationRate: StationRate;
  private health: HealthReporter | undefined;
  /** This process's share of the stations (mqtt.partition, INGEST_PARTITION); undefined when unpartitioned. */
  private readonly partition: Partition | undefined;
  private draining = false;
  private readonly deadLetterLog: DeadLetterLog;
  /** The sweep of expired split packets running now: the next tick does not start another, stop() waits for it. */
  private sweepRun: Promise<void> | undefined;
  private inflight = 0;
  private lastTakeoverAt = 0;
  private lastStateLostAt = 0;
  /** Redis refused the last journal append for lack of memory, and none has succeeded since. */
  private redisFull = false;
  /** The last journal append did not reach redis.wait_replicas replicas in time, and none has since. */
  private notReplicated = false;
  private lastNotReplicatedLogAt = 0;
  private lastOomLogAt = 0;

  constructor(private readonly opts: IngestServiceOptions) {
    const { config, env, log } = opts;
    this.deadLetterLog = new DeadLetterLog(log);
    const s = config.settings;
    // A partition that cannot be (with a share group, say) refuses before anything connects.
    this.partition = ingestPartition(s.mqtt, env);
    this.instance =
      env.TUOJIANG_INSTANCE ??
      hostname()
        .replace(/[^A-Za-z0-9_-]/g, '-')
        .slice(0, 40);
    const layout = redisLayout(s, env, opts.prefix);
    this.layout = layout;
    // Before any connection: a cluster with untagged names would fail at the first script (CROSSSLOT).
    if (isClusterTarget(env.REDIS_URL)) checkClusterNames(layout);
    const redisOpts = { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false } as const;
    this.redis = createRedis(env.REDIS_URL, redisOpts);
    this.writerRedis = createRedis(env.REDIS_URL, redisOpts);
    logErrorsRateLimited(this.redis, 'ingest redis', log);
    logErrorsRateLimited(this.writerRedis, 'writer redis', log);
    logRedisRecovery(this.redis, 'ingest', log);
    this.influx = influxFromEnv(env);
    this.journal = new RedisJournal(this.redis, {
      stream: layout.journalStream,
      deadLetterStream: layout.deadLetterStream,
      deadLetterMax: s.ingest.dead_letter_max,
      resendWindowS: s.ingest.hj212_tcp.resend_window_s,
      replicas: env.REDIS_WAIT_REPLICAS ?? s.redis.wait_replicas,
      replicaTimeoutMs: s.redis.wait_timeout_ms,
    });
    this.batcher = new JournalBatcher(this.journal, log, (items) => this.count(items), undefined, {
      failed: (e) => this.onJournalFailed(e),
      recovered: () => this.onJournalRecovered(),
    });
    this.splitStore = new SplitPacketStore(
      this.redis,
      s.ingest.split_timeout_s * 1000,
      `${layout.prefix}:split`,
      s.ingest.split_max_pending_parts,
      {
        replicas: env.REDIS_WAIT_REPLICAS ?? s.redis.wait_replicas,
        timeoutMs: s.redis.wait_timeout_ms,
      },
      { failed: (e) => this.onJournalFailed(e), recovered: () => this.onJournalRecovered() },
    );
    this.registry = new StationRegistry(config.registry);
    this.stationRate = new StationRate({ perS: s.ingest.station_rate.per_s, burst: s.ingest.station_rate.burst });
    this.processor = new MessageProcessor({
      registry: this.registry,
      topicPrefix: s.mqtt.topic_prefix,
      maxPayloadBytes: s.ingest.max_payload_bytes,
      futureToleranceMs: s.ingest.future_tolerance_s * 1000,
      splitStore: this.splitStore,
      stationRate: this.stationRate,
    });
    this.writer = new JournalWriter(
      this.writerRedis,
      this.influx,
      this.journal,
      {
        stream: layout.journalStream,
        group: s.journal.group,
        consumer: this.instance,
        batchSize: s.writer.batch_size,
        blockMs: s.writer.block_ms,
        retryInitialMs: s.writer.retry_initial_ms,
        retryMaxMs: s.writer.retry_max_ms,
        claimIdleMs: s.writer.claim_idle_ms,
        lingerMs: s.writer.linger_ms,
        readEntries: s.writer.read_entries,
        correctionWindowS: Math.round(s.writer.correction_window_h * 3600),
      },
      log,
      this.metrics,
      opts.checks,
    );
    this.writer.onStateLost = (what) => this.onRedisStateLost(what);
    const ctx = {
      config,
      env,
      log,
      metrics: this.metrics,
      registry: this.registry,
      instance: this.instance,
      onSessionTakenOver: (clientId: string, evidence: TakeoverEvidence) => this.onSessionTakenOver(clientId, evidence),
    };
    this.sources = (opts.sources ?? SOURCES).map((make) => make(ctx)).filter((src): src is Source => src !== undefined);
  }

  /** The source of that name, if it runs (e.g. `hj212-tcp` to learn its port). */
  source<T extends Source = Source>(name: string): T | undefined {
    return this.sources.find((src) => src.name === name) as T | undefined;
  }

  private get held(): number {
    return this.sources.reduce((n, src) => n + src.held, 0);
  }

  /**
   * A number for a health point, NaN (left out) when Redis does not answer within half the health
   * interval: a slow Redis still gives the figures the Grafana rules read, a stalled one does not
   * hold the point back. Not even asked while disconnected: the command would wait in the offline
   * queue for the whole outage.
   */
  private askRedis(probe: () => Promise<number>): Promise<number> {
    const boundMs = (this.opts.healthIntervalMs ?? 10_000) / 2;
    return this.redis.status === 'ready' ? within(boundMs, probe, NaN) : Promise.resolve(NaN);
  }

  get httpPort(): number | undefined {
    return this.ops?.port;
  }

  async start(): Promise<void> {
    const { log } = this.opts;
    await this.retryUntilReady('InfluxDB database', () => this.influx.ensureDatabase());
    await this.writer.start();
    // The writer learns of an InfluxDB outage only when it has something to write: a quiet night
    // would report a dead InfluxDB as ready.
    const influxUp = cachedProbe(() => influxAnswers(this.influx), 2000);
    // What the sources hold (a partitioned ingest: its partition and how many stations), for /readyz and the log.
    const info = Object.assign({}, ...this.sources.map((src) => src.describe?.() ?? {})) as Record<string, unknown>;
    const ready = async (): Promise<{ ready: boolean; checks: Record<string, boolean>; info?: Record<string, unknown> }> => {
      const [redis, influxPing, replicasOnline] = await Promise.all([
        redisAnswers(this.redis),
        influxUp(),
        within(READINESS_BOUND_MS - 200, () => this.journal.enoughReplicasOnline(), false),
      ]);
      // mqtt_session: no connection lost its session to another client in the last TAKEOVER_ALERT_MS.
      const mqttSession = Date.now() - this.lastTakeoverAt > TAKEOVER_ALERT_MS;
      // redis_state: Redis was not found emptied in the last STATE_LOST_ALERT_MS.
      const redisState = Date.now() - this.lastStateLostAt > STATE_LOST_ALERT_MS;
      const sourceChecks = Object.assign({}, ...this.sources.map((src) => src.ready())) as Record<string, boolean>;
      const checks = {
        ...sourceChecks,
        mqtt_session: mqttSession,
        redis,
        redis_state: redisState,
        redis_memory: !this.redisFull,
        // Both: INFO shows a replica lost while nothing is appended, and a refused append is proof that
        // readings are held even when INFO still counts a replica (one too slow for the append's WAIT).
        redis_replicas: replicasOnline && !this.notReplicated,
        influxdb: this.writer.influxOk && influxPing,
      };
      return { ready: Object.values(checks).every(Boolean), checks, ...(Object.keys(info).length > 0 ? { info } : {}) };
    };
    this.ops = await startOpsServer(
      this.opts.httpPort ?? ingestHttpPort(this.opts.env, this.opts.config.settings.ingest.http_port, log),
      {
        healthy: () => !this.draining,
        ready,
      },
      this.metrics.registry,
      this.opts.env.HTTP_HOST,
    );
    try {
      for (const src of this.sources) await src.start((topic, payload, context) => this.onMessage(src, topic, payload, context));
    } catch (e) {
      // A source that cannot start (the HJ 212 port taken) stops the ingest: undo what did start.
      await this.stop().catch(() => undefined);
      throw e;
    }
    const splitTimeoutMs = this.opts.config.settings.ingest.split_timeout_s * 1000;
    this.sweepTimer = setInterval(() => void this.sweepSplits(splitTimeoutMs), Math.min(5000, splitTimeoutMs));
    this.rateTimer = setInterval(() => void this.recordRateRefusals(), RATE_RECORD_TICK_MS);
    if ((this.opts.healthIntervalMs ?? 10_000) > 0) {
      this.health = startHealthReporter({
        influx: this.influx,
        service: 'ingest',
        instance: this.instance,
        // The partition rule checks each N's processes against that N, so a set being retired while N changes is not counted with the new one.
        ...(this.partition ? { tags: { partitions: String(this.partition.count) } } : {}),
        intervalMs: this.opts.healthIntervalMs ?? 10_000,
        sample: async () => ({
          readings_in: await counterValue(this.metrics.readingsIn),
          readings_written: await counterValue(this.metrics.readingsWritten),
          readings_rejected: await counterValue(this.metrics.readingsRejected),
          hj212_quirks: await counterValue(this.metrics.hj212Quirks),
          hj212_resent: await counterValue(this.metrics.hj212Resent),
          // Redis unreachable from this process must still give a point, with ready 0: a command
          // waits for the reconnection, and with other ingests reporting ready, no point at all
          // would leave the readiness rule quiet. (askRedis bounds it.)
          journal_backlog: await this.askRedis(() => this.redis.xlen(this.layout.journalStream)),
          write_lag_s: this.writer.lastWriteLagS,
          redis_memory_ratio: await this.askRedis(() => redisMemoryRatio(this.redis)),
          redis_oom_refusals: await counterValue(this.metrics.redisOutOfMemory),
          disk_free_ratio: await diskFreeRatio().catch(() => NaN),
          // The Grafana rule "ingest not ready" reads this: the same answer as /readyz.
          ready: (await ready()).ready ? 1 : 0,
          // The rule "ingest partition not reporting" counts the k reporting against N: a dead
          // partition writes nothing, which the other processes' readiness cannot show.
          ...(this.partition ? { partition_index: this.partition.index, partition_count: this.partition.count } : {}),
        }),
        // Which station deviates how: one point per (station, quirk), tags station and quirk.
        series: async () =>
          (await this.metrics.hj212Quirks.get()).values.map((v) => ({
            tags: { station: String(v.labels.station), quirk: String(v.labels.quirk) },
            fields: { hj212_quirks: v.value },
          })),
        onError: (e) => log.debug({ err: (e as Error).message }, 'pipeline health not written'),
      });
    }
    const overcommit = await overcommitWarning(this.opts.overcommitPath);
    if (overcommit)
      log.warn({ code: ERRORS.HOST_OVERCOMMIT.code, setting: 'vm.overcommit_memory', hint: ERRORS.HOST_OVERCOMMIT.hint }, overcommit);
    log.info(
      {
        instance: this.instance,
        httpHost: this.opts.env.HTTP_HOST,
        httpPort: this.ops.port,
        sources: this.sources.map((src) => src.name),
        connections: this.opts.config.settings.mqtt.connections,
        ...info,
      },
      'ingest started',
    );
  }

  /**
   * Whoever holds our session receives, and acknowledges, readings meant for us: they are gone for
   * good. Reconnecting (MQTT.js does) takes the session back; the log line, the counter and
   * /readyz are how an operator learns that it happened.
   */
  private onSessionTakenOver(clientId: string, evidence: TakeoverEvidence): void {
    this.lastTakeoverAt = Date.now();
    this.metrics.sessionTakeovers.inc({ client_id: clientId, evidence });
    const err = new TuojiangError('MQTT_SESSION_TAKEN_OVER', `MQTT session of ${clientId} was taken over by another client (${evidence})`);
    this.opts.log.error({ code: err.code, clientId, evidence, hint: err.hint }, err.message);
  }

  /**
   * Redis came back without our state. The writer has already recreated what it reads from; readings
   * journaled but not yet written before the loss are gone, and only an operator can find out why.
   */
  private onRedisStateLost(what: string): void {
    this.lastStateLostAt = Date.now();
    this.metrics.redisStateLost.inc({ what });
    const err = new TuojiangError(
      'REDIS_STATE_LOST',
      `Redis was found without the ${what} (emptied or replaced); recreated, the pipeline goes on`,
    );
    this.opts.log.error({ code: err.code, what, hint: err.hint }, err.message);
  }

  /**
   * Redis at maxmemory (noeviction) refuses the journal's writes with an OOM error. The batcher
   * already holds the PUBACKs and retries, so nothing is lost; what was missing is that anyone
   * hears of it: readiness, a counter, and an error line (at most one a minute) with the code.
   */
  private onJournalFailed(e: Error): void {
    if (e instanceof TuojiangError && e.code === ERRORS.REDIS_NOT_REPLICATED.code) {
      this.notReplicated = true;
      this.metrics.journalNotReplicated.inc();
      if (Date.now() - this.lastNotReplicatedLogAt < 60_000) return;
      this.lastNotReplicatedLogAt = Date.now();
      this.opts.log.error(
        { code: e.code, err: e.message, held: this.held, hint: e.hint },
        'journal appends are not replicated: readings held unacknowledged and retried',
      );
      return;
    }
    if (!/\bOOM\b|maxmemory/i.test(e.message)) return;
    this.redisFull = true;
    this.metrics.redisOutOfMemory.inc();
    if (Date.now() - this.lastOomLogAt < 60_000) return;
    this.lastOomLogAt = Date.now();
    const err = new TuojiangError(
      'REDIS_OOM',
      "Redis refuses the journal's writes at maxmemory; readings are held unacknowledged (at the broker, or unanswered to the loggers) and retried",
    );
    this.opts.log.error({ code: err.code, err: e.message, held: this.held, hint: err.hint }, err.message);
  }

  private onJournalRecovered(): void {
    this.notReplicated = false;
    if (!this.redisFull) return;
    this.redisFull = false;
    this.opts.log.info({ code: 'TJ_REDIS_OOM' }, "Redis accepts the journal's writes again");
  }

  private onMessage(source: Source, topic: string, payload: Buffer, context?: MessageContext): Promise<void> {
    if (this.draining) return Promise.reject(new Error('draining: the sender will deliver it again'));
    this.metrics.received.pending++;
    const outcome = this.processor.process(topic, payload, context);
    if (outcome instanceof Promise) {
      this.metrics.splitParts.inc();
      this.inflight++;
      return outcome
        .then((o) => this.journalOutcome(source, o))
        .finally(() => {
          this.inflight--;
        });
    }
    // Not journaled, so not counted with a batch: in = journaled + rejected still holds.
    if (outcome.dropped !== undefined) this.metrics.readingsRejected.inc({ reason: outcome.dropped });
    return this.journalOutcome(source, outcome);
  }

  private journalOutcome(source: Source, outcome: Outcome): Promise<void> {
    const durable = this.batcher.add(outcome.items);
    if (outcome.onDurable) {
      const release = outcome.onDurable;
      durable
        .then(release)
        .catch((e: unknown) => this.opts.log.warn({ err: (e as Error).message }, 'split-packet parts not released; they expire'));
    }
    if (outcome.replies.length > 0) {
      // Answer only once the reading is durable: the answer tells the logger it need not resend.
      void durable.then(
        () => {
          for (const reply of outcome.replies) {
            source.reply(reply.station, reply.payload).then(
              () => this.metrics.repliesSent.inc(),
              (e: unknown) =>
                this.opts.log.warn(
                  { source: source.name, station: reply.station, err: (e as Error).message },
                  'HJ 212 answer not sent; the logger will re-send',
                ),
            );
          }
        },
        () => undefined,
      );
    }
    return durable;
  }

  private count(items: readonly JournalItem[]): void {
    let water = 0;
    let air = 0;
    for (const item of items) {
      if (item.kind === 'reading') {
        if (item.duplicate) {
          this.metrics.hj212Resent.inc({ station: item.reading.station });
          continue;
        }
        for (const quirk of item.reading.quirks ?? []) this.metrics.hj212Quirks.inc({ station: item.reading.station, quirk });
        if (item.reading.medium === 'water') water++;
        else air++;
      } else {
        const refused = item.dead.details?.refused;
        if (Array.isArray(refused))
          for (const r of refused as { parameter?: unknown }[]) this.metrics.valuesRefused.inc({ parameter: String(r.parameter) });
        // A kept reading with a refused value is not a refused message: in = journaled + rejected holds.
        if (!item.dead.readingKept) this.metrics.readingsRejected.inc({ reason: item.dead.reason });
        this.deadLetterLog.write(item.dead);
      }
    }
    if (water > 0) this.metrics.readingsJournaled.inc({ medium: 'water' }, water);
    if (air > 0) this.metrics.readingsJournaled.inc({ medium: 'air' }, air);
  }

  /** Split packets whose parts did not all arrive in time are dead-lettered with every part kept. */
  private sweepSplits(timeoutMs: number): Promise<void> {
    if (this.sweepRun) return this.sweepRun;
    this.sweepRun = this.sweepExpired(timeoutMs).finally(() => {
      this.sweepRun = undefined;
    });
    return this.sweepRun;
  }

  private async sweepExpired(timeoutMs: number): Promise<void> {
    try {
      // Until a call comes back short: one call per tick cleared 20 packets a second, fewer than one
      // station sending parts that never complete can leave. A packet leaves the store only once its
      // dead letter is durable; if that fails, its lease runs out and a later sweep takes it again.
      for (;;) {
        const now = Date.now();
        const taken = await this.splitStore.takeExpired(now - timeoutMs, now);
        if (taken.groups.length > 0) {
          await this.deadLetterSplits(taken.groups, timeoutMs);
          await taken.release();
        }
        if (taken.examined < SPLIT_SWEEP_BATCH || this.draining) break;
      }
    } catch (e) {
      this.opts.log.warn(
        { err: (e as Error).message },
        'split-packet sweep failed; the packets it took are swept again after the split timeout',
      );
    }
  }

  /**
   * The refusals over a station's budget that no record counted yet, once the station stopped (no
   * later refusal to carry the count): a tally each (MessageProcessor.refusalTally). Already counted
   * in tuojiang_readings_rejected_total one by one, so not counted again. If the append fails, the
   * counts go back to their stations for the next try.
   */
  private recordRateRefusals(now = Date.now()): Promise<void> {
    // One at a time: with Redis unreachable an append waits, and the counts stay with their stations.
    this.recordingRefusals ??= this.recordRateRefusalsNow(now).finally(() => {
      this.recordingRefusals = undefined;
    });
    return this.recordingRefusals;
  }

  private async recordRateRefusalsNow(now: number): Promise<void> {
    const stations = this.stationRate.takeUnrecorded(now);
    if (stations.length === 0) return;
    const receivedAt = Math.min(now, Date.now());
    const items = stations.map(({ station, refused }) => this.processor.refusalTally(station, refused, receivedAt));
    try {
      // Its own batch numbers: a reply lost in a reconnect makes ioredis send the script again, and
      // the number makes that a no-op instead of a second record.
      await this.journal.append(items, { source: this.rateRecordSource, seq: ++this.rateRecordSeq });
      // Logged here, not through the dead-letter log: these are tallies, not messages, and the last
      // of a flood could fall inside that log's window with no later line to report it.
      for (const { station, refused } of stations)
        this.opts.log.warn(
          { code: ERRORS.RATE_LIMITED.code, station, refused, event: 'refusals recorded' },
          `${station}: ${refused} more message(s) refused over ingest.station_rate, recorded`,
        );
    } catch (e) {
      this.stationRate.giveBack(stations);
      this.opts.log.warn(
        { err: (e as Error).message, stations: stations.length },
        'station budget refusals not recorded yet; counted, and tried again',
      );
    }
  }

  /** Incomplete split packets as TJ_SPLIT_INCOMPLETE dead letters, their parts as the payload. */
  private async deadLetterSplits(groups: string[][], timeoutMs: number): Promise<void> {
    const items: JournalItem[] = groups.map((parts) => {
      let mn = '';
      try {
        mn = parseFrame(parts[0] ?? '').mn;
      } catch {
        /* parts were validated on arrival */
      }
      // Each part's MN was matched to a registered station on arrival, so the MN names the station
      // (the parts' own topics are not stored: a frame may come on any subscribed topic).
      const station = this.registry.byMN(mn);
      const err = new TuojiangError(
        'SPLIT_INCOMPLETE',
        `split packet from MN ${mn}: ${parts.length} part(s) arrived within ${timeoutMs / 1000} s`,
      );
      return {
        kind: 'dead',
        dead: {
          reason: err.code,
          message: err.message,
          topic: '(split reassembly)',
          station: station?.id,
          payload: Buffer.from(parts.join('\n')),
          receivedAt: Date.now(),
        },
      };
    });
    await this.journal.append(items);
    this.count(items);
  }

  private async retryUntilReady(what: string, fn: () => Promise<void>): Promise<void> {
    let delay = 250;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt === 1 || attempt % 10 === 0) this.opts.log.warn({ err: (e as Error).message, attempt }, `${what} not ready; retrying`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  }

  /**
   * SIGTERM: stop taking messages (no more PUBACKs), let the journal batch in flight finish, close the
   * MQTT sessions (the broker keeps queueing), write the backlog for up to drainMs, close. All of it
   * within the shutdown deadline: with Redis unreachable a journal append or a Redis command waits
   * forever, so at the deadline what is not journaled is given up (never PUBACKed, the broker
   * redelivers it), the connections are dropped, and stop() rejects with SHUTDOWN_INCOMPLETE.
   */
  async stop(): Promise<void> {
    const deadlineMs = this.opts.shutdownDeadlineMs ?? this.opts.env.SHUTDOWN_DEADLINE_S * 1000;
    const deadline = Date.now() + deadlineMs;
    const left = (): number => Math.max(0, deadline - Date.now());
    this.draining = true;
    this.splitStore.close();
    for (const src of this.sources) src.quiesce();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.rateTimer) clearInterval(this.rateTimer);
    // A sweep journals the dead letters of the packets it leased: let it finish, or they are
    // dead-lettered a second time after the split timeout.
    await finishesWithin(this.sweepRun ?? Promise.resolve(), left());
    let unjournaled = 0;
    if (!(await finishesWithin(this.batcher.close(), left()))) {
      unjournaled = this.held;
      this.batcher.abort();
    } else {
      // The readings first; then the last window's refusals over a station budget on record too,
      // whatever their window, within what is left of the deadline.
      await finishesWithin(
        (this.recordingRefusals ?? Promise.resolve()).then(() => this.recordRateRefusals(Number.MAX_SAFE_INTEGER)),
        left(),
      );
    }
    // The journal is closed: every answer owed has been handed to its source, which delivers it and closes.
    if (!(await finishesWithin(Promise.all(this.sources.map((src) => src.stop())), left()))) for (const src of this.sources) src.drop();
    const writerDone = await finishesWithin(this.writer.stop(Math.min(this.opts.drainMs ?? 10_000, left())), left());
    await finishesWithin(this.health?.stop() ?? Promise.resolve(), left());
    await this.ops?.close();
    const complete = unjournaled === 0 && writerDone;
    if (complete) {
      await Promise.all([this.redis.quit().catch(() => undefined), this.writerRedis.quit().catch(() => undefined)]);
      this.opts.log.info({ inflight: this.inflight }, 'ingest stopped');
      return;
    }
    // quit() would queue behind the commands waiting for Redis; disconnect() fails them.
    this.redis.disconnect();
    this.writerRedis.disconnect();
    const err = new TuojiangError(
      'SHUTDOWN_INCOMPLETE',
      `ingest shutdown deadline (${deadlineMs / 1000} s) passed: ${unjournaled} message(s) not journaled, left unacknowledged for their senders to deliver again; writer ${writerDone ? 'stopped' : 'still waiting on Redis (journaled readings stay in the journal)'}`,
    );
    this.opts.log.error(
      { code: err.code, unjournaled, writerStopped: writerDone, deadlineS: deadlineMs / 1000, hint: err.hint },
      err.message,
    );
    throw err;
  }
}

/** Whether `p` settles within `ms` (a rejection counts as finished: stop() goes on either way). */
async function finishesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
