import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR, configDir, loadConfig, type ConfigProblem } from '../../config/load.js';
import { TuojiangError } from '../../lib/errors.js';

const SHIPPED = readFileSync(join(DEFAULT_CONFIG_DIR, 'stations.yaml'), 'utf8');
const SETTINGS = readFileSync(join(DEFAULT_CONFIG_DIR, 'tuojiang.yaml'), 'utf8');
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A copy of the shipped config folder with stations.yaml (and optionally tuojiang.yaml) replaced. */
function configCopy(stations: string, settings?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tuojiang-config-test-'));
  dirs.push(dir);
  cpSync(DEFAULT_CONFIG_DIR, dir, { recursive: true });
  writeFileSync(join(dir, 'stations.yaml'), stations);
  if (settings !== undefined) writeFileSync(join(dir, 'tuojiang.yaml'), settings);
  return dir;
}

/** Replace exactly one occurrence (the test fails if the shipped file changed under it). */
function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`"${from}" must occur exactly once in the shipped file`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** 1-based line of the first line containing `needle` (after `after`, if given). */
function lineOf(text: string, needle: string, after?: string): number {
  const start = after === undefined ? 0 : text.indexOf(after);
  const at = text.indexOf(needle, start);
  if (at < 0) throw new Error(`"${needle}" not found`);
  return text.slice(0, at).split('\n').length;
}

function loadError(dir: string): TuojiangError & { details: { problems?: ConfigProblem[] } } {
  try {
    loadConfig(dir);
  } catch (e) {
    if (e instanceof TuojiangError) return e as TuojiangError & { details: { problems?: ConfigProblem[] } };
    throw e;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig: the shipped configuration', () => {
  it('loads, with defaults applied', () => {
    const { registry, settings } = loadConfig();
    expect(registry.stations.filter((s) => s.kind === 'water').length).toBeGreaterThanOrEqual(6);
    expect(registry.stations.filter((s) => s.kind === 'air').length).toBeGreaterThanOrEqual(4);
    const hongyuan = registry.stations.find((s) => s.id === 'hongyuan')!;
    expect(hongyuan).toMatchObject({
      city: 'chengdu',
      river: 'tuojiang',
      river_km: 52,
      boundary: false,
      units: {},
      factor_codes: {},
      ignore_factors: [],
    });
    expect(registry.stations.find((s) => s.id === 'gongchengpu')).toMatchObject({ units: { NH3N: 'µg/L' }, ignore_factors: ['w00000'] });
    expect(settings.mqtt.topic_prefix).toBe('tuojiang');
    expect(settings.ingest.split_timeout_s).toBeGreaterThan(0);
  });

  it('uses TUOJIANG_CONFIG for another folder', () => {
    expect(configDir({ TUOJIANG_CONFIG: '/etc/tuojiang' })).toBe('/etc/tuojiang');
    expect(configDir({})).toBe(DEFAULT_CONFIG_DIR);
  });

  it('loads an unchanged copy identically', () => {
    const dir = configCopy(SHIPPED, SETTINGS);
    expect(loadConfig(dir).registry).toEqual(loadConfig().registry);
  });

  it('applies setting defaults when tuojiang.yaml is absent', () => {
    const dir = configCopy(SHIPPED);
    unlinkSync(join(dir, 'tuojiang.yaml'));
    expect(loadConfig(dir).settings.journal.stream).toBe('tuojiang:journal');
  });
});

describe('loadConfig: a broken stations.yaml names file:line, the key, what was expected and what was found', () => {
  it('a water station without river_km', () => {
    const text = replaceOnce(SHIPPED, '    river_km: 52\n', '');
    const dir = configCopy(text);
    const e = loadError(dir);
    expect(e.code).toBe('TJ_CONFIG_INVALID');
    const line = lineOf(text, '- id: hongyuan');
    expect(e.message).toContain(`${join(dir, 'stations.yaml')}:${line}:`);
    expect(e.message).toContain('stations[2].river_km');
    expect(e.message).toMatch(/required for a water station; found nothing/);
    expect(e.details.problems).toEqual([expect.objectContaining({ file: join(dir, 'stations.yaml'), line, key: 'stations[2].river_km' })]);
  });

  it('a river_km of the wrong type', () => {
    const text = replaceOnce(SHIPPED, 'river_km: 28', 'river_km: twenty-eight');
    const e = loadError(configCopy(text));
    expect(e.message).toContain(`stations.yaml:${lineOf(text, 'river_km: twenty-eight')}:`);
    expect(e.message).toContain('stations[1].river_km');
    expect(e.message).toMatch(/expected number/);
    expect(e.message).toContain('found "twenty-eight"');
  });

  it('an unknown city', () => {
    const text = replaceOnce(
      SHIPPED,
      'city: chengdu\n    kind: water\n    river: tuojiang\n    river_km: 28',
      'city: chongqing\n    kind: water\n    river: tuojiang\n    river_km: 28',
    );
    const e = loadError(configCopy(text));
    expect(e.message).toContain(`stations.yaml:${lineOf(text, 'city: chongqing')}:`);
    expect(e.message).toContain('stations[1].city');
    expect(e.message).toContain('unknown city "chongqing"; expected one of chengdu, ziyang; found "chongqing"');
  });

  it('an unknown city in shared_with', () => {
    const text = replaceOnce(SHIPPED, 'shared_with: [chengdu]', 'shared_with: [chongqing]');
    const e = loadError(configCopy(text));
    expect(e.message).toContain(`stations.yaml:${lineOf(text, 'shared_with: [chongqing]')}:`);
    expect(e.message).toMatch(/stations\[\d+\]\.shared_with\[0\]: unknown city "chongqing"/);
  });

  it('a duplicate station id', () => {
    const text = replaceOnce(SHIPPED, '- id: linjiangsi', '- id: hongyuan');
    const e = loadError(configCopy(text));
    const second = text.indexOf('- id: hongyuan', text.indexOf('- id: hongyuan') + 1);
    const line = text.slice(0, second).split('\n').length;
    expect(e.message).toContain(`stations.yaml:${line}:`);
    expect(e.message).toContain('stations[4].id: duplicate station id "hongyuan" (first at stations[2])');
  });

  it('a duplicate MN, also when it differs only in case', () => {
    const text = replaceOnce(SHIPPED, 'mn: "510121W0000000000000A002"', 'mn: "510121w0000000000000a001"');
    const e = loadError(configCopy(text));
    expect(e.message).toContain(`stations.yaml:${lineOf(text, '510121w0000000000000a001')}:`);
    expect(e.message).toContain('stations[1].mn: duplicate MN "510121w0000000000000a001" (first at stations[0])');
  });

  it('an MN with characters no logger sends', () => {
    const text = replaceOnce(SHIPPED, 'mn: "510121W0000000000000A002"', 'mn: "5101 21;W"');
    const e = loadError(configCopy(text));
    expect(e.message).toContain(`stations.yaml:${lineOf(text, '5101 21;W')}:`);
    expect(e.message).toMatch(/stations\[1\]\.mn: .*HJ 212 MN.*found "5101 21;W"/);
  });

  it("a unit that cannot be converted to the parameter's unit", () => {
    const text = replaceOnce(SHIPPED, 'units: { NH3N: µg/L }', 'units: { NH3N: NTU }');
    const e = loadError(configCopy(text));
    expect(e.message).toContain(`stations.yaml:${lineOf(text, 'units: { NH3N: NTU }')}:`);
    expect(e.message).toContain("stations[6].units.NH3N: NTU cannot be converted to NH3N's unit mg/L");
  });

  it('a unit for a parameter of the other medium', () => {
    const text = replaceOnce(SHIPPED, 'units: { NH3N: µg/L }', 'units: { PM10: µg/m³ }');
    const e = loadError(configCopy(text));
    expect(e.message).toContain('stations[6].units.PM10: PM10 is an air parameter, but the station is a water station');
  });

  it('an unknown key in a station', () => {
    const text = replaceOnce(
      SHIPPED,
      '    waterbody: river\n    boundary: true',
      '    waterbody: river\n    boundary: true\n    colour: blue',
    );
    const e = loadError(configCopy(text));
    expect(e.message).toContain(`stations.yaml:${lineOf(text, '- id: linjiangsi')}:`);
    expect(e.message).toMatch(/stations\[4\]: Unrecognized key: "colour"/);
  });

  it('a kind that is neither water nor air', () => {
    const text = replaceOnce(SHIPPED, 'kind: air\n    coordinates: { lat: 30.110', 'kind: soil\n    coordinates: { lat: 30.110');
    const e = loadError(configCopy(text));
    expect(e.message).toContain(`stations.yaml:${lineOf(text, 'kind: soil')}:`);
    expect(e.message).toMatch(/stations\[10\]\.kind: .*"water".*"air".*found "soil"/);
  });

  it('every problem at once, one per line', () => {
    let text = replaceOnce(SHIPPED, 'river_km: 28', 'river_km: -3');
    text = replaceOnce(text, '- id: linjiangsi', '- id: Linjiangsi');
    const e = loadError(configCopy(text));
    expect(e.details.problems?.map((p) => p.key).sort()).toEqual(['stations[1].river_km', 'stations[4].id']);
    expect(e.message.split('\n')).toHaveLength(3);
  });

  it('a YAML syntax error', () => {
    const text = replaceOnce(SHIPPED, '    river_km: 28\n', '    river_km: [28\n');
    const e = loadError(configCopy(text));
    expect(e.code).toBe('TJ_CONFIG_INVALID');
    expect(e.message).toMatch(/stations\.yaml:\d+:\d+ \(syntax\)/);
  });

  it('a key given twice in one mapping', () => {
    const text = replaceOnce(SHIPPED, '    river_km: 28\n', '    river_km: 28\n    river_km: 29\n');
    const e = loadError(configCopy(text));
    const line = lineOf(text, 'river_km: 29');
    expect(e.message).toContain(`stations.yaml:${line}:`);
    expect(e.message).toMatch(/\(syntax\).*[Mm]ap keys must be unique/);
  });

  it('a missing stations.yaml', () => {
    const dir = configCopy(SHIPPED);
    unlinkSync(join(dir, 'stations.yaml'));
    const e = loadError(dir);
    expect(e.code).toBe('TJ_CONFIG_NOT_FOUND');
    expect(e.message).toContain(dir);
  });
});

describe('loadConfig: a broken tuojiang.yaml', () => {
  it('names the settings file, line and key', () => {
    const settings = SETTINGS.replace(/^( +connections:) *\d+/m, '$1 0');
    const dir = configCopy(SHIPPED, settings);
    const e = loadError(dir);
    expect(e.message).toContain(`${join(dir, 'tuojiang.yaml')}:${lineOf(settings, 'connections: 0')}:`);
    expect(e.message).toMatch(/mqtt\.connections: .*>=1.*found 0/);
  });

  it('refuses a topic prefix with a wildcard', () => {
    const settings = replaceOnce(SETTINGS, 'topic_prefix: tuojiang', 'topic_prefix: "tuojiang/#"');
    const e = loadError(configCopy(SHIPPED, settings));
    expect(e.message).toMatch(/mqtt\.topic_prefix: a topic prefix without wildcards; found "tuojiang\/#"/);
  });

  it('refuses an unknown setting', () => {
    const settings = `${SETTINGS}\nextra_section: {}\n`;
    const e = loadError(configCopy(SHIPPED, settings));
    // zod reports an unknown key on the mapping that holds it: here the root, which starts at its first key.
    const firstKeyLine = settings.split('\n').findIndex((l) => /^[a-z_]+:/.test(l)) + 1;
    expect(e.message).toContain(`tuojiang.yaml:${firstKeyLine}:1 (root): Unrecognized key: "extra_section"`);
  });
});
