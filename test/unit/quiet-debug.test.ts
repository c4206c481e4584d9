/**
 * lib/quiet-debug.ts: with DEBUG unset, MQTT.js and mqtt-packet get no-op `debug` loggers (their
 * per-packet calls cost the ingest CPU); with DEBUG set they get the real ones. Each case in a fresh
 * Node process, since the point is what a library gets when it is first loaded.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function loadMqttAfterQuietDebug(env: NodeJS.ProcessEnv): { quieted: string[]; parserLogs: boolean } {
  const code = `
    const q = await import('./lib/quiet-debug.ts');
    const mqtt = await import('mqtt');
    const { createRequire } = await import('node:module');
    const require = createRequire(process.cwd() + '/');
    const debug = require('debug');
    // What a library loading now would get, for a namespace of mqtt-packet's.
    const parserLogs = debug('mqtt-packet:parser').enabled === true;
    const c = mqtt.default.connect('mqtt://127.0.0.1:1', { reconnectPeriod: 0, connectTimeout: 50 });
    c.on('error', () => {});
    c.end(true);
    console.log(JSON.stringify({ quieted: q.quietNamespaces(), parserLogs }));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as { quieted: string[]; parserLogs: boolean };
}

describe('quiet debug loggers', () => {
  it('MQTT.js and mqtt-packet loaded after it get no-op loggers when DEBUG is unset', () => {
    const r = loadMqttAfterQuietDebug({});
    expect(r.quieted).toEqual(expect.arrayContaining(['mqtt-packet:parser', 'mqtt-packet:writeToStream']));
    expect(r.quieted.some((n) => n.startsWith('mqttjs'))).toBe(true);
    expect(r.parserLogs).toBe(false);
  });

  it('with DEBUG set they get the real loggers, enabled where DEBUG says', () => {
    const r = loadMqttAfterQuietDebug({ DEBUG: 'mqtt-packet:*' });
    expect(r.quieted).toEqual([]);
    expect(r.parserLogs).toBe(true);
  });

  it('is the first thing the command-line entry loads', () => {
    const firstImport = /^import\s+(?:[^'"]+from\s+)?['"]([^'"]+)['"]/m.exec(readFileSync(join(ROOT, 'cli', 'main.ts'), 'utf8'));
    expect(firstImport?.[1]).toBe('../lib/quiet-debug.js');
  });
});
