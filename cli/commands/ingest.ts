import type { Command } from 'commander';
import { readEnv } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import { IngestService } from '../../ingest/ingest-service.js';
import { createLogger } from '../../lib/logger.js';
import { runUntilSignal } from '../output.js';

export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description('subscribe to the MQTT feeds and write every reading to InfluxDB (runs until SIGTERM)')
    .option('--http-port <port>', 'port for /healthz, /readyz, /metrics (default from config)')
    .action(async (opts: { httpPort?: string }) => {
      const log = createLogger('ingest');
      const config = loadConfig();
      const env = readEnv();
      const service = new IngestService({ config, env, log, ...(opts.httpPort !== undefined ? { httpPort: Number(opts.httpPort) } : {}) });
      await service.start();
      runUntilSignal(() => service.stop(), log);
    });
}
