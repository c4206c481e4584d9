import type { Command } from 'commander';
import { contextFromConfig } from '../../dashboards/context.js';
import {
  GENERATED_DIR,
  generatedFiles,
  isFresh,
  readGeneratedDashboards,
  staleness,
  writeGenerated,
  type Staleness,
} from '../../dashboards/generate.js';
import { GrafanaApiError, GrafanaClient } from '../../dashboards/push/grafana-client.js';
import { DEFAULT_FOLDER, formatReport, push } from '../../dashboards/push/push.js';
import { printJson } from '../output.js';

function describe(s: Staleness): string[] {
  return [...s.missing.map((p) => `missing  ${p}`), ...s.changed.map((p) => `changed  ${p}`), ...s.extra.map((p) => `extra    ${p}`)];
}

/** GrafanaApiError has the TuojiangError shape but is not one (its codes are not in lib/errors.ts yet). */
function reportGrafanaError(e: GrafanaApiError): void {
  process.stderr.write(`error ${e.code}: ${e.message}\n  → ${e.hint}\n`);
  process.exitCode = 2;
}

export function registerDashboardsCommands(program: Command): void {
  const dashboards = program.command('dashboards').description('Grafana dashboards as code (dashboards/): generate, check, push');

  dashboards
    .command('build')
    .description('generate dashboards/generated/ (dashboard JSON, station gazetteer) from the TypeScript sources and config/')
    .option('--out <dir>', 'output folder', GENERATED_DIR)
    .option('--check', 'write nothing; exit 1 if the files are not up to date')
    .action(async (opts: { out: string; check?: boolean }) => {
      const files = generatedFiles(contextFromConfig());
      if (opts.check) {
        const s = await staleness(opts.out, files);
        if (isFresh(s)) {
          process.stdout.write(`${opts.out}: up to date (${files.length} files)\n`);
          return;
        }
        process.stderr.write(
          `${opts.out} is stale; run \`npm run dashboards:build\`:\n${describe(s)
            .map((l) => `  ${l}`)
            .join('\n')}\n`,
        );
        process.exitCode = 1;
        return;
      }
      const s = await writeGenerated(opts.out, files);
      const lines = describe(s);
      process.stdout.write(
        lines.length === 0
          ? `${opts.out}: already up to date (${files.length} files)\n`
          : `${opts.out}:\n${lines
              .map(
                (l) =>
                  `  ${l
                    .replace(/^missing /, 'written ')
                    .replace(/^changed /, 'updated ')
                    .replace(/^extra {3}/, 'removed ')}`,
              )
              .join('\n')}\n`,
      );
    });

  dashboards
    .command('push')
    .description('create or update the folder and every generated dashboard in a running Grafana (idempotent by uid)')
    .requiredOption('--url <url>', 'Grafana root URL, e.g. http://localhost:3000')
    .option('--token <token>', 'service-account token (default: $GRAFANA_TOKEN)')
    .option('--folder <title>', 'folder title (an existing folder with this title is reused)', DEFAULT_FOLDER.title)
    .option('--folder-uid <uid>', 'folder uid', DEFAULT_FOLDER.uid)
    .option('--dir <dir>', 'generated files to push', GENERATED_DIR)
    .option('--dry-run', 'only read from Grafana and print what would change')
    .option('--json', 'print the report as JSON')
    .action(
      async (opts: { url: string; token?: string; folder: string; folderUid: string; dir: string; dryRun?: boolean; json?: boolean }) => {
        const token = opts.token ?? process.env.GRAFANA_TOKEN;
        if (!token) {
          process.stderr.write('error: no Grafana token: pass --token or set GRAFANA_TOKEN\n');
          process.exitCode = 2;
          return;
        }
        const stale = await staleness(opts.dir, generatedFiles(contextFromConfig()));
        if (!isFresh(stale))
          process.stderr.write(
            `warning: ${opts.dir} differs from what config/ generates now; pushing the files as they are (run \`npm run dashboards:build\` first to push the current ones)\n`,
          );
        try {
          const report = await push({
            client: new GrafanaClient({ url: opts.url, token }),
            dashboards: await readGeneratedDashboards(opts.dir),
            folder: { uid: opts.folderUid, title: opts.folder },
            dryRun: opts.dryRun ?? false,
          });
          if (opts.json) printJson(report);
          else process.stdout.write(formatReport(report));
        } catch (e) {
          if (e instanceof GrafanaApiError) return reportGrafanaError(e);
          throw e;
        }
      },
    );
}
