/**
 * The rules of consent: a change is judged by the limits in force it moves (DO upwards is tighter),
 * against the national standard for each station's target class or grade, and who must approve.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { approvalRefusal, classify, compareLimits, missingApprovals } from '../../alerts/threshold-store/consent.js';
import { withExplicit } from '../../alerts/threshold-store/limits.js';
import type { LimitTarget } from '../../alerts/threshold-store/types.js';
import { loadThresholdsFile } from '../../alerts/thresholds.js';
import type { ExplicitLimit } from '../../alerts/thresholds-schema.js';
import { loadConfig } from '../../config/load.js';

const { dir, registry } = loadConfig();
const shipped = loadThresholdsFile(join(dir, 'thresholds.yaml'), registry).config;
const AT = Date.parse('2026-05-01T08:00:00+08:00'); // GB 3095-2026 transition limits in force

const judge = (target: LimitTarget, to: ExplicitLimit | null, before = shipped) =>
  classify(registry, before, withExplicit(before, target, to), target, AT);
const station = (s: string, param: string): LimitTarget => ({ scope: 'station', station: s, param });

describe('comparing two limits', () => {
  it('upper bounds: lower is tighter', () => {
    expect(compareLimits({ kind: 'max', value: 1 }, { kind: 'max', value: 0.8 })).toBe('tighter');
    expect(compareLimits({ kind: 'max', value: 1 }, { kind: 'max', value: 1.2 })).toBe('looser');
    expect(compareLimits({ kind: 'max', value: 1 }, { kind: 'max', value: 1 })).toBe('same');
  });

  it('lower bounds (DO): higher is tighter', () => {
    expect(compareLimits({ kind: 'min', value: 5 }, { kind: 'min', value: 6 })).toBe('tighter');
    expect(compareLimits({ kind: 'min', value: 5 }, { kind: 'min', value: 4 })).toBe('looser');
  });

  it('ranges (pH): narrower is tighter, shifted is both', () => {
    expect(compareLimits({ kind: 'range', min: 6, max: 9 }, { kind: 'range', min: 6.5, max: 8.5 })).toBe('tighter');
    expect(compareLimits({ kind: 'range', min: 6, max: 9 }, { kind: 'range', min: 5.5, max: 9 })).toBe('looser');
    expect(compareLimits({ kind: 'range', min: 6, max: 9 }, { kind: 'range', min: 6.5, max: 9.5 })).toBe('mixed');
  });

  it('adding a limit is tighter, removing one looser', () => {
    expect(compareLimits(undefined, { kind: 'max', value: 50 })).toBe('tighter');
    expect(compareLimits({ kind: 'max', value: 50 }, undefined)).toBe('looser');
    expect(compareLimits(undefined, undefined)).toBe('same');
  });
});

describe('classifying a change by the limits in force it moves', () => {
  it('tightening one station', () => {
    const c = judge(station('shiqiao', 'NH3N'), 0.7);
    expect(c.direction).toBe('tighten');
    expect(c.effects).toEqual([
      {
        station: 'shiqiao',
        period: 'hour',
        before: '≤ 0.8 mg/L',
        after: '≤ 0.7 mg/L',
        direction: 'tighter',
        national: '≤ 1 mg/L',
        belowStandard: false,
        floor: '≤ 0.15 mg/L',
        belowFloor: false,
      },
    ]);
    expect(c.belowFloor).toEqual([]);
    expect(c.belowStandard).toEqual([]);
  });

  it('loosening within the standard, and beyond it', () => {
    expect(judge(station('shiqiao', 'NH3N'), 0.95)).toMatchObject({ direction: 'loosen', belowStandard: [] });
    expect(judge(station('shiqiao', 'NH3N'), 1.0)).toMatchObject({ direction: 'loosen', belowStandard: [] }); // limits are inclusive: equal is not looser
    const c = judge(station('shiqiao', 'NH3N'), 1.2);
    expect(c.direction).toBe('loosen');
    expect(c.belowStandard.map((e) => [e.station, e.after, e.national])).toEqual([['shiqiao', '≤ 1.2 mg/L', '≤ 1 mg/L']]);
  });

  it('clearing an override that was tighter than the standard loosens', () => {
    expect(judge(station('shiqiao', 'NH3N'), null)).toMatchObject({
      direction: 'loosen',
      effects: [{ before: '≤ 0.8 mg/L', after: '≤ 1 mg/L' }],
    });
  });

  it('DO: raising the minimum tightens, lowering it below class III needs an exception', () => {
    expect(judge(station('hongyuan', 'DO'), { min: 6 }).direction).toBe('tighten');
    const c = judge(station('hongyuan', 'DO'), { min: 4 });
    expect(c.direction).toBe('loosen');
    expect(c.belowStandard[0]).toMatchObject({ after: '≥ 4 mg/L', national: '≥ 5 mg/L' });
  });

  it("the national limit is that of the station's own target class", () => {
    // A class II target makes 0.6 mg/L NH3N (class III would allow 1.0) looser than the standard.
    const classII = structuredClone(shipped);
    classII.stations.hongyuan = { target_class: 'II', water_class: 'II' };
    expect(judge(station('hongyuan', 'NH3N'), 0.6, classII).belowStandard).toHaveLength(1);
    expect(judge(station('hongyuan', 'NH3N'), 0.6).direction).toBe('tighten');
  });

  it('a change of the defaults is judged station by station (own overrides shield a station)', () => {
    const c = judge({ scope: 'defaults', param: 'NH3N' }, 0.9);
    expect(c.direction).toBe('tighten');
    expect(c.effects.find((e) => e.station === 'shiqiao')?.direction).toBe('same'); // its own 0.8 wins
    expect(c.effects.filter((e) => e.direction === 'tighter')).toHaveLength(6);
    // every station already has its own limit: nothing in force moves
    const pinned = structuredClone(shipped);
    for (const s of registry.stations.filter((x) => x.kind === 'water'))
      pinned.stations[s.id] = { ...pinned.stations[s.id], limits: { NH3N: 0.5 } };
    expect(judge({ scope: 'defaults', param: 'NH3N' }, 0.9, pinned).direction).toBe('none');
  });

  it('a section reaches only its stations', () => {
    const c = judge({ scope: 'section', section: 0, param: 'TP' }, 0.15);
    expect(c.effects.map((e) => e.station)).toEqual(['shiqiao', 'linjiangsi', 'ziyang-city']);
    expect(c.direction).toBe('tighten');
  });

  it('air: an explicit limit applies to hourly and daily readings, each judged on its own standard', () => {
    // PM2.5 has no 1-h limit in GB 3095; 24-h is 60 in 2026 (transition).
    const tight = judge(station('ziyang-shijian', 'PM2_5'), 55);
    expect(tight.direction).toBe('tighten');
    const loose = judge(station('ziyang-shijian', 'PM2_5'), 75);
    expect(loose.direction).toBe('mixed'); // a new hourly limit, a looser daily one
    expect(loose.belowStandard.map((e) => [e.period, e.national])).toEqual([['day', '≤ 60 µg/m³']]);
  });

  it('a limit already below the standard may be tightened without an exception', () => {
    const under = withExplicit(shipped, station('hongyuan', 'NH3N'), 1.5);
    const c = judge(station('hongyuan', 'NH3N'), 1.3, under);
    expect(c.direction).toBe('tighten');
    expect(c.belowStandard).toEqual([]);
    expect(c.stillBelowStandard).toBe(true);
    expect(judge(station('hongyuan', 'NH3N'), 0.9, under).stillBelowStandard).toBe(false);
  });
});

describe('the sanity floor: a tightening past the best class needs the other city', () => {
  const floorOf = (target: LimitTarget, to: ExplicitLimit | null) =>
    judge(target, to).belowFloor.map((e) => [e.station, e.period, e.after, e.floor]);

  it('water: stricter than GB 3838 class I on either side, whatever the bound kind', () => {
    expect(floorOf(station('linjiangsi', 'NH3N'), 0.000001)).toEqual([['linjiangsi', 'hour', '≤ 0.000001 mg/L', '≤ 0.15 mg/L']]);
    expect(floorOf(station('linjiangsi', 'NH3N'), 0.15)).toEqual([]); // class I itself is allowed
    expect(floorOf(station('linjiangsi', 'DO'), { min: 8 })).toEqual([['linjiangsi', 'hour', '≥ 8 mg/L', '≥ 7.5 mg/L']]);
    expect(floorOf(station('linjiangsi', 'pH'), { min: 6.5, max: 8.5 })).toEqual([['linjiangsi', 'hour', '6.5–8.5', '6–9']]);
    expect(floorOf(station('linjiangsi', 'pH'), { min: 6, max: 9 })).toEqual([]);
  });

  it('water items GB 3838 does not grade have a documented floor', () => {
    expect(floorOf(station('linjiangsi', 'temp'), 25)).toEqual([['linjiangsi', 'hour', '≤ 25 °C', '≤ 30 °C']]);
    expect(floorOf(station('linjiangsi', 'cond'), 500)).toEqual([['linjiangsi', 'hour', '≤ 500 µS/cm', '≤ 1000 µS/cm']]);
    expect(floorOf(station('linjiangsi', 'turb'), 20)).toEqual([['linjiangsi', 'hour', '≤ 20 NTU', '≤ 50 NTU']]);
    expect(floorOf(station('linjiangsi', 'turb'), 60)).toEqual([]);
  });

  it('air: GB 3095 grade I, hourly and daily each against their own; PM hourly against the daily grade I', () => {
    expect(floorOf(station('ziyang-shijian', 'SO2'), 100)).toEqual([['ziyang-shijian', 'hour', '≤ 100 µg/m³', '≤ 150 µg/m³']]);
    expect(floorOf(station('ziyang-shijian', 'SO2'), 40)).toEqual([
      ['ziyang-shijian', 'hour', '≤ 40 µg/m³', '≤ 150 µg/m³'],
      ['ziyang-shijian', 'day', '≤ 40 µg/m³', '≤ 50 µg/m³'],
    ]);
    expect(floorOf(station('ziyang-shijian', 'PM2_5'), 20)).toEqual([
      ['ziyang-shijian', 'hour', '≤ 20 µg/m³', '≤ 35 µg/m³'],
      ['ziyang-shijian', 'day', '≤ 20 µg/m³', '≤ 35 µg/m³'],
    ]);
  });

  it('only a move past the floor counts: loosening a limit still past it is a plain loosening', () => {
    const past = withExplicit(shipped, station('linjiangsi', 'NH3N'), 0.01);
    const c = judge(station('linjiangsi', 'NH3N'), 0.1, past);
    expect(c).toMatchObject({ direction: 'loosen', belowFloor: [] });
  });

  it('a floor proposal needs the other city, like a loosening', () => {
    const proposer = { by: 'cd-wang', city: 'chengdu' };
    expect(missingApprovals('floor', ['chengdu', 'ziyang'], proposer, [])).toEqual(['ziyang']);
    expect(approvalRefusal('floor', ['chengdu', 'ziyang'], proposer, [], { operator: 'cd-li', city: 'chengdu' })).toContain(
      'a tightening past the sanity floor proposed in chengdu needs an operator of ziyang',
    );
  });
});

describe('who must approve', () => {
  const cities = ['chengdu', 'ziyang'];
  const proposer = { by: 'cd-wang', city: 'chengdu' };

  it('a loosening: the other city', () => {
    expect(missingApprovals('loosen', cities, proposer, [])).toEqual(['ziyang']);
    expect(missingApprovals('loosen', cities, proposer, [{ by: 'zy-zhang', city: 'ziyang' }])).toEqual([]);
    expect(approvalRefusal('loosen', cities, proposer, [], { operator: 'cd-li', city: 'chengdu' })).toContain(
      'same-city approval does not count',
    );
    expect(approvalRefusal('loosen', cities, proposer, [], { operator: 'zy-zhang', city: 'ziyang' })).toBeUndefined();
  });

  it('an exception: every city, not counting the proposer', () => {
    expect(missingApprovals('exception', cities, proposer, [])).toEqual(['chengdu', 'ziyang']);
    expect(missingApprovals('exception', cities, proposer, [{ by: 'zy-zhang', city: 'ziyang' }])).toEqual(['chengdu']);
    expect(
      missingApprovals('exception', cities, proposer, [
        { by: 'zy-zhang', city: 'ziyang' },
        { by: 'cd-li', city: 'chengdu' },
      ]),
    ).toEqual([]);
    expect(approvalRefusal('exception', cities, proposer, [], { operator: 'cd-wang', city: 'chengdu' })).toContain('cannot approve it too');
    expect(approvalRefusal('exception', cities, proposer, [], { operator: 'cd-li', city: 'chengdu' })).toBeUndefined();
    expect(
      approvalRefusal('exception', cities, proposer, [{ by: 'zy-zhang', city: 'ziyang' }], { operator: 'zy-chen', city: 'ziyang' }),
    ).toContain('ziyang has already approved');
    expect(
      approvalRefusal('exception', cities, proposer, [{ by: 'zy-zhang', city: 'ziyang' }], { operator: 'zy-zhang', city: 'ziyang' }),
    ).toContain('already approved');
  });
});
