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

  it('refuses a station budget whose burst could never admit the largest accepted message, unless the budget is off', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tj-settings-'));
    expect(loadSettings(dir).ingest.station_rate).toEqual({ per_s: 50, burst: 50_000 });
    writeFileSync(join(dir, 'tuojiang.yaml'), 'ingest:\n  max_payload_bytes: 32768\n  station_rate:\n    per_s: 10\n    burst: 31\n');
    expect(() => loadSettings(dir)).toThrow(/ingest\.station_rate\.burst.*at least 32/);
    writeFileSync(join(dir, 'tuojiang.yaml'), 'ingest:\n  max_payload_bytes: 32768\n  station_rate:\n    per_s: 10\n    burst: 32\n');
    expect(loadSettings(dir).ingest.station_rate.burst).toBe(32);
    writeFileSync(join(dir, 'tuojiang.yaml'), 'ingest:\n  station_rate:\n    per_s: 0\n    burst: 1\n');
    expect(loadSettings(dir).ingest.station_rate.per_s).toBe(0);
  });
});
