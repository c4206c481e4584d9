/**
 * Per-file mutation scores from Stryker's results, computed the way Stryker's own report does:
 * detected (killed, timeout) over detected plus undetected (survived, no coverage). Mutants that
 * could not run (compile or runtime errors) or were ignored do not count either way.
 */
import path from 'node:path';

export type Status = 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';

export interface MutantLike {
  fileName: string;
  status?: Status | string;
  mutatorName: string;
  replacement?: string;
  location: { start: { line: number; column: number } };
}

export interface FileScore {
  file: string;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  errors: number;
  ignored: number;
  /** Percent, or null when no mutant of the file was valid. */
  score: number | null;
}

export function relativeFile(fileName: string, root: string): string {
  return path.relative(root, path.resolve(root, fileName)).split(path.sep).join('/');
}

export function fileScores(results: readonly MutantLike[], root: string): FileScore[] {
  const byFile = new Map<string, FileScore>();
  for (const m of results) {
    const file = relativeFile(m.fileName, root);
    let s = byFile.get(file);
    if (!s) {
      s = { file, killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0, ignored: 0, score: null };
      byFile.set(file, s);
    }
    switch (m.status) {
      case 'Killed':
        s.killed++;
        break;
      case 'Timeout':
        s.timeout++;
        break;
      case 'Survived':
        s.survived++;
        break;
      case 'NoCoverage':
        s.noCoverage++;
        break;
      case 'Ignored':
        s.ignored++;
        break;
      default:
        s.errors++;
    }
  }
  for (const s of byFile.values()) {
    const detected = s.killed + s.timeout;
    const valid = detected + s.survived + s.noCoverage;
    s.score = valid === 0 ? null : (100 * detected) / valid;
  }
  return [...byFile.values()].sort((a, b) => a.file.localeCompare(b.file));
}

/** Floors are checked on the score rounded down to one decimal, as printed. */
export function underFloor(s: FileScore, floor: number): boolean {
  return s.score !== null && Math.floor(s.score * 10) / 10 < floor;
}

export function formatTable(scores: readonly FileScore[], floor: number): string {
  const head = ['file', 'killed', 'timeout', 'survived', 'no cov', 'errors', 'disabled', 'score'];
  const rows = scores.map((s) => [
    s.file,
    String(s.killed),
    String(s.timeout),
    String(s.survived),
    String(s.noCoverage),
    String(s.errors),
    String(s.ignored),
    s.score === null ? 'n/a' : `${(Math.floor(s.score * 10) / 10).toFixed(1)} %${underFloor(s, floor) ? `  UNDER FLOOR ${floor} %` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** One line per surviving or uncovered mutant: where, which mutator, what it became. */
export function formatSurvivors(results: readonly MutantLike[], root: string): string[] {
  return results
    .filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')
    .map((m) => {
      const where = `${relativeFile(m.fileName, root)}:${m.location.start.line}:${m.location.start.column + 1}`;
      const repl = (m.replacement ?? '').replace(/\s+/g, ' ');
      return `${m.status === 'NoCoverage' ? 'no cov  ' : 'survived'} ${where} ${m.mutatorName} → ${repl.length > 100 ? `${repl.slice(0, 97)}...` : repl}`;
    })
    .sort();
}
