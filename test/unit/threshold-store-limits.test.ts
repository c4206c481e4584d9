/**
 * Operator input to an explicit limit: scope, parameter, bound and unit, and every mistake refused
 * with an error naming what to type instead.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  explicitAt,
  parseBound,
  resolveTarget,
  sameExplicit,
  stationsUnder,
  targetPath,
  toLimit,
  withExplicit,
  type LimitChangeInput,
} from '../../alerts/threshold-store/limits.js';
import { loadThresholdsFile } from '../../alerts/thresholds.js';
import { ThresholdsFileSchema } from '../../alerts/thresholds-schema.js';
import { loadConfig } from '../../config/load.js';
import { isTuojiangError } from '../../lib/errors.js';

const { dir, registry } = loadConfig();
const shipped = loadThresholdsFile(join(dir, 'thresholds.yaml'), registry).config;

function errorOf(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isTuojiangError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an error');
}

const bound = (param: string, input: LimitChangeInput) => parseBound(param, input);

describe('the scope and parameter of a change', () => {
  it('names a station, a section (by name or index) or the defaults', () => {
    expect(resolveTarget({ station: 'shiqiao', param: 'NH3N' }, registry, shipped)).toEqual({
      scope: 'station',
      station: 'shiqiao',
      param: 'NH3N',
    });
    const name = shipped.sections[0]?.name as string;
    expect(resolveTarget({ section: name, param: 'DO' }, registry, shipped)).toEqual({
      scope: 'section',
      section: 0,
      sectionName: name,
      param: 'DO',
    });
    expect(resolveTarget({ section: '0', param: 'DO' }, registry, shipped)).toMatchObject({ scope: 'section', section: 0 });
    expect(resolveTarget({ defaults: true, param: 'PM2_5' }, registry, shipped)).toEqual({ scope: 'defaults', param: 'PM2_5' });
  });

  it('refuses an unknown parameter, listing the keys', () => {
    const e = errorOf(() => resolveTarget({ station: 'shiqiao', param: 'NH4' }, registry, shipped));
    expect(e.code).toBe('TJ_THRESHOLD_UNKNOWN_PARAMETER');
    expect(e.message).toContain('"NH4"');
    expect(e.message).toContain('NH3N');
    expect(errorOf(() => resolveTarget({ station: 'shiqiao' }, registry, shipped)).message).toContain('none given');
  });

  it('refuses an unknown station or section, listing the known ones', () => {
    const e = errorOf(() => resolveTarget({ station: 'shiqao', param: 'NH3N' }, registry, shipped));
    expect(e.code).toBe('TJ_THRESHOLD_UNKNOWN_STATION');
    expect(e.message).toContain('"shiqao"');
    expect(e.message).toContain('shiqiao');
    expect(errorOf(() => resolveTarget({ section: '7', param: 'NH3N' }, registry, shipped)).code).toBe('TJ_THRESHOLD_UNKNOWN_STATION');
    expect(errorOf(() => resolveTarget({ section: 'nowhere', param: 'NH3N' }, registry, shipped)).message).toContain('Jianyang-Ziyang');
  });

  it('refuses a parameter of the other medium', () => {
    expect(errorOf(() => resolveTarget({ station: 'ziyang-shijian', param: 'NH3N' }, registry, shipped))).toMatchObject({
      code: 'TJ_THRESHOLD_UNKNOWN_PARAMETER',
      message: expect.stringContaining('air station'),
    });
    expect(errorOf(() => resolveTarget({ station: 'shiqiao', param: 'PM2_5' }, registry, shipped)).code).toBe(
      'TJ_THRESHOLD_UNKNOWN_PARAMETER',
    );
    expect(errorOf(() => resolveTarget({ section: '0', param: 'SO2' }, registry, shipped)).code).toBe('TJ_THRESHOLD_UNKNOWN_PARAMETER');
  });

  it('wants exactly one scope', () => {
    expect(errorOf(() => resolveTarget({ param: 'NH3N' }, registry, shipped)).message).toContain('exactly one scope');
    expect(errorOf(() => resolveTarget({ station: 'shiqiao', defaults: true, param: 'NH3N' }, registry, shipped)).message).toContain(
      'got 2',
    );
  });

  it('knows which stations each scope reaches', () => {
    const ids = (t: Parameters<typeof stationsUnder>[2]) => stationsUnder(registry, shipped, t).map((s) => s.id);
    expect(ids({ scope: 'station', station: 'hongyuan', param: 'NH3N' })).toEqual(['hongyuan']);
    expect(ids({ scope: 'section', section: 0, param: 'NH3N' })).toEqual(['shiqiao', 'linjiangsi', 'ziyang-city']); // km 60–115
    expect(ids({ scope: 'defaults', param: 'NH3N' })).toHaveLength(7);
    expect(ids({ scope: 'defaults', param: 'PM10' })).toEqual(['jianyang-shijian', 'jianyang-hedong', 'ziyang-shijian', 'ziyang-yanjiang']);
  });
});

describe('the bound and unit of a limit', () => {
  it('an upper bound, in the catalogue unit or converted', () => {
    expect(bound('NH3N', { value: '0.8' })).toEqual({ explicit: 0.8, unit: 'mg/L' });
    expect(bound('NH3N', { value: 0.8, unit: 'mg/L' }).explicit).toBe(0.8);
    expect(bound('NH3N', { max: '0.8' }).explicit).toBe(0.8);
    expect(bound('NH3N', { value: '800', unit: 'µg/L' }).explicit).toBe(0.8); // not 0.8000000000000002
    expect(bound('NH3N', { value: '300', unit: 'ug/L' }).explicit).toBe(0.3);
    expect(bound('PM2_5', { value: 55, unit: 'ug/m3' }).explicit).toBe(55);
  });

  it('refuses a unit that cannot be converted, naming the ones that can', () => {
    const e = errorOf(() => bound('NH3N', { value: 0.8, unit: 'µg/m³' }));
    expect(e.code).toBe('TJ_THRESHOLD_WRONG_UNIT');
    expect(e.message).toMatch(/NH3N is measured in mg\/L; "µg\/m³" cannot be converted to it \(give mg\/L or µg\/L or ug\/L\)/);
    expect(errorOf(() => bound('CO', { value: 4, unit: 'µg/m³' })).code).toBe('TJ_THRESHOLD_WRONG_UNIT');
    expect(errorOf(() => bound('NH3N', { value: 1, unit: 'ppm' })).code).toBe('TJ_THRESHOLD_WRONG_UNIT');
  });

  it('DO is a lower bound: --value or --min, never --max', () => {
    expect(bound('DO', { value: '6' })).toEqual({ explicit: { min: 6 }, unit: 'mg/L' });
    expect(bound('DO', { min: 5.5 }).explicit).toEqual({ min: 5.5 });
    const e = errorOf(() => bound('DO', { max: 6 }));
    expect(e.code).toBe('TJ_THRESHOLD_WRONG_BOUND');
    expect(e.message).toContain('DO is a lower bound');
  });

  it('pH is a range: both --min and --max, min below max', () => {
    expect(bound('pH', { min: '6.5', max: '8.5' })).toEqual({ explicit: { min: 6.5, max: 8.5 }, unit: 'pH' });
    expect(errorOf(() => bound('pH', { value: 8 })).message).toContain('pH is a range');
    expect(errorOf(() => bound('pH', { min: 6 })).code).toBe('TJ_THRESHOLD_WRONG_BOUND');
    expect(errorOf(() => bound('pH', { min: 9, max: 6 })).message).toContain('must be below');
    expect(errorOf(() => bound('pH', { min: 6, max: 15 })).code).toBe('TJ_THRESHOLD_INVALID_VALUE');
  });

  it('other limits are upper bounds: --min is refused', () => {
    expect(errorOf(() => bound('NH3N', { min: 0.5 }))).toMatchObject({
      code: 'TJ_THRESHOLD_WRONG_BOUND',
      message: expect.stringContaining('NH3N is an upper bound'),
    });
    expect(errorOf(() => bound('NH3N', { value: 1, max: 1 })).message).toContain('not both');
  });

  it('refuses what is not a number', () => {
    for (const v of ['abc', '1,5', '0x10', '1.2.3', 'Infinity', 'NaN', '   ', true, {}, [1], Number.NaN, Number.POSITIVE_INFINITY]) {
      const e = errorOf(() => bound('NH3N', { value: v }));
      expect(e.code, JSON.stringify(v)).toMatch(/TJ_THRESHOLD_INVALID_VALUE/);
    }
    expect(errorOf(() => bound('NH3N', { value: 'abc' })).message).toBe('`value` for NH3N must be a number, got "abc"');
  });

  it('refuses limits outside the physical range', () => {
    expect(errorOf(() => bound('NH3N', { value: -1 })).message).toContain('above 0');
    expect(errorOf(() => bound('NH3N', { value: 0 })).code).toBe('TJ_THRESHOLD_INVALID_VALUE');
    expect(errorOf(() => bound('DO', { value: 60 })).message).toContain('at most 50');
  });

  it('--clear takes no value; no value and no --clear is refused', () => {
    expect(bound('NH3N', { clear: true })).toEqual({ explicit: null, unit: 'mg/L' });
    expect(errorOf(() => bound('NH3N', { clear: true, value: 1 })).code).toBe('TJ_THRESHOLD_INVALID_VALUE');
    // The store names input fields (the API's JSON and the CLI's flags both map to them: cli asFlags).
    expect(errorOf(() => bound('NH3N', {})).message).toContain('`value` (or `max`)');
    expect(errorOf(() => bound('pH', {})).message).toContain('`min` and `max`');
  });
});

describe('explicit limits in the thresholds', () => {
  it('reads, sets and clears at each scope without touching the original', () => {
    const t = { scope: 'station', station: 'shiqiao', param: 'NH3N' } as const;
    expect(explicitAt(shipped, t)).toBe(0.8);
    const c1 = withExplicit(shipped, t, 0.7);
    expect(explicitAt(c1, t)).toBe(0.7);
    expect(explicitAt(shipped, t)).toBe(0.8);
    const c2 = withExplicit(shipped, t, null);
    expect(explicitAt(c2, t)).toBeNull();
    expect(c2.stations.shiqiao).toBeUndefined(); // nothing else was set for shiqiao: the entry goes
    const g = { scope: 'station', station: 'gongchengpu', param: 'DO' } as const;
    const c3 = withExplicit(withExplicit(shipped, g, { min: 6 }), g, null);
    expect(c3.stations.gongchengpu).toEqual(shipped.stations.gongchengpu); // its silence rule stays
    const s = { scope: 'section', section: 0, param: 'DO' } as const;
    expect(explicitAt(withExplicit(shipped, s, { min: 6 }), s)).toEqual({ min: 6 });
    const d = { scope: 'defaults', param: 'TP' } as const;
    expect(explicitAt(withExplicit(shipped, d, 0.15), d)).toBe(0.15);
    // every result is still a valid thresholds file
    for (const c of [c1, c2, c3]) expect(ThresholdsFileSchema.safeParse(c).success).toBe(true);
  });

  it('names targets by their key in thresholds.yaml', () => {
    expect(targetPath({ scope: 'station', station: 'shiqiao', param: 'NH3N' })).toBe('stations.shiqiao.limits.NH3N');
    expect(targetPath({ scope: 'section', section: 0, param: 'DO' })).toBe('sections[0].limits.DO');
    expect(targetPath({ scope: 'defaults', param: 'TP' })).toBe('defaults.limits.TP');
  });

  it('compares limits by meaning, not by spelling', () => {
    expect(sameExplicit(0.8, { max: 0.8 })).toBe(true);
    expect(sameExplicit(0.8, 0.7)).toBe(false);
    expect(sameExplicit(null, undefined)).toBe(true);
    expect(sameExplicit(null, 0.8)).toBe(false);
    expect(toLimit({ min: 5 })).toEqual({ kind: 'min', value: 5 });
    expect(toLimit({ min: 6, max: 9 })).toEqual({ kind: 'range', min: 6, max: 9 });
  });
});
