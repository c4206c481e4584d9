import type { Command } from 'commander';
import { readEnv } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import type { Settings } from '../../config/schema.js';
import { assignPartitions, ingestPartition, parsePartition, partitionOf, partitionTag, type Partition } from '../../config/partition.js';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import { dropSessions } from '../../ingest/drop-session.js';
import { IngestService } from '../../ingest/ingest-service.js';
import { TuojiangError } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { printJson, runUntilSignal } from '../output.js';
import { PREFIX_HELP } from '../key-prefix.js';

export function registerIngestCommand(program: Command): void {
  const ingest = program.command('ingest');
  registerPartitionCommands(ingest);
  ingest
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

/**
 * The deployment's N: --count, else the partition this environment and tuojiang.yaml give. Reads
 * INGEST_PARTITION alone (ingestPartition checks it): validating the whole environment would let a
 * malformed broker or Redis setting stop a command that uses neither.
 */
function partitionCount(count: string | undefined, settings: Settings): number {
  if (count !== undefined) return parsePartition(`1/${count}`).count;
  const p = ingestPartition(settings.mqtt, { INGEST_PARTITION: process.env.INGEST_PARTITION });
  if (!p)
    throw new TuojiangError(
      'CONFIG_INVALID',
      'no partition configured (tuojiang.yaml mqtt.partition or INGEST_PARTITION): say how many with --count N',
    );
  return p.count;
}

function registerPartitionCommands(ingest: Command): void {
  ingest
    .command('partitions')
    .description('print which partition of N each station of stations.yaml belongs to, and how many stations each partition holds')
    .option('--count <n>', 'the number of partitions (default: N of mqtt.partition or INGEST_PARTITION)')
    .option('--station <id>', 'only this station (it need not be in stations.yaml yet)')
    .option('--json', 'one JSON object: {count, stations: {id: k}, sizes: [..]}')
    .action((o: { count?: string; station?: string; json?: boolean }) => {
      const { registry, settings } = loadConfig();
      const count = partitionCount(o.count, settings);
      const ids = o.station ? [o.station] : registry.stations.map((s) => s.id);
      const parts = assignPartitions(ids, count);
      if (o.json)
        return printJson({
          count,
          stations: Object.fromEntries(ids.map((id) => [id, partitionOf(id, count)])),
          sizes: parts.map((p) => p.length),
        });
      const width = Math.max(7, ...ids.map((id) => id.length));
      process.stdout.write(`${'STATION'.padEnd(width)}  PARTITION\n`);
      for (const id of ids) process.stdout.write(`${id.padEnd(width)}  ${partitionOf(id, count)}/${count}\n`);
      process.stdout.write(`\n${ids.length} station(s) over ${count} partition(s):\n`);
      parts.forEach((p, k) => process.stdout.write(`  ${k + 1}/${count}: ${p.length} station(s)\n`));
    });

  ingest
    .command('drop-session')
    .description(
      "end the broker sessions of ingest processes that no longer run (after a change of N, the old partitions'); never while they run",
    )
    .option('--partition <k/N>', 'the old partition whose sessions to end (client ids <client_id_prefix>-p<k>of<N>-<i>)')
    .option('--instance <name>', 'an unpartitioned ingest instead (client ids <client_id_prefix>-<instance>-<i>)')
    .option('--connections <n>', 'how many connections it had (default mqtt.connections)')
    .action(async (o: { partition?: string; instance?: string; connections?: string }) => {
      if ((o.partition === undefined) === (o.instance === undefined))
        throw new TuojiangError('CONFIG_INVALID', 'say whose sessions to end: --partition k/N or --instance NAME (one of them)');
      const { settings } = loadConfig();
      const env = readEnv();
      const p: Partition | undefined = o.partition !== undefined ? parsePartition(o.partition) : undefined;
      const connections = o.connections !== undefined ? Number(o.connections) : settings.mqtt.connections;
      if (!Number.isInteger(connections) || connections < 1 || connections > 64)
        throw new TuojiangError('CONFIG_INVALID', `--connections ${o.connections}: expected 1 to 64`);
      const middle = p ? partitionTag(p) : o.instance!;
      const clientIds = Array.from({ length: connections }, (_, i) => `${settings.mqtt.client_id_prefix}-${middle}-${i}`);
      const dropped = await dropSessions({
        url: env.MQTT_URL,
        username: env.MQTT_USERNAME,
        password: env.MQTT_PASSWORD,
        clientIds,
      });
      for (const d of dropped) process.stdout.write(`${d.clientId}: ${d.sessionPresent ? 'session ended' : 'no session on the broker'}\n`);
    });
}
