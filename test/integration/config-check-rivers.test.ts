/**
 * `tuojiang config check`, run as the real CLI, validates the receptors of config/rivers.yaml and
 * names file:line:key for a bad one. No services: the check starts nothing.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR } from '../../config/load.js';
import { spawnCli, type CliRun } from '../helpers/cli.js';

const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function configCheck(dir: string): Promise<CliRun> {
  // Only what the CLI needs to run: the service endpoints take their defaults. The files alone: the
  // services that need no secrets (the environment check is config-check-cli's).
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TUOJIANG_CONFIG: dir };
  return spawnCli(['config', 'check', '--json', '--service', 'ingest'], env);
}

function copyOfConfig(edit?: (rivers: string) => string): { dir: string; text: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tj-config-check-'));
  dirs.push(dir);
  cpSync(DEFAULT_CONFIG_DIR, dir, { recursive: true });
  const file = join(dir, 'rivers.yaml');
  const text = edit ? edit(readFileSync(file, 'utf8')) : readFileSync(file, 'utf8');
  writeFileSync(file, text);
  return { dir, text };
}

describe('tuojiang config check: receptors in rivers.yaml', () => {
  it('the shipped receptors pass', async () => {
    const { dir } = copyOfConfig();
    const run = await configCheck(dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, files: expect.arrayContaining(['rivers.yaml']) });
  });

  it('a receptor of an unknown city, and one outside the reaches: exit 2, each named with file:line and key', async () => {
    const { dir, text } = copyOfConfig((t) =>
      t.replace('        city: ziyang\n', '        city: neijiang\n').replace('river_km: 68\n', 'river_km: 700\n'),
    );
    const run = await configCheck(dir);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('TJ_CONFIG_INVALID');
    const line = (needle: string): number => text.slice(0, text.indexOf(needle)).split('\n').length;
    expect(run.stderr).toContain(`${join(dir, 'rivers.yaml')}:${line('city: neijiang')}:`);
    expect(run.stderr).toMatch(/rivers\.tuojiang\.receptors\[1\]\.city: unknown city "neijiang"/);
    expect(run.stderr).toContain(`${join(dir, 'rivers.yaml')}:${line('river_km: 700')}:`);
    expect(run.stderr).toMatch(/rivers\.tuojiang\.receptors\[0\]\.river_km: km 700 lies outside the reaches \(km 0–640\)/);
  });
});
