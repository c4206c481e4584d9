/**
 * The incident engine's edges: family, scope and pollutant of evidence, the peak by kind of bound,
 * when a report is due (first concentration, doubling, the 25 % step, the daily beat), receptors,
 * re-delivery and pruning, closing — with the shipped registry, rivers and incident policy.
 */
import { describe, expect, it } from 'vitest';
import { currentReport, latestReportKind } from '../../alerts/incidents/current-report.js';
import {
  applyEvidence,
  closeDueAt,
  familyOf,
  heartbeatDueAt,
  incidentIdFor,
  incidentPeak,
  nextDue,
  pollutantOf,
  POLLUTION_RULES,
  receptorStatus,
  scopeOf,
  tick,
} from '../../alerts/incidents/engine.js';
import { intakeInPath, reportSeverity } from '../../alerts/incidents/severity.js';
import { emptyScope, type Evidence, type Incident, type Report } from '../../alerts/incidents/types.js';
import type { SeverityPolicy } from '../../config/recipients-schema.js';

import { H, MIN, T0, apply, ctx, ev, only, reasonsOf, registry, run, st } from '../helpers/incident-engine-run.js';

describe('what evidence is about', () => {
  it('family: the configured family of the parameter, else the parameter itself; class and AQI by their deciding parameter', () => {
    expect(familyOf(ctx.policy, 'NH3N')).toBe('nitrogen');
    expect(familyOf(ctx.policy, 'TN')).toBe('nitrogen');
    expect(familyOf(ctx.policy, 'pH')).toBe('pH');
    expect(familyOf(ctx.policy, 'class', ['TP', 'NH3N'])).toBe('phosphorus');
    expect(familyOf(ctx.policy, 'AQI', ['PM10'])).toBe('particles');
    expect(familyOf(ctx.policy, 'AQI', ['O3'])).toBe('O3');
    expect(familyOf(ctx.policy, 'class')).toBe('class');
    expect(familyOf(ctx.policy, 'class', [])).toBe('class');
    expect(familyOf(ctx.policy, 'AQI')).toBe('aqi');
  });

  it('scope: the river for a water section on a river, else the station alone', () => {
    expect(scopeOf(st('hongyuan'), 'nitrogen')).toBe('r.tuojiang.nitrogen');
    expect(scopeOf(st('ziyang-yanjiang'), 'particles')).toBe('s.ziyang-yanjiang.particles');
    expect(scopeOf({ ...st('hongyuan'), river_km: undefined }, 'nitrogen')).toBe('s.hongyuan.nitrogen');
    expect(scopeOf({ ...st('hongyuan'), river: undefined }, 'nitrogen')).toBe('s.hongyuan.nitrogen');
    expect(scopeOf({ ...st('hongyuan'), kind: 'air' }, 'nitrogen')).toBe('s.hongyuan.nitrogen');
    expect(incidentIdFor('r.tuojiang.nitrogen', 5)).toBe('inc.r.tuojiang.nitrogen.5');
  });

  it('pollutant: the parameter, or for class and AQI the cause, the limiting item, the primary pollutant, in that order', () => {
    expect(pollutantOf({ parameter: 'NH3N', detail: { cause: ['TP'] } })).toBe('NH3N');
    expect(pollutantOf({ parameter: 'class', detail: { cause: ['TP'], limiting: ['NH3N'], primary: ['PM10'] } })).toBe('TP');
    expect(pollutantOf({ parameter: 'class', detail: { limiting: ['NH3N'], primary: ['PM10'] } })).toBe('NH3N');
    expect(pollutantOf({ parameter: 'AQI', detail: { primary: ['PM10'] } })).toBe('PM10');
    expect(pollutantOf({ parameter: 'AQI', detail: {} })).toBe('AQI');
    expect(pollutantOf({ parameter: 'class', detail: { cause: [], limiting: [] } })).toBe('class');
  });

  it('only limit, rate, class and AQI transitions are pollution evidence', () => {
    expect([...POLLUTION_RULES].sort()).toEqual(['aqi', 'limit', 'rate', 'water_class']);
  });
});

describe('opening', () => {
  it('an incident opens at the start of the breach, with its sections from the origin down and the opening evidence', () => {
    const r = run([
      ev('shiqiao', 'firing', T0, {
        breachSince: T0 - 20 * MIN,
        value: 3,
        detail: { unit: 'mg/L', limitKind: 'max', cls: 'V', target: 'III' },
      }),
    ]);
    const inc = only(r);
    expect(inc).toMatchObject({
      id: `inc.r.tuojiang.nitrogen.${T0 - 20 * MIN}`,
      scope: 'r.tuojiang.nitrogen',
      kind: 'river',
      family: 'nitrogen',
      river: 'tuojiang',
      origin: 'shiqiao',
      openedAt: T0 - 20 * MIN,
      status: 'open',
      closedAt: null,
      parameter: 'NH3N',
      seq: 1,
      opening: { rule: 'limit', parameter: 'NH3N', value: 3, limit: 1, unit: 'mg/L', cls: 'V', target: 'III' },
    });
    expect(inc.sections.map((s) => s.station)).toEqual(['shiqiao', 'linjiangsi', 'ziyang-city', 'gongchengpu']);
    expect(inc.sections[0]).toMatchObject({
      city: 'chengdu',
      riverKm: 68,
      intake: true,
      observedAt: T0 - 20 * MIN,
      firing: ['limit.NH3N'],
      backAt: null,
    });
    expect(inc.sections[1]).toMatchObject({ observedAt: null, firing: [], params: {} });
    expect(r.reports.map((x) => [x.kind, x.id, x.seq, reasonsOf(x)])).toEqual([['initial', `${inc.id}.r1`, 1, ['opened']]]);
  });

  it('without a unit or class the opening says so plainly', () => {
    const inc = only(run([ev('hongyuan', 'firing', T0, { detail: {} })]));
    expect(inc.opening).toEqual({ rule: 'limit', parameter: 'NH3N', value: 10, limit: 1, unit: '' });
    expect(inc.openedAt).toBe(T0);
  });

  it('an air incident is its station alone', () => {
    const inc = only(
      run([
        ev('ziyang-yanjiang', 'firing', T0, {
          rule: 'aqi',
          parameter: 'AQI',
          value: 160,
          limit: 101,
          detail: { primary: ['PM2_5'] },
          family: 'particles',
        }),
      ]),
    );
    expect(inc).toMatchObject({ kind: 'air', river: null, parameter: 'PM2_5' });
    expect(inc.sections.map((s) => [s.station, s.riverKm])).toEqual([['ziyang-yanjiang', null]]);
  });

  it('a clear of nothing is nothing; the same evidence twice is applied once', () => {
    const none = run([ev('hongyuan', 'resolved', T0)]);
    expect(none.state.incidents).toEqual([]);
    expect(none.reports).toEqual([]);
    const e = ev('hongyuan', 'firing', T0);
    const twice = run([e, e]);
    expect(twice.reports).toHaveLength(1);
    expect(only(twice).seen).toEqual([e.id]);
    expect(twice.state.rev).toBe(2);
  });

  it('remembers at most 2000 evidence ids per incident, the newest', () => {
    const r = run([ev('hongyuan', 'firing', T0)]);
    const ids = Array.from({ length: 1999 }, (_, i) => `old.${i}`);
    (r.state.incidents[0] as Incident).seen = [...ids];
    const a = apply(r, ev('hongyuan', 'reminder', T0 + 1000));
    expect(only(a).seen).toHaveLength(2000);
    expect(only(a).seen[0]).toBe('old.0');
    const b = apply(a, ev('hongyuan', 'reminder', T0 + 2000));
    expect(only(b).seen).toHaveLength(2000);
    expect(only(b).seen[0]).toBe('old.1');
    expect(only(b).seen.slice(-2)).toEqual(only(a).seen.slice(-1).concat(only(b).seen.slice(-1)));
  });
});

describe('the peak', () => {
  it('an upper bound: the highest value, with the evidence peak when it is worse than the value', () => {
    const r = run([
      ev('hongyuan', 'firing', T0, { value: 3, peak: 5, peakAt: T0 - 10 * MIN }),
      ev('hongyuan', 'reminder', T0 + H, { value: 4 }),
      ev('hongyuan', 'reminder', T0 + 2 * H, { value: 2, peak: 1, peakAt: T0 + H }),
    ]);
    expect(only(r).sections[0]?.params.NH3N).toMatchObject({
      peak: 5,
      peakAt: T0 - 10 * MIN,
      last: 2,
      lastAt: T0 + 2 * H,
      limit: 1,
      limitKind: 'max',
      unit: 'mg/L',
      basis: 'GB3838-2002 III',
    });
    expect(incidentPeak(only(r))).toEqual({ value: 5, station: 'hongyuan', at: T0 - 10 * MIN });
  });

  it('a lower bound (DO): the lowest value', () => {
    const d = { unit: 'mg/L', limitKind: 'min' as const, basis: 'GB3838-2002 III' };
    const r = run([
      ev('hongyuan', 'firing', T0, { parameter: 'DO', value: 4, limit: 5, detail: d }),
      ev('hongyuan', 'reminder', T0 + H, { parameter: 'DO', value: 2, limit: 5, detail: d }),
      ev('hongyuan', 'reminder', T0 + 2 * H, { parameter: 'DO', value: 3, limit: 5, detail: d, peak: 2.5, peakAt: T0 }),
    ]);
    expect(only(r).sections[0]?.params.DO).toMatchObject({ peak: 2, peakAt: T0 + H, last: 3 });
    expect(incidentPeak(only(r))).toEqual({ value: 2, station: 'hongyuan', at: T0 + H });
  });

  it('a range (pH): furthest from the limit given', () => {
    const d = { unit: '', limitKind: 'range' as const, basis: 'GB3838-2002 III' };
    const r = run([
      ev('hongyuan', 'firing', T0, { parameter: 'pH', value: 9.5, limit: 9, detail: d }),
      ev('hongyuan', 'reminder', T0 + H, { parameter: 'pH', value: 9.2, limit: 9, detail: d, peak: 10, peakAt: T0 + 30 * MIN }),
      ev('hongyuan', 'reminder', T0 + 2 * H, { parameter: 'pH', value: 9.8, limit: 9, detail: d }),
    ]);
    expect(only(r).sections[0]?.params.pH).toMatchObject({ peak: 10, peakAt: T0 + 30 * MIN, last: 9.8 });
  });

  it('a resolve does not raise the peak; late evidence does not replace the latest value; a missing limit keeps the one known', () => {
    const r = run([
      ev('hongyuan', 'firing', T0, { value: 3 }),
      ev('hongyuan', 'reminder', T0 + 2 * H, { value: 4 }),
      ev('hongyuan', 'reminder', T0 + H, { value: 3.5, limit: null }),
      ev('hongyuan', 'resolved', T0 + 3 * H, { value: 9 }),
    ]);
    expect(only(r).sections[0]?.params.NH3N).toMatchObject({ peak: 4, peakAt: T0 + 2 * H, last: 9, lastAt: T0 + 3 * H, limit: 1 });
  });

  it('only limit and AQI evidence with a finite value is measured; a non-finite evidence peak is ignored', () => {
    const r = run([
      ev('hongyuan', 'firing', T0, { rule: 'rate', value: 50 }),
      ev('hongyuan', 'firing', T0 + MIN, { value: null }),
      ev('hongyuan', 'reminder', T0 + 2 * MIN, { value: Number.NaN }),
      ev('hongyuan', 'reminder', T0 + 3 * MIN, { value: 2, peak: Number.POSITIVE_INFINITY }),
    ]);
    expect(only(r).sections[0]?.params).toEqual({ NH3N: expect.objectContaining({ peak: 2, last: 2, peakAt: T0 + 3 * MIN }) });
  });

  it("remembers a local limit's phrase, and an AQI section is measured by its AQI", () => {
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
      ev('shiqiao', 'reminder', T0 + H, { value: 2.5, limit: 0.8, detail: local }),
    ]);
    expect(only(r).sections[0]?.params.NH3N?.local).toEqual({
      zh: '本地限值 ≤ 0.8 mg/L，国家 III 类 ≤ 1 mg/L（GB3838-2002）',
      en: 'local limit ≤ 0.8 mg/L (national class III: ≤ 1 mg/L, GB3838-2002)',
    });
    const air = run([
      ev('ziyang-yanjiang', 'firing', T0, {
        rule: 'aqi',
        parameter: 'AQI',
        value: 160,
        limit: 101,
        detail: { primary: ['PM2_5'] },
        family: 'particles',
      }),
    ]);
    expect(incidentPeak(only(air))).toEqual({ value: 160, station: 'ziyang-yanjiang', at: T0 });
    expect(only(air).sections[0]?.params.AQI).toMatchObject({ unit: '', basis: null, limitKind: null });
  });

  it('the worst section wins', () => {
    const r = run([
      ev('hongyuan', 'firing', T0, { value: 3 }),
      ev('shiqiao', 'firing', T0 + 12 * H, { value: 7 }),
      ev('linjiangsi', 'firing', T0 + 30 * H, { value: 5 }),
    ]);
    expect(incidentPeak(only(r))).toEqual({ value: 7, station: 'shiqiao', at: T0 + 12 * H });
    expect(incidentPeak({ ...only(r), sections: [] })).toBeNull();
  });
});

describe('when a follow-up is due', () => {
  it('a reached section is a follow-up naming it; a second reached section narrows the windows', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', T0 + 12 * H), ev('linjiangsi', 'firing', T0 + 35 * H)]);
    expect(r.reports.map((x) => [x.kind, reasonsOf(x)])).toEqual([
      ['initial', ['opened']],
      ['followup', ['reached:shiqiao', 'narrowed']],
      ['followup', ['reached:linjiangsi']],
    ]);
  });

  it('an arrival before its window is an early miss, after it a late one', () => {
    const early = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', T0 + 2 * H)]);
    expect(reasonsOf(early.reports[1] as Report)).toEqual(['reached:shiqiao', 'miss:shiqiao', 'narrowed']);
    expect(early.reports[1]?.reasons[1]).toEqual({ type: 'miss', station: 'shiqiao', early: true });
    expect(only(early).sections[1]?.miss).toBe('early');
    expect(only(early).misses[0]).toMatchObject({ station: 'shiqiao', observed: T0 + 2 * H });
    const w = early.reports[0]?.windows.shiqiao;
    expect(w && T0 + 2 * H < w.from).toBe(true);
    const late = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', (w?.to ?? 0) + 10 * MIN)]);
    expect(late.reports[1]?.reasons[1]).toEqual({ type: 'miss', station: 'shiqiao', early: false });
    const at = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', w?.from ?? 0)]);
    expect(reasonsOf(at.reports[1] as Report)).toEqual(['reached:shiqiao', 'narrowed']);
    const atEnd = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', w?.to ?? 0)]);
    expect(reasonsOf(atEnd.reports[1] as Report)).toEqual(['reached:shiqiao', 'narrowed']);
  });

  it('a peak 25 % above the last reported is news after 3 hours; less, or sooner, is not', () => {
    const base = [ev('hongyuan', 'firing', T0, { value: 4 })];
    const kinds = (evs: Evidence[]): string[][] =>
      run([...base, ...evs])
        .reports.slice(1)
        .map(reasonsOf);
    expect(kinds([ev('hongyuan', 'reminder', T0 + 3 * H, { value: 5.01 })])).toEqual([['peak']]);
    expect(kinds([ev('hongyuan', 'reminder', T0 + 3 * H, { value: 5 })])).toEqual([]);
    expect(kinds([ev('hongyuan', 'reminder', T0 + 3 * H - 1, { value: 7 })])).toEqual([]);
    // Twice the last reported peak: at once.
    expect(kinds([ev('hongyuan', 'reminder', T0 + MIN, { value: 8 })])).toEqual([['peak']]);
    expect(kinds([ev('hongyuan', 'reminder', T0 + MIN, { value: 7.99 })])).toEqual([]);
  });

  it('nothing new for a report interval: a periodic follow-up on the next evidence; resolves do not trigger it', () => {
    const every = ctx.policy.report_every_min * MIN;
    const r = run([
      ev('hongyuan', 'firing', T0, { value: 4 }),
      ev('hongyuan', 'reminder', T0 + every - 1, { value: 4 }),
      ev('hongyuan', 'reminder', T0 + every, { value: 4 }),
    ]);
    expect(r.reports.slice(1).map(reasonsOf)).toEqual([['periodic']]);
    const res = run([
      ev('hongyuan', 'firing', T0, { value: 4 }),
      ev('hongyuan', 'firing', T0, { rule: 'rate', value: 1 }),
      ev('hongyuan', 'resolved', T0 + every, { rule: 'rate', value: 0 }),
    ]);
    expect(res.reports.slice(1)).toEqual([]);
  });

  it("an intake back within limits is news at once; another section's return waits for the next report", () => {
    const r = run([
      ev('hongyuan', 'firing', T0),
      ev('shiqiao', 'firing', T0 + 12 * H),
      ev('shiqiao', 'resolved', T0 + 14 * H),
      ev('hongyuan', 'resolved', T0 + 15 * H),
    ]);
    expect(r.reports.slice(2).map(reasonsOf)).toEqual([['back:shiqiao']]);
    expect(only(r).sections.map((s) => [s.station, s.backAt])).toEqual([
      ['hongyuan', T0 + 15 * H],
      ['shiqiao', T0 + 14 * H],
      ['linjiangsi', null],
      ['ziyang-city', null],
      ['gongchengpu', null],
    ]);
    const next = apply(r, ev('linjiangsi', 'firing', T0 + 35 * H));
    expect(reasonsOf(next.reports[next.reports.length - 1] as Report)).toEqual(['reached:linjiangsi', 'back:hongyuan']);
  });

  it('a section firing again is no longer back', () => {
    const r = run([
      ev('hongyuan', 'firing', T0),
      ev('hongyuan', 'resolved', T0 + H),
      ev('hongyuan', 'firing', T0 + 2 * H, { rule: 'rate' }),
    ]);
    expect(only(r).sections[0]).toMatchObject({ backAt: null, firing: ['rate.NH3N'] });
  });
});

describe('waiting for the first concentration', () => {
  it('opened by a rate rule: the 初报 is due after the wait; a tick before it says nothing, at it the 初报', () => {
    const wait = ctx.policy.initial_wait_min * MIN;
    const r = run([ev('hongyuan', 'firing', T0, { rule: 'rate', value: 1 })]);
    const inc = only(r);
    expect(r.reports).toEqual([]);
    expect(inc.initialDueAt).toBe(T0 + wait);
    expect(nextDue(r.state, ctx)).toBe(T0 + wait);
    expect(tick(r.state, T0 + wait - 1, ctx).reports).toEqual([]);
    const t = tick(r.state, T0 + wait, ctx);
    expect(t.reports.map((x) => [x.kind, x.at])).toEqual([['initial', T0 + wait]]);
    expect(t.state.incidents[0]?.initialDueAt).toBeNull();
    expect(t.state.rev).toBe(r.state.rev + 1);
  });

  it("with no wait configured, a rate rule's incident reports at once", () => {
    const c = { ...ctx, policy: { ...ctx.policy, initial_wait_min: 0 } };
    expect(run([ev('hongyuan', 'firing', T0, { rule: 'rate', value: 1 })], c).reports.map((x) => x.kind)).toEqual(['initial']);
  });

  it('nothing is said before the 初报, not even a reached section', () => {
    const r = run([
      ev('hongyuan', 'firing', T0, { rule: 'rate', value: 1 }),
      ev('hongyuan', 'firing', T0 + 1, { rule: 'rate', parameter: 'NH3N', value: 2 }),
    ]);
    expect(r.reports).toEqual([]);
  });
});

describe('closing', () => {
  const hold = ctx.policy.hold_min * MIN;

  it('is due the hold time after the last section came back, and the window ahead has passed; not while one fires', () => {
    const air = run([
      ev('ziyang-yanjiang', 'firing', T0, {
        rule: 'aqi',
        parameter: 'AQI',
        value: 160,
        limit: 101,
        detail: { primary: ['PM2_5'] },
        family: 'particles',
      }),
    ]);
    expect(closeDueAt(only(air), ctx)).toBeNull();
    const back = apply(
      air,
      ev('ziyang-yanjiang', 'resolved', T0 + 5 * H, {
        rule: 'aqi',
        parameter: 'AQI',
        value: 80,
        limit: 101,
        detail: { primary: [] },
        family: 'particles',
      }),
    );
    expect(closeDueAt(only(back), ctx)).toBe(T0 + 5 * H + hold);
    expect(tick(back.state, T0 + 5 * H + hold - 1, ctx).reports).toEqual([]);
    const closed = tick(back.state, T0 + 5 * H + hold, ctx);
    // The 终报 also names the section back within limits since the last report.
    expect(closed.reports.map((x) => [x.kind, x.at, reasonsOf(x)])).toEqual([
      ['final', T0 + 5 * H + hold, ['back:ziyang-yanjiang', 'closed']],
    ]);
    expect(closed.state.incidents[0]).toMatchObject({ status: 'closed', closedAt: T0 + 5 * H + hold });
    expect(closeDueAt(closed.state.incidents[0] as Incident, ctx)).toBeNull();
    expect(heartbeatDueAt(closed.state.incidents[0] as Incident, ctx)).toBeNull();
    expect(closed.reports[0]?.windows).toEqual({});
  });

  it('on a river, waits for the window of the next section ahead and says where the plume dissipated', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('hongyuan', 'resolved', T0 + H)]);
    const due = closeDueAt(only(r), ctx) as number;
    expect(due).toBeGreaterThan(T0 + H + hold);
    const closed = tick(r.state, due, ctx);
    expect(closed.reports.map((x) => reasonsOf(x))).toEqual([['back:hongyuan', 'dissipated:shiqiao', 'closed']]);
  });

  it('a tick that finds nothing leaves the state as it was (same object)', () => {
    const r = run([ev('hongyuan', 'firing', T0)]);
    const t = tick(r.state, T0 + MIN, ctx);
    expect(t.state).toBe(r.state);
    expect(t.reports).toEqual([]);
  });

  it('a closed incident is kept seven days for late evidence, then pruned', () => {
    const air = run([
      ev('ziyang-yanjiang', 'firing', T0, {
        rule: 'aqi',
        parameter: 'AQI',
        value: 160,
        limit: 101,
        detail: { primary: ['PM2_5'] },
        family: 'particles',
      }),
      ev('ziyang-yanjiang', 'resolved', T0 + H, { rule: 'aqi', parameter: 'AQI', value: 80, limit: 101, detail: {}, family: 'particles' }),
    ]);
    const closedAt = T0 + H + hold;
    const closed = tick(air.state, closedAt, ctx).state;
    const week = 7 * 24 * H;
    // Pruned when the scope next changes (a tick that finds nothing writes nothing).
    expect(tick(closed, closedAt + week, ctx).state).toBe(closed);
    const again = (at: number) =>
      applyEvidence(
        closed,
        's.ziyang-yanjiang.particles',
        st('ziyang-yanjiang'),
        ev('ziyang-yanjiang', 'firing', at, { rule: 'aqi', parameter: 'AQI', value: 160, limit: 101, detail: {}, family: 'particles' }),
        ctx,
      ).state.incidents.map((i) => i.status);
    expect(again(closedAt + week - 1)).toEqual(['closed', 'open']);
    expect(again(closedAt + week)).toEqual(['open']);
    // A late resolve of the closed incident still finds it.
    const late = applyEvidence(
      closed,
      's.ziyang-yanjiang.particles',
      st('ziyang-yanjiang'),
      ev('ziyang-yanjiang', 'resolved', closedAt + H, {
        rule: 'aqi',
        parameter: 'AQI',
        value: 50,
        limit: 101,
        detail: {},
        family: 'particles',
      }),
      ctx,
    );
    expect(late.reports).toEqual([]);
  });

  it('the scheduled follow-up: due a report interval after the last report, only once, and not for a backlog', () => {
    const every = ctx.policy.report_every_min * MIN;
    const r = run([ev('hongyuan', 'firing', T0, { value: 3 })]);
    expect(heartbeatDueAt(only(r), ctx)).toBe(T0 + every);
    expect(nextDue(r.state, ctx)).toBe(T0 + every);
    expect(tick(r.state, T0 + every - 1, ctx).reports).toEqual([]);
    const beat = tick(r.state, T0 + every, ctx);
    expect(beat.reports.map((x) => [x.kind, x.at, reasonsOf(x)])).toEqual([['followup', T0 + every, ['periodic']]]);
    expect(tick(r.state, T0 + 2 * every, ctx).reports).toEqual([]);
    expect(tick(r.state, T0 + 2 * every - 1, ctx).reports).toHaveLength(1);
  });

  it("nextDue is the earliest of every incident's dues, null with nothing to wait for", () => {
    expect(nextDue(emptyScope(), ctx)).toBeNull();
    const a = run([ev('hongyuan', 'firing', T0)]);
    const b = apply(
      a,
      ev('ziyang-yanjiang', 'firing', T0 + H, {
        rule: 'aqi',
        parameter: 'AQI',
        value: 160,
        limit: 101,
        detail: { primary: ['PM2_5'] },
        family: 'particles',
      }),
    );
    expect(nextDue(b.state, ctx)).toBe(T0 + ctx.policy.report_every_min * MIN);
  });
});

describe('receptors', () => {
  it("lists the river's receptors from the origin down, reached or with their window", () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', T0 + 12 * H)]);
    const rs = receptorStatus(only(r), ctx);
    expect(rs.map((x) => [x.id, x.reached, x.reachedAt, x.affected, x.window === null])).toEqual([
      ['shiqiao-intake', true, T0 + 12 * H, true, true],
      ['ziyang-city-intake', false, null, false, false],
    ]);
    expect(rs[0]).toMatchObject({ kind: 'drinking_water_intake', riverKm: 68, city: 'chengdu', station: 'shiqiao' });
    const below = run([ev('linjiangsi', 'firing', T0)]);
    expect(receptorStatus(only(below), ctx).map((x) => x.id)).toEqual(['ziyang-city-intake']);
  });

  it('an air incident has none; a river without configured receptors uses its intake sections', () => {
    const air = run([
      ev('ziyang-yanjiang', 'firing', T0, { rule: 'aqi', parameter: 'AQI', value: 160, limit: 101, detail: {}, family: 'particles' }),
    ]);
    expect(receptorStatus(only(air), ctx)).toEqual([]);
    const bare = {
      ...ctx,
      rivers: {
        ...ctx.rivers,
        rivers: Object.fromEntries(Object.entries(ctx.rivers.rivers).map(([k, v]) => [k, { ...v, receptors: [] }])),
      },
    };
    const r = run([ev('hongyuan', 'firing', T0)], bare);
    const rs = receptorStatus(only(r), bare);
    expect(rs.map((x) => [x.id, x.kind, x.station, x.contact.name])).toEqual([
      ['shiqiao', 'drinking_water_intake', 'shiqiao', '成都市'],
      ['ziyang-city', 'drinking_water_intake', 'ziyang-city', '资阳市'],
    ]);
  });
});

describe('report severity', () => {
  const policy: SeverityPolicy = { ratio: 2, parameters: ['Hg'], water_classes: ['劣V'], aqi_level: 5, drinking_water_intake: true };

  it('a river incident with an intake in its path is severe (when the policy says so)', () => {
    const inc = only(run([ev('hongyuan', 'firing', T0, { value: 1.1 })]));
    expect(intakeInPath(inc)).toBe(true);
    expect(reportSeverity(inc, registry, policy)).toBe('severe');
    expect(reportSeverity(inc, registry, { ...policy, drinking_water_intake: false })).toBe('warning');
    const below = only(run([ev('gongchengpu', 'firing', T0, { value: 1.1 })]));
    expect(intakeInPath(below)).toBe(false);
    expect(intakeInPath(below, [{ kind: 'irrigation_intake' }])).toBe(false);
    expect(intakeInPath(below, [{ kind: 'drinking_water_intake' }])).toBe(true);
    expect(reportSeverity(below, registry, policy, [{ kind: 'drinking_water_intake' }])).toBe('severe');
  });

  it('otherwise by the worst parameter: toxic, ratio (lower bounds inverted), AQI above 200', () => {
    const at = (o: Partial<Evidence>) => only(run([ev('gongchengpu', 'firing', T0, o)]));
    expect(reportSeverity(at({ value: 1.99 }), registry, policy)).toBe('warning');
    expect(reportSeverity(at({ value: 2 }), registry, policy)).toBe('severe');
    expect(reportSeverity(at({ parameter: 'Hg', value: 0.0002, limit: 0.0001, family: 'metals' }), registry, policy)).toBe('severe');
    expect(
      reportSeverity(
        at({ parameter: 'DO', value: 2.5, limit: 5, detail: { limitKind: 'min' }, family: 'oxygen_demand' }),
        registry,
        policy,
      ),
    ).toBe('severe');
    expect(
      reportSeverity(
        at({ parameter: 'DO', value: 2.6, limit: 5, detail: { limitKind: 'min' }, family: 'oxygen_demand' }),
        registry,
        policy,
      ),
    ).toBe('warning');
    expect(
      reportSeverity(at({ parameter: 'DO', value: 0, limit: 5, detail: { limitKind: 'min' }, family: 'oxygen_demand' }), registry, policy),
    ).toBe('severe');
    expect(reportSeverity(at({ value: 5, limit: null }), registry, policy)).toBe('warning');
    const aqi = (v: number, p = policy) =>
      reportSeverity(
        only(
          run([
            ev('ziyang-yanjiang', 'firing', T0, { rule: 'aqi', parameter: 'AQI', value: v, limit: 101, detail: {}, family: 'particles' }),
          ]),
        ),
        registry,
        p,
      );
    expect(aqi(200)).toBe('warning');
    expect(aqi(201)).toBe('severe');
    expect(aqi(201, { ...policy, aqi_level: 6, ratio: 10 })).toBe('warning');
    expect(aqi(250, { ...policy, ratio: 3 })).toBe('severe');
  });
});

describe('the current report', () => {
  it('is initial up to the first report, then follow-up, final once closed; windows only while open', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', T0 + 12 * H)]);
    const inc = only(r);
    expect(latestReportKind({ ...inc, seq: 0 })).toBe('initial');
    expect(latestReportKind({ ...inc, seq: 1 })).toBe('initial');
    expect(latestReportKind(inc)).toBe('followup');
    expect(latestReportKind({ ...inc, status: 'closed' })).toBe('final');
    const cur = currentReport(inc, ctx);
    expect(cur).toMatchObject({ id: `${inc.id}.r2`, incidentId: inc.id, seq: 2, kind: 'followup', at: T0 + 12 * H, reasons: [] });
    expect(cur.incident).toBe(inc);
    expect(Object.keys(cur.windows)).toEqual(['linjiangsi', 'ziyang-city', 'gongchengpu']);
    expect(cur.receptors.map((x) => x.id)).toEqual(['shiqiao-intake', 'ziyang-city-intake']);
    expect(currentReport({ ...inc, status: 'closed' }, ctx).windows).toEqual({});
    expect(currentReport({ ...inc, reportTimes: [] }, ctx).at).toBe(inc.openedAt);
  });
});
