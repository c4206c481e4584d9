/**
 * Issue 11, item 8: the advisory service is unreachable from the build machines, so what can be
 * checked here is that the dependencies are pinned and that production carries only what it
 * uses. The CLI is run with every devDependency refused (as in the image, `npm ci --omit=dev`).
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const PRODUCTION_DIRS = ['cli', 'ingest', 'alerts', 'api', 'config', 'lib', 'runtime', 'simulator', 'dashboards', 'bin', 'scripts'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'node_modules' || f === 'generated' ? [] : sources(p);
    return /\.(ts|mjs|js)$/.test(f) ? [p] : [];
  });
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/helpers/refuse-dev-deps.mjs', 'cli/main.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('dependencies', () => {
  it('are pinned to exact versions', () => {
    for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      expect(range, name).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it('production ones are each imported by production code; demo and test servers are dev only', () => {
    const text = PRODUCTION_DIRS.flatMap((d) => sources(join(ROOT, d)))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const unused = Object.keys(pkg.dependencies).filter(
      (name) => !new RegExp(`from '${name}(/[^']*)?'|import\\('${name}(/[^']*)?'\\)`).test(text),
    );
    expect(unused).toEqual([]);
    expect(Object.keys(pkg.dependencies)).not.toContain('influx');
    for (const dev of ['smtp-server', 'mailparser']) {
      expect(Object.keys(pkg.dependencies)).not.toContain(dev);
      expect(Object.keys(pkg.devDependencies)).toContain(dev);
    }
  });

  it('every command loads without the dev dependencies (as in the production image)', async () => {
    const stations = await cli(['stations', 'list', '--json']);
    expect(stations.stderr).toBe('');
    expect(stations.code).toBe(0);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('demo');
  });

  it('the demo, which needs them, says so instead of crashing', async () => {
    const demo = await cli(['demo', '--seconds', '1']);
    expect(demo.code).toBe(2);
    expect(demo.stderr).toMatch(/^error TJ_SERVICE_START: the demo needs the development dependencies/);
  });
});
