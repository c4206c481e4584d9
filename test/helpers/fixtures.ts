/**
 * Payload builders and small readers shared by the ingest tests: wire-contract JSON, HJ 212 frames
 * (through the project's own encoder, whose correctness test/unit/hj212-*.test.ts establishes),
 * Prometheus text and the dead-letter stream.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { loadConfig } from '../../config/load.js';
import { TuojiangError } from '../../lib/errors.js';
import { encodeCp, encodeFrame, epochMsToDataTime, epochMsToQn, parseFrame, type Hj212Frame } from '../../ingest/hj212/frame.js';
import { readDeadLetters, type StoredDeadLetter } from '../../ingest/journal.js';
import type { InfluxClient } from '../../lib/influx/client.js';
import { StationRegistry } from '../../config/station-registry.js';
import { waitFor } from './ingest-stack.js';

/** The shipped registry (config/stations.yaml), as the ingest sees it. */
export function shippedRegistry(): StationRegistry {
  return new StationRegistry(loadConfig().registry);
}

/** MNs of stations in config/stations.yaml. */
export const MN = {
  zhaozhen: '510121W0000000000000A001',
  huaikou: '510121W0000000000000A002',
  hongyuan: '510185W0000000000000A003',
  shiqiao: '510185W0000000000000A004',
  linjiangsi: '512002W0000000000000A005',
  'ziyang-city': '512002W0000000000000A006',
  gongchengpu: '512002W0000000000000A007',
  'jianyang-shijian': '510185A0000000000000B001',
  'jianyang-hedong': '510185A0000000000000B002',
  'ziyang-shijian': '512002A0000000000000B003',
  'ziyang-yanjiang': '512002A0000000000000B004',
} as const;

export type StationId = keyof typeof MN;

export const WATER_STATIONS: StationId[] = ['zhaozhen', 'huaikou', 'hongyuan', 'shiqiao', 'linjiangsi', 'ziyang-city', 'gongchengpu'];
export const AIR_STATIONS: StationId[] = ['jianyang-shijian', 'jianyang-hedong', 'ziyang-shijian', 'ziyang-yanjiang'];

export function kindOf(station: string): 'water' | 'air' {
  return (AIR_STATIONS as string[]).includes(station) ? 'air' : 'water';
}

export function topicOf(station: string, kind: 'water' | 'air' = kindOf(station)): string {
  return `tuojiang/${kind}/${station}`;
}

export interface JsonReadingInput {
  ts: number | string;
  values: Record<string, unknown>;
  flags?: Record<string, unknown>;
  station?: string;
}

/** A wire-contract JSON payload (key order: ts, values, flags, station). */
export function jsonPayload(r: JsonReadingInput): string {
  return JSON.stringify({
    ts: r.ts,
    values: r.values,
    ...(r.flags ? { flags: r.flags } : {}),
    ...(r.station ? { station: r.station } : {}),
  });
}

export interface FrameInput {
  mn: string;
  /** Sampling instant (epoch ms); written as DataTime in China Standard Time. Omit for no DataTime. */
  ts?: number;
  cn?: string;
  st?: string;
  pw?: string;
  /** Default: a QN made from ts (or omitted when ts is). */
  qn?: string | null;
  /** Default 4 (version 2017, no answer wanted); null omits Flag (2005 style). */
  flag?: number | null;
  pnum?: number;
  pno?: number;
  /** factor code -> suffix -> value as sent. */
  items: Record<string, Record<string, string | number>>;
  other?: Record<string, string | number>;
}

/** A complete HJ 212 frame, `##dddd…CRC\r\n`, with a correct length and CRC. */
export function hj212Frame(f: FrameInput): string {
  const qn = f.qn === null ? undefined : (f.qn ?? (f.ts !== undefined ? epochMsToQn(f.ts) : undefined));
  return encodeFrame({
    qn,
    st: f.st ?? '21',
    cn: f.cn ?? '2011',
    pw: f.pw ?? '123456',
    mn: f.mn,
    flag: f.flag === null ? undefined : (f.flag ?? 4),
    pnum: f.pnum,
    pno: f.pno,
    cp: encodeCp(f.ts !== undefined ? epochMsToDataTime(f.ts) : undefined, f.items, f.other ?? {}),
  });
}

/** Parsed frame for the decoder's unit tests. */
export function frameOf(f: FrameInput): Hj212Frame {
  return parseFrame(hj212Frame(f));
}

/** waitFor for a lookup: resolves with the first value found (typed without the "not yet"). */
export async function eventually<T>(find: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  return (await waitFor(find, timeoutMs, what)) as T;
}

/** Value of one Prometheus sample, e.g. metric(text, 'tuojiang_readings_rejected_total', { reason: 'TJ_X' }); 0 if absent. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const [, k, v] of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[k!] = v!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      sum += Number(m[4]);
      found = true;
    }
  }
  return found ? sum : 0;
}

/** Sum of every label combination of a counter, e.g. all rejected reasons. */
export function metricsByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{[^}]*${label}="([^"]*)"[^}]*\\} (\\S+)$`).exec(line);
    if (m) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

export async function fetchMetrics(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** Every dead letter in the stream (newest first), optionally of one reason. */
export async function deadLetters(redis: Redis, reason?: string, stream = 'tuojiang:deadletters'): Promise<StoredDeadLetter[]> {
  return readDeadLetters(redis, stream, { limit: 1_000_000, reason });
}

/** The stored bytes of a dead letter: the whole payload, or its first DEAD_LETTER_PREFIX_BYTES. */
export function deadLetterBytes(d: StoredDeadLetter): Buffer {
  return d.encoding === 'base64' ? Buffer.from(d.payload, 'base64') : Buffer.from(d.payload, 'utf8');
}

export const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The dead letter records exactly this payload: its hash and size, and a prefix of its bytes. */
export function isDeadLetterOf(d: StoredDeadLetter, payload: Buffer): boolean {
  const stored = deadLetterBytes(d);
  return d.sha256 === sha256Hex(payload) && d.size === payload.length && payload.subarray(0, stored.length).equals(stored);
}

export type Row = Record<string, unknown>;

/** Rows of an InfluxQL query as objects (column -> value); time in epoch ms. */
export async function rows(influx: InfluxClient, q: string): Promise<Row[]> {
  const out: Row[] = [];
  for (const series of await influx.query(q)) {
    for (const values of series.values) {
      const row: Row = { ...(series.tags ?? {}) };
      series.columns.forEach((c, i) => {
        row[c] = values[i];
      });
      out.push(row);
    }
  }
  return out;
}

/** Points of one station at one instant (all periods), as rows with tags and fields. */
export async function pointsAt(influx: InfluxClient, measurement: string, station: string, ts: number): Promise<Row[]> {
  return rows(influx, `SELECT * FROM "${measurement}" WHERE "station" = '${station}' AND time = ${ts}ms`);
}

/**
 * The point at `ts` once it carries every field in `fields`. InfluxDB 1.x stores each field of a
 * point under its own key and does not make one write atomic to a query: on a busy machine a query
 * can see a point with some of its fields, a moment before the rest.
 */
export function pointWith(influx: InfluxClient, measurement: string, station: string, ts: number, fields: readonly string[]): Promise<Row> {
  return eventually(
    async () => {
      const [p] = await pointsAt(influx, measurement, station, ts);
      return p && fields.every((f) => p[f] !== null && p[f] !== undefined) ? p : undefined;
    },
    `the ${measurement} point of ${station} at ${new Date(ts).toISOString()} with ${fields.join(', ')}`,
  );
}

/** A seeded PRNG (mulberry32): the fuzz test's inputs are the same on every run. */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!, chance: (p: number) => next() < p };
}

/** The stable code of the TuojiangError `fn` throws; anything else (or nothing) fails the test. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof TuojiangError) return e.code;
    throw e;
  }
  throw new Error('expected a TuojiangError, got none');
}

/** codeOf for a promise, or a function that throws or rejects. */
export async function codeOfAsync(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof TuojiangError) return e.code;
    throw e;
  }
  throw new Error('expected a TuojiangError, got none');
}
