import type { Command } from 'commander';
import { readEnv } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import { IngestService } from '../../ingest/ingest-service.js';
import { createLogger } from '../../lib/logger.js';
import { runUntilSignal } from '../output.js';
import { PREFIX_HELP } from '../key-prefix.js';

export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description('subscribe to the MQTT feeds and write every reading to InfluxDB (runs until SIGTERM)')
    .option('--http-port <port>', 'port for /healthz, /readyz, /metrics (default from config)')
    .option('--no-checks', 'store readings only; do not enqueue threshold checks')
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (opts: { httpPort?: string; checks: boolean; prefix: string }) => {
      const log = createLogger('ingest');
      const config = loadConfig();
      const env = readEnv();
      // One check job per writer batch (decision 0003): per-reading jobs fell behind at 2,000 readings/s.
      const checks = opts.checks
        ? new CheckEnqueuer({
            redisUrl: env.REDIS_URL,
            prefix: opts.prefix,
            granularity: 'batch',
            log,
            replicas: env.REDIS_WAIT_REPLICAS ?? config.settings.redis.wait_replicas,
            replicaTimeoutMs: config.settings.redis.wait_timeout_ms,
          })
        : undefined;
      const service = new IngestService({
        config,
        env,
        log,
        prefix: opts.prefix,
        ...(checks ? { checks } : {}),
        ...(opts.httpPort !== undefined ? { httpPort: Number(opts.httpPort) } : {}),
      });
      await service.start();
      // The service bounds its own stop; the slack covers closing the checks queue, and the
      // backstop exits even if that waits on an unreachable Redis.
      runUntilSignal(
        async () => {
          try {
            await service.stop();
          } finally {
            await Promise.race([checks?.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
          }
        },
        log,
        env.SHUTDOWN_DEADLINE_S * 1000 + 5000,
      );
    });
}
