import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadSettings } from '../../config/load.js';
import { isTuojiangError } from '../../lib/errors.js';

describe('loadSettings (tuojiang.yaml without the stations)', () => {
  it('reads tuojiang.yaml and never touches stations.yaml, which loadConfig validates', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tj-settings-'));
    writeFileSync(join(dir, 'tuojiang.yaml'), 'redis:\n  prefix: "{tj}"\n');
    writeFileSync(join(dir, 'stations.yaml'), 'version: 1\nstations: [ this is not a registry\n');
    expect(loadSettings(dir).redis.prefix).toBe('{tj}');
    let code = '';
    try {
      loadConfig(dir);
    } catch (e) {
      code = isTuojiangError(e) ? e.code : String(e);
    }
    expect(code).toBe('TJ_CONFIG_INVALID');
  });

  it('gives the defaults without tuojiang.yaml, and refuses an invalid one with the file and key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tj-settings-'));
    expect(loadSettings(dir).redis.prefix).toBe('tuojiang');
    writeFileSync(join(dir, 'tuojiang.yaml'), 'redis:\n  wait_replicas: 9\n');
    expect(() => loadSettings(dir)).toThrow(/tuojiang\.yaml:2:\d+ redis\.wait_replicas/);
  });
});
