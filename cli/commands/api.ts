import type { Command } from 'commander';
import { readNotifyEnv } from '../../alerts/notify/env.js';
import { NotifyStore } from '../../alerts/notify/store.js';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { IncidentStore } from '../../alerts/incidents/store.js';
import { StationRegistry } from '../../config/station-registry.js';
import { bureauNamesOf } from '../../api/incident-view.js';
import { readEnv } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../lib/logger.js';
import { runUntilSignal } from '../output.js';
import { startApiServer } from '../../api/server.js';
import { handleThresholdsRequest } from '../../api/thresholds-routes.js';
import { OperatorDirectory, ThresholdStore, operatorsFilePath } from '../../alerts/threshold-store/index.js';
import { openWorld } from '../../runtime/open-world.js';
import { Registry } from 'prom-client';
import { AuthFailureLimiter, authFailureOptionsFromEnv } from '../../api/auth-failures.js';
import { startOpsServer } from '../../lib/http-server.js';
import { redisAnswers } from '../../lib/readiness.js';
import { PREFIX_HELP } from '../key-prefix.js';

/** `tuojiang api`: acknowledgement links and CAP documents over HTTP (until SIGTERM). */
export function registerApiCommand(program: Command): void {
  program
    .command('api')
    .description('HTTP server for the signed acknowledgement links and the CAP 1.2 documents (until SIGTERM)')
    .option('--port <n>', 'port (default API_PORT, 8080)')
    .option('--host <host>', 'address to listen on', '0.0.0.0')
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (opts: { port?: string; host: string; prefix: string }) => {
      const log = createLogger('api');
      const env = readEnv();
      const nenv = readNotifyEnv(process.env, { mails: false });
      const config = loadConfig();
      // The rivers and incident policy the notify worker words its reports with, so the ack page
      // of an incident gives the same windows as the e-mail that linked to it.
      const notifyConfig = loadNotifyConfig(config.dir, config.registry);
      const { redis, influx } = openWorld({ config, env, use: 'server', log });
      // One limiter for every credential the server takes, so guesses add up across endpoints.
      const metrics = new Registry();
      const limiter = new AuthFailureLimiter({ ...authFailureOptionsFromEnv(), registry: metrics, log });
      const operators = new OperatorDirectory(operatorsFilePath(config.dir), config.registry);
      const thresholds = {
        store: new ThresholdStore({ redis, registry: config.registry, prefix: opts.prefix, influx, log }),
        operators,
        log,
        limiter,
      };
      const api = await startApiServer({
        store: new NotifyStore(redis, opts.prefix),
        redis,
        ackSecret: nenv.ACK_SECRET,
        publicUrl: nenv.PUBLIC_URL,
        cities: config.registry.cities,
        port: opts.port !== undefined ? Number(opts.port) : nenv.API_PORT,
        host: opts.host,
        log,
        operators,
        limiter,
        metrics,
        incidents: {
          store: new IncidentStore(redis, opts.prefix),
          registry: new StationRegistry(config.registry),
          rivers: notifyConfig.rivers,
          policy: notifyConfig.recipients.incidents,
          bureauNames: bureauNamesOf(notifyConfig.recipients),
        },
        // The operators' threshold API (issue 6) on the same server, authenticated by its own tokens.
        extraRoutes: [(req, res) => handleThresholdsRequest(req, res, thresholds)],
        opsOnPublicPort: env.API_OPS_PORT === undefined,
      });
      // /readyz and /metrics on loopback (HTTP_HOST), away from the port the reverse proxy publishes.
      const ops =
        env.API_OPS_PORT === undefined
          ? undefined
          : await startOpsServer(
              env.API_OPS_PORT,
              {
                healthy: () => true,
                ready: async () => {
                  const r = await redisAnswers(redis);
                  return { ready: r, checks: { redis: r } };
                },
              },
              metrics,
              env.HTTP_HOST,
            );
      log.info({ port: api.port, opsPort: ops?.port, publicUrl: nenv.PUBLIC_URL }, 'api started');
      runUntilSignal(async () => {
        await ops?.close();
        await api.close();
        redis.disconnect();
      }, log);
    });
}
