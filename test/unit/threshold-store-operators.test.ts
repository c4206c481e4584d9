/** Operators, their cities and their API tokens: only hashes are stored, a token names one operator. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOperatorToken, hashToken, OperatorDirectory, operatorsFilePath } from '../../alerts/threshold-store/operators.js';
import { loadConfig } from '../../config/load.js';
import { isTuojiangError } from '../../lib/errors.js';
import { codeOf } from '../helpers/fixtures.js';

const { dir, registry } = loadConfig();

function copyOfShipped(): string {
  const f = join(mkdtempSync(join(tmpdir(), 'tj-operators-')), 'operators.yaml');
  writeFileSync(f, readFileSync(join(dir, 'operators.yaml'), 'utf8'));
  return f;
}

describe('operators.yaml', () => {
  it('the shipped example lists operators of both cities and no tokens', () => {
    const d = new OperatorDirectory(join(dir, 'operators.yaml'), registry);
    const ops = d.list();
    expect(new Set(ops.map((o) => o.city))).toEqual(new Set(['chengdu', 'ziyang']));
    expect(ops.every((o) => o.tokens.length === 0)).toBe(true);
  });

  it('is found through TUOJIANG_OPERATORS, else in the configuration folder', () => {
    expect(operatorsFilePath('/etc/tj', { TUOJIANG_OPERATORS: '/srv/ops.yaml' })).toBe('/srv/ops.yaml');
    expect(operatorsFilePath('/etc/tj', {})).toBe('/etc/tj/operators.yaml');
  });

  it('refuses an operator of an unknown city, with file and line', () => {
    const f = copyOfShipped();
    writeFileSync(f, 'version: 1\noperators:\n  - id: x\n    city: neijiang\n');
    try {
      new OperatorDirectory(f, registry).list();
      throw new Error('expected an error');
    } catch (e) {
      expect(isTuojiangError(e) && e.code).toBe('TJ_CONFIG_INVALID');
      expect((e as Error).message).toMatch(/operators\.yaml:4:\d+ operators\[0\]\.city: unknown city "neijiang"/);
    }
  });
});

describe('tokens', () => {
  it('token create records only the SHA-256, keeps the comments, and the token authenticates its operator', () => {
    const f = copyOfShipped();
    const { token, operator } = createOperatorToken(f, registry, 'zy-zhang', 'laptop');
    expect(token).toMatch(/^tjop_[A-Za-z0-9_-]{43}$/);
    expect(operator).toMatchObject({ id: 'zy-zhang', city: 'ziyang' });
    const text = readFileSync(f, 'utf8');
    expect(text).not.toContain(token);
    expect(text).toContain(hashToken(token));
    expect(text).toContain('# EXAMPLE ONLY');
    const d = new OperatorDirectory(f, registry);
    expect(d.authenticate(token)).toMatchObject({ id: 'zy-zhang', city: 'ziyang' });
    expect(d.authenticate(`${token}x`)).toBeUndefined();
    expect(d.authenticate(undefined)).toBeUndefined();
    // a second token for the same operator: both work
    const second = createOperatorToken(f, registry, 'zy-zhang').token;
    const d2 = new OperatorDirectory(f, registry);
    expect(d2.authenticate(second)?.id).toBe('zy-zhang');
    expect(d2.authenticate(token)?.id).toBe('zy-zhang');
  });

  it('token create refuses an operator not in the file', () => {
    expect(codeOf(() => createOperatorToken(copyOfShipped(), registry, 'nobody'))).toBe('TJ_OPERATOR_UNKNOWN');
  });
});

describe('the CLI actor', () => {
  const d = new OperatorDirectory(join(dir, 'operators.yaml'), registry);

  it('is an operator of the file acting for its own city', () => {
    expect(d.actor('cd-wang', 'chengdu')).toEqual({ operator: 'cd-wang', city: 'chengdu' });
  });

  it('is refused when missing, unknown or claiming the other city', () => {
    expect(codeOf(() => d.actor(undefined, 'chengdu'))).toBe('TJ_OPERATOR_UNKNOWN');
    expect(codeOf(() => d.actor('cd-wang', undefined))).toBe('TJ_OPERATOR_UNKNOWN');
    expect(codeOf(() => d.actor('cd-zhao', 'chengdu'))).toBe('TJ_OPERATOR_UNKNOWN');
    expect(codeOf(() => d.actor('cd-wang', 'ziyang'))).toBe('TJ_OPERATOR_FORBIDDEN');
  });
});
