import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { Queue } from 'bullmq';
import { AlertStore } from '../../alerts/alert-store.js';
import type { AnyCheckJobData } from '../../alerts/check-enqueuer.js';
import { InboxSweeper, STALE_INBOX_MS } from '../../alerts/inbox-sweep.js';
import { QUEUE_CHECKS, STATION_SERIES } from '../../alerts/keys.js';
import { cst } from '../../alerts/messages.js';
import { startAlertsService } from '../../alerts/service.js';
import { SILENCE_KEY } from '../../alerts/silence.js';
import { acknowledge } from '../../alerts/notify/ack.js';
import { cstTime } from '../../alerts/notify/render.js';
import { NotifyStore } from '../../alerts/notify/store.js';
import { bureauLine, describeEntry, withStore } from '../notify-records.js';
import { IncidentLookup, incidentJson, incidentSummary, isIncidentRecord } from '../incident-summary.js';
import { redisFromEnv, withCommandRedis } from '../../config/connections.js';
import { readEnv, type Env } from '../../config/env.js';
import { startOpsServer } from '../../lib/http-server.js';
import type { Listening } from '../../lib/http-listen.js';
import { overcommitWarning } from '../../lib/host-resources.js';
import { cachedProbe, influxAnswers, redisAnswers } from '../../lib/readiness.js';
import type { Logger } from '../../lib/logger.js';
import type { InfluxClient } from '../../lib/influx/client.js';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { loadConfig } from '../../config/load.js';
import { influxFromEnv } from '../../config/connections.js';
import { openThresholds } from '../../runtime/open-world.js';
import { createLogger } from '../../lib/logger.js';
import { StationRegistry } from '../../config/station-registry.js';
import { ERRORS } from '../../lib/errors.js';
import { printJson, runUntilSignal } from '../output.js';
import { printable } from '../terminal-text.js';
import { PREFIX_HELP } from '../key-prefix.js';

/**
 * The alerts worker's /healthz, /readyz (Redis and InfluxDB, each bounded) and /metrics on
 * ALERTS_HTTP_PORT; none when it is unset, since several workers often share a host.
 */
async function startAlertsOps(
  env: Env,
  influx: InfluxClient,
  log: Logger,
  served: readonly Registry[] = [],
): Promise<Listening | undefined> {
  const overcommit = await overcommitWarning();
  if (overcommit)
    log.warn({ code: ERRORS.HOST_OVERCOMMIT.code, setting: 'vm.overcommit_memory', hint: ERRORS.HOST_OVERCOMMIT.hint }, overcommit);
  if (env.ALERTS_HTTP_PORT === undefined) return undefined;
  const redis = redisFromEnv(env, 'server');
  redis.on('error', () => undefined); // the workers' own connections log the outage
  const influxUp = cachedProbe(() => influxAnswers(influx), 2000);
  const own = new Registry();
  collectDefaultMetrics({ register: own, prefix: 'tuojiang_alerts_' });
  // The process's own metrics and those of what it runs (the hourly aggregates' job) on one page.
  const metrics = served.length > 0 ? Registry.merge([own, ...served]) : own;
  const server = await startOpsServer(
    env.ALERTS_HTTP_PORT,
    {
      healthy: () => true,
      ready: async () => {
        const [r, i] = await Promise.all([redisAnswers(redis), influxUp()]);
        return { ready: r && i, checks: { redis: r, influxdb: i } };
      },
    },
    metrics,
    env.HTTP_HOST,
  );
  return {
    ...server,
    close: async () => {
      await server.close();
      redis.disconnect();
    },
  };
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

export function registerAlertsCommands(program: Command): void {
  const alerts = program.command('alerts').description('threshold checks and alert state');

  alerts
    .command('worker')
    .description('run check workers, the silence scheduler, the inbox sweep and the alert outbox relay (until SIGTERM)')
    .option('--workers <n>', 'BullMQ workers on the checks queue in this process', '1')
    .option('--concurrency <n>', 'check jobs per worker at once', '16')
    .option('--no-relay', 'do not publish alert events to InfluxDB/notify from this process')
    .option('--no-silence', 'do not run the silence scheduler in this process')
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (opts: { workers: string; concurrency: string; relay: boolean; silence: boolean; prefix: string }) => {
      const log = createLogger('alerts');
      const config = loadConfig();
      const env = readEnv();
      const influx = influxFromEnv(env);
      await influx
        .ensureDatabase()
        .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'InfluxDB not ready; alert events wait in the outbox'));
      // The versioned store in Redis (issue 6) is the source of truth; thresholds.yaml only seeds it
      // the first time. An invalid seed file stops the start.
      const thresholds = await openThresholds(config, env, { prefix: opts.prefix, influx, log, seedFromConfig: true });
      const service = await startAlertsService({
        redisUrl: env.REDIS_URL,
        influx,
        registry: new StationRegistry(config.registry),
        thresholds,
        workers: positiveInt('--workers', opts.workers),
        concurrency: positiveInt('--concurrency', opts.concurrency),
        relay: opts.relay,
        silence: opts.silence,
        prefix: opts.prefix,
        lockDurationMs: config.settings.redis.check_lock_s * 1000,
        log,
      });
      const registries = [service.aggregateMetrics?.registry, service.sweepMetrics?.registry].filter((r) => r !== undefined);
      const ops = await startAlertsOps(env, influx, log, registries);
      runUntilSignal(
        async () => {
          await ops?.close();
          await service.close();
          await thresholds.close();
        },
        log,
        env.SHUTDOWN_DEADLINE_S * 1000,
      );
    });

  alerts
    .command('list')
    .description(
      'alert state now: every key not ok (with --all, every key), which bureaus acknowledged each notified alert; --history <alert> for one alert',
    )
    .option('--station <id>', 'only this station')
    .option('--history <alert>', 'the history of one alert (as `alerts history <alert>`)')
    .option('--all', 'include keys that are ok')
    .option('--json', 'one JSON object per line')
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (opts: { station?: string; all?: boolean; json?: boolean; prefix: string; history?: string }) => {
      if (opts.history !== undefined) {
        await alerts.parseAsync(['history', opts.history, ...(opts.json ? ['--json'] : []), '--prefix', opts.prefix], { from: 'user' });
        return;
      }
      const env = readEnv();
      const config = loadConfig();
      const registry = new StationRegistry(config.registry);
      await withCommandRedis(env, async (redis) => {
        const store = new AlertStore(redis, opts.prefix);
        const series = [...(await store.listSeries()), ...registry.stations.map((s) => ({ station: s.id, period: STATION_SERIES }))];
        const rows = [];
        for (const { station, period } of series.sort((a, b) => a.station.localeCompare(b.station) || a.period.localeCompare(b.period))) {
          if (opts.station && station !== opts.station) continue;
          const state = await store.readState(station, period);
          for (const [key, k] of Object.entries(state.keys).sort(([a], [b]) => a.localeCompare(b))) {
            if (!opts.all && (k.state === 'ok' || k.state === 'resolved')) continue;
            rows.push({
              station,
              city: registry.get(station)?.city ?? '',
              period,
              key,
              state: k.state,
              since: k.since,
              value: k.value,
              limit: k.limit,
              lastReadingAt: period === STATION_SERIES && key === SILENCE_KEY ? null : state.lastTs,
            });
          }
        }
        if (opts.json) for (const r of rows) printJson(r);
        else if (rows.length === 0) process.stdout.write(opts.all ? 'no alert state yet\n' : 'no alert pending or firing\n');
        else {
          for (const r of rows) {
            process.stdout.write(
              `${r.state.padEnd(8)} ${r.station.padEnd(18)} ${r.period.padEnd(7)} ${r.key.padEnd(16)} since ${cst(r.since)}  value ${r.value ?? '–'}  limit ${r.limit ?? '–'}\n`,
            );
          }
        }
        if (!opts.json) {
          // Who has acknowledged what the bureaus were told (the notify side's record).
          const notified = await new NotifyStore(redis, opts.prefix).listAlerts({ firingOnly: true, limit: 200 });
          // An incident is one event on a river, listed as such; --station keeps those that reached it.
          const lookup = new IncidentLookup(redis, opts.prefix);
          const incidents = [];
          for (const a of notified.filter(isIncidentRecord)) {
            const inc = await lookup.incident(a.info.alertId);
            if (
              !opts.station ||
              a.info.station === opts.station ||
              inc?.sections.some((s) => s.station === opts.station && s.observedAt !== null)
            )
              incidents.push({ a, inc });
          }
          if (incidents.length > 0) process.stdout.write('\nopen incidents (incident id, acknowledgements):\n');
          for (const { a, inc } of incidents) {
            process.stdout.write(`  ${a.info.alertId}\n  ${incidentSummary(a, inc, lookup.names())}\n`);
            for (const b of a.info.bureaus) process.stdout.write(`    ${bureauLine(a, b)}\n`);
          }
          const shown = notified.filter((a) => !isIncidentRecord(a) && (!opts.station || a.info.station === opts.station));
          if (shown.length > 0) process.stdout.write('\nnotified and firing (alert id, acknowledgements):\n');
          for (const a of shown) {
            process.stdout.write(`  ${a.info.alertId}\n`);
            for (const b of a.info.bureaus) process.stdout.write(`    ${bureauLine(a, b)}\n`);
          }
        }
      });
    });

  alerts
    .command('overdue')
    .description(
      "readings still waiting for their alert check 5+ min after they were due (TJ_CHECK_OVERDUE, TJ_CHECK_STUCK): each series, how late, and its last sweep job's error; --recheck adds a check job for each now (after fixing the cause)",
    )
    .option('--recheck', 'add a fresh check job for every series listed')
    .option('--json', 'one JSON object per line')
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (opts: { recheck?: boolean; json?: boolean; prefix: string }) => {
      const env = readEnv();
      const registry = new StationRegistry(loadConfig().registry);
      await withCommandRedis(env, async (redis) => {
        const store = new AlertStore(redis, opts.prefix);
        const checks = new Queue<AnyCheckJobData>(QUEUE_CHECKS, { connection: redis, prefix: opts.prefix });
        try {
          const sweeper = new InboxSweeper({ store, registry, checks });
          const { now, series } = await sweeper.overdue();
          if (opts.recheck) await sweeper.recheck(series, now);
          if (opts.json) {
            for (const s of series) printJson({ ...s, rechecked: opts.recheck === true });
            return;
          }
          if (series.length === 0) {
            process.stdout.write(`no reading is waiting for its check ${STALE_INBOX_MS / 60_000}+ min past due\n`);
            return;
          }
          for (const s of series.sort((a, b) => b.overdueMs - a.overdueMs)) {
            const state = s.stuck ? 'STUCK  ' : 'late   ';
            process.stdout.write(
              `${state} ${s.station.padEnd(18)} ${s.period.padEnd(5)} reading ${cst(s.ts)}  due ${Math.round(s.overdueMs / 60_000)} min ago\n`,
            );
            if (s.lastJob)
              process.stdout.write(
                `        last sweep job ${s.lastJob.id}${s.lastJob.failedReason ? ` failed: ${printable(s.lastJob.failedReason)}` : ''}\n`,
              );
          }
          const stuck = series.filter((s) => s.stuck).length;
          const summary = opts.recheck
            ? `added a check job for each of the ${series.length} series; run this again in a minute to see which cleared`
            : stuck === 0
              ? `${series.length} series late: the inbox sweep gives each a check job (within a minute), their alerts go out late. If one turns STUCK, read its error here and in the alerts workers' logs (\`check job failed\`).`
              : `${series.length} series, ${stuck} STUCK: the sweep's own check job ran and their readings still wait, so their alerts are not going out. Read the errors above, fix the cause, then run this with --recheck.`;
          process.stdout.write(`\n${summary}\n`);
        } finally {
          await checks.close();
        }
      });
    });

  alerts
    .command('ack <alert>')
    .description('acknowledge an alert for one bureau (each bureau acknowledges separately); stops its escalation')
    .requiredOption('--bureau <city>', 'the acknowledging bureau (city id)')
    .option('--by <name>', 'who acknowledges', userInfo().username)
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (alert: string, opts: { bureau: string; by: string; prefix: string }) => {
      await withStore(opts.prefix, async (store) => {
        const r = await acknowledge(store, alert, opts.bureau, opts.by, 'cli');
        process.stdout.write(
          r.status === 'recorded'
            ? `acknowledged ${alert} for ${opts.bureau} by ${printable(r.ack.by)}\n`
            : `already acknowledged for ${opts.bureau} by ${printable(r.ack.by)} at ${cstTime(r.ack.at)} (UTC+8)\n`,
        );
      });
    });

  alerts
    .command('status')
    .description('notified alerts: what is firing, which bureaus were told, who acknowledged, escalations')
    .option('--all', 'recent alerts, resolved ones too (default: firing only)')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'one JSON object per line')
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (opts: { all?: boolean; limit: string; json?: boolean; prefix: string }) => {
      await withStore(opts.prefix, async (store) => {
        const list = await store.listAlerts({ firingOnly: !opts.all, limit: Number(opts.limit) });
        const incidents = new IncidentLookup(store.redis, opts.prefix);
        if (opts.json) {
          for (const a of list) {
            const inc = isIncidentRecord(a) ? await incidents.incident(a.info.alertId) : undefined;
            printJson(inc ? { ...a, incident: incidentJson(inc) } : a);
          }
        } else if (list.length === 0) process.stdout.write(opts.all ? 'no notified alert\n' : 'no alert firing\n');
        else {
          for (const a of list) {
            if (isIncidentRecord(a))
              process.stdout.write(`${incidentSummary(a, await incidents.incident(a.info.alertId), incidents.names())}\n`);
            else
              process.stdout.write(
                `${a.state.padEnd(8)} ${a.info.severity.padEnd(7)} ${a.info.station} ${a.info.key}  since ${cstTime(a.info.firstAt)} (UTC+8)${a.resolvedAt ? `  resolved ${cstTime(a.resolvedAt)}` : ''}\n`,
              );
            process.stdout.write(`         ${a.info.alertId}\n`);
            for (const b of a.info.bureaus) process.stdout.write(`         ${bureauLine(a, b)}\n`);
          }
        }
      });
    });

  alerts
    .command('history <alert>')
    .description('the history of one alert: transitions, e-mails, acknowledgements, escalations')
    .option('--json', 'one JSON object per line')
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (alert: string, opts: { json?: boolean; prefix: string }) => {
      await withStore(opts.prefix, async (store) => {
        const a = await store.alert(alert);
        if (!a) {
          process.stderr.write(`no notified alert "${alert}" (tuojiang alerts status --all lists them)\n`);
          process.exitCode = 1;
          return;
        }
        const log = await store.history(alert);
        if (opts.json) {
          printJson(a);
          for (const e of log) printJson(e);
          return;
        }
        if (isIncidentRecord(a)) {
          const incidents = new IncidentLookup(store.redis, opts.prefix);
          process.stdout.write(`${a.info.alertId}\n${incidentSummary(a, await incidents.incident(alert), incidents.names())}\n`);
        } else {
          process.stdout.write(`${a.info.alertId}\n${a.info.station} ${a.info.key} (${a.info.rule}, ${a.info.severity}) — ${a.state}\n`);
        }
        for (const b of a.info.bureaus) process.stdout.write(`  ${bureauLine(a, b)}\n`);
        for (const e of log) process.stdout.write(`${cstTime(e.t)}  ${describeEntry(e)}\n`);
      });
    });
}
