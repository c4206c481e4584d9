import type { Command } from 'commander';
import { cst } from '../../alerts/messages.js';
import { MaintenanceStore, windowsFromConfig, type MaintenanceWindow } from '../../alerts/maintenance.js';
import { THRESHOLDS_FILE, loadThresholdsFile } from '../../alerts/thresholds.js';
import { withCommandRedis } from '../../config/connections.js';
import { readEnv } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import { TuojiangError } from '../../lib/errors.js';
import { printJson } from '../output.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PREFIX_HELP } from '../key-prefix.js';

/** ISO 8601 with a zone, or "now"; a bare local time would be ambiguous between the bureaus' CST and UTC. */
export function parseInstant(flag: string, s: string, now = Date.now()): number {
  if (s === 'now') return now;
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(s) || Number.isNaN(Date.parse(s))) {
    throw new TuojiangError(
      'CONFIG_INVALID',
      `${flag}: expected an ISO 8601 date-time with a zone (e.g. 2026-05-01T08:00+08:00) or "now", got "${s}"`,
    );
  }
  return Date.parse(s);
}

async function withStore<T>(prefix: string, f: (store: MaintenanceStore) => Promise<T>): Promise<T> {
  return withCommandRedis(readEnv(), (redis) => f(new MaintenanceStore(redis, prefix)));
}

function show(w: MaintenanceWindow): string {
  return `${w.id.padEnd(24)} ${w.station.padEnd(18)} ${cst(w.from)} → ${cst(w.to)}  ${w.source.padEnd(6)} ${w.reason}`;
}

export function registerMaintenanceCommands(program: Command): void {
  const m = program
    .command('maintenance')
    .description("maintenance windows: a station's alerts are recorded but not sent, and it raises no silence alert");

  m.command('add')
    .description('mute a station for a time window')
    .requiredOption('--station <id>', 'station id (stations.yaml)')
    .requiredOption('--from <when>', 'start: ISO 8601 with a zone, or "now"')
    .option('--to <when>', 'end: ISO 8601 with a zone')
    .option('--hours <h>', 'or: end this many hours after the start')
    .option('--reason <text>', 'why (shown in the list)', 'maintenance')
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--json', 'print the window as JSON')
    .action(
      async (opts: { station: string; from: string; to?: string; hours?: string; reason: string; prefix: string; json?: boolean }) => {
        const { registry } = loadConfig();
        if (!registry.stations.some((s) => s.id === opts.station)) {
          throw new TuojiangError('UNKNOWN_STATION', `no station "${opts.station}" in stations.yaml`);
        }
        const from = parseInstant('--from', opts.from);
        let to: number;
        if (opts.to !== undefined) to = parseInstant('--to', opts.to);
        else if (opts.hours !== undefined && Number(opts.hours) > 0) to = from + Number(opts.hours) * 3_600_000;
        else throw new TuojiangError('CONFIG_INVALID', 'give --to <when> or --hours <h> (a positive number)');
        if (to <= from) throw new TuojiangError('CONFIG_INVALID', '--to must be after --from');
        const w = await withStore(opts.prefix, (store) => store.add({ station: opts.station, from, to, reason: opts.reason }));
        if (opts.json) printJson(w);
        else process.stdout.write(`added ${show(w)}\n`);
      },
    );

  m.command('list')
    .description('windows from thresholds.yaml and from `maintenance add`')
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--json', 'one JSON object per line')
    .action(async (opts: { prefix: string; json?: boolean }) => {
      const config = loadConfig();
      const file = join(config.dir, THRESHOLDS_FILE);
      const fromConfig = existsSync(file) ? windowsFromConfig(loadThresholdsFile(file, config.registry).config) : [];
      const stored = await withStore(opts.prefix, (store) => store.list());
      const all = [...fromConfig, ...stored].sort((a, b) => a.from - b.from);
      if (opts.json) for (const w of all) printJson(w);
      else if (all.length === 0) process.stdout.write('no maintenance windows\n');
      else for (const w of all) process.stdout.write(`${show(w)}\n`);
    });

  m.command('remove <id>')
    .description('remove a window added with `maintenance add` (config windows: edit thresholds.yaml)')
    .option('--prefix <prefix>', PREFIX_HELP)
    .action(async (id: string, opts: { prefix: string }) => {
      const removed = await withStore(opts.prefix, (store) => store.remove(id));
      if (!removed) throw new TuojiangError('CONFIG_INVALID', `no stored maintenance window "${id}" (see \`tuojiang maintenance list\`)`);
      process.stdout.write(`removed ${id}\n`);
    });
}
