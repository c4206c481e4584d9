/**
 * The mutation-run tooling (test/mutation/): which files --changed mutates, and how scores and the
 * floor are computed from Stryker's results. git runs in a temporary repository.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { changedFiles, matchesGlob } from '../mutation/changed.js';
import { GROUPS } from '../mutation/groups.js';
import { fileScores, formatSurvivors, formatTable, underFloor, type MutantLike } from '../mutation/scores.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function repo(): { dir: string; git: (...args: string[]) => string; write: (f: string, text: string) => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tj-mutation-'));
  dirs.push(dir);
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', ...args], { cwd: dir, encoding: 'utf8' });
  const write = (f: string, text: string): void => {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  };
  git('init', '-q', '-b', 'main');
  return { dir, git, write };
}

describe('--changed', () => {
  it('lists files committed since the merge base, staged, unstaged and untracked; not deleted ones', () => {
    const { dir, git, write } = repo();
    write('lib/standards/hj633.ts', 'a');
    write('lib/standards/gb3838.ts', 'a');
    write('alerts/observe.ts', 'a');
    git('add', '-A');
    git('commit', '-qm', 'base');
    git('checkout', '-qb', 'work');
    write('lib/standards/hj633.ts', 'b');
    git('commit', '-qam', 'change');
    write('alerts/observe.ts', 'b');
    write('alerts/rules/new-rule.ts', 'new');
    fs.rmSync(path.join(dir, 'lib/standards/gb3838.ts'));
    expect(changedFiles('main', dir)).toEqual(['alerts/observe.ts', 'alerts/rules/new-rule.ts', 'lib/standards/hj633.ts']);
  });

  it('says how to fix a base it cannot find', () => {
    const { dir, git, write } = repo();
    write('a.ts', 'a');
    git('add', '-A');
    git('commit', '-qm', 'base');
    expect(() => changedFiles('no-such-branch', dir)).toThrow(/TJ_MUTATION_BASE: no merge base with "no-such-branch"/);
  });

  it('matches a group glob within one path segment only', () => {
    expect(matchesGlob('alerts/rules/aqi.ts', 'alerts/rules/*.ts')).toBe(true);
    expect(matchesGlob('alerts/rules/x/aqi.ts', 'alerts/rules/*.ts')).toBe(false);
    expect(matchesGlob('alerts/rulesXaqi.ts', 'alerts/rules/*.ts')).toBe(false);
    expect(matchesGlob('alerts/observe.ts', 'alerts/observe.ts')).toBe(true);
    expect(matchesGlob('alerts/observe_ts', 'alerts/observe.ts')).toBe(false);
  });

  it('every group file pattern names files that exist, and no file is in two groups', () => {
    const files = GROUPS.flatMap((g) =>
      g.mutate.flatMap((glob) => {
        const dir = path.dirname(glob);
        return fs
          .readdirSync(dir)
          .map((f) => `${dir}/${f}`)
          .filter((f) => matchesGlob(f, glob));
      }),
    );
    expect(files.length).toBeGreaterThan(20);
    expect(new Set(files).size).toBe(files.length);
  });
});

describe('scores', () => {
  const m = (file: string, status: string, line = 1): MutantLike => ({
    fileName: file,
    status,
    mutatorName: 'ConditionalExpression',
    replacement: 'true',
    location: { start: { line, column: 4 } },
  });

  it('detected over detected plus undetected; errors and disabled mutants count neither way', () => {
    const s = fileScores(
      [
        m('a.ts', 'Killed'),
        m('a.ts', 'Timeout'),
        m('a.ts', 'Survived'),
        m('a.ts', 'NoCoverage'),
        m('a.ts', 'CompileError'),
        m('a.ts', 'Ignored'),
        m('b.ts', 'Ignored'),
      ],
      '/r',
    );
    expect(s).toEqual([
      { file: 'a.ts', killed: 1, timeout: 1, survived: 1, noCoverage: 1, errors: 1, ignored: 1, score: 50 },
      { file: 'b.ts', killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0, ignored: 1, score: null },
    ]);
  });

  it('the floor is checked on the score as printed (rounded down to 0.1)', () => {
    const at = (score: number | null) => ({ file: 'x', killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0, ignored: 0, score });
    expect(underFloor(at(94.99), 95)).toBe(true);
    expect(underFloor(at(95), 95)).toBe(false);
    expect(underFloor(at(null), 95)).toBe(false);
    expect(formatTable([at(94.99)], 95)).toContain('94.9 %  UNDER FLOOR 95 %');
    expect(formatTable([at(100)], 95)).not.toContain('UNDER');
  });

  it('one line per survivor or uncovered mutant: where (1-based column), mutator, replacement', () => {
    expect(formatSurvivors([m('/r/a.ts', 'Survived', 3), m('/r/a.ts', 'NoCoverage', 2), m('/r/a.ts', 'Killed')], '/r')).toEqual([
      'no cov   a.ts:2:5 ConditionalExpression → true',
      'survived a.ts:3:5 ConditionalExpression → true',
    ]);
  });
});
