/**
 * runSimulation: every station of a registry reporting over MQTT (or, as data loggers do, HJ 212
 * over TCP) at a chosen speed-up, optionally
 * replaying a scenario, with events for a demo's timeline and a summary of what was published.
 *
 * Only what the broker acknowledged counts as published (QoS 1, a window of messages in flight), so
 * the summary's counts are what an end-to-end check may expect to find stored.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import type { RiversFile } from '../config/rivers-schema.js';
import type { RegistryConfig } from '../config/schema.js';
import { StationRegistry, type Station } from '../config/station-registry.js';
import { classLimit, type GradedClass } from '../lib/standards/gb3838.js';
import { createClock } from './clock.js';
import {
  INVALID_KINDS,
  encodeHj212,
  encodeInvalid,
  encodeJson,
  invalidKindsFor,
  topicOf,
  type Encoding,
  type Hj212Flag,
  type InvalidKind,
} from './encode.js';
import { DEFAULT_INCIDENTS, type IncidentRates } from './incidents.js';
import { ERRORS, TuojiangError } from '../lib/errors.js';
import { planSpill, type SpillOptions, type SpillPlan } from './plume.js';
import { hash32, normaliseSeed, uniform } from './random.js';
import {
  DEFAULT_INTERVALS,
  nextSlotAfter,
  slotAt,
  slotsBetween,
  type Intervals,
  type ReadingContext,
  type SimReading,
  type Slot,
} from './readings.js';
import { TcpPublisher, WindowedPublisher, type Outbox } from './publisher.js';
import { TcpLogger } from './tcp-logger.js';
import { withRiverVelocities } from './rivers.js';

/** The broker refused or could not be reached (lib/errors.ts). */
export const MQTT_CONNECT_FAILED = ERRORS.MQTT_CONNECT;

export type ScenarioName = 'spill';
export interface SpillScenario extends SpillOptions {
  name: 'spill';
  /** With `rivers` and no velocities of its own: where in each reach's range (0 slowest, 1 fastest; default 0.5). */
  velocityInRange?: number;
}
export type Scenario = ScenarioName | SpillScenario;
export const SCENARIOS: readonly ScenarioName[] = ['spill'];

export interface SimOptions {
  /** `mqtt` (default): JSON and HJ 212 mixed through the broker. `tcp`: every station a data logger on its own TCP connection to the ingest's HJ 212 listener. */
  transport?: 'mqtt' | 'tcp' | undefined;
  /** With transport `mqtt`: these stations are data loggers over TCP all the same (a mixed fleet). */
  tcpStations?: readonly string[] | undefined;
  /** For the stations over TCP: the listener, the PW every logger sends, and when a logger re-sends an unanswered frame. */
  hj212Tcp?: { host: string; port: number; password?: string | undefined; resendAfterMs?: number | undefined } | undefined;
  mqttUrl: string;
  username?: string | undefined;
  password?: string | undefined;
  registry: StationRegistry | RegistryConfig;
  scenario?: Scenario | undefined;
  /** config/rivers.yaml (loadRivers): the spill then travels at velocities inside its reaches' ranges. */
  rivers?: RiversFile | undefined;
  /** Simulated time per wall-clock time (60: one simulated minute per second). */
  speed: number;
  /** Scenario time per simulated time (1: the plume moves at the configured velocities). */
  compress: number;
  /** Wall-clock length of the run; Infinity to run until `signal` aborts. */
  durationMs: number;
  /** Share of messages sent as wire-contract JSON (the rest are HJ 212 frames), 0..1. */
  jsonShare: number;
  seed: number;
  onEvent?: ((e: SimEvent) => void) | undefined;
  /** Topic prefix (settings mqtt.topic_prefix). Default `tuojiang`. */
  topicPrefix?: string | undefined;
  /** Reporting intervals in simulated ms. Default water 5 min, air 1 h. */
  intervals?: Partial<Intervals> | undefined;
  incidents?: Partial<IncidentRates> | undefined;
  /** Share of HJ 212 frames asking for an answer (Flag=5). Default 0.1. */
  answerShare?: number | undefined;
  /** Share of messages deliberately broken (dead letters expected). Default 0. */
  invalidShare?: number | undefined;
  /** Messages awaiting their PUBACK at most. Default 100. */
  window?: number | undefined;
  /** Stops the run early; what was sent is still awaited and summarised. */
  signal?: AbortSignal | undefined;
  /** Only these station ids (default: all). */
  stations?: readonly string[] | undefined;
  /** Unbounded runs: start this far in the past (simulated ms). Default 24 h when speed > 1, else 0. */
  backfillMs?: number | undefined;
  /** Explicit simulated start (replays, tests). */
  simStart?: number | undefined;
  clientId?: string | undefined;
  /** Wall clock (tests). */
  now?: (() => number) | undefined;
  /** How often a `progress` event is emitted, wall ms. Default 5000; 0 = never. */
  progressEveryMs?: number | undefined;
}

interface Times {
  /** Wall-clock instant the event happened (acknowledgement time for reading events). */
  wall: number;
  /** Simulated instant it concerns (the reading's timestamp). */
  sim: number;
}

export interface SectionArrival {
  station: string;
  city: string;
  km: number;
  travelHours: number;
  arrivalSim: number;
  arrivalWall: number;
  peakMgL: number;
}

export type SimEvent =
  | (Times & {
      type: 'start';
      simEnd: number;
      speed: number;
      compress: number;
      stations: string[];
      scenario?: ScenarioName;
      plan?: SpillPlan;
      arrivals?: SectionArrival[];
    })
  | (Times & { type: 'spill-start'; river: string; entryKm: number; refStation: string; peakMgL: number })
  /** A section's first reading above its class limit because of the plume. */
  | (Times & { type: 'plume-arrival'; station: string; city: string; km: number; value: number; limit: number; plannedArrivalSim: number })
  /** A section's first reading on the plume's plateau (or the last before it falls, if none was). */
  | (Times & { type: 'plume-peak'; station: string; city: string; km: number; value: number })
  /** A section's first reading back within its class limit after the plume. */
  | (Times & { type: 'plume-cleared'; station: string; city: string; km: number; value: number; limit: number })
  | (Times & { type: 'maintenance'; station: string; params: string[]; until: number })
  | (Times & { type: 'dropout'; station: string; until: number })
  | (Times & { type: 'invalid'; station: string; kind: InvalidKind; reason: string; encoding: Encoding })
  | (Times & { type: 'publish-failed'; station: string; error: string })
  | (Times & { type: 'progress'; messages: number; pending: number })
  | (Times & { type: 'end'; summary: SimSummary });

export interface StationCounts {
  /** Messages the broker acknowledged, valid or not. */
  messages: number;
  /** Valid readings acknowledged: what must end up stored. */
  readings: number;
  json: number;
  hj212: number;
  /** Readings with at least one M flag. */
  maintenance: number;
  invalid: number;
  /** Reporting instants skipped because the station was dropped out. */
  silent: number;
  failed: number;
}

export interface PlumeRecord {
  station: string;
  km: number;
  arrivedSim?: number;
  peakMgL?: number;
  peakSim?: number;
  clearedSim?: number;
}

export interface SimSummary {
  seed: number;
  speed: number;
  compress: number;
  scenario?: ScenarioName;
  simStart: number;
  /** The last simulated instant covered. */
  simEnd: number;
  wallStart: number;
  wallEnd: number;
  /** True when `signal` stopped the run before its end. */
  stopped: boolean;
  messages: number;
  readings: number;
  invalid: number;
  failed: number;
  silent: number;
  byStation: Record<string, StationCounts>;
  byEncoding: Record<Encoding, number>;
  /** Valid readings all flagged N, and readings with a maintenance (M) flag. */
  byFlag: { N: number; M: number };
  /** HJ 212 frames (valid ones) by their Flag: 4 no answer wanted, 5 answer wanted. */
  byHj212Flag: Record<'4' | '5', number>;
  /** Broken messages by the dead-letter reason the ingest should give them. */
  invalidByReason: Record<string, number>;
  maintenanceWindows: number;
  /** With transport tcp: frames the loggers wrote more than once (no answer in time, or a reconnect). */
  resent?: number;
  dropouts: number;
  plan?: SpillPlan;
  plume?: PlumeRecord[];
}

interface Meta {
  reading: SimReading;
  encoding: Encoding;
  invalid?: InvalidKind;
  hj212Flag?: Hj212Flag;
}

function share(name: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (!(x >= 0 && x <= 1)) throw new RangeError(`${name} must be between 0 and 1, got ${v}`);
  return x;
}

function emptyCounts(): StationCounts {
  return { messages: 0, readings: 0, json: 0, hj212: 0, maintenance: 0, invalid: 0, silent: 0, failed: 0 };
}

/** The class limit of NH3-N at a section (its target class), the line a plume "arrives" across. */
function nh3Limit(station: Station): number {
  const limit = classLimit('NH3N', (station.target_class ?? 'III') as GradedClass, station.waterbody ?? 'river');
  return limit && limit.kind === 'max' ? limit.value : 1.0;
}

/** After a stop request, how long messages already sent may take to be acknowledged. */
const ABORT_GRACE_MS = 5000;

/**
 * Waits for every PUBACK; once `signal` has aborted, waits at most `graceMs` more (a broker that has
 * gone away must not keep a Ctrl-C'd simulator hanging). Resolves false if it gave up.
 */
async function flushOrGiveUp(publisher: Outbox<Meta>, signal: AbortSignal | undefined, graceMs: number): Promise<boolean> {
  if (!signal) {
    await publisher.flush();
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const giveUp = new Promise<false>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve(false), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([publisher.flush().then(() => true as const), giveUp]);
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

export async function runSimulation(opts: SimOptions): Promise<SimSummary> {
  if (!(opts.speed > 0) || !Number.isFinite(opts.speed)) throw new RangeError(`speed must be a positive number, got ${opts.speed}`);
  if (!(opts.compress > 0) || !Number.isFinite(opts.compress))
    throw new RangeError(`compress must be a positive number, got ${opts.compress}`);
  if (!(opts.durationMs > 0)) throw new RangeError(`durationMs must be positive (Infinity to run until stopped), got ${opts.durationMs}`);
  const allTcp = opts.transport === 'tcp';
  const tcpIds = new Set(opts.tcpStations ?? []);
  const tcp = allTcp || tcpIds.size > 0 ? opts.hj212Tcp : undefined;
  if ((allTcp || tcpIds.size > 0) && !tcp) throw new RangeError("stations over TCP need hj212Tcp: the listener's host and port");
  const overTcp = (id: string): boolean => allTcp || tcpIds.has(id);
  const jsonShare = share('jsonShare', opts.jsonShare, 0.5);
  const answerShare = share('answerShare', opts.answerShare, 0.1);
  const invalidShare = share('invalidShare', opts.invalidShare, 0);
  const seed = normaliseSeed(opts.seed);
  const registry = opts.registry instanceof StationRegistry ? opts.registry : new StationRegistry(opts.registry);
  const wanted = opts.stations ? new Set(opts.stations) : undefined;
  const stations = registry.stations.filter((s) => !wanted || wanted.has(s.id));
  if (wanted) for (const id of wanted) if (!registry.get(id)) throw new RangeError(`unknown station "${id}"`);
  for (const id of tcpIds) if (!registry.get(id)) throw new RangeError(`unknown station "${id}"`);
  if (stations.length === 0) throw new RangeError('no stations to simulate');
  const intervals: Intervals = { ...DEFAULT_INTERVALS, ...opts.intervals };
  if (!(intervals.waterMs >= 1000) || !(intervals.airMs >= 1000)) throw new RangeError('reporting intervals must be at least 1 s');
  const incidents: IncidentRates = { ...DEFAULT_INCIDENTS, ...opts.incidents };
  const prefix = opts.topicPrefix ?? 'tuojiang';
  const now = opts.now ?? Date.now;
  const emit = (e: SimEvent): void => opts.onEvent?.(e);
  const given: SpillScenario | undefined =
    opts.scenario === undefined ? undefined : typeof opts.scenario === 'string' ? { name: opts.scenario } : opts.scenario;
  const scenario = given && withRiverVelocities(given, opts.rivers, given.velocityInRange);
  if (scenario && scenario.name !== 'spill')
    throw new RangeError(`unknown scenario "${String((scenario as { name: unknown }).name)}"; known: ${SCENARIOS.join(', ')}`);
  // Refuse a bad scenario before connecting (the real plan needs the clock, which starts after).
  if (scenario) planSpill(registry, scenario, opts.compress, 0);

  let client: MqttClient | undefined;
  // The broker is needed unless every station is a logger over TCP.
  if (!stations.every((s) => overTcp(s.id)))
    try {
      client = await mqtt.connectAsync(
        opts.mqttUrl,
        {
          ...(opts.username !== undefined ? { username: opts.username } : {}),
          ...(opts.password !== undefined ? { password: opts.password } : {}),
          protocolVersion: 5,
          clientId: opts.clientId ?? `tuojiang-sim-${randomBytes(4).toString('hex')}`,
          reconnectPeriod: 1000,
          connectTimeout: 10_000,
        },
        false,
      );
    } catch (e) {
      throw new TuojiangError(
        'MQTT_CONNECT',
        `cannot connect to ${opts.mqttUrl.replace(/\/\/[^@/]*@/, '//(hidden)@')} as ${opts.username ?? '(anonymous)'}: ${(e as Error).message}`,
      );
    }

  const wallStart = now();
  const clock = createClock({
    wallStart,
    speed: opts.speed,
    durationMs: opts.durationMs,
    backfillMs: opts.backfillMs ?? (opts.speed > 1 ? 24 * 3_600_000 : 0),
    ...(opts.simStart !== undefined ? { simStart: opts.simStart } : {}),
  });
  const simEnd = Number.isFinite(opts.durationMs) ? clock.simStart + opts.durationMs * opts.speed : Infinity;
  const plan = scenario ? planSpill(registry, scenario, opts.compress, clock.simStart) : undefined;
  const ctx: ReadingContext = { seed, incidents, plan };

  const summary: SimSummary = {
    seed,
    speed: opts.speed,
    compress: opts.compress,
    ...(scenario ? { scenario: scenario.name } : {}),
    simStart: clock.simStart,
    simEnd: clock.simStart,
    wallStart,
    wallEnd: wallStart,
    stopped: false,
    messages: 0,
    readings: 0,
    invalid: 0,
    failed: 0,
    silent: 0,
    byStation: Object.fromEntries(stations.map((s) => [s.id, emptyCounts()])),
    byEncoding: { json: 0, hj212: 0 },
    byFlag: { N: 0, M: 0 },
    byHj212Flag: { '4': 0, '5': 0 },
    invalidByReason: {},
    maintenanceWindows: 0,
    dropouts: 0,
    ...(plan ? { plan } : {}),
  };
  const counts = (id: string): StationCounts => summary.byStation[id]!;

  // Plume bookkeeping per section: arrival (first reading over the limit), peak (once it falls), cleared.
  type Phase = 'clean' | 'above' | 'peaked' | 'cleared';
  const plume = new Map<string, PlumeRecord & { phase: Phase; prevPlume: number; limit: number }>();
  for (const s of plan?.sections ?? []) {
    const st = registry.get(s.station)!;
    plume.set(s.station, { station: s.station, km: s.km, phase: 'clean', prevPlume: 0, limit: nh3Limit(st) });
  }
  const lastMaintenance = new Map<string, number>();
  const lastDropout = new Map<string, number>();
  const failedStations = new Set<string>();

  const trackPlume = (r: SimReading): void => {
    const p = plume.get(r.station.id);
    const value = r.values.NH3N;
    if (!p || value === undefined || r.flags.NH3N !== 'N') return;
    const section = plan!.sections.find((s) => s.station === r.station.id)!;
    const base = { wall: now(), sim: r.ts, station: r.station.id, city: r.station.city, km: section.km };
    if (r.plumeMgL > 0 && (p.peakMgL === undefined || value > p.peakMgL)) {
      p.peakMgL = value;
      p.peakSim = r.ts;
    }
    if (p.phase === 'clean' && r.plumeMgL > 0 && value > p.limit) {
      p.phase = 'above';
      p.arrivedSim = r.ts;
      emit({ type: 'plume-arrival', ...base, value, limit: p.limit, plannedArrivalSim: section.arrivalMs });
    } else if (p.phase === 'above' || p.phase === 'peaked') {
      // The plateau is flat: its first reading is the peak a bureau sees (the summary keeps the maximum).
      const onPlateau = r.plumeMgL >= section.peakMgL * (1 - 1e-9);
      if (p.phase === 'above' && (onPlateau || r.plumeMgL < p.prevPlume || value <= p.limit)) {
        p.phase = 'peaked';
        emit({ type: 'plume-peak', ...base, value });
      }
      if (value <= p.limit) {
        p.phase = 'cleared';
        p.clearedSim = r.ts;
        emit({ type: 'plume-cleared', ...base, value, limit: p.limit });
      }
    }
    p.prevPlume = r.plumeMgL;
  };

  const onAck = (m: Meta): void => {
    const { reading: r } = m;
    const c = counts(r.station.id);
    c.messages++;
    summary.messages++;
    summary.byEncoding[m.encoding]++;
    c[m.encoding]++;
    if (m.invalid) {
      const reason = INVALID_KINDS[m.invalid];
      c.invalid++;
      summary.invalid++;
      summary.invalidByReason[reason] = (summary.invalidByReason[reason] ?? 0) + 1;
      emit({ type: 'invalid', wall: now(), sim: r.ts, station: r.station.id, kind: m.invalid, reason, encoding: m.encoding });
      return;
    }
    c.readings++;
    summary.readings++;
    if (m.hj212Flag) summary.byHj212Flag[String(m.hj212Flag) as '4' | '5']++;
    if (r.maintenance) {
      c.maintenance++;
      summary.byFlag.M++;
      if (lastMaintenance.get(r.station.id) !== r.maintenance.from) {
        lastMaintenance.set(r.station.id, r.maintenance.from);
        summary.maintenanceWindows++;
        const params = Object.entries(r.flags)
          .filter(([, f]) => f === 'M')
          .map(([k]) => k);
        emit({ type: 'maintenance', wall: now(), sim: r.ts, station: r.station.id, params, until: r.maintenance.to });
      }
    } else {
      summary.byFlag.N++;
    }
    trackPlume(r);
  };

  const onFail = (m: Meta, error: Error): void => {
    const c = counts(m.reading.station.id);
    c.failed++;
    summary.failed++;
    if (!failedStations.has(m.reading.station.id)) {
      failedStations.add(m.reading.station.id);
      emit({ type: 'publish-failed', wall: now(), sim: m.reading.ts, station: m.reading.station.id, error: error.message });
    }
  };

  const tcpPublisher = tcp
    ? new TcpPublisher<Meta>(
        () =>
          new TcpLogger({
            host: tcp.host,
            port: tcp.port,
            ...(tcp.resendAfterMs !== undefined ? { resendAfterMs: tcp.resendAfterMs } : {}),
          }),
        (m) => m.reading.station.id,
        opts.window ?? 100,
        onAck,
        onFail,
      )
    : undefined;
  const mqttPublisher = client ? new WindowedPublisher<Meta>(client, opts.window ?? 100, onAck, onFail) : undefined;
  // Each station through its own transport: the broker, or its logger's TCP connection.
  const publisher: Outbox<Meta> = {
    get pending() {
      return (mqttPublisher?.pending ?? 0) + (tcpPublisher?.pending ?? 0);
    },
    get failures() {
      return [...(mqttPublisher?.failures ?? []), ...(tcpPublisher?.failures ?? [])];
    },
    publish: (topic, payload, meta) => (overTcp(meta.reading.station.id) ? tcpPublisher! : mqttPublisher!).publish(topic, payload, meta),
    flush: async () => {
      await Promise.all([mqttPublisher?.flush(), tcpPublisher?.flush()]);
    },
  };

  const publishSlot = async (slot: Slot): Promise<void> => {
    const { station, ts } = slot;
    const outcome = slotAt(ctx, station, ts);
    if (outcome.kind === 'silent') {
      counts(station.id).silent++;
      summary.silent++;
      if (lastDropout.get(station.id) !== outcome.window.from) {
        lastDropout.set(station.id, outcome.window.from);
        summary.dropouts++;
        emit({ type: 'dropout', wall: now(), sim: ts, station: station.id, until: outcome.window.to });
      }
      return;
    }
    const r = outcome.reading;
    // A logger on TCP speaks HJ 212 only, and asks for every data answer: it keeps a frame until answered.
    const encoding: Encoding = !overTcp(station.id) && uniform(seed, 'encoding', station.id, ts) < jsonShare ? 'json' : 'hj212';
    // Never break a reading the scenario's story depends on.
    if (invalidShare > 0 && r.plumeMgL === 0 && uniform(seed, 'invalid', station.id, ts) < invalidShare) {
      const kinds = invalidKindsFor(encoding);
      const kind = kinds[hash32(seed, 'invalid-kind', station.id, ts) % kinds.length]!;
      await publisher.publish(topicOf(prefix, station), encodeInvalid(r, kind, overTcp(station.id) ? tcp?.password : undefined), {
        reading: r,
        encoding,
        invalid: kind,
      });
      return;
    }
    if (encoding === 'json') {
      const style = uniform(seed, 'ts-style', station.id, ts) < 0.5 ? 'iso' : 'epoch';
      await publisher.publish(topicOf(prefix, station), encodeJson(r, style), { reading: r, encoding });
    } else {
      const flag: Hj212Flag = overTcp(station.id) || uniform(seed, 'answer', station.id, ts) < answerShare ? 5 : 4;
      await publisher.publish(topicOf(prefix, station), encodeHj212(r, flag, seed, overTcp(station.id) ? tcp?.password : undefined), {
        reading: r,
        encoding,
        hj212Flag: flag,
      });
    }
  };

  const arrivals: SectionArrival[] | undefined = plan?.sections.map((s) => ({
    station: s.station,
    city: s.city,
    km: s.km,
    travelHours: s.travelHours,
    arrivalSim: s.arrivalMs,
    arrivalWall: clock.toWall(s.arrivalMs),
    peakMgL: s.peakMgL,
  }));
  emit({
    type: 'start',
    wall: wallStart,
    sim: clock.simStart,
    simEnd,
    speed: opts.speed,
    compress: opts.compress,
    stations: stations.map((s) => s.id),
    ...(scenario ? { scenario: scenario.name } : {}),
    ...(plan ? { plan } : {}),
    ...(arrivals ? { arrivals } : {}),
  });

  let cursor = clock.simStart - 1; // slots are (cursor, target]: the first one may fall on simStart
  let spillAnnounced = false;
  let lastProgress = wallStart;
  let gaveUp = false;
  const progressEvery = opts.progressEveryMs ?? 5000;
  try {
    outer: while (!opts.signal?.aborted) {
      const target = Math.min(clock.toSim(now()), simEnd);
      if (target > cursor) {
        for (const slot of slotsBetween(stations, intervals, cursor, target)) {
          if (opts.signal?.aborted) {
            cursor = slot.ts - 1;
            break outer;
          }
          if (plan && !spillAnnounced && slot.ts >= plan.startMs) {
            spillAnnounced = true;
            emit({
              type: 'spill-start',
              wall: now(),
              sim: plan.startMs,
              river: plan.river,
              entryKm: plan.entryKm,
              refStation: plan.refStation,
              peakMgL: plan.peakMgL,
            });
          }
          await publishSlot(slot);
        }
        cursor = target;
      }
      if (cursor >= simEnd) break;
      const wall = now();
      if (progressEvery > 0 && wall - lastProgress >= progressEvery) {
        lastProgress = wall;
        emit({ type: 'progress', wall, sim: cursor, messages: summary.messages, pending: publisher.pending });
      }
      const next = Math.min(nextSlotAfter(stations, intervals, cursor), simEnd);
      const wait = Math.max(1, Math.min(250, clock.toWall(next) - now()));
      try {
        await sleep(wait, undefined, opts.signal ? { signal: opts.signal } : {});
      } catch {
        break; // aborted
      }
    }
    gaveUp = !(await flushOrGiveUp(publisher, opts.signal, ABORT_GRACE_MS));
  } finally {
    await client?.endAsync(gaveUp).catch(() => undefined);
    tcpPublisher?.close();
  }
  if (tcpPublisher) summary.resent = tcpPublisher.resent;

  summary.stopped = cursor < simEnd && (opts.signal?.aborted ?? false);
  summary.simEnd = Math.max(clock.simStart, cursor);
  summary.wallEnd = now();
  if (plan) summary.plume = [...plume.values()].map(({ phase: _p, prevPlume: _v, limit: _l, ...rec }) => rec);
  emit({ type: 'end', wall: summary.wallEnd, sim: summary.simEnd, summary });
  return summary;
}
