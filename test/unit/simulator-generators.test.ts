/**
 * The simulator's baseline generators: values within the physical and class III ranges (so a plain
 * simulation raises no pollution alert of its own), the daily and seasonal shapes analysts expect,
 * logger-like decimals, smooth enough not to trip the rate-of-rise rule, and determinism by seed.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { PARAMETER_BY_KEY } from '../../lib/parameters.js';
import { StationRegistry, type Station } from '../../config/station-registry.js';
import { classLimit } from '../../lib/standards/gb3838.js';
import { CST_OFFSET_MS, DAY_MS, HOUR_MS, createClock, cstHourOfDay } from '../../simulator/clock.js';
import { AIR_PARAMS, DECIMALS, WATER_PARAMS, airBaseline, diurnal, doSaturation, waterBaseline } from '../../simulator/generators.js';
import { hash32, normal, smoothNoise, uniform } from '../../simulator/random.js';

const registry = new StationRegistry(loadConfig().registry);
const water = registry.stations.filter((s) => s.kind === 'water');
const air = registry.stations.filter((s) => s.kind === 'air');
const hongyuan = registry.get('hongyuan')!;
const shijian = registry.get('jianyang-shijian')!;

/** A CST wall-clock instant: cst(2026, 7, 1, 15) is 15:00 China Standard Time on 1 July 2026. */
const cst = (y: number, mo: number, d: number, h = 0, mi = 0): number => Date.UTC(y, mo - 1, d, h, mi) - CST_OFFSET_MS;

/** Mean of f at `hour` CST over `days` consecutive days from the given day. */
function meanAtHour(f: (ts: number) => number, start: number, days: number, hour: number): number {
  let sum = 0;
  for (let d = 0; d < days; d++) sum += f(start + d * DAY_MS + hour * HOUR_MS);
  return sum / days;
}

function decimalsOf(v: number): number {
  const s = String(v);
  return s.includes('.') ? s.split('.')[1]!.length : 0;
}

describe('random', () => {
  it('hash32 depends on every part and the seed, and on a number vs the same digits as text', () => {
    const base = hash32(1, 'hongyuan', 'NH3N', 1_780_000_000_000);
    expect(hash32(1, 'hongyuan', 'NH3N', 1_780_000_000_000)).toBe(base);
    expect(hash32(2, 'hongyuan', 'NH3N', 1_780_000_000_000)).not.toBe(base);
    expect(hash32(1, 'shiqiao', 'NH3N', 1_780_000_000_000)).not.toBe(base);
    expect(hash32(1, 'hongyuan', 'NH3N', 1_780_000_000_000 + 2 ** 32)).not.toBe(base); // the high half counts
    expect(hash32(1, 7)).not.toBe(hash32(1, '7'));
  });

  it('uniform is in [0, 1) with mean ~0.5; normal has mean ~0 and sd ~1', () => {
    const us = Array.from({ length: 20_000 }, (_, i) => uniform(3, 'u', i));
    expect(Math.min(...us)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...us)).toBeLessThan(1);
    expect(us.reduce((a, b) => a + b) / us.length).toBeCloseTo(0.5, 1);
    const ns = Array.from({ length: 20_000 }, (_, i) => normal(3, 'n', i));
    const mean = ns.reduce((a, b) => a + b) / ns.length;
    const sd = Math.sqrt(ns.reduce((a, b) => a + (b - mean) ** 2, 0) / ns.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(sd).toBeGreaterThan(0.95);
    expect(sd).toBeLessThan(1.05);
  });

  it('smoothNoise stays in [-1, 1], equals its knots on the grid and moves little between close instants', () => {
    const period = 6 * HOUR_MS;
    for (let i = 0; i < 2000; i++) {
      const t = i * 7 * 60_000;
      const v = smoothNoise(5, 'k', t, period);
      expect(Math.abs(v)).toBeLessThanOrEqual(1);
      expect(Math.abs(smoothNoise(5, 'k', t + 5 * 60_000, period) - v)).toBeLessThan(0.05);
    }
    expect(smoothNoise(5, 'k', 4 * period, period)).toBeCloseTo(uniform(5, 'k', 'knot', 4) * 2 - 1, 12);
  });
});

describe('clock', () => {
  it('cstHourOfDay reads China Standard Time', () => {
    expect(cstHourOfDay(cst(2026, 7, 1, 15, 30))).toBeCloseTo(15.5, 9);
    expect(cstHourOfDay(Date.UTC(2026, 6, 1, 20))).toBeCloseTo(4, 9); // 20:00 UTC is 04:00 CST
  });

  it('a bounded run starts duration × (speed − 1) in the past and ends exactly at the wall clock', () => {
    const wallStart = Date.UTC(2026, 10, 1);
    const clock = createClock({ wallStart, speed: 3600, durationMs: 60_000 });
    expect(clock.simStart).toBe(wallStart - 60_000 * 3599);
    expect(clock.toSim(wallStart + 60_000)).toBe(wallStart + 60_000);
    expect(clock.toSim(wallStart + 30_000)).toBe(clock.simStart + 30_000 * 3600);
    for (let w = 0; w <= 60_000; w += 1000) expect(clock.toSim(wallStart + w)).toBeLessThanOrEqual(wallStart + w);
    expect(clock.toWall(clock.toSim(wallStart + 12_345))).toBeCloseTo(wallStart + 12_345, 6);
  });

  it('speed 1 is real time; an unbounded run never runs ahead of the wall clock', () => {
    const wallStart = Date.UTC(2026, 10, 1);
    const real = createClock({ wallStart, speed: 1, durationMs: 10_000 });
    expect(real.simStart).toBe(wallStart);
    expect(real.toSim(wallStart + 5000)).toBe(wallStart + 5000);
    const open = createClock({ wallStart, speed: 100, durationMs: Infinity, backfillMs: HOUR_MS });
    expect(open.simStart).toBe(wallStart - HOUR_MS);
    expect(open.toSim(wallStart + 10_000)).toBe(wallStart - HOUR_MS + 1_000_000);
    expect(open.toSim(wallStart + 3_600_000)).toBe(wallStart + 3_600_000); // caught up: follows the wall clock
    expect(open.toWall(wallStart + 2 * HOUR_MS)).toBe(wallStart + 2 * HOUR_MS);
    expect(() => createClock({ wallStart, speed: 0, durationMs: 1000 })).toThrow(/speed/);
  });
});

describe('water baseline', () => {
  // Every 97 minutes for a year: all hours of the day in every season.
  const instants = Array.from({ length: Math.floor((365 * DAY_MS) / (97 * 60_000)) }, (_, i) => cst(2026, 1, 1) + i * 97 * 60_000);

  it('stays within the physical range and under the class III limits at every section, all year', () => {
    // Violations are collected, not asserted one by one: a quarter of a million expect() calls take minutes.
    const bad: string[] = [];
    let checked = 0;
    for (const s of water) {
      for (const ts of instants) {
        const v = waterBaseline(s, ts, 42);
        if (Object.keys(v).sort().join() !== [...WATER_PARAMS].sort().join()) bad.push(`${s.id}: keys ${Object.keys(v).join()}`);
        for (const [k, x] of Object.entries(v)) {
          checked++;
          const info = PARAMETER_BY_KEY.get(k)!;
          const limit = classLimit(k, 'III', 'river');
          const ok =
            x >= info.min &&
            (info.max === undefined || x <= info.max) &&
            (limit?.kind !== 'max' || x < limit.value) &&
            (limit?.kind !== 'min' || x > limit.value) &&
            (limit?.kind !== 'range' || (x > limit.min && x < limit.max));
          if (!ok) bad.push(`${s.id} ${new Date(ts).toISOString()} ${k}=${x}`);
        }
        // The Shiqiao intake's own, stricter NH3-N limit (config/thresholds.yaml) must not fire either.
        if (!(v.NH3N < 0.8)) bad.push(`${s.id} NH3N=${v.NH3N} ≥ 0.8`);
        if (!(v.temp > 0 && v.temp < 35)) bad.push(`${s.id} temp=${v.temp}`);
      }
    }
    expect(bad.slice(0, 10)).toEqual([]);
    expect(checked).toBe(water.length * instants.length * WATER_PARAMS.length);
  });

  it("reports with a logger's decimals", () => {
    for (const ts of instants.slice(0, 300)) {
      for (const [k, x] of Object.entries(waterBaseline(hongyuan, ts, 42)))
        expect(decimalsOf(x), `${k}=${x}`).toBeLessThanOrEqual(DECIMALS[k as keyof typeof DECIMALS]);
    }
  });

  it('DO and temperature peak in the afternoon and bottom out before dawn; pH follows DO', () => {
    const summer = cst(2026, 7, 1);
    const at = (p: 'DO' | 'temp' | 'pH', h: number) => meanAtHour((ts) => waterBaseline(hongyuan, ts, 1)[p], summer, 30, h);
    expect(at('DO', 15) - at('DO', 3)).toBeGreaterThan(1);
    expect(at('temp', 16) - at('temp', 4)).toBeGreaterThan(1.2);
    expect(at('pH', 15) - at('pH', 3)).toBeGreaterThan(0.15);
    // The hour of the mean daily maximum of DO, hour by hour.
    const hours = Array.from({ length: 24 }, (_, h) => at('DO', h));
    const peakHour = hours.indexOf(Math.max(...hours));
    expect(peakHour).toBeGreaterThanOrEqual(13);
    expect(peakHour).toBeLessThanOrEqual(17);
  });

  it('is warmer in summer than in winter, with less oxygen (lower saturation)', () => {
    const mean = (p: 'temp' | 'DO', from: number) => meanAtHour((ts) => waterBaseline(hongyuan, ts, 1)[p], from, 30, 12);
    expect(mean('temp', cst(2026, 7, 20)) - mean('temp', cst(2026, 1, 10))).toBeGreaterThan(12);
    expect(mean('DO', cst(2026, 1, 10))).toBeGreaterThan(mean('DO', cst(2026, 7, 20)) + 1.5);
    expect(doSaturation(0)).toBeCloseTo(14.65, 2);
    // The polynomial is within ~1 % of the tables (8.26 mg/L at 25 °C).
    expect(Math.abs(doSaturation(25) - 8.26)).toBeLessThan(0.1);
  });

  it('rises slowly enough at 5-minute readings that noise alone never looks like a rate-of-rise alert (NH3-N 0.5/h, CODMn 3/h)', () => {
    let nh3 = -Infinity;
    let codmn = -Infinity;
    for (const s of water) {
      let prev = waterBaseline(s, cst(2026, 5, 1), 9);
      for (let i = 1; i < 14 * 288; i++) {
        const cur = waterBaseline(s, cst(2026, 5, 1) + i * 5 * 60_000, 9);
        nh3 = Math.max(nh3, (cur.NH3N - prev.NH3N) * 12);
        codmn = Math.max(codmn, (cur.CODMn - prev.CODMn) * 12);
        prev = cur;
      }
    }
    expect(nh3).toBeGreaterThan(0); // it does move
    expect(nh3).toBeLessThan(0.5);
    expect(codmn).toBeLessThan(3);
  });

  it('carries more nutrients downstream', () => {
    const mean = (s: Station) => meanAtHour((ts) => waterBaseline(s, ts, 3).NH3N, cst(2026, 4, 1), 60, 10);
    expect(mean(registry.get('gongchengpu')!)).toBeGreaterThan(mean(registry.get('zhaozhen')!) + 0.2);
  });
});

describe('air baseline', () => {
  const instants = Array.from({ length: Math.floor((365 * DAY_MS) / (61 * 60_000)) }, (_, i) => cst(2026, 1, 1) + i * 61 * 60_000);

  it('stays within the grade II 1-h limits and under AQI 100 for particles, with PM10 ≥ PM2.5', () => {
    const bad: string[] = [];
    let checked = 0;
    for (const s of air) {
      for (const ts of instants) {
        const v = airBaseline(s, ts, 42);
        checked++;
        const where = `${s.id} ${new Date(ts).toISOString()} ${JSON.stringify(v)}`;
        if (Object.keys(v).sort().join() !== [...AIR_PARAMS].sort().join()) bad.push(`${where}: keys`);
        // PM2.5 IAQI 100 under HJ 633-2026 is 60; PM10's is 120; GB 3095 grade II 1-h limits for the gases.
        if (!(v.PM2_5 > 0 && v.PM2_5 < 60 && v.PM10 < 120 && v.PM10 > v.PM2_5)) bad.push(`${where}: particles`);
        if (!(v.SO2 < 150 && v.NO2 < 200 && v.CO < 10 && v.O3 < 200 && v.O3 > 0)) bad.push(`${where}: gases`);
        for (const [k, x] of Object.entries(v))
          if (decimalsOf(x) > DECIMALS[k as keyof typeof DECIMALS]) bad.push(`${where}: decimals of ${k}`);
      }
    }
    expect(bad.slice(0, 10)).toEqual([]);
    expect(checked).toBe(air.length * instants.length);
  });

  it('O3 peaks mid-afternoon and is far higher in summer; NO2 and CO peak with the morning and evening traffic', () => {
    const at = (p: 'O3' | 'NO2' | 'CO', from: number, h: number) => meanAtHour((ts) => airBaseline(shijian, ts, 5)[p], from, 30, h);
    const summer = cst(2026, 7, 1);
    const winter = cst(2026, 1, 5);
    expect(at('O3', summer, 15)).toBeGreaterThan(at('O3', summer, 3) + 60);
    expect(at('O3', summer, 15)).toBeGreaterThan(at('O3', winter, 15) + 40);
    expect(at('NO2', summer, 8.5)).toBeGreaterThan(at('NO2', summer, 13) + 8);
    expect(at('NO2', summer, 19)).toBeGreaterThan(at('NO2', summer, 3) + 8);
    expect(at('CO', summer, 8.5)).toBeGreaterThan(at('CO', summer, 13));
  });

  it('has more particles in winter', () => {
    const mean = (from: number) => meanAtHour((ts) => airBaseline(shijian, ts, 5).PM2_5, from, 30, 22);
    expect(mean(cst(2026, 1, 5))).toBeGreaterThan(mean(cst(2026, 7, 5)) + 10);
  });
});

describe('determinism', () => {
  it('the same seed gives the same values, in any order; another seed gives others', () => {
    const ts = cst(2026, 3, 1, 8);
    const forward = water.map((s) => waterBaseline(s, ts, 2004));
    const backward = [...water]
      .reverse()
      .map((s) => waterBaseline(s, ts, 2004))
      .reverse();
    expect(backward).toEqual(forward);
    expect(water.map((s) => waterBaseline(s, ts, 2005))).not.toEqual(forward);
    expect(airBaseline(shijian, ts, 2004)).toEqual(airBaseline(shijian, ts, 2004));
    expect(airBaseline(shijian, ts, 2004)).not.toEqual(airBaseline(shijian, ts, 1));
  });

  it('different stations get different noise', () => {
    const ts = cst(2026, 3, 1, 8);
    const a = Array.from({ length: 50 }, (_, i) => waterBaseline(registry.get('linjiangsi')!, ts + i * HOUR_MS, 1).pH);
    const b = Array.from({ length: 50 }, (_, i) => waterBaseline(registry.get('ziyang-city')!, ts + i * HOUR_MS, 1).pH);
    expect(a).not.toEqual(b);
  });

  it('diurnal is +1 at the peak hour and −1 twelve hours later', () => {
    expect(diurnal(cst(2026, 7, 1, 15), 15)).toBeCloseTo(1, 9);
    expect(diurnal(cst(2026, 7, 1, 3), 15)).toBeCloseTo(-1, 9);
  });
});
