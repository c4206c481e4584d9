/**
 * Which of a group's source files changed against a base branch: committed since the merge base,
 * staged, unstaged or untracked, so the same command works in CI and before a commit.
 */
import { execFileSync } from 'node:child_process';

function git(args: string[], cwd: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function changedFiles(base: string, cwd: string): string[] {
  let mergeBase: string;
  try {
    mergeBase = git(['merge-base', base, 'HEAD'], cwd).trim();
  } catch {
    throw new Error(`TJ_MUTATION_BASE: no merge base with "${base}": fetch it (git fetch origin ${base}) or name another with --base`);
  }
  const lines = [
    ...git(['diff', '--name-only', '--diff-filter=d', mergeBase], cwd).split('\n'),
    ...git(['ls-files', '--others', '--exclude-standard'], cwd).split('\n'),
  ];
  return [...new Set(lines.map((l) => l.trim()).filter(Boolean))].sort();
}

/** Globs of the groups use `*` within one path segment only. */
export function matchesGlob(file: string, glob: string): boolean {
  const re = new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  return re.test(file);
}
