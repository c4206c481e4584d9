/**
 * What the simulator puts on the wire goes through the ingest's own decoding path (MessageProcessor:
 * parseFrame / JSON decoding, registry, validation) and comes out as the reading the simulator meant:
 * same values in catalogue units (gongchengpu's logger sends NH3-N in µg/L), same flags, same instant.
 * The deliberately broken messages come out as dead letters with the intended reasons.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { parseFrame, epochMsToDataTime, flagWantsAnswer } from '../../ingest/hj212/frame.js';
import type { JournalItem } from '../../ingest/journal.js';
import { MessageProcessor, type Outcome } from '../../ingest/process-message.js';
import type { SplitPacketStore } from '../../ingest/split-packet-store.js';
import type { Reading } from '../../lib/reading.js';
import { StationRegistry, type Station } from '../../config/station-registry.js';
import { DEFAULT_INCIDENTS } from '../../simulator/incidents.js';
import {
  INVALID_KINDS,
  encodeHj212,
  encodeInvalid,
  encodeJson,
  invalidKindsFor,
  isoCst,
  toSentUnits,
  topicOf,
  type InvalidKind,
} from '../../simulator/encode.js';
import { planSpill } from '../../simulator/plume.js';
import { slotAt, type SimReading } from '../../simulator/readings.js';

const config = loadConfig();
const registry = new StationRegistry(config.registry);
const processor = new MessageProcessor({
  registry,
  topicPrefix: 'tuojiang',
  maxPayloadBytes: config.settings.ingest.max_payload_bytes,
  futureToleranceMs: 600_000,
  // Only split packets (PNUM > 1) reach the store; the simulator never sends them.
  splitStore: {} as SplitPacketStore,
  now: () => Date.parse('2026-12-01T00:00:00Z'),
});

const START = Date.parse('2026-07-01T00:00:00Z');
const plan = planSpill(registry, {}, 1, START);

function readingOf(id: string, ts: number, incidents = { ...DEFAULT_INCIDENTS, maintenancePerDay: 0, dropoutPerDay: 0 }): SimReading {
  const o = slotAt({ seed: 21, incidents, plan }, registry.get(id)!, ts);
  if (o.kind !== 'reading') throw new Error(`${id} silent at ${ts}`);
  return o.reading;
}

function ingest(station: Station, payload: string): { item: JournalItem; outcome: Outcome } {
  const outcome = processor.process(topicOf('tuojiang', station), Buffer.from(payload));
  if (outcome instanceof Promise) throw new Error('unexpected split packet');
  expect(outcome.items).toHaveLength(1);
  return { item: outcome.items[0]!, outcome };
}

function stored(station: Station, payload: string): Reading {
  const { item } = ingest(station, payload);
  if (item.kind !== 'reading') throw new Error(`dead letter ${item.dead.reason}: ${item.dead.message}`);
  return item.reading;
}

/** What the ingest must store: catalogue-unit values, and flags only where not N. */
function expectSame(r: Reading, sim: SimReading): void {
  expect(r.station).toBe(sim.station.id);
  expect(r.ts).toBe(sim.ts);
  expect(r.period).toBe('rt');
  expect(Object.keys(r.values).sort()).toEqual(Object.keys(sim.values).sort());
  for (const [k, v] of Object.entries(sim.values)) {
    const scale = registry.unitScale(sim.station.id, k);
    // A value sent in another unit comes back through a multiplication: equal to float precision.
    if (scale === 1) expect(r.values[k], k).toBe(v);
    else expect(r.values[k], k).toBeCloseTo(v, 9);
  }
  expect(r.flags).toEqual(Object.fromEntries(Object.entries(sim.flags).filter(([, f]) => f !== 'N')));
}

const SAMPLE_TIMES = [START + 5 * 60_000, plan.sections[0]!.plateauFromMs, plan.sections.at(-1)!.plateauFromMs, START + 17 * 3_600_000].map(
  (t) => Math.ceil(t / 300_000) * 300_000,
);

describe('HJ 212 frames', () => {
  it("are CN 2011 real-time frames: ST 21 water / 22 air, the station's MN, DataTime in CST, -Rtd and -Flag per factor", () => {
    for (const station of registry.stations) {
      const r = readingOf(station.id, START + 3_600_000);
      const frame = parseFrame(encodeHj212(r, 4));
      expect(frame.cn).toBe('2011');
      expect(frame.st).toBe(station.kind === 'water' ? '21' : '22');
      expect(frame.mn).toBe(station.mn);
      expect(frame.flag).toBe(4);
      expect(frame.cp.dataTime).toBe(epochMsToDataTime(r.ts));
      for (const fields of Object.values(frame.cp.items)) {
        expect(Object.keys(fields).sort()).toEqual(['Flag', 'Rtd']);
      }
    }
  });

  it('convert back to the intended values at every station, plume or not', () => {
    for (const station of registry.stations) {
      for (const ts of SAMPLE_TIMES) {
        const r = readingOf(station.id, ts);
        expectSame(stored(station, encodeHj212(r, 4)), r);
      }
    }
  });

  it('gongchengpu sends NH3-N in µg/L and its extra w00000 channel; the ingest stores mg/L and ignores w00000', () => {
    const station = registry.get('gongchengpu')!;
    const ts = Math.ceil(plan.sections.at(-1)!.plateauFromMs / 300_000) * 300_000;
    const r = readingOf('gongchengpu', ts);
    expect(r.values.NH3N).toBeGreaterThan(30);
    const frame = parseFrame(encodeHj212(r, 4));
    expect(Number(frame.cp.items.w21003!.Rtd)).toBe(Math.round(r.values.NH3N! * 1000));
    expect(frame.cp.items.w21003!.Rtd).toMatch(/^\d+$/);
    expect(frame.cp.items.w00000?.Rtd).toMatch(/^\d+\.\d$/);
    const back = stored(station, encodeHj212(r, 4));
    expect(back.values.NH3N).toBeCloseTo(r.values.NH3N!, 9);
    expect(back.values).not.toHaveProperty('w00000');
    // Other parameters of the same station are sent in mg/L as usual.
    expect(Number(frame.cp.items.w21011!.Rtd)).toBe(r.values.TP);
  });

  it("Flag 5 asks for an answer, and the ingest answers on the station's reply topic", () => {
    const station = registry.get('hongyuan')!;
    const r = readingOf('hongyuan', START + 600_000);
    const frame = encodeHj212(r, 5);
    expect(flagWantsAnswer(parseFrame(frame).flag)).toBe(true);
    const { outcome } = ingest(station, frame);
    expect(outcome.replies.map((x) => x.station)).toEqual(['hongyuan']);
    expect(ingest(station, encodeHj212(r, 4)).outcome.replies).toEqual([]);
  });

  it('carry maintenance flags as -Flag=M', () => {
    const incidents = { ...DEFAULT_INCIDENTS, maintenancePerDay: 100, dropoutPerDay: 0, maintenanceMinutes: [355, 355] as const };
    const station = registry.get('jianyang-hedong')!;
    const r = readingOf('jianyang-hedong', START + 3 * 3_600_000, incidents);
    expect(r.maintenance).toBeDefined();
    const back = stored(station, encodeHj212(r, 4));
    expect(Object.values(back.flags)).toContain('M');
    expectSame(back, r);
  });
});

describe('JSON', () => {
  it('follows the wire contract with ts as ISO 8601 +08:00 or epoch ms, and converts back to the intended values', () => {
    for (const station of registry.stations) {
      for (const ts of SAMPLE_TIMES) {
        const r = readingOf(station.id, ts);
        for (const style of ['iso', 'epoch'] as const) {
          const payload = encodeJson(r, style);
          const body = JSON.parse(payload) as { ts: unknown; values: Record<string, number>; flags?: unknown };
          expect(Object.keys(body).every((k) => ['ts', 'values', 'flags'].includes(k))).toBe(true);
          expect(body.ts).toBe(style === 'iso' ? isoCst(ts) : ts);
          expectSame(stored(station, payload), r);
        }
      }
    }
    expect(isoCst(Date.parse('2026-03-01T00:00:00Z'))).toBe('2026-03-01T08:00:00+08:00');
  });

  it("sends flags only where not N, and gongchengpu's NH3-N in µg/L", () => {
    const incidents = { ...DEFAULT_INCIDENTS, maintenancePerDay: 100, dropoutPerDay: 0, maintenanceMinutes: [355, 355] as const };
    const r = readingOf('jianyang-hedong', START + 3 * 3_600_000, incidents);
    const body = JSON.parse(encodeJson(r, 'epoch')) as { flags: Record<string, string> };
    expect(Object.values(body.flags).every((f) => f === 'M')).toBe(true);
    expect(Object.keys(body.flags).length).toBeGreaterThan(0);
    const clean = JSON.parse(encodeJson(readingOf('hongyuan', START + 600_000), 'epoch')) as object;
    expect(clean).not.toHaveProperty('flags');

    const g = readingOf('gongchengpu', START + 600_000);
    const gBody = JSON.parse(encodeJson(g, 'epoch')) as { values: Record<string, number> };
    expect(gBody.values.NH3N).toBe(Math.round(g.values.NH3N! * 1000));
    expect(stored(registry.get('gongchengpu')!, encodeJson(g, 'epoch')).values.NH3N).toBeCloseTo(g.values.NH3N!, 9);
  });
});

describe('units', () => {
  it("converts to the station's unit with the decimals following the scale", () => {
    const g = registry.get('gongchengpu')!;
    expect(toSentUnits(g, { NH3N: 0.412, TP: 0.137 })).toEqual({ NH3N: { value: 412, text: '412' }, TP: { value: 0.137, text: '0.137' } });
    expect(toSentUnits(registry.get('hongyuan')!, { NH3N: 0.41 })).toEqual({ NH3N: { value: 0.41, text: '0.410' } });
  });
});

describe('broken messages', () => {
  it('become dead letters with the reason the simulator intended, for every kind and kind of station', () => {
    const seen = new Set<InvalidKind>();
    for (const id of ['hongyuan', 'gongchengpu', 'ziyang-shijian']) {
      const station = registry.get(id)!;
      const r = readingOf(id, START + 600_000);
      for (const encoding of ['json', 'hj212'] as const) {
        for (const kind of invalidKindsFor(encoding)) {
          seen.add(kind);
          const { item } = ingest(station, encodeInvalid(r, kind));
          expect(item.kind, `${id} ${kind}`).toBe('dead');
          if (item.kind === 'dead') expect(item.dead.reason, `${id} ${kind}: ${item.dead.message}`).toBe(INVALID_KINDS[kind]);
        }
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(INVALID_KINDS).sort());
  });
});
