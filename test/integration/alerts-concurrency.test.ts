/**
 * Four workers, every reading delivered twice and out of order within a window, must record the
 * same transitions as one worker fed in order (and as the pure engine run in order).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../alerts/events.js';
import { applyReadings, emptySeriesState, type SeriesState } from '../../alerts/series-engine.js';
import type { DataFlag } from '../../lib/parameters.js';
import type { Reading } from '../../lib/reading.js';
import {
  HOUR,
  T0,
  reading,
  registry,
  shippedThresholds,
  startAlertServices,
  startAlertsStack,
  type AlertsStack,
  type Services,
} from '../helpers/alerts-stack.js';

let services: Services;
beforeAll(async () => {
  services = await startAlertServices();
}, 120_000);
afterAll(async () => services?.stopAll());

/** mulberry32: a small seeded PRNG, so every run sees the same scenario. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WATER = ['zhaozhen', 'hongyuan', 'shiqiao', 'linjiangsi'];
const AIR = ['jianyang-shijian', 'ziyang-yanjiang'];
const STEPS = 60;

/** Episodes of exceedance, spikes, hysteresis-band wobble, flags and recoveries, per station. */
function scenario(seed: number): Reading[] {
  const rnd = prng(seed);
  const out: Reading[] = [];
  for (const st of WATER) {
    let level = 0.4;
    let faultLeft = 0;
    for (let i = 0; i < STEPS; i++) {
      const r = rnd();
      if (r < 0.08)
        level = 1.2 + rnd(); // an episode starts
      else if (r < 0.16)
        level = 0.3 + rnd() * 0.3; // it ends
      else if (r < 0.22) level = 0.92 + rnd() * 0.1; // the hysteresis band
      let v = level * (0.95 + rnd() * 0.1);
      if (rnd() < 0.06) v = 1.8 + rnd(); // a one-reading spike
      const flags: Record<string, DataFlag> = {};
      const f = rnd();
      if (faultLeft === 0 && f < 0.04) faultLeft = 3 + Math.floor(rnd() * 3); // an instrument fault
      if (faultLeft > 0) {
        faultLeft--;
        flags.NH3N = 'D';
      } else if (f < 0.1) flags.NH3N = 'M';
      out.push(reading(st, T0 + i * HOUR, { NH3N: Math.round(v * 1000) / 1000, DO: 4 + rnd() * 4, TP: 0.1 + rnd() * 0.15, pH: 7 }, flags));
    }
  }
  for (const st of AIR) {
    let pm = 40;
    for (let i = 0; i < STEPS; i++) {
      const r = rnd();
      if (r < 0.1) pm = 90 + rnd() * 80;
      else if (r < 0.2) pm = 20 + rnd() * 30;
      out.push(
        reading(st, T0 + i * HOUR, {
          PM2_5: Math.round(pm * (0.9 + rnd() * 0.2)),
          PM10: Math.round(pm * 1.5),
          SO2: 10,
          NO2: 30 + Math.round(rnd() * 20),
          CO: 0.7,
          O3: 60 + Math.round(rnd() * 150),
        }),
      );
    }
  }
  // global event-time order, stations interleaved
  return out.sort((a, b) => a.ts - b.ts || a.station.localeCompare(b.station));
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

/** The pure engine, in order, one reading at a time: what any delivery must reproduce. */
function reference(readings: Reading[]): AlertEvent[] {
  const states = new Map<string, SeriesState>();
  const events: AlertEvent[] = [];
  for (const r of readings) {
    const station = registry.get(r.station);
    if (!station) throw new Error(r.station);
    const key = `${r.station}|${r.period}`;
    const res = applyReadings(states.get(key) ?? emptySeriesState(), [r], { station, thresholds: shippedThresholds, isMuted: () => false });
    states.set(key, res.state);
    events.push(...res.events);
  }
  return events;
}

/**
 * What was recorded, as comparable rows keyed by event id. InfluxDB would silently merge a second
 * copy of a point (same tags and time), so the outbox's own record is checked for doubles too.
 */
async function recorded(stack: AlertsStack): Promise<Map<string, string>> {
  const ids = stack.published.map((e) => e.id);
  expect(
    ids.filter((id, i) => ids.indexOf(id) !== i),
    'events committed twice',
  ).toEqual([]);
  const rows = new Map<string, string>();
  for (const p of await stack.alertPoints()) {
    const id = String(p.event_id);
    expect(rows.has(id), `duplicate point ${id}`).toBe(false);
    rows.set(id, JSON.stringify([p.time, p.station, p.parameter, p.rule, p.state, p.value, p.limit, p.message, p.muted]));
  }
  return rows;
}

async function finalStates(stack: AlertsStack): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const st of [...WATER, ...AIR]) {
    const s = await stack.service.store.readState(st, 'hour');
    out[st] = {
      lastTs: s.lastTs,
      keys: Object.fromEntries(Object.entries(s.keys).map(([k, v]) => [k, { ...v, value: null, limit: null, at: null }])),
    };
  }
  return out;
}

describe('concurrency: 4 workers, duplicated and out-of-order delivery', () => {
  const readings = scenario(20260501);
  const expected = reference(readings);

  it('the scenario is interesting: firing, resolved, reminders, spikes that never fire', () => {
    const kinds = new Set(expected.map((e) => `${e.rule}:${e.kind}`));
    for (const k of ['limit:firing', 'limit:resolved', 'limit:reminder', 'water_class:firing', 'aqi:firing', 'equipment:firing'])
      expect(kinds, k).toContain(k);
    expect(expected.length).toBeGreaterThan(30);
  });

  let single: { rows: Map<string, string>; states: Record<string, unknown>; ids: string[] };

  it('one worker fed in order records exactly the reference transitions', async () => {
    const stack = await startAlertsStack(services, { workers: 1, concurrency: 1 });
    try {
      for (const r of readings) await stack.enqueuer.enqueue([r]);
      await stack.idle(60_000);
      const rows = await recorded(stack);
      expect([...rows.keys()].sort()).toEqual(expected.map((e) => e.id).sort());
      single = { rows, states: await finalStates(stack), ids: await stack.notifyJobIds() };
      expect(single.ids).toEqual(
        expected
          .filter((e) => !e.muted)
          .map((e) => e.id)
          .sort(),
      );
    } finally {
      await stack.close();
    }
  });

  it.each(['reading', 'batch'] as const)(
    '4 workers (%s jobs), each reading twice, shuffled within windows of 24 readings: the same transitions',
    async (granularity) => {
      const stack = await startAlertsStack(services, { workers: 4, concurrency: 4, granularity });
      try {
        const rnd = prng(7);
        const W = 24;
        let carry: Reading[] = [];
        const batches: Reading[][] = [];
        for (let i = 0; i < readings.length; i += W) {
          const window = readings.slice(i, i + W);
          // each reading's second copy goes either into the same batch or into the next one
          const again = window.filter(() => rnd() < 0.5);
          const later = window.filter((r) => !again.includes(r));
          batches.push(shuffle([...window, ...again, ...carry], rnd));
          carry = later;
        }
        batches.push(shuffle(carry, rnd));
        expect(batches.flat()).toHaveLength(2 * readings.length);
        // handed over back to back while the workers run, as a writer does
        for (const b of batches) await stack.enqueuer.enqueue(b);
        await stack.idle(60_000);

        const rows = await recorded(stack);
        expect(rows).toEqual(single.rows);
        expect(await finalStates(stack)).toEqual(single.states);
        expect(await stack.notifyJobIds()).toEqual(single.ids);
        // every second copy was recognised: dropped (its original already applied) or found waiting
        const stats = await stack.service.store.stats();
        expect((stats.late_or_duplicate ?? 0) + (stats.duplicate_waiting ?? 0)).toBe(readings.length);
        expect(stats.late_at_drain).toBeUndefined();
      } finally {
        await stack.close();
      }
    },
  );

  it('with a reorder window, disorder across batches (two writers) gives the same transitions too', async () => {
    const stack = await startAlertsStack(services, { workers: 4, concurrency: 4, reorderMs: 3000 });
    try {
      const rnd = prng(11);
      // every reading twice, each copy into any of 6 batches around its position, from two writers
      const slots: Reading[][] = Array.from({ length: Math.ceil(readings.length / 20) + 6 }, () => []);
      readings.forEach((r, i) => {
        for (let copy = 0; copy < 2; copy++) slots[Math.floor(i / 20) + Math.floor(rnd() * 6)]?.push(r);
      });
      const writerA = slots.filter((_, i) => i % 2 === 0).map((b) => shuffle(b, rnd));
      const writerB = slots.filter((_, i) => i % 2 === 1).map((b) => shuffle(b, rnd));
      await Promise.all([
        (async () => {
          for (const b of writerA) await stack.enqueuer.enqueue(b);
        })(),
        (async () => {
          for (const b of writerB) await stack.enqueuer.enqueue(b);
        })(),
      ]);
      await stack.idle(60_000);
      expect(await recorded(stack)).toEqual(single.rows);
      expect(await finalStates(stack)).toEqual(single.states);
    } finally {
      await stack.close();
    }
  });
});
