import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileThresholdSource, limitFor, limitRuleFor, loadThresholdsFile, stationProfile } from '../../alerts/thresholds.js';
import { loadConfig } from '../../config/load.js';
import { StationRegistry } from '../../config/station-registry.js';
import { isTuojiangError } from '../../lib/errors.js';

const { dir, registry: registryConfig } = loadConfig();
const registry = new StationRegistry(registryConfig);
const shipped = loadThresholdsFile(join(dir, 'thresholds.yaml'), registryConfig);
const st = (id: string) => {
  const s = registry.get(id);
  if (!s) throw new Error(`no station ${id}`);
  return s;
};
const at = (iso: string) => Date.parse(iso);

function writeTemp(text: string): string {
  const d = mkdtempSync(join(tmpdir(), 'tj-thresholds-'));
  const f = join(d, 'thresholds.yaml');
  writeFileSync(f, text);
  return f;
}

describe('thresholds.yaml', () => {
  it('the shipped file is valid against the shipped registry and carries a version', () => {
    expect(shipped.version).toBe('1');
    expect(shipped.config.defaults.water_class).toBe('III');
    expect(shipped.config.defaults.air_grade).toBe(2);
  });

  it('a minimal file gets every default', () => {
    const set = loadThresholdsFile(writeTemp('version: 7\n'));
    expect(set.version).toBe('7');
    expect(set.config.defaults.rules.limit).toEqual({
      enabled: true,
      consecutive: 3,
      duration_min: 60,
      clear_consecutive: 2,
      hysteresis: 0.1,
    });
    expect(set.config.defaults.rules.silence.after_min).toBe(30);
    expect(set.config.engine.silence_interval_s).toBe(60);
  });

  it('errors name the file, the line and the key', () => {
    const f = writeTemp('version: 2\ndefaults:\n  rules:\n    limit:\n      consecutive: 0\n');
    try {
      loadThresholdsFile(f);
      expect.unreachable();
    } catch (e) {
      expect(isTuojiangError(e)).toBe(true);
      expect((e as Error).message).toMatch(/thresholds\.yaml:5:\d+ defaults\.rules\.limit\.consecutive/);
    }
  });

  it('unknown stations and parameters of the wrong medium are reported against the registry', () => {
    const f = writeTemp('version: 2\nstations:\n  nowhere: {}\n  hongyuan:\n    limits: { PM10: 100 }\n');
    expect(() => loadThresholdsFile(f, registryConfig)).toThrow(
      /stations\.nowhere: unknown station[\s\S]*PM10 is an air parameter, but hongyuan is a water station/,
    );
  });

  it('the file source keeps the last valid set when the file turns invalid', async () => {
    const f = writeTemp('version: 3\n');
    const errors: unknown[] = [];
    const src = new FileThresholdSource(f, undefined, { checkEveryMs: 0, onError: (e) => errors.push(e) });
    expect((await src.current()).version).toBe('3');
    writeFileSync(f, 'version: [oops\n');
    // mtime granularity: make sure the change is seen
    const { utimesSync } = await import('node:fs');
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    expect((await src.current()).version).toBe('3');
    expect(errors).toHaveLength(1);
    writeFileSync(f, 'version: 4\n');
    utimesSync(f, new Date(), new Date(Date.now() + 10000));
    expect((await src.current()).version).toBe('4');
  });
});

describe('station profiles: defaults <- sections <- station', () => {
  it('a station outside every section has the defaults', () => {
    const p = stationProfile(shipped, st('zhaozhen'));
    expect(p.rules.limit.consecutive).toBe(3);
    expect(p.rules.limit.duration_min).toBe(60);
    expect(p.targetClass).toBe('III');
  });

  it('a station in the drinking-water reach gets the section override', () => {
    const p = stationProfile(shipped, st('hongyuan')); // km 52: outside 60-115
    expect(p.rules.limit.consecutive).toBe(3);
    const q = stationProfile(shipped, st('linjiangsi')); // km 96
    expect(q.rules.limit).toMatchObject({ consecutive: 2, duration_min: 30, hysteresis: 0.1 });
  });

  it('a station override beats the section and keeps the rest', () => {
    const p = stationProfile(shipped, st('shiqiao')); // km 68, in the section, own NH3N limit
    expect(p.rules.limit.consecutive).toBe(2);
    expect(limitFor(p, st('shiqiao'), 'NH3N', at('2026-05-01T00:00:00+08:00'), 'rt')).toEqual({
      limit: { kind: 'max', value: 0.8 },
      basis: 'thresholds',
      // the national limit it stands in for: GB 3838 at the section's target class
      national: { limit: { kind: 'max', value: 1 }, basis: 'GB3838-2002 III', cls: 'III' },
    });
    expect(limitFor(p, st('shiqiao'), 'TP', at('2026-05-01T00:00:00+08:00'), 'rt')?.limit).toEqual({ kind: 'max', value: 0.2 });
    expect(stationProfile(shipped, st('gongchengpu')).rules.silence).toEqual({ enabled: true, after_min: 90 });
  });

  it('per-parameter rule changes: toxic items are instant', () => {
    const p = stationProfile(shipped, st('zhaozhen'));
    expect(limitRuleFor(p, 'Hg').consecutive).toBe(1);
    expect(limitRuleFor(p, 'NH3N').consecutive).toBe(3);
  });
});

describe('limits from the standards by the reading date', () => {
  const water = st('hongyuan');
  const air = st('ziyang-yanjiang');
  const pw = stationProfile(shipped, water);
  const pa = stationProfile(shipped, air);

  it('water: GB 3838 class III, DO a lower bound, pH a range', () => {
    const t = at('2026-05-01T00:00:00+08:00');
    expect(limitFor(pw, water, 'NH3N', t, 'hour')).toEqual({ limit: { kind: 'max', value: 1.0 }, basis: 'GB3838-2002 III' });
    expect(limitFor(pw, water, 'DO', t, 'hour')?.limit).toEqual({ kind: 'min', value: 5 });
    expect(limitFor(pw, water, 'pH', t, 'hour')?.limit).toEqual({ kind: 'range', min: 6, max: 9 });
    expect(limitFor(pw, water, 'temp', t, 'hour')).toBeUndefined();
  });

  it('air: 1-h limits for hourly readings, 24-h for daily; PM has no 1-h limit', () => {
    const t = at('2026-05-01T00:00:00+08:00');
    expect(limitFor(pa, air, 'SO2', t, 'hour')?.limit).toEqual({ kind: 'max', value: 500 });
    expect(limitFor(pa, air, 'PM2_5', t, 'hour')).toBeUndefined();
    expect(limitFor(pa, air, 'O3', t, 'day')?.limit).toEqual({ kind: 'max', value: 160 });
  });

  it('air: PM2.5 24-h limit is 75 before 2026-03-01, 60 from then (transition), 50 from 2031', () => {
    const before = at('2026-02-28T23:59:59+08:00');
    const from = at('2026-03-01T00:00:00+08:00');
    const final = at('2031-01-01T00:00:00+08:00');
    expect(limitFor(pa, air, 'PM2_5', before, 'day')).toEqual({ limit: { kind: 'max', value: 75 }, basis: 'GB3095-2012 II 24h' });
    expect(limitFor(pa, air, 'PM2_5', from, 'day')).toEqual({ limit: { kind: 'max', value: 60 }, basis: 'GB3095-2026-transition II 24h' });
    expect(limitFor(pa, air, 'PM2_5', final, 'day')?.limit).toEqual({ kind: 'max', value: 50 });
  });
});

describe('limits GB 3838 sets for lakes only', () => {
  it('TN at a river section resolves to a reference limit (never alerted on); at a lake to a limit', () => {
    const t = at('2026-05-01T00:00:00+08:00');
    const river = st('hongyuan');
    expect(limitFor(stationProfile(shipped, river), river, 'TN', t, 'hour')).toEqual({
      limit: { kind: 'max', value: 1 },
      basis: 'GB3838-2002 III',
      reference: true,
    });
    const lake = { ...river, id: 'lake-for-tn', waterbody: 'lake' as const };
    expect(limitFor(stationProfile(shipped, lake), lake, 'TN', t, 'hour')).toEqual({
      limit: { kind: 'max', value: 1 },
      basis: 'GB3838-2002 III',
    });
  });

  it('an explicit TN limit at a river has no national limit to compare with', () => {
    const f = writeTemp('version: 2\nstations:\n  hongyuan:\n    limits: { TN: 1.5 }\n');
    const set = loadThresholdsFile(f, registryConfig);
    expect(limitFor(stationProfile(set, st('hongyuan')), st('hongyuan'), 'TN', at('2026-05-01T00:00:00+08:00'), 'hour')).toEqual({
      limit: { kind: 'max', value: 1.5 },
      basis: 'thresholds',
    });
  });
});
