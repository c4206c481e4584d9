/**
 * The layer rules (.dependency-cruiser.cjs, run by `npm run lint:layers` inside `npm test`): the tree
 * as it is passes, and each rule fails a small tree written to break exactly it. The trees are
 * written to a temporary folder and checked with the repository's own configuration, as CI runs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** depcruise as `npm run lint:layers` runs it: the exit code, and the `error <rule>: <from> → …` lines. */
function cruise(cwd: string, dirs: string[]): { code: number | null; violations: string[] } {
  const r = spawnSync(DEPCRUISE, ['--config', CONFIG, '--output-type', 'err', ...dirs], { cwd, encoding: 'utf8' });
  const violations = [...`${r.stdout}${r.stderr}`.matchAll(/^\s*error ([a-z-]+): (\S+)/gm)].map((m) => `${m[1]}: ${m[2]}`);
  return { code: r.status, violations };
}

/** A throw-away tree with the given files (path → source) and the repository's compiler settings. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tj-layers-'));
  made.push(dir);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
  );
  for (const [path, src] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), src);
  }
  return dir;
}

/** Whether the check fails, and the rules it names. */
function broken(files: Record<string, string>): { fails: boolean; rules: string[] } {
  const dirs = [...new Set(Object.keys(files).map((f) => f.split('/')[0]!))];
  const r = cruise(tree(files), dirs);
  return { fails: r.code !== 0, rules: [...new Set(r.violations.map((v) => v.split(':')[0]!))].sort() };
}

describe('layer rules', () => {
  it('the repository as it is passes them', () => {
    const r = cruise(ROOT, [
      'lib',
      'config',
      'ingest',
      'alerts',
      'aggregates',
      'dashboards',
      'simulator',
      'runtime',
      'api',
      'cli',
      'demo',
      'devtools',
      'test',
    ]);
    expect(r.violations).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('lib/ importing config/ fails (the station registry once did)', () => {
    expect(
      broken({
        'config/schema.ts': 'export type StationConfig = { id: string };\n',
        'lib/station-registry.ts': "import type { StationConfig } from '../config/schema.js';\nexport type Station = StationConfig;\n",
      }),
    ).toEqual({ fails: true, rules: ['lib-imports-nothing-above'] });
  });

  it('config/ importing the domain fails', () => {
    expect(
      broken({
        'alerts/rules/index.ts': 'export const RULES = [];\n',
        'config/thresholds-schema.ts': "import { RULES } from '../alerts/rules/index.js';\nexport const n = RULES.length;\n",
      }),
    ).toEqual({ fails: true, rules: ['config-imports-lib-only'] });
  });

  it('the domain importing a front end fails', () => {
    expect(
      broken({
        'cli/output.ts': 'export const printJson = (v: unknown): string => JSON.stringify(v);\n',
        'alerts/service.ts': "import { printJson } from '../cli/output.js';\nexport const s = printJson(1);\n",
      }),
    ).toEqual({ fails: true, rules: ['domain-imports-no-front-end'] });
  });

  it('the domain importing runtime/ fails, and runtime/ importing a front end fails', () => {
    expect(
      broken({
        'runtime/open-world.ts': 'export const openWorld = (): void => undefined;\n',
        'ingest/ingest-service.ts': "import { openWorld } from '../runtime/open-world.js';\nexport const o = openWorld;\n",
      }),
    ).toEqual({ fails: true, rules: ['domain-imports-no-front-end'] });
    expect(
      broken({
        'cli/output.ts': 'export const printJson = (v: unknown): string => JSON.stringify(v);\n',
        'runtime/open-world.ts': "import { printJson } from '../cli/output.js';\nexport const p = printJson;\n",
      }),
    ).toEqual({ fails: true, rules: ['runtime-below-front-ends'] });
  });

  it('api/ importing cli/ fails, and cli/ importing api/ anywhere but cli/commands/api.ts fails', () => {
    expect(
      broken({
        'cli/output.ts': 'export const runUntilSignal = (): void => undefined;\n',
        'api/command.ts': "import { runUntilSignal } from '../cli/output.js';\nexport const r = runUntilSignal;\n",
      }),
    ).toEqual({ fails: true, rules: ['api-not-cli'] });
    expect(
      broken({
        'api/server.ts': 'export const startApiServer = (): void => undefined;\n',
        'cli/commands/api.ts': "import { startApiServer } from '../../api/server.js';\nexport const s = startApiServer;\n",
        'cli/commands/alerts.ts': "import { startApiServer } from '../../api/server.js';\nexport const s = startApiServer;\n",
      }),
    ).toEqual({ fails: true, rules: ['cli-reaches-api-through-one-file'] });
  });

  it('production code importing devtools/ fails; devtools/ importing the pipeline fails', () => {
    expect(
      broken({
        'devtools/local-services/index.ts': 'export const startServices = (): void => undefined;\n',
        'ingest/ingest-service.ts':
          "import { startServices } from '../devtools/local-services/index.js';\nexport const s = startServices;\n",
      }),
    ).toEqual({ fails: true, rules: ['devtools-not-in-production'] });
    expect(
      broken({
        'ingest/topics.ts': "export const TOPIC = 'tuojiang';\n",
        'devtools/local-services/mosquitto.ts': "import { TOPIC } from '../../ingest/topics.js';\nexport const t = TOPIC;\n",
      }),
    ).toEqual({ fails: true, rules: ['devtools-on-lib-only'] });
  });

  it('a module cycle fails; one through type-only imports (erased when compiled) does not', () => {
    expect(
      broken({
        'alerts/a.ts': "import { b } from './b.js';\nexport const a = (): number => b() + 1;\n",
        'alerts/b.ts': "import { a } from './a.js';\nexport const b = (): number => (a ? 1 : 0);\n",
      }),
    ).toEqual({ fails: true, rules: ['no-cycles'] });
    expect(
      broken({
        'alerts/a.ts': "import type { B } from './b.js';\nexport interface A { b?: B }\n",
        'alerts/b.ts': "import type { A } from './a.js';\nexport interface B { a?: A }\n",
      }),
    ).toEqual({ fails: false, rules: [] });
  });

  it('an import that does not resolve fails', () => {
    expect(broken({ 'lib/a.ts': "import { gone } from './gone.js';\nexport const a = gone;\n" })).toEqual({
      fails: true,
      rules: ['not-to-unresolvable'],
    });
  });
});
