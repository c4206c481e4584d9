/** Key-by-key differences between versions, the YAML export, and the annotation point of a change. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffConfigs, exportYaml } from '../../alerts/threshold-store/diff.js';
import { withExplicit } from '../../alerts/threshold-store/limits.js';
import { changePoint, changeTag } from '../../alerts/threshold-store/recorder.js';
import { summarize } from '../../alerts/threshold-store/summary.js';
import type { ThresholdVersion } from '../../alerts/threshold-store/types.js';
import { loadThresholdsFile } from '../../alerts/thresholds.js';
import { ThresholdsFileSchema } from '../../alerts/thresholds-schema.js';
import { loadConfig } from '../../config/load.js';

const { dir, registry } = loadConfig();
const shipped = loadThresholdsFile(join(dir, 'thresholds.yaml'), registry).config;
const AT = Date.parse('2026-05-01T08:00:00+08:00');

function version(over: Partial<ThresholdVersion> = {}): ThresholdVersion {
  return {
    version: 4,
    parent: 3,
    at: AT,
    kind: 'tighten',
    by: 'cd-wang',
    city: 'chengdu',
    why: 'intake protection',
    target: { scope: 'station', station: 'shiqiao', param: 'NH3N' },
    from: 0.8,
    to: 0.7,
    unit: 'mg/L',
    approvals: [],
    exceptions: [],
    announce: ['ziyang'],
    summary: 'x',
    config: shipped,
    ...over,
  };
}

describe('diff of two configurations', () => {
  it('lists exactly the keys that differ, added and removed included', () => {
    let b = withExplicit(shipped, { scope: 'station', station: 'shiqiao', param: 'NH3N' }, 0.7);
    b = withExplicit(b, { scope: 'station', station: 'hongyuan', param: 'DO' }, { min: 6 });
    b = withExplicit(b, { scope: 'section', section: 0, param: 'TP' }, 0.15);
    b = withExplicit(b, { scope: 'station', station: 'gongchengpu', param: 'NH3N' }, 0.9);
    expect(diffConfigs(shipped, b)).toEqual([
      { path: 'sections[0].limits', to: { TP: 0.15 } },
      { path: 'stations.gongchengpu.limits', to: { NH3N: 0.9 } },
      { path: 'stations.hongyuan', to: { limits: { DO: { min: 6 } } } },
      { path: 'stations.shiqiao.limits.NH3N', from: 0.8, to: 0.7 },
    ]);
    expect(diffConfigs(b, shipped).map((c) => c.path)).toEqual([
      'sections[0].limits',
      'stations.gongchengpu.limits',
      'stations.hongyuan',
      'stations.shiqiao.limits.NH3N',
    ]);
    expect(diffConfigs(shipped, { ...shipped, version: '99' })).toEqual([]);
  });
});

describe('export', () => {
  it('writes a thresholds.yaml that loads back to the same configuration, with the version number', () => {
    const config = withExplicit(shipped, { scope: 'station', station: 'shiqiao', param: 'NH3N' }, 0.7);
    const yaml = exportYaml(
      version({
        config,
        exceptions: [
          {
            id: 'p2',
            target: { scope: 'station', station: 'hongyuan', param: 'NH3N' },
            value: 1.5,
            restore: null,
            until: AT + 86_400_000,
            reason: 'dredging',
            approvals: [],
          },
        ],
      }),
    );
    expect(yaml).toMatch(/^# Unified thresholds, version 4/);
    expect(yaml).toContain('# Exception p2: stations.hongyuan.limits.NH3N ≤ 1.5 until 2026-05-02 08:00 (UTC+8) (dredging); then standard.');
    const f = join(mkdtempSync(join(tmpdir(), 'tj-export-')), 'thresholds.yaml');
    writeFileSync(f, yaml);
    const back = loadThresholdsFile(f, registry);
    expect(back.version).toBe('4');
    expect(diffConfigs(back.config, config)).toEqual([]);
  });

  it('a stored configuration parses to itself (workers re-validate what they read)', () => {
    expect(ThresholdsFileSchema.parse(structuredClone(shipped))).toEqual(shipped);
  });
});

describe('the annotation of a change', () => {
  it('carries the tags and fields the dashboards query', () => {
    expect(changePoint(version({ summary: '收紧 / Tightened' }))).toBe(
      `threshold_changes,change=tighten,scope=station,station=shiqiao version="4",summary="收紧 / Tightened",by="cd-wang" ${AT}`,
    );
    expect(changePoint(version({ target: { scope: 'defaults', param: 'TP' }, kind: 'loosen' }))).toMatch(
      /^threshold_changes,change=loosen,scope=defaults version=/,
    );
    expect(changePoint(version({ kind: 'seed', target: undefined }))).toMatch(/^threshold_changes,change=seed,scope=defaults /);
    expect(changeTag({ kind: 'exception-end' })).toBe('tighten');
  });

  it('reads Chinese first, English second', () => {
    const s = summarize(registry, {
      kind: 'tighten',
      target: { scope: 'station', station: 'shiqiao', param: 'NH3N' },
      from: 0.8,
      to: 0.7,
      unit: 'mg/L',
      version: 4,
      by: 'cd-wang',
      city: 'chengdu',
    });
    expect(s).toBe(
      '收紧：石桥水厂取水口 氨氮 ≤ 0.8 mg/L → ≤ 0.7 mg/L（v4, cd-wang，成都市） / Tightened: NH3N at Shiqiao water intake ≤ 0.8 mg/L → ≤ 0.7 mg/L (v4, cd-wang, Chengdu)',
    );
    const e = summarize(registry, {
      kind: 'pending-exception',
      target: { scope: 'defaults', param: 'DO' },
      from: null,
      to: { min: 4 },
      unit: 'mg/L',
      by: 'zy-zhang',
      city: 'ziyang',
      until: AT,
    });
    expect(e).toContain('待批准例外：全部站点 溶解氧 standard → ≥ 4 mg/L，至 2026-05-01 08:00 (UTC+8)');
    expect(e).toContain('Exception awaiting approval: DO at all stations standard → ≥ 4 mg/L, until 2026-05-01 08:00 (UTC+8)');
  });
});
