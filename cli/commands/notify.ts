import type { Command } from 'commander';
import { validateCap } from '../../alerts/notify/cap-validate.js';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { readNotifyEnv } from '../../alerts/notify/env.js';
import { notifyReadiness } from '../../alerts/notify/readiness.js';
import { cstTime } from '../../alerts/notify/render.js';
import { startNotifyService } from '../../alerts/notify/service.js';
import { createSmtpTransport } from '../../alerts/notify/transport.js';
import { readEnv } from '../../config/env.js';
import { notifyHttpPort } from '../../config/http-ports.js';
import { loadConfig } from '../../config/load.js';
import { startOpsServer } from '../../lib/http-server.js';
import { startHealthReporter } from '../../lib/health-reporter.js';
import { influxFromEnv } from '../../config/connections.js';
import { hostname } from 'node:os';
import { createLogger } from '../../lib/logger.js';
import { StationRegistry } from '../../config/station-registry.js';
import { printJson, runUntilSignal } from '../output.js';
import { withStore } from '../notify-records.js';
import { PREFIX_HELP } from '../key-prefix.js';

/**
 * `tuojiang notify …`: the notify worker and its tools (dead letters, CAP, a test e-mail). The
 * acknowledgement and history of what was notified are under `tuojiang alerts` (commands/alerts.ts).
 */
export function registerNotifyCommands(program: Command): void {
  const notify = program.command('notify').description('e-mail notices to the bureaus: routing, grouping, delivery, escalation, CAP');

  notify
    .command('worker')
    .description('run the notify workers: routing, e-mail delivery, escalation (until SIGTERM)')
    .option('--route-concurrency <n>', 'transitions routed at once', '8')
    .option('--mail-concurrency <n>', 'e-mails sent at once', '8')
    .option('--roles <list>', 'comma-separated subset of route,mail,escalate', 'route,mail,escalate')
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (opts: { routeConcurrency: string; mailConcurrency: string; roles: string; prefix: string }) => {
      const log = createLogger('notify');
      const config = loadConfig();
      const env = readEnv();
      const nenv = readNotifyEnv();
      const roles = opts.roles
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean) as Array<'route' | 'mail' | 'escalate'>;
      const waitReplicas = {
        replicas: env.REDIS_WAIT_REPLICAS ?? config.settings.redis.wait_replicas,
        timeoutMs: config.settings.redis.wait_timeout_ms,
      };
      const service = await startNotifyService({
        redisUrl: env.REDIS_URL,
        prefix: opts.prefix,
        registry: new StationRegistry(config.registry),
        config: loadNotifyConfig(config.dir, config.registry),
        smtpUrl: nenv.SMTP_URL,
        mailFrom: nenv.MAIL_FROM,
        ackSecret: nenv.ACK_SECRET,
        publicUrl: nenv.PUBLIC_URL,
        grafanaUrl: nenv.GRAFANA_URL,
        routeConcurrency: Number(opts.routeConcurrency),
        mailConcurrency: Number(opts.mailConcurrency),
        roles,
        log,
        waitReplicas,
      });
      const port = notifyHttpPort(env, log);
      const ops =
        port !== undefined
          ? await startOpsServer(
              port,
              {
                healthy: () => true,
                ready: notifyReadiness({
                  redis: service.redis,
                  smtpUrl: nenv.SMTP_URL,
                  ...(waitReplicas.replicas > 0 ? { replicasOnline: () => service.store.enoughReplicasOnline() } : {}),
                }),
              },
              service.metrics,
              env.HTTP_HOST,
            )
          : undefined;
      // emails_sent / emails_failed in pipeline_health: the dashboards and the Grafana rule
      // "E-mail delivery failing" read them.
      const influx = influxFromEnv(env, { timeoutMs: 5000 });
      const emails = service.metrics.getSingleMetric('tuojiang_notify_emails_total');
      const health = startHealthReporter({
        influx,
        service: 'notify',
        instance: env.TUOJIANG_INSTANCE ?? hostname(),
        intervalMs: 10_000,
        sample: async () => {
          const values = emails ? (await emails.get()).values : [];
          const count = (pred: (outcome: string) => boolean) =>
            values.filter((v) => pred(String(v.labels.outcome))).reduce((a, v) => a + v.value, 0);
          return {
            emails_sent: count((o) => o === 'sent'),
            emails_failed: count((o) => o === 'failed' || o === 'retry' || o === 'uncertain'),
          };
        },
        onError: (e) => log.debug({ err: (e as Error).message }, 'pipeline health not written'),
      });
      runUntilSignal(
        async () => {
          await ops?.close();
          await service.close();
          // The last health point is a courtesy: an InfluxDB that does not answer must not hold up the stop.
          await Promise.race([health.stop(), new Promise((r) => setTimeout(r, 2000).unref())]);
        },
        log,
        env.SHUTDOWN_DEADLINE_S * 1000,
      );
    });

  notify
    .command('dead')
    .description('notices that could not be delivered: refused (5xx), given up, or uncertain (handed over, no reply)')
    .option('--limit <n>', 'newest first, at most this many', '50')
    .option('--json', 'one JSON object per line')
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (opts: { limit: string; json?: boolean; prefix: string }) => {
      await withStore(opts.prefix, async (store) => {
        const dead = await store.deadLetters(Number(opts.limit));
        if (opts.json) for (const d of dead) printJson(d);
        else if (dead.length === 0) process.stdout.write('no dead-lettered notice\n');
        else
          for (const d of dead)
            process.stdout.write(
              `${cstTime(d.at)}  ${d.reason.padEnd(9)} ${d.bureau} ${d.to}  ${d.error}\n    batch ${d.batchId}: ${d.items.join(' ')}\n`,
            );
      });
    });

  notify
    .command('cap <event>')
    .description('print the CAP 1.2 message of one alert transition (event id); --check validates it')
    .option('--check', 'validate against the CAP 1.2 schema structure and value sets; exit 1 on problems')
    .option('--prefix <prefix>', PREFIX_HELP)
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
        const res = await transport.send(
          {
            from: nenv.MAIL_FROM,
            to: { name: opts.to, address: opts.to },
            subject: '沱江联合预警 测试邮件 / Tuojiang alerts test e-mail',
            text: '这是一封测试邮件。\nThis is a test e-mail.\n',
            html: '<p>这是一封测试邮件。</p><p>This is a test e-mail.</p>',
            messageId: `<test.${Date.now()}@tuojiang.invalid>`,
            date: new Date(),
            headers: { 'Auto-Submitted': 'auto-generated' },
            attachments: [],
          },
          async () => undefined,
        );
        process.stdout.write(`sent: ${res.response}\n`);
      } finally {
        await transport.close();
      }
    });
}
