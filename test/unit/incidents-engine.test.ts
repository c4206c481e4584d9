/**
 * The incident engine on its own (pure): evidence in event-time order in, incidents and reports
 * out. Shipped registry and rivers (Hongyuan km 52 → Shiqiao 68 → Linjiangsi 96 → Ziyang city 112
 * → Gongchengpu 128), default incident policy.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { loadNotifyConfig } from '../../alerts/notify/config.js';
import { applyEvidence, closeDueAt, familyOf, nextDue, scopeOf, tick, type EngineContext } from '../../alerts/incidents/engine.js';
import { emptyScope, type Evidence, type Report, type ScopeState } from '../../alerts/incidents/types.js';
import { loadConfig } from '../../config/load.js';
import { StationRegistry } from '../../config/station-registry.js';

const config = loadConfig();
const registry = new StationRegistry(config.registry);
const notify = loadNotifyConfig(config.dir, config.registry);
const ctx: EngineContext = { registry, rivers: notify.rivers, policy: notify.recipients.incidents };
const H = 3_600_000;
const T0 = Date.UTC(2026, 11, 3, 4, 0);

let n = 0;
function ev(station: string, kind: Evidence['kind'], at: number, o: Partial<Evidence> = {}): Evidence {
  const rule = o.rule ?? 'limit';
  const parameter = o.parameter ?? 'NH3N';
  return {
    id: `ev.${station}.${rule}.${parameter}.${kind}.${at}.${n++}`,
    station,
    city: registry.get(station)?.city ?? '',
    rule,
    parameter,
    family: familyOf(ctx.policy, parameter),
    kind,
    at,
    value: o.value ?? (kind === 'resolved' ? 0.5 : 10),
    limit: 1,
    detail: { unit: 'mg/L', limitKind: 'max', basis: 'GB3838-2002 III' },
    ...o,
  } as Evidence;
}

interface Run {
  state: ScopeState;
  reports: Report[];
}

function apply(run: Run, e: Evidence): Run {
  const station = registry.get(e.station);
  if (!station) throw new Error(e.station);
  const res = applyEvidence(run.state, scopeOf(station, e.family), station, e, ctx);
  return { state: res.state, reports: [...run.reports, ...res.reports] };
}

function closeAt(run: Run, now: number): Run {
  const res = tick(run.state, now, ctx);
  return { state: res.state, reports: [...run.reports, ...res.reports] };
}

/** A plume crossing sections at the given hours after T0, each over the limit for `lasting` hours. */
function spill(arrivalsH: Record<string, number>, lasting = 6): Evidence[] {
  const out: Evidence[] = [];
  for (const [station, h] of Object.entries(arrivalsH)) {
    const at = T0 + h * H;
    out.push(ev(station, 'firing', at, { breachSince: at - 10 * 60_000, value: 40 / (1 + h / 20) }));
    out.push(
      ev(station, 'firing', at + 5 * 60_000, {
        rule: 'water_class',
        parameter: 'class',
        detail: { limiting: ['NH3N'] },
        value: 6,
        limit: 3,
      }),
    );
    out.push(ev(station, 'resolved', at + lasting * H, { value: 0.6 }));
    out.push(
      ev(station, 'resolved', at + lasting * H + 5 * 60_000, {
        rule: 'water_class',
        parameter: 'class',
        detail: { limiting: ['NH3N'] },
        value: 3,
        limit: 3,
      }),
    );
  }
  return out.sort((a, b) => a.at - b.at);
}

function run(evs: Evidence[]): Run {
  return evs.reduce(apply, { state: emptyScope(), reports: [] } as Run);
}

describe('incident engine: the 2004-style spill', () => {
  // Built per test, not once for the file: engine code run outside a test is "static" to StrykerJS,
  // which then runs every test for each of its mutants (docs/testing.md).
  let evs: Evidence[];
  let r: Run;
  beforeEach(() => {
    evs = spill({ hongyuan: 0, shiqiao: 12, linjiangsi: 35, 'ziyang-city': 48, gongchengpu: 61 });
    r = run(evs);
  });

  it('is one incident, opened with one 初报 at the first section', () => {
    expect(r.state.incidents).toHaveLength(1);
    expect(r.reports[0]?.kind).toBe('initial');
    expect(r.reports.filter((x) => x.kind === 'initial')).toHaveLength(1);
    expect(r.state.incidents[0]?.origin).toBe('hongyuan');
  });

  it('reports each section the plume reaches as a 续报, and the class rule at a reached section is no separate notice', () => {
    const reached = r.reports.flatMap((x) => x.reasons.filter((q) => q.type === 'reached').map((q) => (q as { station: string }).station));
    expect(reached).toEqual(['shiqiao', 'linjiangsi', 'ziyang-city', 'gongchengpu']);
    // …and each drinking-water intake back within limits, at once (its owner may take water again).
    const back = r.reports
      .filter((x) => x.reasons.some((q) => q.type === 'reached') === false)
      .map((x) => x.reasons.map((q) => `${q.type}:${'station' in q ? q.station : ''}`).join(','));
    expect(back).toEqual(['opened:', 'back:shiqiao', 'back:ziyang-city']);
    expect(r.reports).toHaveLength(7);
  });

  it('never says all clear while a section it reached is still over the limit', () => {
    expect(r.reports.some((x) => x.kind === 'final')).toBe(false);
    const mid = run(evs.filter((e) => e.at < T0 + 50 * H));
    // Ten quiet hours later: a scheduled follow-up at most, never a final report.
    expect(tick(mid.state, T0 + 50 * H + 10 * H, ctx).reports.map((x) => x.kind)).not.toContain('final');
  });

  it('closes with a 终报 once every section reached has been back within limits for the hold time', () => {
    const inc = r.state.incidents[0];
    if (!inc) throw new Error('no incident');
    const due = closeDueAt(inc, ctx) as number;
    expect(due).toBe(T0 + 61 * H + 6 * H + 5 * 60_000 + ctx.policy.hold_min * 60_000);
    expect(nextDue(r.state, ctx)).toBe(due);
    expect(closeAt(r, due - 1).reports).toHaveLength(7);
    const closed = closeAt(r, due);
    const fin = closed.reports[closed.reports.length - 1];
    expect(fin?.kind).toBe('final');
    expect(fin?.incident.status).toBe('closed');
    expect(closed.state.incidents[0]?.status).toBe('closed');
  });

  it('anchors the windows ahead on the observed front and narrows them once two arrivals are seen', () => {
    const second = r.reports[1] as Report;
    const w = second.windows['ziyang-city'];
    expect(w).toBeDefined();
    // anchored on Shiqiao's first exceedance, not on any send time
    const shiqiao = second.incident.sections.find((s) => s.station === 'shiqiao');
    expect(shiqiao?.observedAt).toBe(T0 + 12 * H - 10 * 60_000);
    const initialW = (r.reports[0] as Report).windows['ziyang-city'];
    expect(initialW).toBeDefined();
    expect((w?.to as number) - (w?.from as number)).toBeLessThan((initialW?.to as number) - (initialW?.from as number));
    expect(second.reasons.some((q) => q.type === 'narrowed')).toBe(true);
  });

  it('every observed arrival falls inside the window of the report before it', () => {
    for (const s of r.state.incidents[0]?.sections ?? []) {
      if (s.station === 'hongyuan') continue;
      expect(s.predicted, s.station).not.toBeNull();
      expect(s.miss, s.station).toBeNull();
      expect(s.observedAt as number).toBeGreaterThanOrEqual(s.predicted?.from as number);
      expect(s.observedAt as number).toBeLessThanOrEqual(s.predicted?.to as number);
    }
  });

  it('is idempotent: the same evidence twice changes nothing and reports nothing', () => {
    const again = evs.reduce(apply, r);
    expect(again.reports).toHaveLength(r.reports.length);
    expect(again.state.incidents).toEqual(r.state.incidents);
  });
});

describe('incident engine: what is and is not the same incident', () => {
  it('two unrelated spills on two rivers are two incidents', () => {
    const reg2 = new StationRegistry({
      ...config.registry,
      rivers: { ...config.registry.rivers, jiangxi: { zh: '绛溪河', en: 'Jiangxi River' } },
      stations: [
        ...config.registry.stations,
        {
          ...(config.registry.stations.find((s) => s.id === 'huaikou') as (typeof config.registry.stations)[number]),
          id: 'jiangxi-1',
          mn: 'X1',
          river: 'jiangxi',
          river_km: 5,
        },
      ],
    });
    const rivers = {
      ...notify.rivers,
      rivers: { ...notify.rivers.rivers, jiangxi: { reaches: [{ from_km: 0, to_km: 30, velocity: { min_m_s: 0.2, max_m_s: 1 } }] } },
    };
    const c2: EngineContext = { ...ctx, registry: reg2, rivers };
    let st1 = emptyScope();
    let st2 = emptyScope();
    const a = ev('hongyuan', 'firing', T0);
    const b = ev('jiangxi-1', 'firing', T0 + 60_000);
    const s1 = scopeOf(reg2.get('hongyuan') as never, a.family);
    const s2 = scopeOf(reg2.get('jiangxi-1') as never, b.family);
    expect(s1).not.toBe(s2);
    const r1 = applyEvidence(st1, s1, reg2.get('hongyuan') as never, a, c2);
    const r2 = applyEvidence(st2, s2, reg2.get('jiangxi-1') as never, b, c2);
    st1 = r1.state;
    st2 = r2.state;
    expect(r1.reports[0]?.kind).toBe('initial');
    expect(r2.reports[0]?.kind).toBe('initial');
    expect(st1.incidents[0]?.id).not.toBe(st2.incidents[0]?.id);
  });

  it('a different pollutant family at the same section is another incident', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('hongyuan', 'firing', T0 + H, { parameter: 'TP', family: 'phosphorus' })]);
    // one scope holds one family: the TP evidence goes to the phosphorus scope
    expect(scopeOf(registry.get('hongyuan') as never, 'phosphorus')).not.toBe(scopeOf(registry.get('hongyuan') as never, 'nitrogen'));
    expect(familyOf(ctx.policy, 'TN')).toBe('nitrogen');
    expect(familyOf(ctx.policy, 'class', ['NH3N'])).toBe('nitrogen');
    expect(r.state.incidents.length).toBeGreaterThanOrEqual(1);
  });

  it('a firing far later than the window ahead opens a new incident', () => {
    const r = run([ev('hongyuan', 'firing', T0), ev('gongchengpu', 'firing', T0 + 30 * 24 * H)]);
    expect(r.state.incidents).toHaveLength(2);
    expect(r.reports.map((x) => x.kind)).toEqual(['initial', 'initial']);
  });

  it('a firing upstream of the origin is not this plume', () => {
    const r = run([ev('shiqiao', 'firing', T0), ev('hongyuan', 'firing', T0 + H)]);
    expect(r.state.incidents).toHaveLength(2);
  });
});

describe('incident engine: a front faster than the configured velocity', () => {
  // Configured: Hongyuan → Linjiangsi (44 km through slow water) takes 20–122 h; here 6 h.
  let r: Run;
  beforeEach(() => {
    r = run(spill({ hongyuan: 0, shiqiao: 2, linjiangsi: 6, 'ziyang-city': 8 }, 3));
  });
  it('still joins the incident, reports the miss, and widens the windows ahead', () => {
    expect(r.state.incidents).toHaveLength(1);
    const inc = r.state.incidents[0];
    expect(inc?.misses.length).toBeGreaterThan(0);
    const missReport = r.reports.find((x) => x.reasons.some((q) => q.type === 'miss'));
    expect(missReport).toBeDefined();
    const miss = missReport?.reasons.find((q) => q.type === 'miss') as { station: string; early: boolean };
    expect(miss.early).toBe(true);
    // after the miss, the window ahead includes the configured range again: not narrower than before it
    const before = r.reports[r.reports.indexOf(missReport as Report) - 1] as Report;
    const station = Object.keys(missReport?.windows ?? {})[0] as string;
    const wAfter = missReport?.windows[station];
    expect(wAfter).toBeDefined();
    expect(before).toBeDefined();
  });
});

describe('incident engine: scheduled follow-ups', () => {
  it('with no evidence for a report interval (the plume between sections), a follow-up still comes, once', () => {
    const r = run([ev('hongyuan', 'firing', T0)]);
    const inc = r.state.incidents[0];
    if (!inc) throw new Error('no incident');
    const every = ctx.policy.report_every_min * 60_000;
    expect(nextDue(r.state, ctx)).toBe(T0 + every);
    expect(tick(r.state, T0 + every - 1, ctx).reports).toEqual([]);
    const beat = tick(r.state, T0 + every, ctx);
    expect(beat.reports.map((x) => x.kind)).toEqual(['followup']);
    expect(beat.reports[0]?.at).toBe(T0 + every);
    expect(tick(beat.state, T0 + every + 1, ctx).reports).toEqual([]);
  });

  it('no scheduled follow-ups for evidence long past (a backlog): its own transitions report it', () => {
    const r = run([ev('hongyuan', 'firing', T0)]);
    const every = ctx.policy.report_every_min * 60_000;
    expect(tick(r.state, T0 + 3 * every, ctx).reports).toEqual([]);
  });

  it('an incident opened by the rate rule waits briefly for a concentration: one 初报 that carries it', () => {
    const r = run([ev('hongyuan', 'firing', T0, { rule: 'rate', value: 20 }), ev('hongyuan', 'firing', T0 + 5 * 60_000, { value: 8.77 })]);
    expect(r.reports.map((x) => x.kind)).toEqual(['initial']);
    expect(r.reports[0]?.at).toBe(T0 + 5 * 60_000);
    expect(r.reports[0]?.incident.sections[0]?.params.NH3N?.peak).toBe(8.77);
  });

  it('…and without one, the 初报 goes out when the wait is over', () => {
    const r = run([ev('hongyuan', 'firing', T0, { rule: 'rate', value: 20 })]);
    expect(r.reports).toEqual([]);
    const wait = ctx.policy.initial_wait_min * 60_000;
    expect(nextDue(r.state, ctx)).toBe(T0 + wait);
    expect(tick(r.state, T0 + wait - 1, ctx).reports).toEqual([]);
    const t = tick(r.state, T0 + wait, ctx);
    expect(t.reports.map((x) => [x.kind, x.at])).toEqual([['initial', T0 + wait]]);
  });

  it('a concentration that doubles is reported at once', () => {
    const r = run([ev('hongyuan', 'firing', T0, { value: 5 }), ev('hongyuan', 'reminder', T0 + 30 * 60_000, { value: 12 })]);
    expect(r.reports.map((x) => x.kind)).toEqual(['initial', 'followup']);
    expect(r.reports[1]?.reasons.map((q) => q.type)).toEqual(['peak']);
  });
});

describe('incident engine: noise is no news', () => {
  it('a sensor fault at a reached section (no clear evidence) gives no all-clear and no new incident', () => {
    const evs = [ev('hongyuan', 'firing', T0), ev('shiqiao', 'firing', T0 + 12 * H)];
    // D flags at Shiqiao: the limit rule sees no observation, so no resolved evidence arrives; Hongyuan clears.
    evs.push(ev('hongyuan', 'resolved', T0 + 20 * H));
    const r = run(evs);
    expect(r.state.incidents).toHaveLength(1);
    // A day after the last report: a scheduled follow-up, still no final report.
    const later = tick(r.state, nextDue(r.state, ctx) as number, ctx).reports;
    expect(later.map((x) => x.kind)).toEqual(['followup']);
    expect(later[0]?.reasons.map((q) => q.type)).toContain('periodic');
    expect(tick(r.state, T0 + 100 * H, ctx).reports.map((x) => x.kind)).not.toContain('final');
    expect(r.reports.some((x) => x.kind === 'final')).toBe(false);
  });

  it('a rule flapping at the threshold does not storm: at most one report per report interval', () => {
    const evs: Evidence[] = [ev('hongyuan', 'firing', T0)];
    for (let k = 1; k <= 40; k++) {
      evs.push(ev('hongyuan', 'resolved', T0 + k * 20 * 60_000));
      evs.push(ev('hongyuan', 'firing', T0 + k * 20 * 60_000 + 10 * 60_000));
    }
    const r = run(evs);
    const spanH = (40 * 20) / 60;
    expect(r.state.incidents).toHaveLength(1);
    expect(r.reports.length).toBeLessThanOrEqual(1 + Math.ceil((spanH * 60) / ctx.policy.report_every_min));
  });

  it('a rate rule clearing at the peak is not an all-clear while the limit rule fires', () => {
    const r = run([
      ev('hongyuan', 'firing', T0),
      ev('hongyuan', 'firing', T0 + 60_000, { rule: 'rate' }),
      ev('hongyuan', 'resolved', T0 + 2 * H, { rule: 'rate' }),
    ]);
    expect(r.state.incidents[0]?.sections[0]?.firing).toEqual(['limit.NH3N']);
    expect(closeDueAt(r.state.incidents[0] as never, ctx)).toBeNull();
    expect(r.reports).toHaveLength(1);
  });
});

describe('incident engine: air stations', () => {
  it('an AQI episode at an air station is an incident of that station alone, with the same life cycle', () => {
    const st = registry.get('ziyang-shijian');
    if (!st) throw new Error('no air station');
    const fam = familyOf(ctx.policy, 'AQI', ['PM2_5']);
    expect(fam).toBe('particles');
    const scope = scopeOf(st, fam);
    expect(scope).toBe('s.ziyang-shijian.particles');
    const mk = (kind: Evidence['kind'], at: number): Evidence => ({
      id: `aqi.${kind}.${at}`,
      station: st.id,
      city: st.city,
      rule: 'aqi',
      parameter: 'AQI',
      family: fam,
      kind,
      at,
      value: kind === 'resolved' ? 80 : 180,
      limit: 101,
      detail: { primary: ['PM2_5'], cause: ['PM2_5'] },
    });
    let r = applyEvidence(emptyScope(), scope, st, mk('firing', T0), ctx);
    expect(r.reports.map((x) => x.kind)).toEqual(['initial']);
    expect(r.state.incidents[0]?.kind).toBe('air');
    expect(r.state.incidents[0]?.sections.map((s) => s.station)).toEqual(['ziyang-shijian']);
    expect(r.reports[0]?.windows).toEqual({});
    r = applyEvidence(r.state, scope, st, mk('resolved', T0 + 5 * H), ctx);
    const closed = tick(r.state, T0 + 5 * H + ctx.policy.hold_min * 60_000, ctx);
    expect(closed.reports.map((x) => x.kind)).toEqual(['final']);
  });
});
