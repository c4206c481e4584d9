import { describe, expect, it } from 'vitest';
import { routeEvent } from '../../alerts/notify/routing.js';
import { RegistrySchema } from '../../config/schema.js';
import { StationRegistry } from '../../config/station-registry.js';
import { shipped, testNotifyConfig } from '../helpers/notify-stack.js';

const registry = new StationRegistry(shipped.registry);
const { rivers } = testNotifyConfig();
const both = new Set(['chengdu', 'ziyang']);
const HOUR = 3_600_000;

function route(station: string, rule: Parameters<typeof routeEvent>[1] = 'limit', bureaus = both) {
  return routeEvent(registry.get(station)!, rule, registry, rivers, bureaus);
}

describe('routing along the river', () => {
  it('a pollution alert upstream in Chengdu: Chengdu, and Ziyang downstream with the arrival at its first section', () => {
    const r = route('hongyuan');
    expect(r.bureaus.map((b) => [b.bureau, b.roles])).toEqual([
      ['chengdu', ['own']],
      ['ziyang', ['downstream']],
    ]);
    const z = r.bureaus[1]!.arrival!;
    expect(z).toMatchObject({ station: 'linjiangsi', city: 'ziyang', riverKm: 96, distanceKm: 44, intake: false });
    // 44 km of the slow reach (0.1–0.6 m/s).
    expect(z.minMs / HOUR).toBeCloseTo(44_000 / 0.6 / 3600, 6);
    expect(z.maxMs / HOUR).toBeCloseTo(44_000 / 0.1 / 3600, 6);
    // Named downstream: the Shiqiao intake (Chengdu's own), Ziyang's first section, the Ziyang intake.
    expect(r.downstream.map((a) => a.station)).toEqual(['shiqiao', 'linjiangsi', 'ziyang-city']);
  });

  it('the arrival estimate crosses reaches of different velocity', () => {
    const r = route('zhaozhen');
    const z = r.bureaus.find((b) => b.bureau === 'ziyang')!.arrival!;
    // km 2 -> 45 at 0.3–1.2 m/s, 45 -> 96 at 0.1–0.6 m/s.
    expect(z.minMs).toBeCloseTo((43_000 / 1.2 + 51_000 / 0.6) * 1000, 0);
    expect(z.maxMs).toBeCloseTo((43_000 / 0.3 + 51_000 / 0.1) * 1000, 0);
  });

  it('a boundary section goes to both bureaus, whatever the rule', () => {
    expect(route('linjiangsi').bureaus.map((b) => [b.bureau, b.roles])).toEqual([
      ['ziyang', ['own', 'boundary']],
      ['chengdu', ['boundary']],
    ]);
    expect(route('linjiangsi', 'silence').bureaus.map((b) => b.bureau)).toEqual(['ziyang', 'chengdu']);
  });

  it('the last section of the reach: its own city only', () => {
    const r = route('gongchengpu');
    expect(r.bureaus.map((b) => b.bureau)).toEqual(['ziyang']);
    expect(r.downstream).toEqual([]);
  });

  it('equipment and silence alerts do not travel downstream', () => {
    expect(route('hongyuan', 'silence').bureaus.map((b) => b.bureau)).toEqual(['chengdu']);
    expect(route('hongyuan', 'equipment').downstream).toEqual([]);
  });

  it('air stations: their own city and every city in shared_with', () => {
    expect(route('jianyang-shijian', 'aqi').bureaus.map((b) => [b.bureau, b.roles])).toEqual([
      ['chengdu', ['own']],
      ['ziyang', ['shared']],
    ]);
    expect(route('ziyang-yanjiang', 'aqi').bureaus.map((b) => b.bureau)).toEqual(['ziyang']);
  });

  it('only bureaus that are configured', () => {
    expect(route('hongyuan', 'limit', new Set(['chengdu'])).bureaus.map((b) => b.bureau)).toEqual(['chengdu']);
  });

  it('a boundary section at the downstream end of its city names the city below', () => {
    const reg = RegistrySchema.parse({
      ...shipped.registry,
      stations: shipped.registry.stations.map((s) =>
        s.id === 'shiqiao' ? { ...s, boundary: true } : s.id === 'linjiangsi' ? { ...s, boundary: false } : s,
      ),
    });
    const r2 = new StationRegistry(reg);
    const r = routeEvent(r2.get('shiqiao')!, 'silence', r2, rivers, both);
    expect(r.bureaus.map((b) => [b.bureau, b.roles])).toEqual([
      ['chengdu', ['own', 'boundary']],
      ['ziyang', ['boundary']],
    ]);
  });
});
