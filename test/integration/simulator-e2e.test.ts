/**
 * The simulator against the real ingest (Mosquitto with the production ACL, Redis, InfluxDB): a
 * compressed spill with maintenance, dropouts and deliberately broken messages. Everything the
 * broker acknowledged as a valid reading must be stored, per station; the only dead letters are
 * the broken messages, with the reasons the simulator intended.
 */
import { Redis } from 'ioredis';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerSimulateCommand } from '../../cli/commands/simulate.js';
import { StationRegistry } from '../../config/station-registry.js';
import { runSimulation, type SimEvent, type SimSummary } from '../../simulator/run.js';
import { slotAt } from '../../simulator/readings.js';
import { DEFAULT_INCIDENTS } from '../../simulator/incidents.js';
import { spillSpanMs } from '../../simulator/plume.js';
import { loadRivers, withRiverVelocities } from '../../simulator/rivers.js';
import { deadLetters, eventually, pointsAt } from '../helpers/fixtures.js';
import { countPoints, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

let stack: IngestStack;
let redis: Redis;
let registry: StationRegistry;
let summary: SimSummary;
const events: SimEvent[] = [];

/** A fixed simulated start in the past: the run's content is the same on every run of the test. */
const SIM_START = Date.parse('2026-07-01T00:00:00Z');
const SEED = 7;
const INCIDENTS = { ...DEFAULT_INCIDENTS, maintenancePerDay: 4, dropoutPerDay: 2 };
const COMPRESS = 4;
const SPEED = 8000;

beforeAll(async () => {
  stack = await startIngestStack();
  await stack.startIngest();
  redis = new Redis(stack.env.REDIS_URL);
  registry = new StationRegistry(stack.config.registry);
  // Velocities from config/rivers.yaml, as the alerts use them: ~79 h of scenario, compressed ×4 to
  // ~20 h simulated; at ×8000 that is ~9 s of wall clock.
  const rivers = loadRivers(stack.config.dir, stack.config.registry);
  summary = await runSimulation({
    mqttUrl: stack.services.mosquitto.url,
    username: 'simulator',
    password: stack.users.simulator!,
    registry,
    scenario: 'spill',
    speed: SPEED,
    compress: COMPRESS,
    rivers,
    durationMs: spillSpanMs(registry, withRiverVelocities({}, rivers), COMPRESS) / SPEED,
    jsonShare: 0.5,
    seed: SEED,
    simStart: SIM_START,
    incidents: INCIDENTS,
    invalidShare: 0.02,
    onEvent: (e) => events.push(e),
  });
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

const measurementOf = (id: string) => (registry.get(id)!.kind === 'water' ? 'water_quality' : 'air_quality');
/** A field every reading of the station carries, maintenance or not. */
const fieldOf = (id: string) => (registry.get(id)!.kind === 'water' ? 'pH' : 'PM10');

describe('simulator → ingest → InfluxDB', () => {
  it('publishes every station in both encodings, with maintenance, dropouts and broken messages, none refused', () => {
    expect(summary.failed).toBe(0);
    expect(summary.stopped).toBe(false);
    expect(Object.keys(summary.byStation)).toHaveLength(registry.stations.length);
    for (const [id, c] of Object.entries(summary.byStation)) expect(c.readings, id).toBeGreaterThan(0);
    expect(summary.byEncoding.json).toBeGreaterThan(100);
    expect(summary.byEncoding.hj212).toBeGreaterThan(100);
    expect(summary.byHj212Flag['5']).toBeGreaterThan(0);
    expect(summary.byFlag.M).toBeGreaterThan(0);
    expect(summary.silent).toBeGreaterThan(0);
    expect(summary.invalid).toBeGreaterThan(0);
    expect(summary.readings + summary.invalid).toBe(summary.messages);
  });

  it('stores every valid reading it published, per station', async () => {
    const expected = Object.fromEntries(Object.entries(summary.byStation).map(([id, c]) => [id, c.readings]));
    const stored = await waitFor(
      async () => {
        const got: Record<string, number> = {};
        for (const id of Object.keys(expected))
          got[id] = await countPoints(stack.influx, measurementOf(id), fieldOf(id), `"station" = '${id}'`);
        return Object.entries(expected).every(([id, n]) => got[id]! >= n) ? got : undefined;
      },
      30_000,
      'every published reading in InfluxDB',
    );
    expect(stored).toEqual(expected);
  });

  it('dead-letters exactly the messages it broke on purpose, with the intended reasons', async () => {
    const dead = await eventually(async () => {
      const d = await deadLetters(redis);
      return d.length >= summary.invalid ? d : undefined;
    }, 'the dead letters');
    expect(dead).toHaveLength(summary.invalid);
    const byReason: Record<string, number> = {};
    for (const d of dead) byReason[d.reason] = (byReason[d.reason] ?? 0) + 1;
    expect(byReason).toEqual(summary.invalidByReason);
  });

  it('tells the plume passing every section downstream in order, and the stored NH3-N matches (gongchengpu sends µg/L)', async () => {
    const arrivals = events.filter((e): e is Extract<SimEvent, { type: 'plume-arrival' }> => e.type === 'plume-arrival');
    expect(arrivals.map((a) => a.station)).toEqual(['hongyuan', 'shiqiao', 'linjiangsi', 'ziyang-city', 'gongchengpu']);
    for (let i = 1; i < arrivals.length; i++) expect(arrivals[i]!.sim).toBeGreaterThan(arrivals[i - 1]!.sim);
    const cleared = events.filter((e) => e.type === 'plume-cleared').map((e) => (e as { station: string }).station);
    expect(cleared).toEqual(arrivals.map((a) => a.station));

    const peaks = summary.plume!;
    const hong = peaks.find((p) => p.station === 'hongyuan')!;
    expect(hong.peakMgL).toBeGreaterThan(50);
    expect(hong.peakMgL).toBeLessThan(53);
    const gong = peaks.find((p) => p.station === 'gongchengpu')!;
    const [row] = await pointsAt(stack.influx, 'water_quality', 'gongchengpu', gong.peakSim!);
    expect(row?.NH3N as number).toBeCloseTo(gong.peakMgL!, 6);
    expect(gong.peakMgL!).toBeGreaterThan(25); // mg/L: a µg/L value stored unconverted would be ~1000× more
  });

  it('stores a reading exactly as the pure model describes it, and maintenance readings with their M flags', async () => {
    const ctx = { seed: SEED, incidents: INCIDENTS, plan: summary.plan };
    const station = registry.get('linjiangsi')!;
    const ts = summary.plan!.sections.find((s) => s.station === 'linjiangsi')!.plateauFromMs;
    const slotTs = Math.ceil(ts / 300_000) * 300_000;
    const outcome = slotAt(ctx, station, slotTs);
    expect(outcome.kind).toBe('reading');
    if (outcome.kind !== 'reading') return;
    const [row] = await pointsAt(stack.influx, 'water_quality', 'linjiangsi', slotTs);
    for (const [k, v] of Object.entries(outcome.reading.values)) expect(row?.[k], k).toBe(v);

    const maint = events.find((e): e is Extract<SimEvent, { type: 'maintenance' }> => e.type === 'maintenance')!;
    const [flagged] = await pointsAt(stack.influx, measurementOf(maint.station), maint.station, maint.sim);
    for (const p of maint.params) expect(flagged?.[`${p}_flag`], p).toBe('M');
  });
});

describe('tuojiang simulate', () => {
  it("runs from the command line with the environment's credentials and prints a JSON summary", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      MQTT_URL: stack.services.mosquitto.url,
      MQTT_USERNAME: 'simulator',
      MQTT_PASSWORD: stack.users.simulator,
    });
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const program = new Command('tuojiang').exitOverride();
      registerSimulateCommand(program);
      await program.parseAsync(
        [
          'simulate',
          '--speed',
          '3600',
          '--duration',
          '2',
          '--stations',
          'zhaozhen,ziyang-shijian',
          '--seed',
          '11',
          '--json-share',
          '1',
          '--json',
        ],
        { from: 'user' },
      );
    } finally {
      spy.mockRestore();
      process.env = saved;
    }
    const lines = out
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string } & Record<string, unknown>);
    expect(lines[0]?.type).toBe('start');
    const s = lines.at(-1) as unknown as SimSummary & { type: string };
    expect(s.type).toBe('summary');
    expect(Object.keys(s.byStation)).toEqual(['zhaozhen', 'ziyang-shijian']);
    expect(s.byEncoding.hj212).toBe(0);
    expect(s.byStation.zhaozhen!.readings + s.byStation.zhaozhen!.silent).toBeGreaterThan(0);
    expect(s.failed).toBe(0);
    expect(process.exitCode ?? 0).toBe(0);
  });
});
