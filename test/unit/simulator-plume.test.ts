/**
 * The spill scenario's plume: arrival at each section = distance / velocity (per reach), plateau
 * decreasing downstream (2004 calibration: 51.3 mg/L at Hongyuan, 46.7 at Shiqiao), time
 * compression, and how the plume combines with the baseline, maintenance and dropouts.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import type { RegistryConfig } from '../../config/schema.js';
import { StationRegistry } from '../../config/station-registry.js';
import { HOUR_MS } from '../../simulator/clock.js';
import { waterBaseline } from '../../simulator/generators.js';
import { BLOCK_MS, DEFAULT_INCIDENTS, incidentAt } from '../../simulator/incidents.js';
import { SPILL_DEFAULTS, planSpill, plumeAt, plumeShape, spillSpanMs, travelHours, type Reach } from '../../simulator/plume.js';
import { nextSlotAfter, slotAt, slotsBetween } from '../../simulator/readings.js';
import { loadRivers, reachesFromRivers, withRiverVelocities } from '../../simulator/rivers.js';
import { travelTime } from '../../alerts/notify/travel-time.js';

const config = loadConfig().registry;
const registry = new StationRegistry(config);
const START = Date.parse('2026-07-01T00:00:00Z');
const km = (id: string) => registry.get(id)!.river_km!;

describe('travel time', () => {
  it('is distance / velocity, and 0 upstream', () => {
    expect(travelHours(44, 52)).toBeCloseTo(8 / 1.5, 12);
    expect(travelHours(44, 52, [], 2)).toBeCloseTo(4, 12);
    expect(travelHours(52, 44)).toBe(0);
  });

  it('adds up reach by reach where velocities differ', () => {
    const reaches = [
      { fromKm: 0, toKm: 60, velocityKmh: 3 },
      { fromKm: 60, toKm: 100, velocityKmh: 1 },
    ];
    expect(travelHours(44, 96, reaches)).toBeCloseTo(16 / 3 + 36 / 1, 12);
    // Beyond the last reach, the default velocity applies.
    expect(travelHours(90, 110, reaches, 2)).toBeCloseTo(10 / 1 + 10 / 2, 12);
  });
});

describe('planSpill', () => {
  const plan = planSpill(registry, {}, 1, START);

  it('enters a little above Hongyuan and covers the sections from there down, upstream first', () => {
    expect(plan.refStation).toBe('hongyuan');
    expect(plan.entryKm).toBeLessThan(km('hongyuan'));
    expect(plan.entryKm).toBeGreaterThan(km('huaikou'));
    expect(plan.sections.map((s) => s.station)).toEqual(['hongyuan', 'shiqiao', 'linjiangsi', 'ziyang-city', 'gongchengpu']);
    expect(plan.startMs).toBe(START + SPILL_DEFAULTS.leadInHours * HOUR_MS);
  });

  it('reaches each section after distance / velocity', () => {
    for (const s of plan.sections) {
      const hours = (s.km - plan.entryKm) / SPILL_DEFAULTS.velocityKmh;
      expect(s.travelHours).toBeCloseTo(hours, 9);
      expect(s.arrivalMs).toBeCloseTo(plan.startMs + hours * HOUR_MS, 3);
    }
    const faster = planSpill(registry, { velocityKmh: 3 }, 1, START);
    const last = (p: typeof plan) => p.sections.at(-1)!.arrivalMs - p.startMs;
    expect(last(faster)).toBeCloseTo(last(plan) / 2, 3);
  });

  it("uses the reaches' velocities, ignoring reaches of other rivers", () => {
    const p = planSpill(
      registry,
      {
        entryKm: 44,
        reaches: [
          { river: 'tuojiang', fromKm: 60, toKm: 200, velocityKmh: 0.5 },
          { river: 'other', fromKm: 0, toKm: 60, velocityKmh: 100 },
        ],
      },
      1,
      START,
    );
    const shiqiao = p.sections.find((s) => s.station === 'shiqiao')!;
    expect(shiqiao.travelHours).toBeCloseTo(16 / 1.5 + 8 / 0.5, 9);
  });

  it('peaks at ≈ 51.3 mg/L at Hongyuan and 46.7 at Shiqiao (2004), decreasing downstream', () => {
    const peak = (id: string) => plan.sections.find((s) => s.station === id)!.peakMgL;
    expect(peak('hongyuan')).toBeCloseTo(51.3, 9);
    expect(peak('shiqiao')).toBeCloseTo(46.7, 9);
    const peaks = plan.sections.map((s) => s.peakMgL);
    for (let i = 1; i < peaks.length; i++) expect(peaks[i]!).toBeLessThan(peaks[i - 1]!);
    expect(peaks.at(-1)!).toBeGreaterThan(20); // still twenty times the class III limit below Ziyang
  });

  it('compresses every duration by the factor, in simulated time', () => {
    const c = planSpill(registry, {}, 60, START);
    expect(c.startMs - START).toBeCloseTo((plan.startMs - START) / 60, 6);
    plan.sections.forEach((s, i) => {
      const cs = c.sections[i]!;
      expect(cs.arrivalMs - c.startMs).toBeCloseTo((s.arrivalMs - plan.startMs) / 60, 6);
      expect(cs.goneMs - cs.arrivalMs).toBeCloseTo((s.goneMs - s.arrivalMs) / 60, 6);
      expect(cs.travelHours).toBeCloseTo(s.travelHours, 12); // the physical travel time is unchanged
      expect(cs.peakMgL).toBe(s.peakMgL);
    });
    expect(spillSpanMs(registry, {}, 60)).toBeCloseTo(spillSpanMs(registry, {}, 1) / 60, 6);
    // The whole passage at compress 1: entry to below Ziyang at 1.5 km/h, plus discharge, lead-in and tail.
    const hours =
      (km('gongchengpu') - plan.entryKm) / 1.5 +
      SPILL_DEFAULTS.riseHours +
      SPILL_DEFAULTS.spillHours +
      SPILL_DEFAULTS.fallHours +
      SPILL_DEFAULTS.leadInHours +
      SPILL_DEFAULTS.tailHours;
    expect(spillSpanMs(registry, {}, 1)).toBeCloseTo(hours * HOUR_MS, 3);
    expect(plan.endMs).toBeCloseTo(START + hours * HOUR_MS, 3);
  });

  it('refuses nonsense and unknown reference stations; another registry uses its second section', () => {
    expect(() => planSpill(registry, {}, 0, START)).toThrow(/compress/);
    expect(() => planSpill(registry, { velocityKmh: -1 }, 1, START)).toThrow(/velocity/);
    expect(() => planSpill(registry, { refStation: 'jianyang-shijian' }, 1, START)).toThrow(/reference station/);
    const other: RegistryConfig = { ...config, stations: config.stations.filter((s) => s.id !== 'hongyuan') };
    const p = planSpill(new StationRegistry(other), {}, 1, START);
    expect(p.refStation).toBe('huaikou');
  });
});

describe('plume at a section', () => {
  const plan = planSpill(registry, {}, 1, START);
  const hong = registry.get('hongyuan')!;
  const sec = plan.sections[0]!;

  it('is zero before the front and after the tail, rises smoothly to the plateau and falls back', () => {
    expect(plumeAt(plan, hong, sec.arrivalMs - 1)).toBe(0);
    expect(plumeAt(plan, hong, sec.arrivalMs)).toBe(0);
    expect(plumeAt(plan, hong, sec.plateauFromMs)).toBeCloseTo(sec.peakMgL, 9);
    expect(plumeAt(plan, hong, (sec.plateauFromMs + sec.plateauToMs) / 2)).toBe(sec.peakMgL);
    expect(plumeAt(plan, hong, sec.goneMs)).toBeCloseTo(0, 9);
    expect(plumeAt(plan, hong, sec.goneMs + 1)).toBe(0);
    let prev = 0;
    for (let t = sec.arrivalMs; t <= sec.plateauFromMs; t += 60_000) {
      const c = plumeAt(plan, hong, t);
      expect(c).toBeGreaterThanOrEqual(prev);
      prev = c;
    }
    expect(plumeShape(plan.riseMs / 2, plan.riseMs, plan.plateauMs, plan.fallMs)).toBeCloseTo(0.5, 12);
  });

  it('never touches sections above the entry, nor air stations', () => {
    for (const id of ['zhaozhen', 'huaikou', 'jianyang-shijian']) {
      for (let t = START; t < plan.endMs; t += 10 * 60_000) expect(plumeAt(plan, registry.get(id)!, t)).toBe(0);
    }
  });

  it("adds to the river's own NH3-N (and TN, which includes it) in the reading", () => {
    const ctx = { seed: 1, incidents: { ...DEFAULT_INCIDENTS, maintenancePerDay: 0, dropoutPerDay: 0 }, plan };
    const ts = Math.ceil(sec.plateauFromMs / 300_000) * 300_000;
    const o = slotAt(ctx, hong, ts);
    expect(o.kind).toBe('reading');
    if (o.kind !== 'reading') return;
    const base = waterBaseline(hong, ts, 1);
    expect(o.reading.plumeMgL).toBeCloseTo(sec.peakMgL, 9);
    expect(o.reading.values.NH3N).toBeCloseTo(base.NH3N + sec.peakMgL, 3);
    expect(o.reading.values.TN!).toBeGreaterThanOrEqual(o.reading.values.NH3N!);
    expect(o.reading.values.pH).toBe(base.pH);
  });

  it('keeps maintenance and dropouts away from a section while the plume passes it', () => {
    // Rates so high that every 6-hour block holds both kinds of window at every station.
    const incidents = {
      ...DEFAULT_INCIDENTS,
      maintenancePerDay: 100,
      dropoutPerDay: 100,
      maintenanceMinutes: [350, 350] as const,
      dropoutMinutes: [340, 340] as const,
    };
    const ctx = { seed: 3, incidents, plan };
    let inPlume = 0;
    let affectedOutside = 0;
    for (const s of plan.sections) {
      const station = registry.get(s.station)!;
      for (let t = s.arrivalMs - 6 * HOUR_MS; t < s.goneMs + 6 * HOUR_MS; t += 5 * 60_000) {
        const o = slotAt(ctx, station, t);
        if (plumeAt(plan, station, t) > 0) {
          inPlume++;
          expect(o.kind).toBe('reading');
          if (o.kind === 'reading') expect(Object.values(o.reading.flags).every((f) => f === 'N')).toBe(true);
        } else if (o.kind === 'silent' || o.reading.maintenance) affectedOutside++;
      }
    }
    expect(inPlume).toBeGreaterThan(100);
    expect(affectedOutside).toBeGreaterThan(100);
  });
});

describe('incidents', () => {
  const rates = { ...DEFAULT_INCIDENTS, maintenancePerDay: 2, dropoutPerDay: 1 };

  it('places windows inside their 6-hour block, with lengths in the configured range, deterministically', () => {
    let found = 0;
    for (let t = START; t < START + 30 * 24 * HOUR_MS; t += 5 * 60_000) {
      const w = incidentAt(11, 'dropout', 'hongyuan', 0, t, rates);
      if (!w) continue;
      found++;
      expect(t).toBeGreaterThanOrEqual(w.from);
      expect(t).toBeLessThan(w.to);
      expect(Math.floor(w.from / BLOCK_MS)).toBe(Math.floor((w.to - 1) / BLOCK_MS));
      expect((w.to - w.from) / 60_000).toBeGreaterThanOrEqual(rates.dropoutMinutes[0]);
      expect((w.to - w.from) / 60_000).toBeLessThanOrEqual(rates.dropoutMinutes[1]);
      expect(incidentAt(11, 'dropout', 'hongyuan', 0, t, rates)).toEqual(w);
    }
    expect(found).toBeGreaterThan(0);
  });

  it('occurs at about the configured rate, and never at rate 0', () => {
    const days = 400;
    const count = (kind: 'maintenance' | 'dropout', r: typeof rates) => {
      const starts = new Set<number>();
      for (let b = 0; b < days * 4; b++) {
        for (let t = START + b * BLOCK_MS; t < START + (b + 1) * BLOCK_MS; t += 10 * 60_000) {
          const w = incidentAt(5, kind, 'shiqiao', 4, t, r);
          if (w) starts.add(w.from);
        }
      }
      return starts.size;
    };
    expect(count('maintenance', rates) / days).toBeGreaterThan(1.6);
    expect(count('maintenance', rates) / days).toBeLessThan(2.4);
    expect(count('dropout', rates) / days).toBeGreaterThan(0.75);
    expect(count('dropout', rates) / days).toBeLessThan(1.25);
    expect(count('dropout', { ...rates, dropoutPerDay: 0 })).toBe(0);
  });

  it("a maintenance window flags its analyser's parameters M (with the check standard's value)", () => {
    const ctx = { seed: 5, incidents: { ...DEFAULT_INCIDENTS, maintenancePerDay: 4, dropoutPerDay: 0 } };
    const station = registry.get('shiqiao')!;
    let seen = 0;
    for (let t = START; t < START + 2 * 24 * HOUR_MS; t += 5 * 60_000) {
      const o = slotAt(ctx, station, t);
      if (o.kind !== 'reading' || !o.reading.maintenance) continue;
      seen++;
      const flagged = Object.entries(o.reading.flags)
        .filter(([, f]) => f === 'M')
        .map(([k]) => k);
      expect(flagged.length).toBeGreaterThan(0);
      if (flagged.includes('NH3N')) expect(o.reading.values.NH3N).toBe(2);
      expect(Object.keys(o.reading.flags).sort()).toEqual(Object.keys(o.reading.values).sort());
    }
    expect(seen).toBeGreaterThan(0);
  });
});

describe('reporting slots', () => {
  const stations = [registry.get('hongyuan')!, registry.get('jianyang-shijian')!];
  const intervals = { waterMs: 5 * 60_000, airMs: HOUR_MS };

  it("lists every station's grid instants in (after, upto], in time order", () => {
    const slots = slotsBetween(stations, intervals, START, START + HOUR_MS);
    expect(slots.filter((s) => s.station.id === 'hongyuan').map((s) => s.ts)).toEqual(
      Array.from({ length: 12 }, (_, i) => START + (i + 1) * 5 * 60_000),
    );
    expect(slots.filter((s) => s.station.id === 'jianyang-shijian').map((s) => s.ts)).toEqual([START + HOUR_MS]);
    for (let i = 1; i < slots.length; i++) expect(slots[i]!.ts).toBeGreaterThanOrEqual(slots[i - 1]!.ts);
    expect(slotsBetween(stations, intervals, START, START)).toEqual([]);
    expect(nextSlotAfter(stations, intervals, START + 1)).toBe(START + 5 * 60_000);
  });

  it('never lists an instant twice across consecutive windows', () => {
    const a = slotsBetween(stations, intervals, START - 1, START + 17 * 60_000);
    const b = slotsBetween(stations, intervals, START + 17 * 60_000, START + 2 * HOUR_MS);
    const all = [...a, ...b].map((s) => `${s.station.id}@${s.ts}`);
    expect(new Set(all).size).toBe(all.length);
    expect(slotsBetween(stations, intervals, START - 1, START + 2 * HOUR_MS).map((s) => `${s.station.id}@${s.ts}`)).toEqual(all);
  });
});

describe('velocities from config/rivers.yaml', () => {
  const rivers = loadRivers(loadConfig().dir, config)!;

  it('takes one velocity per reach inside its range: 0 slowest, 0.5 the middle, 1 fastest', () => {
    const mid = reachesFromRivers(rivers, 0.5);
    expect(mid.length).toBe(Object.values(rivers.rivers).reduce((n, r) => n + r.reaches.length, 0));
    const first = rivers.rivers.tuojiang!.reaches[0]!;
    expect(mid[0]).toEqual({
      river: 'tuojiang',
      fromKm: first.from_km,
      toKm: first.to_km,
      velocityKmh: ((first.velocity.min_m_s + first.velocity.max_m_s) / 2) * 3.6,
    });
    expect(reachesFromRivers(rivers, 0)[0]!.velocityKmh).toBeCloseTo(first.velocity.min_m_s * 3.6, 12);
    expect(reachesFromRivers(rivers, 1)[0]!.velocityKmh).toBeCloseTo(first.velocity.max_m_s * 3.6, 12);
    expect(() => reachesFromRivers(rivers, 1.5)).toThrow(/between 0 and 1/);
  });

  it('a spill without velocities of its own uses them; one with its own keeps them', () => {
    expect(withRiverVelocities<{ reaches?: Reach[]; velocityKmh?: number }>({}, rivers).reaches).toEqual(reachesFromRivers(rivers));
    expect(withRiverVelocities({ velocityKmh: 2 }, rivers)).toEqual({ velocityKmh: 2 });
    expect(withRiverVelocities({}, undefined)).toEqual({});
  });

  it('the plume reaches every section downstream of where it is first seen within the window the alerts announce', () => {
    for (const position of [0, 0.25, 0.5, 0.75, 1]) {
      const plan = planSpill(registry, withRiverVelocities({}, rivers, position), 1, START);
      for (const from of plan.sections) {
        for (const to of plan.sections.filter((s) => s.km > from.km)) {
          const window = travelTime(rivers, plan.river, from.km, to.km)!;
          const took = to.arrivalMs - from.arrivalMs;
          expect(took, `${from.station} → ${to.station} at ${position}`).toBeGreaterThanOrEqual(window.minMs - 1);
          expect(took).toBeLessThanOrEqual(window.maxMs + 1);
        }
      }
    }
  });
});
