import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { configDir, loadConfig } from '../../config/load.js';
import { ingestPartition, parsePartition, partitionOf } from '../../config/partition.js';
import { addStation, type NewStation } from '../../config/station-add.js';
import { contextFromConfig } from '../../dashboards/context.js';
import { GENERATED_DIR, generatedFiles, writeGenerated } from '../../dashboards/generate.js';
import { TuojiangError } from '../../lib/errors.js';
import { setMosquittoPassword } from '../../lib/mosquitto-password.js';
import { hashPassword } from '../../lib/password-hash.js';
import { printJson } from '../output.js';
import { checkStation, formatCheck } from '../station-check.js';

/** Where the site's stations' broker accounts are: MOSQUITTO_PASSWD_FILE, else config/mosquitto/passwd. */
const passwdFile = (): string => process.env.MOSQUITTO_PASSWD_FILE ?? join(configDir(), 'mosquitto', 'passwd');
/** Where the site's Grafana dashboards and gazetteer are generated: TUOJIANG_GENERATED_DIR, else the checkout's. */
const generatedDir = (): string => process.env.TUOJIANG_GENERATED_DIR ?? GENERATED_DIR;

/** A broker password from stdin (first line), with the rules of scripts/mosquitto-passwd.sh. */
function passwordFromStdin(id: string): string {
  const password = readFileSync(0, 'utf8').split('\n')[0]?.replace(/\r$/, '') ?? '';
  if (password.length < 12) throw new TuojiangError('ENV_INVALID', `the password for ${id} (stdin) must have 12 characters or more`);
  if (password.includes(':'))
    throw new TuojiangError('ENV_INVALID', `the password for ${id} (stdin) may not contain ':' (mosquitto would cut it there)`);
  return password;
}

function number(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new TuojiangError('CONFIG_INVALID', `${name}: expected a number; found ${JSON.stringify(v)}`);
  return n;
}

export function registerStationsCommands(program: Command): void {
  const stations = program.command('stations').description('the station registry (config/stations.yaml), and adding a station');
  stations
    .command('list')
    .description('print the registry as loaded (defaults applied)')
    .option('--json', 'one JSON array')
    .action((opts: { json?: boolean }) => {
      const { registry } = loadConfig();
      if (opts.json) return printJson(registry.stations);
      const rows = registry.stations.map((s) => [
        s.id,
        s.kind,
        s.city,
        s.river ? `${s.river} km ${s.river_km}` : '-',
        s.target_class ?? '-',
        s.mn,
        `${s.name.zh} ${s.name.en}`,
      ]);
      const header = ['ID', 'KIND', 'CITY', 'RIVER', 'TARGET', 'MN', 'NAME'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
      for (const r of [header, ...rows])
        process.stdout.write(
          `${r
            .map((c, i) => String(c).padEnd(widths[i]!))
            .join('  ')
            .trimEnd()}\n`,
        );
    });

  stations
    .command('add <id>')
    .description(
      'add a station: stations.yaml, its broker account (password on stdin with --password-stdin), the dashboards and gazetteer; then say what is still missing',
    )
    .requiredOption('--kind <kind>', 'water or air')
    .requiredOption('--city <city>', 'a city of stations.yaml (its bureau receives the notices)')
    .requiredOption('--name-zh <name>', 'Chinese name')
    .requiredOption('--name-en <name>', 'English name')
    .requiredOption('--lat <deg>', 'latitude')
    .requiredOption('--lon <deg>', 'longitude')
    .requiredOption('--mn <mn>', 'the HJ 212 MN of its data logger')
    .option('--river <river>', 'water: the river id of stations.yaml')
    .option('--river-km <km>', 'water: km downstream on that river')
    .option('--target-class <class>', 'water: GB 3838 target class (I–V)')
    .option('--drinking-water-intake', 'water: the section is at a drinking-water intake')
    .option('--password-stdin', "read the station's broker password from stdin and create its account")
    .option(
      '--partitions <n>',
      'the ingest runs as N partitions: say which one takes the station (default: N of mqtt.partition or INGEST_PARTITION)',
    )
    .action(
      async (
        id: string,
        o: {
          kind: string;
          city: string;
          nameZh: string;
          nameEn: string;
          lat: string;
          lon: string;
          mn: string;
          river?: string;
          riverKm?: string;
          targetClass?: string;
          drinkingWaterIntake?: boolean;
          passwordStdin?: boolean;
          partitions?: string;
        },
      ) => {
        const password = o.passwordStdin ? passwordFromStdin(id) : undefined;
        const station: NewStation = {
          id,
          name: { zh: o.nameZh, en: o.nameEn },
          city: o.city,
          kind: o.kind as NewStation['kind'],
          ...(o.river !== undefined ? { river: o.river } : {}),
          ...(o.riverKm !== undefined ? { river_km: number('--river-km', o.riverKm) } : {}),
          coordinates: { lat: number('--lat', o.lat), lon: number('--lon', o.lon) },
          mn: o.mn,
          ...(o.targetClass !== undefined ? { target_class: o.targetClass as NewStation['target_class'] } : {}),
          ...(o.kind === 'water' ? { waterbody: 'river' as const } : {}),
          ...(o.drinkingWaterIntake ? { drinking_water_intake: true } : {}),
        };
        await addStation(configDir(), station);
        process.stdout.write(`added ${id} to ${join(configDir(), 'stations.yaml')}\n`);
        if (password !== undefined) {
          await setMosquittoPassword(passwdFile(), id, password);
          process.stdout.write(`broker account ${id} set in ${passwdFile()}\n`);
        }
        const config = loadConfig();
        const written = await writeGenerated(generatedDir(), generatedFiles(contextFromConfig(config)));
        process.stdout.write(
          `dashboards and gazetteer regenerated in ${generatedDir()} (${written.changed.length + written.missing.length} file(s) changed)\n`,
        );
        process.stdout.write('then: docker compose kill -s SIGHUP mosquitto; docker compose restart ingest alerts notify api grafana\n');
        // A partitioned ingest subscribes to its stations' topics at start: only the process of the
        // new station's partition must restart for its readings to be taken (decision 0017).
        const count =
          o.partitions !== undefined
            ? parsePartition(`1/${o.partitions}`).count
            : ingestPartition(config.settings.mqtt, { INGEST_PARTITION: process.env.INGEST_PARTITION })?.count;
        if (count !== undefined) {
          const k = partitionOf(id, count);
          process.stdout.write(
            `the ingest is partitioned (N = ${count}): ${id} is in partition ${k}/${count}; restart the ingest process with INGEST_PARTITION=${k}/${count} (no other partition subscribes to it)\n`,
          );
        }
        process.stdout.write('\n');
        const lines = await checkStation(id, { config, passwdFile: passwdFile(), generatedDir: generatedDir() });
        process.stdout.write(formatCheck(id, lines));
        if (lines.some((l) => l.status === 'missing')) process.exitCode = 1;
      },
    );

  stations
    .command('password <id>')
    .description("set a station's broker password (stdin, first line) in the stations' password file")
    .action(async (id: string) => {
      const { registry } = loadConfig();
      if (!registry.stations.some((s) => s.id === id))
        throw new TuojiangError('CONFIG_INVALID', `${id} is not in stations.yaml: add it first (tuojiang stations add)`);
      await setMosquittoPassword(passwdFile(), id, passwordFromStdin(id));
      process.stdout.write(`broker account ${id} set in ${passwdFile()}; reload the broker: docker compose kill -s SIGHUP mosquitto\n`);
    });

  stations
    .command('check [ids...]')
    .description(
      'say, per station, what is still missing: registry, broker account and ACL, dashboards and gazetteer, bureau (exit 1 if anything is)',
    )
    .action(async (ids: string[]) => {
      const config = loadConfig();
      const wanted = ids.length > 0 ? ids : config.registry.stations.map((s) => s.id);
      let missing = false;
      for (const id of wanted) {
        const lines = await checkStation(id, { config, passwdFile: passwdFile(), generatedDir: generatedDir() });
        process.stdout.write(formatCheck(id, lines));
        missing ||= lines.some((l) => l.status === 'missing');
      }
      if (missing) process.exitCode = 1;
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
      process.stdout.write(
        opts.station !== undefined
          ? `# under station ${opts.station} in stations.yaml:\n    hj212:\n      pw_hash: "${hash}"\n`
          : `${hash}\n`,
      );
    });
}
