/**
 * The operators who may change the thresholds, each of one city, and their API tokens. Only the
 * SHA-256 of a token is ever stored (operators.yaml); the token itself is printed once by
 * `tuojiang thresholds token create` and kept by the operator. The file lives with the deployment's
 * configuration, not in the repository (the repository's copy lists example operators, no tokens).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { z } from 'zod';
import { loadYamlFile } from '../../config/load.js';
import type { RegistryConfig } from '../../config/schema.js';
import { TuojiangError } from '../../lib/errors.js';
import type { Actor } from './types.js';

export const OPERATORS_FILE = 'operators.yaml';
export const TOKEN_PREFIX = 'tjop_';

const OperatorSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'letters, digits, . _ @ - (at most 64)'),
    city: z.string().min(1),
    name: z.string().optional(),
    tokens: z
      .array(
        z
          .object({
            sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the SHA-256 of the token, 64 lower-case hex digits'),
            created: z.string().optional(),
            label: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export const OperatorsFileSchema = z
  .object({
    version: z.literal(1),
    operators: z.array(OperatorSchema).default([]),
  })
  .strict();

export type OperatorsFile = z.output<typeof OperatorsFileSchema>;
export type Operator = OperatorsFile['operators'][number];

export function operatorsSchemaFor(registry: RegistryConfig) {
  return OperatorsFileSchema.superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.operators.forEach((o, i) => {
      if (!(o.city in registry.cities))
        ctx.addIssue({
          code: 'custom',
          path: ['operators', i, 'city'],
          message: `unknown city "${o.city}"; expected one of ${Object.keys(registry.cities).join(', ')}`,
        });
      if (seen.has(o.id)) ctx.addIssue({ code: 'custom', path: ['operators', i, 'id'], message: `duplicate operator id "${o.id}"` });
      seen.add(o.id);
    });
  });
}

/** TUOJIANG_OPERATORS, else operators.yaml in the configuration folder. */
export function operatorsFilePath(configDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.TUOJIANG_OPERATORS || join(configDir, OPERATORS_FILE);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** Who holds each token, re-read when the file changes (a new token works without a restart). */
export class OperatorDirectory {
  private byHash = new Map<string, Operator>();
  private byId = new Map<string, Operator>();
  private mtimeMs = -1;
  private checkedAt = -Infinity;

  constructor(
    readonly file: string,
    private readonly registry: RegistryConfig,
    private readonly opts: { checkEveryMs?: number } = {},
  ) {}

  /** From an already validated list (tests, or a caller with its own source of operators). */
  static of(operators: Operator[], registry: RegistryConfig): OperatorDirectory {
    const d = new OperatorDirectory('', registry);
    d.index(operators);
    d.checkedAt = Infinity;
    return d;
  }

  private index(operators: readonly Operator[]): void {
    this.byHash = new Map(operators.flatMap((o) => o.tokens.map((t) => [t.sha256, o] as const)));
    this.byId = new Map(operators.map((o) => [o.id, o]));
  }

  private reload(): void {
    if (!this.file || Date.now() - this.checkedAt < (this.opts.checkEveryMs ?? 2000)) return;
    this.checkedAt = Date.now();
    const mtime = statSync(this.file, { throwIfNoEntry: false })?.mtimeMs ?? -1;
    if (mtime === this.mtimeMs) return;
    if (mtime === -1) {
      this.index([]);
    } else {
      this.index(loadYamlFile(this.file, operatorsSchemaFor(this.registry)).operators);
    }
    this.mtimeMs = mtime;
  }

  list(): Operator[] {
    this.reload();
    return [...this.byId.values()];
  }

  get(id: string): Operator | undefined {
    this.reload();
    return this.byId.get(id);
  }

  /** The operator a bearer token belongs to (only hashes are compared; the token is never kept). */
  authenticate(token: string | undefined): Operator | undefined {
    if (!token) return undefined;
    this.reload();
    return this.byHash.get(hashToken(token));
  }

  /**
   * The CLI's actor: TUOJIANG_OPERATOR / TUOJIANG_CITY (or flags) must name an operator of the file
   * and that operator's city, so a typo cannot act under a city nobody checked.
   */
  actor(operator: string | undefined, city: string | undefined): Actor {
    if (!operator || !city)
      throw new TuojiangError(
        'OPERATOR_UNKNOWN',
        `who is acting? set TUOJIANG_OPERATOR and TUOJIANG_CITY (or --operator and --city)${operator ? '' : ' — no operator given'}${city ? '' : ' — no city given'}`,
      );
    const o = this.get(operator);
    if (!o) throw new TuojiangError('OPERATOR_UNKNOWN', `operator "${operator}" is not listed in ${this.file || 'the operators list'}`);
    if (o.city !== city) throw new TuojiangError('OPERATOR_FORBIDDEN', `operator "${operator}" belongs to ${o.city}, not ${city}`);
    return { operator: o.id, city: o.city };
  }
}

/**
 * Creates a token for an operator: appends its SHA-256 to the operator's entry in the file (the
 * rest of the file, comments included, is left as it was) and returns the token, to be shown once.
 */
export function createOperatorToken(
  file: string,
  registry: RegistryConfig,
  operatorId: string,
  label?: string,
  now = new Date(),
): { token: string; operator: Operator } {
  if (!existsSync(file))
    throw new TuojiangError('CONFIG_NOT_FOUND', `${file}: no such file (set TUOJIANG_OPERATORS or create it from config/operators.yaml)`);
  const current = loadYamlFile(file, operatorsSchemaFor(registry));
  const operator = current.operators.find((o) => o.id === operatorId);
  if (!operator) throw new TuojiangError('OPERATOR_UNKNOWN', `operator "${operatorId}" is not listed in ${file}; add it (id, city) first`);
  const doc = parseDocument(readFileSync(file, 'utf8'));
  const ops = doc.get('operators', true);
  if (!isSeq(ops)) throw new TuojiangError('CONFIG_INVALID', `${file}: operators must be a list`);
  const entry = ops.items.find((it) => isMap(it) && it.get('id') === operatorId);
  if (!isMap(entry)) throw new TuojiangError('CONFIG_INVALID', `${file}: cannot find the entry of ${operatorId}`);
  const token = newToken();
  const record = { sha256: hashToken(token), created: now.toISOString(), ...(label ? { label } : {}) };
  const tokens = entry.get('tokens', true);
  if (isSeq(tokens)) tokens.add(doc.createNode(record));
  else entry.set('tokens', doc.createNode([record]));
  writeFileSync(file, doc.toString({ lineWidth: 0 }), { mode: 0o600 });
  // Re-read what was written: a file we cannot load back must not hand out a token.
  const after = loadYamlFile(file, operatorsSchemaFor(registry)).operators.find((o) => o.id === operatorId);
  if (!after?.tokens.some((t) => t.sha256 === record.sha256))
    throw new TuojiangError('CONFIG_INVALID', `${file}: the token was not recorded`);
  return { token, operator: after };
}
