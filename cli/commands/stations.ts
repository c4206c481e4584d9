import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { hashPassword } from '../../lib/password-hash.js';
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
  stations
    .command('hash-password')
    .description('read an HJ 212 logger password (PW) from stdin, print its hash for stations.yaml hj212.pw_hash')
    .option('--station <id>', 'print it as the YAML to put under that station')
    .action(async (opts: { station?: string }) => {
      // From stdin, never from an argument: arguments end up in shell histories and process lists.
      let text = '';
      for await (const chunk of process.stdin) text += String(chunk);
      const pw = text.replace(/\r?\n$/, '');
      if (pw === '' || /[;\r\n]/.test(pw)) {
        process.stderr.write('error: give the password on stdin, one line, without ";" (it is a field of the frame)\n');
        process.exitCode = 2;
        return;
      }
      if (opts.station !== undefined && !loadConfig().registry.stations.some((s) => s.id === opts.station)) {
        process.stderr.write(`error: unknown station "${opts.station}"\n`);
        process.exitCode = 2;
        return;
      }
      const hash = await hashPassword(pw);
      process.stdout.write(opts.station !== undefined ? `# under station ${opts.station} in stations.yaml:\n    hj212:\n      pw_hash: "${hash}"\n` : `${hash}\n`);
    });
}
