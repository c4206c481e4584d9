import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { operatorsFilePath, operatorsSchemaFor } from '../../alerts/threshold-store/operators.js';
import { THRESHOLDS_FILE, loadThresholdsFile } from '../../alerts/thresholds.js';
import { readEnv } from '../../config/env.js';
import { configDir, loadConfig, loadYamlFile } from '../../config/load.js';
import { printJson } from '../output.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('configuration (YAML files in TUOJIANG_CONFIG, default ./config)');
  config
    .command('check')
    .description('validate every configuration file and the environment without starting anything')
    .option('--json', 'print the result as JSON')
    .action((opts: { json?: boolean }) => {
      const dir = configDir();
      // Each loader throws TJ_CONFIG_INVALID naming file:line, key, expected and found.
      const loaded = loadConfig(dir);
      const thresholds = loadThresholdsFile(join(dir, THRESHOLDS_FILE), loaded.registry);
      loadNotifyConfig(dir, loaded.registry);
      const operatorsFile = operatorsFilePath(dir);
      if (existsSync(operatorsFile)) loadYamlFile(operatorsFile, operatorsSchemaFor(loaded.registry));
      readEnv();
      const summary = {
        ok: true,
        dir,
        stations: loaded.registry.stations.length,
        cities: Object.keys(loaded.registry.cities),
        thresholdsVersion: thresholds.version,
        files: ['stations.yaml', 'tuojiang.yaml', THRESHOLDS_FILE, 'rivers.yaml', 'recipients.yaml', ...(existsSync(operatorsFile) ? ['operators.yaml'] : [])],
      };
      if (opts.json) printJson(summary);
      else process.stdout.write(`configuration OK: ${dir} (${summary.stations} stations, cities ${summary.cities.join(', ')}, thresholds version ${summary.thresholdsVersion}; checked ${summary.files.join(', ')})\n`);
    });
}
