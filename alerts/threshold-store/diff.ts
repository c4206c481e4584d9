/**
 * Differences between two threshold versions, key by key (so nothing a change touched can hide in
 * a summary), and a version written back as config/thresholds.yaml.
 */
import { stringify } from 'yaml';
import type { ThresholdsFile } from '../thresholds-schema.js';
import { cst } from '../messages.js';
import { formatExplicit, targetPath } from './limits.js';
import type { ThresholdVersion } from './types.js';

export interface PathChange {
  /** The key in config/thresholds.yaml, e.g. `stations.shiqiao.limits.NH3N` or `sections[0].limits.DO.min`. */
  path: string;
  /** undefined: the key is absent on that side. */
  from?: unknown;
  to?: unknown;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function join(base: string, key: string | number): string {
  return typeof key === 'number' ? `${base}[${key}]` : base ? `${base}.${key}` : key;
}

function walk(base: string, a: unknown, b: unknown, out: PathChange[]): void {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) walk(join(base, k), a[k], b[k], out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.some(isObject)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) walk(join(base, i), a[i], b[i], out);
    return;
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  out.push({ path: base, ...(a !== undefined ? { from: a } : {}), ...(b !== undefined ? { to: b } : {}) });
}

/** Every key whose value differs (the version number itself excluded). */
export function diffConfigs(a: ThresholdsFile, b: ThresholdsFile): PathChange[] {
  const out: PathChange[] = [];
  walk('', { ...a, version: undefined }, { ...b, version: undefined }, out);
  return out;
}

/** config/thresholds.yaml of one version, with a header saying where it came from. */
export function exportYaml(v: ThresholdVersion): string {
  const header = [
    `# Unified thresholds, version ${v.version}, exported from the threshold store (tuojiang thresholds export).`,
    `# Applied ${cst(v.at)} by ${v.by}${v.city ? ` (${v.city})` : ''}: ${v.summary}`,
    '# Changes go through `tuojiang thresholds propose` (both cities consent to a loosening); this file is',
    '# the record, and the seed for a new store.',
    ...v.exceptions.map(
      (e) =>
        `# Exception ${e.id}: ${targetPath(e.target)} ${formatExplicit(e.value)} until ${cst(e.until)} (${e.reason}); then ${formatExplicit(e.restore)}.`,
    ),
  ];
  const config = { ...v.config, version: String(v.version) };
  return `${header.join('\n')}\n${stringify(config, { lineWidth: 0 })}`;
}
