import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { TuojiangError } from '../lib/errors.js';
import { RegistrySchema, SettingsSchema, type RegistryConfig, type Settings } from './schema.js';

/** The folder holding the shipped default configuration (this file's own folder). */
export const DEFAULT_CONFIG_DIR = dirname(fileURLToPath(import.meta.url)).replace(/[/\\]dist[/\\]config$/, '/config');

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TUOJIANG_CONFIG ?? DEFAULT_CONFIG_DIR);
}

export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  key: string;
  message: string;
}

function keyPath(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(root)'
  );
}

/** Where in the YAML a zod issue path points: the deepest node that exists on the path. */
function locate(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) {
      const pos = lc.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return { line: 1, column: 1 };
}

function describeFound(doc: Document, path: readonly PropertyKey[]): string {
  const v: unknown = doc.getIn(path as unknown[]);
  if (v === undefined) return 'nothing';
  return JSON.stringify(isNode(v) ? v.toJSON() : v)?.slice(0, 80) ?? String(v);
}

/**
 * Parse and validate one YAML file. Every problem names the file, line, key, what was expected and
 * what was found, so an operator can fix it without reading the schema.
 */
export function loadYamlFile<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  if (!existsSync(file)) throw new TuojiangError('CONFIG_NOT_FOUND', `${file}: no such file`);
  const text = readFileSync(file, 'utf8');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const rel = relative(process.cwd(), file);
  const shown = rel && !rel.startsWith('..') ? rel : file;
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = lc.linePos(e.pos[0]);
      return { file: shown, line: pos.line, column: pos.col, key: '(syntax)', message: e.message.split('\n')[0] ?? e.message };
    });
    throw configError(problems);
  }
  const result = schema.safeParse(doc.toJS());
  if (!result.success) {
    const problems: ConfigProblem[] = result.error.issues.map((issue) => {
      const { line, column } = locate(doc, lc, issue.path);
      return { file: shown, line, column, key: keyPath(issue.path), message: `${issue.message}; found ${describeFound(doc, issue.path)}` };
    });
    throw configError(problems);
  }
  return result.data;
}

function configError(problems: ConfigProblem[]): TuojiangError {
  const text = problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.key}: ${p.message}`).join('\n');
  return new TuojiangError('CONFIG_INVALID', `invalid configuration:\n${text}`, { problems });
}

export interface LoadedConfig {
  dir: string;
  registry: RegistryConfig;
  settings: Settings;
}

export function loadConfig(dir = configDir()): LoadedConfig {
  if (!existsSync(join(dir, 'stations.yaml'))) {
    throw new TuojiangError('CONFIG_NOT_FOUND', `no stations.yaml in ${dir}`);
  }
  const registry = loadYamlFile(join(dir, 'stations.yaml'), RegistrySchema);
  return { dir, registry, settings: loadSettings(dir) };
}

/**
 * tuojiang.yaml alone (defaults without it), for what needs no station: stations.yaml is the large
 * file (a province's stations), and parsing it was most of a command's start-up before the command
 * itself parsed it again.
 */
export function loadSettings(dir = configDir()): Settings {
  const settingsFile = join(dir, 'tuojiang.yaml');
  return existsSync(settingsFile) ? loadYamlFile(settingsFile, SettingsSchema) : SettingsSchema.parse({});
}
