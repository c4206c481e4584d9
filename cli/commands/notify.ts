import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { DEFAULT_PREFIX } from '../../alerts/keys.js';
import { acknowledge } from '../../alerts/notify/ack.js';
import { validateCap } from '../../alerts/notify/cap-validate.js';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { readNotifyEnv } from '../../alerts/notify/env.js';
import { notifyReadiness } from '../../alerts/notify/readiness.js';
import { cstTime } from '../../alerts/notify/render.js';
import { startNotifyService } from '../../alerts/notify/service.js';
import { NotifyStore, type AlertRecord, type LogEntry } from '../../alerts/notify/store.js';
import { createSmtpTransport } from '../../alerts/notify/transport.js';
import { readEnv } from '../../config/env.js';
import { notifyHttpPort } from '../../config/http-ports.js';
import { loadConfig } from '../../config/load.js';
import { startOpsServer } from '../../lib/http-server.js';
import { startHealthReporter } from '../../lib/health-reporter.js';
import { InfluxClient } from '../../lib/influx/client.js';
import { hostname } from 'node:os';
import { createLogger } from '../../lib/logger.js';
import { StationRegistry } from '../../lib/station-registry.js';
import { printJson, runUntilSignal } from '../output.js';
import { printable } from '../terminal-text.js';
import { IncidentLookup, incidentJson, incidentSummary, isIncidentRecord } from '../incident-summary.js';

export async function withStore<T>(prefix: string, fn: (store: NotifyStore) => Promise<T>): Promise<T> {
  const env = readEnv();
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: true });
  try {
    await redis.connect();
    return await fn(new NotifyStore(redis, prefix));
  } finally {
    redis.disconnect();
  }
}

export function bureauLine(a: AlertRecord, bureau: string): string {
  const ack = a.acks[bureau];
  const esc = a.escalations[bureau];
  const parts = [ack ? `acknowledged by ${printable(ack.by)} (${printable(ack.via)}) ${cstTime(ack.at)}` : 'NOT acknowledged'];
  if (esc) parts.push(`escalated ${cstTime(esc.at)} to ${esc.to.join(', ')}`);
  return `${bureau}: ${parts.join('; ')}`;
}

function describeEntry(e: LogEntry): string {
  switch (e.type) {
    case 'firing':
    case 'reminder':
    case 'resolved':
      return `${e.type.padEnd(9)} event time ${cstTime(e.at)}  value ${e.value ?? '–'}  limit ${e.limit ?? '–'}  to ${e.bureaus.join(', ')}${e.catchUp ? '  (after maintenance)' : ''}  [${e.eventId}]`;
    case 'sent':
      return `sent      to ${e.to} (${e.bureau} ${e.list})  ${e.items.length} notice(s)  ${e.messageId}`;
    case 'failed':
    case 'uncertain':
      return `${e.type.padEnd(9)} to ${e.to} (${e.bureau})  ${e.error}`;
    case 'ack':
      return `ack       ${e.bureau} by ${printable(e.by)} via ${printable(e.via)}`;
    case 'escalated':
      return `escalated ${e.bureau} to ${e.to.join(', ')}`;
  }
}

/**
 * `tuojiang notify …` (the notify worker and its tools) and, under `tuojiang alerts`, `ack`,
 * `status` and `history`. Call after registerAlertsCommands: the `alerts` command is reused when
 * it exists.
 */
export function registerNotifyCommands(program: Command): void {
  const notify = program.command('notify').description('e-mail notices to the bureaus: routing, grouping, delivery, escalation, CAP');

  notify
    .command('worker')
    .description('run the notify workers: routing, e-mail delivery, escalation (until SIGTERM)')
    .option('--route-concurrency <n>', 'transitions routed at once', '8')
    .option('--mail-concurrency <n>', 'e-mails sent at once', '8')
    .option('--roles <list>', 'comma-separated subset of route,mail,escalate', 'route,mail,escalate')
    .option('--prefix <prefix>', 'BullMQ/alert-state key prefix (the alerts workers must use the same)', DEFAULT_PREFIX)
    .action(async (opts: { routeConcurrency: string; mailConcurrency: string; roles: string; prefix: string }) => {
      const log = createLogger('notify');
      const config = loadConfig();
      const env = readEnv();
      const nenv = readNotifyEnv();
      const roles = opts.roles.split(',').map((r) => r.trim()).filter(Boolean) as Array<'route' | 'mail' | 'escalate'>;
      const service = await startNotifyService({
        redisUrl: env.REDIS_URL, prefix: opts.prefix, registry: new StationRegistry(config.registry), config: loadNotifyConfig(config.dir, config.registry),
        smtpUrl: nenv.SMTP_URL, mailFrom: nenv.MAIL_FROM, ackSecret: nenv.ACK_SECRET, publicUrl: nenv.PUBLIC_URL, grafanaUrl: nenv.GRAFANA_URL,
        routeConcurrency: Number(opts.routeConcurrency), mailConcurrency: Number(opts.mailConcurrency), roles, log,
      });
      const port = notifyHttpPort(env, log);
      const ops = port !== undefined
        ? await startOpsServer(port, { healthy: () => true, ready: notifyReadiness({ redis: service.redis, smtpUrl: nenv.SMTP_URL }) }, service.metrics, env.HTTP_HOST)
        : undefined;
      // emails_sent / emails_failed in pipeline_health: the dashboards and the Grafana rule
      // "E-mail delivery failing" read them.
      const influx = new InfluxClient({ url: env.INFLUX_URL, database: env.INFLUX_DB, username: env.INFLUX_USER, password: env.INFLUX_PASSWORD, token: env.INFLUX_TOKEN, timeoutMs: 5000 });
      const emails = service.metrics.getSingleMetric('tuojiang_notify_emails_total');
      const health = startHealthReporter({
        influx, service: 'notify', instance: env.TUOJIANG_INSTANCE ?? hostname(), intervalMs: 10_000,
        sample: async () => {
          const values = emails ? (await emails.get()).values : [];
          const count = (pred: (outcome: string) => boolean) => values.filter((v) => pred(String(v.labels.outcome))).reduce((a, v) => a + v.value, 0);
          return { emails_sent: count((o) => o === 'sent'), emails_failed: count((o) => o === 'failed' || o === 'retry' || o === 'uncertain') };
        },
        onError: (e) => log.debug({ err: (e as Error).message }, 'pipeline health not written'),
      });
      runUntilSignal(async () => {
        await ops?.close();
        await service.close();
        // The last health point is a courtesy: an InfluxDB that does not answer must not hold up the stop.
        await Promise.race([health.stop(), new Promise((r) => setTimeout(r, 2000).unref())]);
      }, log, env.SHUTDOWN_DEADLINE_S * 1000);
    });

  notify
    .command('dead')
    .description('notices that could not be delivered: refused (5xx), given up, or uncertain (handed over, no reply)')
    .option('--limit <n>', 'newest first, at most this many', '50')
    .option('--json', 'one JSON object per line')
    .option('--prefix <prefix>', 'key prefix', DEFAULT_PREFIX)
    .action(async (opts: { limit: string; json?: boolean; prefix: string }) => {
      await withStore(opts.prefix, async (store) => {
        const dead = await store.deadLetters(Number(opts.limit));
        if (opts.json) for (const d of dead) printJson(d);
        else if (dead.length === 0) process.stdout.write('no dead-lettered notice\n');
        else for (const d of dead) process.stdout.write(`${cstTime(d.at)}  ${d.reason.padEnd(9)} ${d.bureau} ${d.to}  ${d.error}\n    batch ${d.batchId}: ${d.items.join(' ')}\n`);
      });
    });

  notify
    .command('cap <event>')
    .description('print the CAP 1.2 message of one alert transition (event id); --check validates it')
    .option('--check', 'validate against the CAP 1.2 schema structure and value sets; exit 1 on problems')
    .option('--prefix <prefix>', 'key prefix', DEFAULT_PREFIX)
    .action(async (event: string, opts: { check?: boolean; prefix: string }) => {
      await withStore(opts.prefix, async (store) => {
        const xml = await store.cap(event);
        if (!xml) {
          process.stderr.write(`no CAP message for ${event}\n`);
          process.exitCode = 1;
          return;
        }
        process.stdout.write(xml);
        if (opts.check) {
          const problems = validateCap(xml);
          for (const p of problems) process.stderr.write(`CAP: ${p}\n`);
          if (problems.length > 0) process.exitCode = 1;
        }
      });
    });

  notify
    .command('test-mail')
    .description('send one test e-mail through SMTP_URL (checks the server, credentials and TLS)')
    .requiredOption('--to <address>', 'recipient')
    .action(async (opts: { to: string }) => {
      const nenv = readNotifyEnv(process.env, { requireSecret: false });
      const transport = createSmtpTransport({ url: nenv.SMTP_URL, maxConnections: 1, timeoutMs: 15_000 });
      try {
        const res = await transport.send({
          from: nenv.MAIL_FROM, to: { name: opts.to, address: opts.to }, subject: '沱江联合预警 测试邮件 / Tuojiang alerts test e-mail',
          text: '这是一封测试邮件。\nThis is a test e-mail.\n', html: '<p>这是一封测试邮件。</p><p>This is a test e-mail.</p>',
          messageId: `<test.${Date.now()}@tuojiang.invalid>`, date: new Date(), headers: { 'Auto-Submitted': 'auto-generated' }, attachments: [],
        }, async () => undefined);
        process.stdout.write(`sent: ${res.response}\n`);
      } finally {
        await transport.close();
      }
    });

  const alerts = program.commands.find((c) => c.name() === 'alerts') ?? program.command('alerts').description('threshold checks and alert state');

  alerts
    .command('ack <alert>')
    .description('acknowledge an alert for one bureau (each bureau acknowledges separately); stops its escalation')
    .requiredOption('--bureau <city>', 'the acknowledging bureau (city id)')
    .option('--by <name>', 'who acknowledges', userInfo().username)
    .option('--prefix <prefix>', 'key prefix', DEFAULT_PREFIX)
    .action(async (alert: string, opts: { bureau: string; by: string; prefix: string }) => {
      await withStore(opts.prefix, async (store) => {
        const r = await acknowledge(store, alert, opts.bureau, opts.by, 'cli');
        process.stdout.write(r.status === 'recorded'
          ? `acknowledged ${alert} for ${opts.bureau} by ${printable(r.ack.by)}\n`
          : `already acknowledged for ${opts.bureau} by ${printable(r.ack.by)} at ${cstTime(r.ack.at)} (UTC+8)\n`);
      });
    });

  alerts
    .command('status')
    .description('notified alerts: what is firing, which bureaus were told, who acknowledged, escalations')
    .option('--all', 'recent alerts, resolved ones too (default: firing only)')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'one JSON object per line')
    .option('--prefix <prefix>', 'key prefix', DEFAULT_PREFIX)
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
            if (isIncidentRecord(a)) process.stdout.write(`${incidentSummary(a, await incidents.incident(a.info.alertId), incidents.names())}\n`);
            else process.stdout.write(`${a.state.padEnd(8)} ${a.info.severity.padEnd(7)} ${a.info.station} ${a.info.key}  since ${cstTime(a.info.firstAt)} (UTC+8)${a.resolvedAt ? `  resolved ${cstTime(a.resolvedAt)}` : ''}\n`);
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
    .option('--prefix <prefix>', 'key prefix', DEFAULT_PREFIX)
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
