/**
 * More of the incident engine's edges: which incident evidence joins, how a section's measurements
 * are kept, what a report carries, receptors without a monitoring section, report severity corners.
 */
import { describe, expect, it } from 'vitest';
import {
  applyEvidence,
  closeDueAt,
  incidentPeak,
  nextDue,
  receptorStatus,
  scopeOf,
  tick,
  type EngineContext,
} from '../../alerts/incidents/engine.js';
import { joinSlack } from '../../alerts/incidents/track.js';
import { reportSeverity } from '../../alerts/incidents/severity.js';
import { emptyScope, type Evidence, type Report } from '../../alerts/incidents/types.js';
import type { SeverityPolicy } from '../../config/recipients-schema.js';
import { type Station } from '../../config/station-registry.js';

import { H, MIN, T0, apply, ctx, ev, only, reasonsOf, registry, run, st, type Run } from '../helpers/incident-engine-run.js';

describe('which incident evidence joins', () => {
  it('a downstream firing that began before the incident opened is not this plume', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', T0 + 12 * H, { breachSince: T0 - MIN })]);
    expect(r.state.incidents.map((i) => i.origin)).toEqual(['hongyuan', 'shiqiao']);
  });

  it('joins up to the end of the window plus the slack, and not a millisecond later', () => {
    const first = run([ev('hongyuan', 'firing', T0)]);
    const w = first.reports[0]?.windows.shiqiao;
    if (!w) throw new Error('no window');
    const last = w.to + joinSlack(w, ctx.policy.window_margin);
    expect(apply(first, ev('shiqiao', 'firing', last)).state.incidents).toHaveLength(1);
    expect(apply(first, ev('shiqiao', 'firing', last + 1)).state.incidents).toHaveLength(2);
  });

  it('a resolve goes to the incident whose section has that rule firing (two open incidents in one scope)', () => {
    // Shiqiao first, then Hongyuan upstream of it: a second incident in the same river scope.
    const r = run([ev('shiqiao', 'firing', T0), ev('hongyuan', 'firing', T0 + H), ev('hongyuan', 'resolved', T0 + 2 * H)]);
    expect(r.state.incidents.map((i) => [i.origin, i.sections.find((s) => s.station === 'hongyuan')?.backAt ?? null])).toEqual([
      ['shiqiao', null],
      ['hongyuan', T0 + 2 * H],
    ]);
  });

  it('a water station without a river position is an incident of its own, like an air station', () => {
    const loose: Station = { ...st('hongyuan'), river_km: undefined };
    const res = applyEvidence(emptyScope(), scopeOf(loose, 'nitrogen'), loose, ev('hongyuan', 'firing', T0), ctx);
    expect(res.state.incidents[0]).toMatchObject({ kind: 'air', river: null, scope: 's.hongyuan.nitrogen' });
    expect(res.state.incidents[0]?.sections.map((s) => s.station)).toEqual(['hongyuan']);
    const noRiver: Station = { ...st('hongyuan'), river: undefined };
    expect(applyEvidence(emptyScope(), 's.hongyuan.nitrogen', noRiver, ev('hongyuan', 'firing', T0), ctx).state.incidents[0]?.kind).toBe(
      'air',
    );
    const airOnRiver: Station = { ...st('ziyang-yanjiang'), river: 'tuojiang', river_km: 100 };
    expect(
      applyEvidence(
        emptyScope(),
        's.x.particles',
        airOnRiver,
        ev('ziyang-yanjiang', 'firing', T0, { rule: 'aqi', parameter: 'AQI', detail: {}, family: 'particles' }),
        ctx,
      ).state.incidents[0]?.kind,
    ).toBe('air');
  });

  it('a section firing the same rule again is listed once; a new incident starts with no misses and no fault', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('hongyuan', 'reminder', T0 + H), ev('hongyuan', 'firing', T0 + 2 * H)]);
    expect(only(r).sections[0]?.firing).toEqual(['limit.NH3N']);
    expect(only(r).misses).toEqual([]);
    expect(only(r).sections.map((s) => s.fault)).toEqual([false, false, false, false, false]);
  });

  it('before the 初报 nothing is said, not even a section reached downstream', () => {
    const r = run([
      ev('hongyuan', 'firing', T0, { rule: 'rate', value: 1 }),
      ev('shiqiao', 'firing', T0 + 2 * MIN, { rule: 'rate', value: 1 }),
    ]);
    expect(r.reports).toEqual([]);
    const t = tick(r.state, T0 + ctx.policy.initial_wait_min * MIN, ctx);
    expect(t.reports.map((x) => [x.kind, reasonsOf(x)])).toEqual([['initial', ['opened']]]);
    // The first concentration after a 初报 without one is reported at once, with its peak.
    const after = apply({ state: t.state, reports: [] }, ev('hongyuan', 'firing', T0 + 20 * MIN, { value: 3 }));
    expect(after.reports.map((x) => [x.kind, reasonsOf(x)])).toEqual([['followup', ['peak']]]);
  });
});

describe("a section's measurements", () => {
  it('a value without a number records nothing', () => {
    expect(only(run([ev('hongyuan', 'firing', T0, { value: null })])).sections[0]?.params).toEqual({});
  });

  it("the evidence's own peak counts only when worse than its value, with its own time", () => {
    const lower = only(run([ev('hongyuan', 'firing', T0, { value: 3, peak: 2, peakAt: T0 - H })])).sections[0]?.params.NH3N;
    expect(lower).toMatchObject({ peak: 3, peakAt: T0 });
    const higher = only(run([ev('hongyuan', 'firing', T0, { value: 3, peak: 4, peakAt: T0 - H })])).sections[0]?.params.NH3N;
    expect(higher).toMatchObject({ peak: 4, peakAt: T0 - H });
    const noTime = only(run([ev('hongyuan', 'firing', T0, { value: 3, peak: 4 })])).sections[0]?.params.NH3N;
    expect(noTime).toMatchObject({ peak: 4, peakAt: T0 });
  });

  it('an equal later value keeps the earlier peak time (upper and lower bounds)', () => {
    const up = run([ev('hongyuan', 'firing', T0, { value: 3 }), ev('hongyuan', 'reminder', T0 + H, { value: 3 })]);
    expect(only(up).sections[0]?.params.NH3N).toMatchObject({ peak: 3, peakAt: T0 });
    const d = { unit: 'mg/L', limitKind: 'min' as const };
    const low = run([
      ev('hongyuan', 'firing', T0, { parameter: 'DO', value: 2, limit: 5, detail: d }),
      ev('hongyuan', 'reminder', T0 + H, { parameter: 'DO', value: 2, limit: 5, detail: d }),
    ]);
    expect(only(low).sections[0]?.params.DO).toMatchObject({ peak: 2, peakAt: T0 });
  });

  it('pH: a low value far below the range is worse than a high one just above it; without a limit the higher wins', () => {
    const d = { unit: '', limitKind: 'range' as const };
    const r = run([
      ev('hongyuan', 'firing', T0, { parameter: 'pH', value: 9.5, limit: 9, detail: d }),
      ev('hongyuan', 'reminder', T0 + H, { parameter: 'pH', value: 5, limit: 9, detail: d }),
    ]);
    expect(only(r).sections[0]?.params.pH).toMatchObject({ peak: 5, peakAt: T0 + H });
    const back = run([
      ev('hongyuan', 'firing', T0, { parameter: 'pH', value: 5, limit: 9, detail: d }),
      ev('hongyuan', 'reminder', T0 + H, { parameter: 'pH', value: 9.5, limit: 9, detail: d }),
    ]);
    expect(only(back).sections[0]?.params.pH).toMatchObject({ peak: 5, peakAt: T0 });
    const open = run([
      ev('hongyuan', 'firing', T0, { parameter: 'pH', value: 5, limit: null, detail: d }),
      ev('hongyuan', 'reminder', T0 + H, { parameter: 'pH', value: 9.5, limit: null, detail: d }),
    ]);
    expect(only(open).sections[0]?.params.pH).toMatchObject({ peak: 9.5 });
  });

  it('the latest value is the latest in event time; at the same time the later evidence wins', () => {
    const r = run([
      ev('hongyuan', 'firing', T0, { value: 3 }),
      ev('hongyuan', 'reminder', T0 + 2 * H, { value: 4 }),
      ev('hongyuan', 'reminder', T0 + H, { value: 3.5 }),
    ]);
    expect(only(r).sections[0]?.params.NH3N).toMatchObject({ last: 4, lastAt: T0 + 2 * H });
    const same = run([ev('hongyuan', 'firing', T0, { value: 3 }), ev('hongyuan', 'reminder', T0, { value: 2 })]);
    expect(only(same).sections[0]?.params.NH3N).toMatchObject({ last: 2, lastAt: T0 });
  });

  it("a local limit's phrase learnt later is kept", () => {
    const local = {
      unit: 'mg/L',
      limitKind: 'max' as const,
      basis: 'thresholds',
      limitText: '≤ 0.8',
      nationalLimitText: '≤ 1',
      nationalBasis: 'GB3838-2002 III',
      nationalClass: 'III' as const,
    };
    const r = run([
      ev('shiqiao', 'firing', T0, { value: 2, limit: 0.8 }),
      ev('shiqiao', 'reminder', T0 + H, { value: 2.5, limit: 0.8, detail: local }),
    ]);
    expect(only(r).sections[0]?.params.NH3N?.local?.en).toBe('local limit ≤ 0.8 mg/L (national class III: ≤ 1 mg/L, GB3838-2002)');
  });

  it('the incident peak: the lowest DO of all sections; between equal peaks the first section', () => {
    const d = { unit: 'mg/L', limitKind: 'min' as const };
    const r = run([
      ev('hongyuan', 'firing', T0, { parameter: 'DO', value: 4, limit: 5, detail: d, family: 'oxygen_demand' }),
      ev('shiqiao', 'firing', T0 + 12 * H, { parameter: 'DO', value: 2, limit: 5, detail: d, family: 'oxygen_demand' }),
    ]);
    expect(incidentPeak(only(r))).toMatchObject({ value: 2, station: 'shiqiao' });
    const tie = run([ev('hongyuan', 'firing', T0, { value: 3 }), ev('shiqiao', 'firing', T0 + 12 * H, { value: 3 })]);
    expect(incidentPeak(only(tie))).toMatchObject({ value: 3, station: 'hongyuan' });
  });
});

describe('what a report carries', () => {
  it('the incident without its evidence ids, what was reported, the enqueue time when the evidence had one', () => {
    const r = run([ev('hongyuan', 'firing', T0, { enqueuedAt: T0 + 5 }), ev('shiqiao', 'firing', T0 + 12 * H)]);
    const [first, second] = r.reports as [Report, Report];
    expect(first.incident.seen).toEqual([]);
    expect(first.enqueuedAt).toBe(T0 + 5);
    expect(Object.keys(second)).not.toContain('enqueuedAt');
    expect(only(r).lastReported).toMatchObject({ front: 'shiqiao', back: [] });
    expect(only(r).sections.find((s) => s.station === 'hongyuan')?.predicted).toBeNull();
    expect(only(r).sections.find((s) => s.station === 'linjiangsi')?.predictedIn).toBe(2);
  });

  it('a section back within limits is named in what was reported', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('hongyuan', 'resolved', T0 + H), ev('shiqiao', 'firing', T0 + 12 * H)]);
    expect(only(r).lastReported?.back).toEqual(['hongyuan']);
  });

  it('the late and early misses are named as such on the section', () => {
    const first = run([ev('hongyuan', 'firing', T0)]);
    const w = first.reports[0]?.windows.shiqiao;
    if (!w) throw new Error('no window');
    expect(only(apply(first, ev('shiqiao', 'firing', w.to + 1))).sections[1]?.miss).toBe('late');
    expect(only(apply(first, ev('shiqiao', 'firing', w.from - 1))).sections[1]?.miss).toBe('early');
    expect(only(apply(first, ev('shiqiao', 'firing', w.from))).sections[1]?.miss).toBeNull();
  });

  it('a peak 25 % up is news after a quarter of a short report interval', () => {
    const c = { ...ctx, policy: { ...ctx.policy, report_every_min: 60 } };
    const r = run([ev('hongyuan', 'firing', T0, { value: 4 }), ev('hongyuan', 'reminder', T0 + 15 * MIN, { value: 5.5 })], c);
    expect(r.reports.slice(1).map(reasonsOf)).toEqual([['peak']]);
    const early = run([ev('hongyuan', 'firing', T0, { value: 4 }), ev('hongyuan', 'reminder', T0 + 15 * MIN - 1, { value: 5.5 })], c);
    expect(early.reports.slice(1)).toEqual([]);
  });

  it('two sections back since the last report are both named, the intake first', () => {
    const r = run([
      ev('hongyuan', 'firing', T0),
      ev('shiqiao', 'firing', T0 + 12 * H),
      ev('hongyuan', 'resolved', T0 + 13 * H),
      ev('shiqiao', 'resolved', T0 + 14 * H),
    ]);
    expect(r.reports.slice(2).map(reasonsOf)).toEqual([['back:shiqiao', 'back:hongyuan']]);
  });

  it("a closed river incident's final report has no windows ahead; the close waits for the window ahead plus its slack", () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('hongyuan', 'resolved', T0 + H)]);
    const w = r.reports[0]?.windows.shiqiao;
    if (!w) throw new Error('no window');
    const due = closeDueAt(only(r), ctx) as number;
    expect(due).toBe(Math.max(T0 + H + ctx.policy.hold_min * MIN, w.to + joinSlack(w, ctx.policy.window_margin)));
    const closed = tick(r.state, due, ctx);
    expect(closed.reports[0]?.windows).toEqual({});
    expect(closed.reports[0]?.receptors.every((x) => x.window === null)).toBe(true);
  });

  it('nextDue finds the earlier due of a later incident', () => {
    const a = run([
      ev('ziyang-yanjiang', 'firing', T0 + 5 * H, {
        rule: 'aqi',
        parameter: 'AQI',
        value: 160,
        limit: 101,
        detail: {},
        family: 'particles',
      }),
    ]);
    const b = apply(a, ev('hongyuan', 'firing', T0));
    expect(nextDue(b.state, ctx)).toBe(T0 + ctx.policy.report_every_min * MIN);
  });
});

describe('receptors, further', () => {
  const withReceptor = (km: number): EngineContext => {
    const rivers = structuredClone(ctx.rivers);
    const river = rivers.rivers.tuojiang as { receptors?: unknown[] };
    river.receptors = [
      {
        id: 'farm',
        name: { zh: '灌区', en: 'Farm intake' },
        kind: 'irrigation_intake',
        river_km: km,
        city: 'chengdu',
        contact: { name: 'duty' },
      },
    ];
    return { ...ctx, rivers };
  };

  it('a receptor at the origin counts; one without a section is reached when the front passes it, exactly at its km too', () => {
    const at68 = withReceptor(68);
    const r = run([ev('shiqiao', 'firing', T0)], at68);
    expect(receptorStatus(only(r), at68).map((x) => [x.id, x.reached, x.affected, x.station])).toEqual([['farm', true, false, null]]);
    const at70 = withReceptor(70);
    const before = run([ev('shiqiao', 'firing', T0)], at70);
    const rs = receptorStatus(only(before), at70);
    expect(rs.map((x) => [x.reached, x.reachedAt])).toEqual([[false, null]]);
    expect(rs[0]?.window).not.toBeNull();
    const past = run([ev('shiqiao', 'firing', T0), ev('linjiangsi', 'firing', T0 + 30 * H)], at70);
    expect(receptorStatus(only(past), at70).map((x) => [x.reached, x.window])).toEqual([[true, null]]);
  });

  it('a reached intake is no longer affected once its section is back', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', T0 + 12 * H), ev('shiqiao', 'resolved', T0 + 14 * H)]);
    expect(receptorStatus(only(r), ctx).map((x) => [x.id, x.reached, x.affected])).toEqual([
      ['shiqiao-intake', true, false],
      ['ziyang-city-intake', false, false],
    ]);
  });
});

describe('report severity, further', () => {
  const policy: SeverityPolicy = { ratio: 2, parameters: ['Hg'], water_classes: ['劣V'], aqi_level: 5, drinking_water_intake: true };
  const at = (o: Partial<Evidence>) => only(run([ev('gongchengpu', 'firing', T0, o)]));

  it('a toxic item is severe at any exceedance, below the ratio too', () => {
    expect(reportSeverity(at({ parameter: 'Hg', value: 0.00011, limit: 0.0001, family: 'metals' }), registry, policy)).toBe('severe');
  });

  it('an intake among the receptors does not make an air incident severe', () => {
    const air = only(
      run([
        ev('ziyang-yanjiang', 'firing', T0, { rule: 'aqi', parameter: 'AQI', value: 150, limit: 101, detail: {}, family: 'particles' }),
      ]),
    );
    expect(reportSeverity(air, registry, policy, [{ kind: 'drinking_water_intake' }])).toBe('warning');
  });

  it('a large concentration is not an AQI: COD 250 against 200 stays a warning', () => {
    expect(reportSeverity(at({ parameter: 'COD', value: 250, limit: 200, family: 'oxygen_demand' }), registry, policy)).toBe('warning');
  });
});

describe('joining and measuring, the last edges', () => {
  it('evidence at a reached section joins its incident even when its breach began before the opening', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('hongyuan', 'firing', T0 + H, { rule: 'rate', breachSince: T0 - H })]);
    expect(r.state.incidents).toHaveLength(1);
    expect(only(r).sections[0]?.firing).toEqual(['limit.NH3N', 'rate.NH3N']);
  });

  it('a downstream breach that began exactly at the opening still joins', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', T0 + 12 * H, { breachSince: T0 })]);
    expect(r.state.incidents).toHaveLength(1);
  });

  it('once the speed is known, a firing far beyond its window is another incident', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', T0 + 12 * H), ev('linjiangsi', 'firing', T0 + 500 * H)]);
    expect(r.state.incidents.map((i) => i.origin)).toEqual(['hongyuan', 'linjiangsi']);
  });

  it('a local limit phrase is kept when later evidence has none', () => {
    const local = {
      unit: 'mg/L',
      limitKind: 'max' as const,
      basis: 'thresholds',
      limitText: '≤ 0.8',
      nationalLimitText: '≤ 1',
      nationalBasis: 'GB3838-2002 III',
      nationalClass: 'III' as const,
    };
    const r = run([
      ev('shiqiao', 'firing', T0, { value: 2, limit: 0.8, detail: local }),
      ev('shiqiao', 'reminder', T0 + H, { value: 2.5, limit: 0.8 }),
    ]);
    expect(only(r).sections[0]?.params.NH3N?.local?.zh).toBe('本地限值 ≤ 0.8 mg/L，国家 III 类 ≤ 1 mg/L（GB3838-2002）');
  });

  it('report times start with the first report; a station without a river has no river', () => {
    expect(only(run([ev('hongyuan', 'firing', T0)])).reportTimes).toEqual([T0]);
    const noRiver: Station = { ...st('hongyuan'), river: undefined };
    expect(
      applyEvidence(emptyScope(), 's.hongyuan.nitrogen', noRiver, ev('hongyuan', 'firing', T0), ctx).state.incidents[0]?.river,
    ).toBeNull();
  });

  it("closing after two arrivals waits for the next section's window from the observed speed, and names it", () => {
    const r = run([
      ev('hongyuan', 'firing', T0),
      ev('shiqiao', 'firing', T0 + 12 * H),
      ev('hongyuan', 'resolved', T0 + 13 * H),
      ev('shiqiao', 'resolved', T0 + 14 * H),
    ]);
    const w = r.reports[r.reports.length - 1]?.windows.linjiangsi ?? only(r).lastReported?.windows.linjiangsi;
    if (!w) throw new Error('no window');
    const due = closeDueAt(only(r), ctx) as number;
    expect(due).toBe(Math.max(T0 + 14 * H + ctx.policy.hold_min * MIN, w.to + joinSlack(w, ctx.policy.window_margin)));
    expect(reasonsOf(tick(r.state, due, ctx).reports[0] as Report)).toEqual(['dissipated:linjiangsi', 'closed']);
  });
});

describe('peaks and reasons without a concentration', () => {
  it('for an upper bound the higher value is the peak, below the limit too; pH ties keep the first', () => {
    const r = run([ev('hongyuan', 'firing', T0, { value: 0.5 }), ev('hongyuan', 'reminder', T0 + H, { value: 0.8 })]);
    expect(only(r).sections[0]?.params.NH3N).toMatchObject({ peak: 0.8, peakAt: T0 + H });
    const d = { unit: '', limitKind: 'range' as const };
    const tie = run([
      ev('hongyuan', 'firing', T0, { parameter: 'pH', value: 9.5, limit: 9, detail: d }),
      ev('hongyuan', 'reminder', T0 + H, { parameter: 'pH', value: 8.5, limit: 9, detail: d }),
    ]);
    expect(only(tie).sections[0]?.params.pH).toMatchObject({ peak: 9.5, peakAt: T0 });
  });

  it('with no concentration known there is no peak to report, and nothing urgent', () => {
    const opened = run([ev('hongyuan', 'firing', T0, { rule: 'rate', value: 1 })]);
    const initial = tick(opened.state, T0 + ctx.policy.initial_wait_min * MIN, ctx);
    const base: Run = { state: initial.state, reports: [] };
    const reached = apply(base, ev('shiqiao', 'firing', T0 + 12 * H, { rule: 'rate', value: 1 }));
    expect(reached.reports.map(reasonsOf)).toEqual([['reached:shiqiao', 'narrowed']]);
    const again = apply(base, ev('hongyuan', 'reminder', T0 + H, { rule: 'rate', value: 1 }));
    expect(again.reports).toEqual([]);
  });
});

describe('the last two', () => {
  it('a resolve of a rule that never fired at a section changes nothing, not even the evidence seen', () => {
    const first = ev('hongyuan', 'firing', T0);
    const stray = ev('hongyuan', 'resolved', T0 + H, { rule: 'rate', value: 0 });
    const r = run([first, stray]);
    expect(only(r).seen).toEqual([first.id]);
    expect(only(r).sections[0]?.params.NH3N?.lastAt).toBe(T0);
  });

  it('a first concentration of 0 (DO) after a 初报 without one is news', () => {
    const d = { unit: 'mg/L', limitKind: 'min' as const };
    const opened = run([ev('hongyuan', 'firing', T0, { rule: 'rate', parameter: 'DO', value: 1, family: 'oxygen_demand' })]);
    const initial = tick(opened.state, T0 + ctx.policy.initial_wait_min * MIN, ctx);
    const r = apply(
      { state: initial.state, reports: [] },
      ev('hongyuan', 'firing', T0 + 30 * MIN, { parameter: 'DO', value: 0, limit: 5, detail: d, family: 'oxygen_demand' }),
    );
    expect(r.reports.map(reasonsOf)).toEqual([['peak']]);
  });
});
