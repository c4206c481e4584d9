import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { checkChannelEnv } from '../../alerts/notify/channels/index.js';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { operatorsFilePath, operatorsSchemaFor } from '../../alerts/threshold-store/operators.js';
import { THRESHOLDS_FILE, loadThresholdsFile } from '../../alerts/thresholds.js';
import { configDir, loadConfig, loadYamlFile } from '../../config/load.js';
import { ingestPartition } from '../../config/partition.js';
import { TuojiangError } from '../../lib/errors.js';
import { printJson } from '../output.js';
import { SERVICE_NAMES, checkServiceEnv, type ServiceName } from '../service-env.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('configuration (YAML files in TUOJIANG_CONFIG, default ./config)');
  config
    .command('check')
    .description('validate every configuration file, and the environment of every service (or those named), without starting anything')
    .addOption(new Option('--service <name...>', "check only these services' environment").choices(SERVICE_NAMES))
    .option('--json', 'print the result as JSON')
    .action((opts: { json?: boolean; service?: ServiceName[] }) => {
      const dir = configDir();
      // Each loader throws TJ_CONFIG_INVALID naming file:line, key, expected and found.
      const loaded = loadConfig(dir);
      const thresholds = loadThresholdsFile(join(dir, THRESHOLDS_FILE), loaded.registry);
      const notifyConfig = loadNotifyConfig(dir, loaded.registry);
      const operatorsFile = operatorsFilePath(dir);
      if (existsSync(operatorsFile)) loadYamlFile(operatorsFile, operatorsSchemaFor(loaded.registry));
      // The notify worker also needs the URLs and secrets of the channels recipients.yaml names; the
      // ingest's INGEST_PARTITION must agree with tuojiang.yaml (no share group with it).
      const extra = (name: ServiceName) =>
        name === 'notify'
          ? [(env: NodeJS.ProcessEnv) => checkChannelEnv(notifyConfig, env)]
          : name === 'ingest'
            ? [(env: NodeJS.ProcessEnv) => ingestPartitionOrRefusal(loaded.settings.mqtt, env)]
            : [];
      const services = (opts.service ?? SERVICE_NAMES).map((name) => checkServiceEnv(name, process.env, extra(name)));
      const refusing = services.filter((s) => !s.starts);
      const summary = {
        ok: refusing.length === 0,
        dir,
        stations: loaded.registry.stations.length,
        cities: Object.keys(loaded.registry.cities),
        thresholdsVersion: thresholds.version,
        files: [
          'stations.yaml',
          'tuojiang.yaml',
          THRESHOLDS_FILE,
          'rivers.yaml',
          'recipients.yaml',
          ...(existsSync(operatorsFile) ? ['operators.yaml'] : []),
        ],
        services,
      };
      if (opts.json) printJson(summary);
      else {
        process.stdout.write(
          `configuration files OK: ${dir} (${summary.stations} stations, cities ${summary.cities.join(', ')}, thresholds version ${summary.thresholdsVersion}; checked ${summary.files.join(', ')})\n`,
        );
        process.stdout.write('environment, per service:\n');
        for (const s of services) {
          process.stdout.write(
            `  ${s.service.padEnd(7)} ${s.starts ? 'would start' : 'would REFUSE to start'}\n${s.problems.map((p) => `          ${p}\n`).join('')}`,
          );
        }
        if (refusing.length === 0) process.stdout.write('configuration OK\n');
      }
      if (refusing.length > 0) {
        const detail = refusing.map((s) => `${s.service}: ${s.problems.join('; ')}`).join('\n');
        throw new TuojiangError(
          'SERVICE_WOULD_REFUSE',
          `${refusing.map((s) => s.service).join(', ')} would refuse to start (TJ_ENV_INVALID):\n${detail}`,
        );
      }
    });
}

/** The ingest's partition, refused in checkServiceEnv's form (a heading line, then one line per problem). */
function ingestPartitionOrRefusal(mqtt: Parameters<typeof ingestPartition>[0], env: NodeJS.ProcessEnv): void {
  try {
    ingestPartition(mqtt, { INGEST_PARTITION: env.INGEST_PARTITION });
  } catch (e) {
    if (e instanceof TuojiangError) throw new TuojiangError('CONFIG_INVALID', `invalid partition:\n${e.message}`);
    throw e;
  }
}
