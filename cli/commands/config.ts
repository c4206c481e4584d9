import type { Command } from 'commander';
import { loadConfig, configDir } from '../../config/load.js';
import { readEnv } from '../../config/env.js';
import { printJson } from '../output.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('configuration (YAML files in TUOJIANG_CONFIG, default ./config)');
  config
    .command('check')
    .description('validate the configuration files and environment without starting anything')
    .option('--json', 'print the result as JSON')
    .action((opts: { json?: boolean }) => {
      const dir = configDir();
      const loaded = loadConfig(dir);
      readEnv();
      const summary = { ok: true, dir, stations: loaded.registry.stations.length, cities: Object.keys(loaded.registry.cities) };
      if (opts.json) printJson(summary);
      else process.stdout.write(`configuration OK: ${dir} (${summary.stations} stations, cities ${summary.cities.join(', ')})\n`);
    });
}
