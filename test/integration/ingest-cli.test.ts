/**
 * The operator commands of the ingest, run as the real CLI in a child process:
 * `deadletters`, `stations list`, `hj212 decode`, `config check`.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../../config/load.js';
import type { StoredDeadLetter } from '../../ingest/journal.js';
import { MN, deadLetters, hj212Frame, jsonPayload } from '../helpers/fixtures.js';
import { modbusSwappedCrc } from '../../ingest/hj212/crc.js';
import { verifyPassword } from '../../lib/password-hash.js';
import { startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';
import { spawnCli } from '../helpers/cli.js';

/** `tuojiang <args…>` with the given environment and stdin. */
const tuojiang = spawnCli;

const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);

let stack: IngestStack;
let redis: Redis;
const tmpDirs: string[] = [];

beforeAll(async () => {
  stack = await startIngestStack();
  await stack.startIngest();
  redis = new Redis(stack.env.REDIS_URL);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('tuojiang deadletters', () => {
  it('--json --reason TJ_UNKNOWN_STATION lists exactly those dead letters, newest first, with their payloads', async () => {
    const pub = await stack.publisher();
    const ts = Date.parse('2025-03-01T00:00:00Z');
    const unknown1 = jsonPayload({ ts, values: { NH3N: 1 } });
    const unknown2 = hj212Frame({ mn: 'FFFFFFFFFFFFFFFFFFFF0001', ts, items: { w21003: { Rtd: '0.4' } } });
    const other = '{"ts": 17';
    await pub.publishAsync('tuojiang/water/ghost-1', unknown1, { qos: 1 });
    await waitFor(async () => (await deadLetters(redis)).length === 1, 30_000, 'the first dead letter');
    await pub.publishAsync('tuojiang/water/hongyuan', other, { qos: 1 });
    await waitFor(async () => (await deadLetters(redis)).length === 2, 30_000, 'the second dead letter');
    await pub.publishAsync('tuojiang/water/hongyuan', unknown2, { qos: 1 });
    await waitFor(async () => (await deadLetters(redis)).length === 3, 30_000, 'the third dead letter');

    const env = stack.childEnv();
    const [run, limitedRun, byStationRun, text, none] = await Promise.all([
      tuojiang(['deadletters', '--json', '--reason', 'TJ_UNKNOWN_STATION'], env),
      tuojiang(['deadletters', '--json', '--reason', 'TJ_UNKNOWN_STATION', '--limit', '1'], env),
      tuojiang(['deadletters', '--json', '--station', 'hongyuan'], env),
      tuojiang(['deadletters', '--reason', 'TJ_MALFORMED_JSON'], env),
      tuojiang(['deadletters', '--reason', 'TJ_FRAME_CRC'], env),
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const listed = jsonLines(run.stdout) as StoredDeadLetter[];
    expect(listed.map((d) => [d.reason, d.topic, d.station, d.payload, d.encoding])).toEqual([
      ['TJ_UNKNOWN_STATION', 'tuojiang/water/hongyuan', 'hongyuan', unknown2, 'utf8'],
      ['TJ_UNKNOWN_STATION', 'tuojiang/water/ghost-1', 'ghost-1', unknown1, 'utf8'],
    ]);
    expect(listed[0]!.message).toContain('FFFFFFFFFFFFFFFFFFFF0001');
    expect(listed.every((d) => typeof d.id === 'string' && Number.isFinite(d.receivedAt))).toBe(true);

    const limited = jsonLines(limitedRun.stdout) as StoredDeadLetter[];
    expect(limited.map((d) => d.payload)).toEqual([unknown2]);

    const byStation = jsonLines(byStationRun.stdout) as StoredDeadLetter[];
    expect(byStation.map((d) => d.reason)).toEqual(['TJ_UNKNOWN_STATION', 'TJ_MALFORMED_JSON']);

    expect(text.code).toBe(0);
    expect(text.stdout).toContain('TJ_MALFORMED_JSON  tuojiang/water/hongyuan');
    expect(text.stdout).toContain(other);

    expect(none.stdout).toBe('no dead letters\n');
  });

  it('refuses a --limit that is not a positive integer', async () => {
    const run = await tuojiang(['deadletters', '--limit', 'lots'], stack.childEnv());
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('--limit must be a positive integer');
  });
});

describe('tuojiang stations list', () => {
  it('--json prints the registry as loaded, defaults applied', async () => {
    const run = await tuojiang(['stations', 'list', '--json'], process.env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(loadConfig().registry.stations);
  });

  it('prints a table with one row per station', async () => {
    const run = await tuojiang(['stations', 'list'], process.env);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+KIND\s+CITY\s+RIVER\s+TARGET\s+MN\s+NAME$/);
    expect(lines).toHaveLength(1 + loadConfig().registry.stations.length);
    expect(lines.find((l) => l.startsWith('gongchengpu '))).toMatch(
      /water\s+ziyang\s+tuojiang km 128\s+III\s+512002W0000000000000A007\s+拱城铺 Gongchengpu/,
    );
  });
});

describe('tuojiang hj212 decode', () => {
  const valid = hj212Frame({
    mn: MN.hongyuan,
    ts: Date.parse('2026-03-01T00:00:00Z'),
    qn: '20260301080000123',
    cn: '2061',
    pw: '123456',
    flag: 5,
    items: { w21003: { Avg: '0.42', Flag: 'N' }, w01001: { Min: '7.1', Avg: '7.60', Max: '8' } },
    other: { RtdInterval: 30 },
  });

  it('prints one JSON line per frame, valid and invalid, and exits 1 when a frame is invalid', async () => {
    const badCrc = valid.replace(/[0-9A-F]{4}\r\n$/, '0000\r\n');
    const run = await tuojiang(['hj212', 'decode'], process.env, `${valid.trimEnd()}\n\n${badCrc.trimEnd()}\nnot a frame\n`);
    expect(run.code).toBe(1);
    const out = jsonLines(run.stdout);
    expect(out).toHaveLength(3);
    expect(out[0]).toEqual({
      valid: true,
      qn: '20260301080000123',
      st: '21',
      cn: '2061',
      pw: '123456',
      mn: MN.hongyuan,
      flag: 5,
      pnum: null,
      pno: null,
      dataTime: '2026-03-01T00:00:00.000Z',
      values: { w21003: { Avg: 0.42, Flag: 'N' }, w01001: { Min: 7.1, Avg: 7.6, Max: 8 } },
      other: { RtdInterval: 30 },
      quirks: [],
    });
    // 0000 is no flavour's CRC of the segment: only `crc: none` would take it.
    expect(out[1]).toEqual({
      valid: false,
      error: { code: 'TJ_FRAME_CRC', message: expect.stringContaining('CRC') },
      acceptableWith: { crc: 'none', lenient: [] },
    });
    expect(out[2]).toEqual({ valid: false, error: { code: 'TJ_MALFORMED_FRAME', message: expect.any(String) } });
  });

  it('exits 0 when every frame is valid, and reads split-packet headers and CRLF line ends', async () => {
    const part = hj212Frame({
      mn: MN.shiqiao,
      ts: Date.parse('2026-03-01T00:00:00Z'),
      flag: 6,
      pnum: 3,
      pno: 2,
      items: { w01001: { Rtd: '7.2' } },
    });
    const run = await tuojiang(['hj212', 'decode'], process.env, `${valid}${part}`);
    expect(run.code).toBe(0);
    const out = jsonLines(run.stdout) as Array<Record<string, unknown>>;
    expect(out.map((o) => [o.valid, o.pnum, o.pno])).toEqual([
      [true, null, null],
      [true, 3, 2],
    ]);
  });
});

describe('tuojiang hj212 decode --station, and stations hash-password', () => {
  // hongyuan's logger sends CRC-16/MODBUS with its bytes swapped and repeats a key.
  const seg = `QN=20260301080000123;ST=21;CN=2011;PW=123456;MN=${MN.hongyuan};Flag=5;CP=&&DataTime=20260301080000;w21003-Rtd=0.40,w21003-Rtd=0.42&&`;
  const quirky = `##${String(Buffer.byteLength(seg)).padStart(4, '0')}${seg}${modbusSwappedCrc(seg)}\r\n`;

  it('without a station names the settings that would accept the frame; with a tolerant station decodes it, quirks listed', async () => {
    const plain = await tuojiang(['hj212', 'decode'], process.env, quirky);
    expect(plain.code).toBe(1);
    expect(jsonLines(plain.stdout)[0]).toMatchObject({
      valid: false,
      error: { code: 'TJ_FRAME_CRC' },
      acceptableWith: { crc: 'modbus-swapped', lenient: ['repeated-key'] },
    });

    const dir = mkdtempSync(join(tmpdir(), 'tuojiang-cli-config-'));
    tmpDirs.push(dir);
    cpSync(DEFAULT_CONFIG_DIR, dir, { recursive: true });
    const text = readFileSync(join(dir, 'stations.yaml'), 'utf8').replace(
      '  - id: hongyuan\n',
      '  - id: hongyuan\n    hj212: { crc: modbus-swapped, lenient: [repeated-key] }\n',
    );
    writeFileSync(join(dir, 'stations.yaml'), text);
    const tolerant = await tuojiang(['hj212', 'decode', '--station', 'hongyuan'], { ...process.env, TUOJIANG_CONFIG: dir }, quirky);
    expect(tolerant.code).toBe(0);
    expect(jsonLines(tolerant.stdout)[0]).toMatchObject({
      valid: true,
      values: { w21003: { Rtd: 0.42 } },
      quirks: ['crc-modbus-swapped', 'repeated-key'],
    });
    // A strict station decodes it as the ingest would refuse it, with no advice (its tolerance is the answer).
    const strict = await tuojiang(['hj212', 'decode', '--station', 'zhaozhen'], process.env, quirky);
    expect(jsonLines(strict.stdout)[0]).toEqual({ valid: false, error: { code: 'TJ_FRAME_CRC', message: expect.any(String) } });
  });

  it('hashes a logger password read from stdin, never from the command line', async () => {
    const run = await tuojiang(['stations', 'hash-password', '--station', 'hongyuan'], process.env, 'pw-of-hongyuan\n');
    expect(run.code).toBe(0);
    const hash = /pw_hash: "(scrypt\$[^"]+)"/.exec(run.stdout)?.[1];
    expect(hash).toBeDefined();
    expect(run.stdout).not.toContain('pw-of-hongyuan');
    expect(await verifyPassword('pw-of-hongyuan', hash!)).toBe(true);
    const empty = await tuojiang(['stations', 'hash-password'], process.env, '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('stdin');
  });
});

describe('tuojiang config check', () => {
  function brokenConfig(): { dir: string; line: number } {
    const dir = mkdtempSync(join(tmpdir(), 'tuojiang-cli-config-'));
    tmpDirs.push(dir);
    cpSync(DEFAULT_CONFIG_DIR, dir, { recursive: true });
    const text = readFileSync(join(dir, 'stations.yaml'), 'utf8').replace('    river_km: 96\n', '    river_km: far\n');
    writeFileSync(join(dir, 'stations.yaml'), text);
    return { dir, line: text.slice(0, text.indexOf('river_km: far')).split('\n').length };
  }

  it('exits 2 on a broken config folder (TUOJIANG_CONFIG), naming file:line, the key, expected and found', async () => {
    const { dir, line } = brokenConfig();
    const run = await tuojiang(['config', 'check'], { ...process.env, TUOJIANG_CONFIG: dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('TJ_CONFIG_INVALID');
    expect(run.stderr).toContain(`${join(dir, 'stations.yaml')}:${line}:`);
    expect(run.stderr).toMatch(/stations\[4\]\.river_km: .*expected number.*found "far"/);
  });

  it('exits 2 on an invalid environment, without echoing secrets', async () => {
    const run = await tuojiang(['config', 'check'], { ...process.env, REDIS_URL: 'http://:hunter2@127.0.0.1:6379', INFLUX_TOKEN: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('TJ_ENV_INVALID');
    expect(run.stderr).toContain('REDIS_URL');
    expect(run.stderr).not.toContain('hunter2');
  });

  it('exits 0 on the shipped configuration', async () => {
    const run = await tuojiang(['config', 'check', '--json', '--service', 'ingest'], stack.childEnv());
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      ok: true,
      dir: DEFAULT_CONFIG_DIR,
      stations: loadConfig().registry.stations.length,
      cities: ['chengdu', 'ziyang'],
      thresholdsVersion: '1',
      files: ['stations.yaml', 'tuojiang.yaml', 'thresholds.yaml', 'rivers.yaml', 'recipients.yaml', 'operators.yaml'],
      services: [{ service: 'ingest', starts: true, problems: [] }],
    });
  });

  it('checks the other files too: a reach whose slowest velocity exceeds its fastest is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tuojiang-cli-config-'));
    tmpDirs.push(dir);
    cpSync(DEFAULT_CONFIG_DIR, dir, { recursive: true });
    const text = readFileSync(join(dir, 'rivers.yaml'), 'utf8').replace(
      'velocity: { min_m_s: 0.3, max_m_s: 1.2 }',
      'velocity: { min_m_s: 2, max_m_s: 1.2 }',
    );
    writeFileSync(join(dir, 'rivers.yaml'), text);
    const run = await tuojiang(['config', 'check'], { ...process.env, TUOJIANG_CONFIG: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${join(dir, 'rivers.yaml')}:`);
    expect(run.stderr).toMatch(/reaches\[0\]\.velocity: min_m_s must not exceed max_m_s/);
  });
});
