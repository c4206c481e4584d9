/**
 * npm run test:mutation [-- --group NAME ...] [--changed [--base BRANCH]] [--concurrency N]
 *
 * Runs StrykerJS over the groups of test/mutation/groups.ts one after another, each with only its
 * unit tests (vitest.mutation.config.ts) and a small property budget, prints every file's score
 * and its surviving mutants, writes an HTML report per group under reports/mutation/, and exits 1
 * when a file is under its group's floor. --changed mutates only the group files that differ from
 * the base branch (default main), for CI.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LogLevel } from '@stryker-mutator/api/core';
import { Stryker } from '@stryker-mutator/core';
import { changedFiles, matchesGlob } from './changed.js';
import { GROUPS, groupByName, type MutationGroup } from './groups.js';
import { fileScores, formatSurvivors, formatTable, underFloor, type FileScore } from './scores.js';

const ROOT = process.cwd();
const REPORT_DIR = 'reports/mutation';

interface Args {
  groups: MutationGroup[];
  changed: boolean;
  base: string;
  concurrency: number;
  propertyRuns: number;
}

function usage(message: string): never {
  console.error(`TJ_MUTATION_USAGE: ${message}`);
  console.error(
    `usage: npm run test:mutation -- [--group ${GROUPS.map((g) => g.name).join('|')}]... [--changed [--base BRANCH]] [--concurrency N] [--property-runs N]`,
  );
  process.exit(2);
}

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) usage(`${flag} needs a positive whole number, got ${JSON.stringify(v ?? '')}`);
  return n;
}

function parseArgs(argv: string[]): Args {
  const names: string[] = [];
  const args: Args = { groups: [], changed: false, base: process.env.TJ_MUTATION_BASE ?? 'main', concurrency: 1, propertyRuns: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--group') names.push(argv[++i] ?? usage('--group needs a name'));
    else if (a === '--changed') args.changed = true;
    else if (a === '--base') args.base = argv[++i] ?? usage('--base needs a branch');
    else if (a === '--concurrency') args.concurrency = positiveInt('--concurrency', argv[++i]);
    else if (a === '--property-runs') args.propertyRuns = positiveInt('--property-runs', argv[++i]);
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  for (const n of names) {
    const g = groupByName(n);
    if (!g) usage(`unknown group ${JSON.stringify(n)}; groups: ${GROUPS.map((x) => x.name).join(', ')}`);
    if (!args.groups.includes(g)) args.groups.push(g);
  }
  if (args.groups.length === 0) args.groups = [...GROUPS];
  return args;
}

async function runGroup(g: MutationGroup, mutate: string[], args: Args): Promise<FileScore[]> {
  // Read by vitest.mutation.config.ts and test/helpers/property-runs.ts in Stryker's workers.
  process.env.TJ_MUTATION_TESTS = g.tests.join(',');
  process.env.TJ_PROPERTY_RUNS = String(args.propertyRuns);
  const stryker = new Stryker({
    testRunner: 'vitest',
    plugins: ['@stryker-mutator/vitest-runner'],
    vitest: { configFile: 'vitest.mutation.config.ts', related: false },
    mutate,
    coverageAnalysis: 'perTest',
    concurrency: args.concurrency,
    reporters: ['html', 'json', 'progress'],
    htmlReporter: { fileName: `${REPORT_DIR}/${g.name}/index.html` },
    jsonReporter: { fileName: `${REPORT_DIR}/${g.name}/mutation.json` },
    tempDirName: '.stryker-tmp',
    ignorePatterns: ['dist', 'demo-out', 'test-artifacts', 'coverage', '.tmp', 'dashboards/generated'],
    thresholds: { high: g.floor, low: g.floor, break: null },
    // LogLevel is a const enum, which isolated modules cannot read; these are its values.
    logLevel: 'warn' as unknown as LogLevel,
    fileLogLevel: 'off' as unknown as LogLevel,
    timeoutMS: 10_000,
  });
  const results = await stryker.runMutationTest();
  const scores = fileScores(results, ROOT);
  console.log(`\n== ${g.name}: ${g.description} (floor ${g.floor} %)`);
  console.log(formatTable(scores, g.floor));
  const survivors = formatSurvivors(results, ROOT);
  if (survivors.length > 0) console.log(`\n${survivors.join('\n')}`);
  console.log(`\nHTML report: ${REPORT_DIR}/${g.name}/index.html`);
  fs.writeFileSync(
    path.join(ROOT, REPORT_DIR, g.name, 'scores.json'),
    `${JSON.stringify({ group: g.name, floor: g.floor, scores }, null, 2)}\n`,
  );
  return scores;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const changed = args.changed ? changedFiles(args.base, ROOT) : null;
  const under: string[] = [];
  let ran = 0;
  for (const g of args.groups) {
    const mutate = changed === null ? g.mutate : changed.filter((f) => g.mutate.some((glob) => matchesGlob(f, glob)));
    if (mutate.length === 0) continue;
    ran++;
    const scores = await runGroup(g, mutate, args);
    for (const s of scores) if (underFloor(s, g.floor)) under.push(`${s.file} ${s.score?.toFixed(1)} % < ${g.floor} %`);
  }
  if (ran === 0) {
    console.log(changed === null ? 'No group to run.' : `No domain-core file changed against ${args.base}: nothing to mutate.`);
    return;
  }
  if (under.length > 0) {
    console.error(
      `\nTJ_MUTATION_UNDER_FLOOR: ${under.length} file(s) under the floor:\n  ${under.join('\n  ')}\nKill the survivors listed above with tests that pin the behaviour (docs/testing.md, Reading survivors).`,
    );
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (e) {
  // Our own refusals (a base branch that is not there) are one line; anything else is a bug with its stack.
  if (e instanceof Error && e.message.startsWith('TJ_MUTATION_')) {
    console.error(e.message);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
