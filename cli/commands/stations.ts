import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { printJson } from '../output.js';

export function registerStationsCommands(program: Command): void {
  const stations = program.command('stations').description('the station registry (config/stations.yaml)');
  stations
    .command('list')
    .description('print the registry as loaded (defaults applied)')
    .option('--json', 'one JSON array')
    .action((opts: { json?: boolean }) => {
      const { registry } = loadConfig();
      if (opts.json) return printJson(registry.stations);
      const rows = registry.stations.map((s) => [
        s.id, s.kind, s.city, s.river ? `${s.river} km ${s.river_km}` : '-', s.target_class ?? '-', s.mn, `${s.name.zh} ${s.name.en}`,
      ]);
      const header = ['ID', 'KIND', 'CITY', 'RIVER', 'TARGET', 'MN', 'NAME'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
      for (const r of [header, ...rows]) process.stdout.write(`${r.map((c, i) => String(c).padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
    });
}
