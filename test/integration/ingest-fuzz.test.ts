/**
 * Fuzz the ingest over MQTT: valid JSON readings and HJ 212 frames, mutated (byte flips, truncation,
 * insertion, field swaps, huge numbers, wrong types, and segments re-framed with a correct length and
 * CRC so the mutations reach the field parsing), published with QoS 1 from a seeded PRNG.
 *
 * Whatever arrives, each message must end as exactly one stored reading or one dead letter: the
 * counters add up, the dead-letter stream holds the rejected payloads byte for byte, and InfluxDB holds
 * exactly the points of the accepted payloads — so nothing of a dead-lettered payload.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameSegment } from '../../ingest/hj212/frame.js';
import type { IngestService } from '../../ingest/ingest-service.js';
import { DEAD_LETTER_PREFIX_BYTES } from '../../ingest/journal.js';
import { PARAMETERS, type Medium } from '../../lib/parameters.js';
import {
  AIR_STATIONS,
  MN,
  WATER_STATIONS,
  deadLetterBytes,
  deadLetters,
  sha256Hex,
  fetchMetrics,
  hj212Frame,
  jsonPayload,
  kindOf,
  metric,
  metricsByLabel,
  pointsAt,
  prng,
  rows,
  topicOf,
  type StationId,
} from '../helpers/fixtures.js';
import { publishAll, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

const SEED = 0x7a0_212;
const BASES = 12_000;
const T0 = Date.parse('2025-01-01T00:00:00Z');

let stack: IngestStack;
let svc: IngestService;
let redis: Redis;

beforeAll(async () => {
  stack = await startIngestStack();
  svc = await stack.startIngest();
  redis = new Redis(stack.env.REDIS_URL);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

interface Message {
  topic: string;
  payload: Buffer;
}

const rng = prng(SEED);
const { int, pick, chance } = rng;
const STATIONS: StationId[] = [...WATER_STATIONS, ...AIR_STATIONS];

/** Plausible ranges, in the unit each station sends (gongchengpu: NH3N in µg/L). */
const RANGES: Record<string, [number, number]> = {
  temp: [2, 30],
  pH: [6, 9],
  DO: [2, 10],
  cond: [100, 1000],
  turb: [0, 100],
  CODMn: [1, 10],
  COD: [5, 40],
  BOD5: [1, 10],
  NH3N: [0.01, 2],
  TP: [0.01, 0.4],
  TN: [0.1, 3],
  Cu: [0, 0.01],
  Zn: [0, 0.05],
  F: [0.1, 1],
  Se: [0, 0.01],
  As: [0, 0.01],
  Hg: [0, 0.0001],
  Cd: [0, 0.001],
  Cr6: [0, 0.01],
  Pb: [0, 0.01],
  CN: [0, 0.005],
  phenol: [0, 0.002],
  petroleum: [0, 0.05],
  LAS: [0, 0.2],
  sulfide: [0, 0.05],
  fecal_coliform: [0, 5000],
  PM2_5: [5, 150],
  PM10: [10, 300],
  SO2: [2, 50],
  NO2: [5, 100],
  CO: [0.2, 3],
  O3: [10, 200],
};

function value(station: string, key: string): number {
  const [lo, hi] = RANGES[key]!;
  const v = Number((lo + rng.next() * (hi - lo)).toFixed(int(5)));
  return station === 'gongchengpu' && key === 'NH3N' ? v * 1000 : v;
}

const paramsOf = (m: Medium) => PARAMETERS.filter((p) => p.medium === m);
const FLAGS = ['N', 'N', 'N', 'F', 'M', 'S', 'D', 'C', 'T', 'B'];

function someParams(station: string, withCodes: boolean) {
  const all = paramsOf(kindOf(station)).filter((p) => !withCodes || (p.hj212?.length ?? 0) > 0);
  const n = 1 + int(Math.min(6, all.length));
  const chosen = new Set<(typeof all)[number]>();
  while (chosen.size < n) chosen.add(pick(all));
  return [...chosen];
}

// ---- valid bases -------------------------------------------------------------------------------

function baseJson(i: number): { topic: string; body: Record<string, unknown> } {
  const station = pick(STATIONS);
  const ts = T0 + i * 1000;
  const values: Record<string, number> = {};
  const flags: Record<string, string> = {};
  for (const p of someParams(station, false)) {
    values[p.key] = value(station, p.key);
    if (chance(0.3)) flags[p.key] = pick(FLAGS);
  }
  const body: Record<string, unknown> = { ts: chance(0.3) ? isoInCst(ts) : ts, values };
  if (Object.keys(flags).length > 0) body.flags = flags;
  if (chance(0.2)) body.station = station;
  return { topic: topicOf(station), body };
}

function isoInCst(ms: number): string {
  return new Date(ms + 8 * 3_600_000).toISOString().replace('Z', '+08:00');
}

const CNS = ['2011', '2051', '2061', '2031'] as const;

function baseFrame(i: number): { topic: string; frame: string; station: StationId } {
  const station = pick(STATIONS);
  const cn = pick(CNS);
  const items: Record<string, Record<string, string>> = {};
  for (const p of someParams(station, true)) {
    const code = pick(p.hj212!);
    const v = value(station, p.key);
    const fields: Record<string, string> = cn === '2011' ? { Rtd: String(v) } : { Avg: String(v) };
    if (cn !== '2011' && chance(0.4)) Object.assign(fields, { Min: String(v * 0.8), Max: String(v * 1.2) });
    if (chance(0.6)) fields.Flag = pick(FLAGS);
    items[code] = fields;
  }
  if (station === 'gongchengpu' && chance(0.5)) items.w00000 = { [cn === '2011' ? 'Rtd' : 'Avg']: '12.5' };
  const frame = hj212Frame({
    mn: chance(0.1) ? MN[station].toLowerCase() : MN[station],
    ts: T0 + i * 1000,
    cn,
    st: kindOf(station) === 'water' ? '21' : '22',
    flag: pick([4, 4, 4, 5, 0]),
    ...(chance(0.1) ? { qn: null } : {}),
    items,
    ...(chance(0.1) ? { other: { RtdInterval: 30 } } : {}),
  });
  return { topic: topicOf(station), frame, station };
}

// ---- mutations ---------------------------------------------------------------------------------

const HUGE = [
  '1e308',
  '-1e308',
  '1.7976931348623157e308',
  '5e-324',
  '1e21',
  '-0',
  '9007199254740993',
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
];
const WRONG = ['null', 'true', 'false', '"x"', '""', '[]', '{}', '[1]', '0', '-1', '"0.5"', '{"a":1}'];
const TOKENS = [
  ',',
  '}',
  '{',
  '"',
  ':',
  ']',
  '[',
  '\\',
  '\\u0000',
  '\u0000',
  '氨氮',
  '\ufeff',
  ';',
  '=',
  '&&',
  '&',
  '-',
  '##',
  '\r\n',
  ' ',
  'e',
  '.',
  'N',
  'w21003',
  'DataTime=',
  'CP=',
  'Flag=',
  'MN=',
  'CN=2011',
];

function bytes(s: string | Buffer): Buffer {
  return Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
}

function flipByte(b: Buffer): Buffer {
  if (b.length === 0) return Buffer.from([int(256)]);
  const out = Buffer.from(b);
  const at = int(out.length);
  out[at] = out[at]! ^ (1 + int(255));
  return out;
}

function truncate(b: Buffer): Buffer {
  return b.subarray(0, int(b.length));
}

function insert(b: Buffer): Buffer {
  const at = int(b.length + 1);
  const what = chance(0.5) ? Buffer.from(pick(TOKENS)) : Buffer.from(Array.from({ length: 1 + int(4) }, () => int(256)));
  return Buffer.concat([b.subarray(0, at), what, b.subarray(at)]);
}

function cut(b: Buffer): Buffer {
  const at = int(b.length);
  return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(8))]);
}

function duplicate(b: Buffer): Buffer {
  const at = int(b.length);
  const len = 1 + int(12);
  return Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
}

const byteMutations = [flipByte, truncate, insert, cut, duplicate];

function mutateJsonBody(body: Record<string, unknown>): string {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  // A second mutation may meet a body the first one broke.
  const values = isObject(body.values) ? body.values : {};
  const keys = Object.keys(values);
  const k = keys.length > 0 ? pick(keys) : 'NH3N';
  switch (int(12)) {
    case 0: {
      // swap two top-level fields
      const a = pick(['ts', 'values', 'flags', 'station']);
      const b = pick(['ts', 'values', 'flags', 'station']);
      [body[a], body[b]] = [body[b], body[a]];
      break;
    }
    case 1: {
      // swap the values of two parameters (still valid, or out of range)
      const k2 = pick(keys);
      [values[k], values[k2]] = [values[k2], values[k]];
      break;
    }
    case 2: // a huge number, spliced in as text so that 1e400 stays 1e400
      return JSON.stringify(body).replace(`"${k}":${JSON.stringify(values[k])}`, `"${k}":${pick(HUGE)}`);
    case 3: // a wrong type somewhere
      return JSON.stringify(body).replace(
        pick([`"${k}":${JSON.stringify(values[k])}`, `"ts":${JSON.stringify(body.ts)}`]),
        (m) => `${m.split(':')[0]}:${pick(WRONG)}`,
      );
    case 4:
      body[pick(['values', 'flags', 'station', 'ts'])] = JSON.parse(pick(WRONG));
      break;
    case 5:
      delete body[pick(['ts', 'values', 'flags', 'station'])];
      break;
    case 6: // unknown or foreign parameter, or an unknown top-level key
      if (chance(0.5)) values[pick(['ammonia', 'PM10', 'NH3N', 'pH', 'nh3n', '', '__proto__', 'constructor'])] = 1;
      else body[pick(['unit', 'Station', 'time'])] = 'x';
      break;
    case 7: {
      // other timestamp forms
      const ts = typeof body.ts === 'number' ? body.ts : T0;
      body.ts = pick([
        new Date(ts).toISOString().replace('Z', ''),
        Math.floor(ts / 1000),
        String(ts),
        new Date(ts).toISOString(),
        ts + 0.5,
        Date.now() + 86_400_000 * (1 + int(1000)),
        Date.parse('1999-12-31T23:59:59Z'),
        isoInCst(ts).replace('-01T', '-30T'),
      ]);
      break;
    }
    case 8: // a flag: any letter, or for a parameter without a value
      body.flags = {
        ...(body.flags as object),
        [chance(0.7) ? k : pick(['DO', 'PM10', 'toString', 'x'])]: pick(['N', 'M', 'X', 'n', '', 'NN', 1, null]),
      };
      break;
    case 9: // the body names a station: the topic's, another, an unknown one
      body.station = pick([...STATIONS, 'nowhere', '']);
      break;
    case 10: // empty values
      body.values = {};
      break;
    default: // a value out of its physical range
      values[k] = pick([-1, -0.001, 15, 1e6, -1e6]);
  }
  return JSON.stringify(body);
}

function splitSegment(frame: string): { segment: string } {
  return { segment: frame.slice(6, -6) };
}

/** Mutate the data segment and re-frame it with a correct length and CRC: the mutation reaches the field parsing. */
function mutateSegment(segment: string): string {
  const cpAt = segment.indexOf('CP=&&');
  const header = segment
    .slice(0, cpAt)
    .split(';')
    .filter((s) => s !== '');
  const cp = segment.slice(cpAt + 5, -2);
  const groups = cp.split(';');
  const join = (h: string[], g: string[]) => `${h.join(';')};CP=&&${g.join(';')}&&`;
  const pairs = () => groups.flatMap((g) => g.split(','));
  switch (int(14)) {
    case 0: {
      // swap two header fields (order does not matter) or two header values (it does)
      const a = int(header.length);
      const b = int(header.length);
      if (chance(0.5)) [header[a], header[b]] = [header[b]!, header[a]!];
      else {
        const [ka, va] = header[a]!.split('=');
        const [kb, vb] = header[b]!.split('=');
        header[a] = `${ka}=${vb}`;
        header[b] = `${kb}=${va}`;
      }
      return join(header, groups);
    }
    case 1: {
      // swap two CP groups, or two values inside the CP
      if (chance(0.5)) {
        const a = int(groups.length);
        const b = int(groups.length);
        [groups[a], groups[b]] = [groups[b]!, groups[a]!];
        return join(header, groups);
      }
      const ps = pairs();
      const a = int(ps.length);
      const b = int(ps.length);
      const [ka, va] = ps[a]!.split('=');
      const [kb, vb] = ps[b]!.split('=');
      ps[a] = `${ka}=${vb}`;
      ps[b] = `${kb}=${va}`;
      return join(header, [ps.join(',')]);
    }
    case 2: {
      // a huge, negative or non-numeric value
      const ps = pairs();
      const a = int(ps.length);
      ps[a] = `${ps[a]!.split('=')[0]}=${pick([...HUGE, 'abc', '', '-5', 'NaN', 'Infinity', '0x1F', '１２', '1,5', '+.5', '.'])}`;
      return join(header, [ps.join(';')]);
    }
    case 3: {
      // DataTime: none, impossible, out of range, another form
      const ps = pairs().filter((p) => !p.startsWith('DataTime='));
      const dt = pick([
        null,
        '20250230080000',
        '99999999999999',
        '19991231235959',
        '10250101000000',
        '2025010108000',
        '20250101080000000',
        'x',
        '20991231000000',
      ]);
      return join(header, dt === null ? [ps.join(';')] : [`DataTime=${dt}`, ps.join(';')]);
    }
    case 4: {
      // CN: another data command, a non-data command, garbage
      const cn = pick(['2011', '2051', '2061', '2031', '1062', '9014', '2021', '', 'abc', '20111']);
      return join(
        header.map((h) => (h.startsWith('CN=') ? `CN=${cn}` : h)),
        groups,
      );
    }
    case 5: {
      // MN: lower case, another station, unknown, empty, missing
      const mn = pick([MN.hongyuan.toLowerCase(), MN[pick(STATIONS)], 'FFFFFFFFFFFFFFFFFFFFFFFF', '', null]);
      return join(
        header.flatMap((h) => (h.startsWith('MN=') ? (mn === null ? [] : [`MN=${mn}`]) : [h])),
        groups,
      );
    }
    case 6: {
      // Flag: any byte value, garbage, missing
      const flag = pick([String(int(256)), 'x', '', '-1', '256', null]);
      return join(
        header.flatMap((h) => (h.startsWith('Flag=') ? (flag === null ? [] : [`Flag=${flag}`]) : [h])),
        groups,
      );
    }
    case 7: // a key twice
      return chance(0.5) ? join([...header, pick(header)], groups) : join(header, [...groups, pick(groups)]);
    case 8: // an unknown factor, an ignored one, a foreign one, a vendor header field
      if (chance(0.25)) return join([...header, 'VND=1'], groups);
      return join(header, [...groups, `${pick(['w99999', 'w00000', 'a34004', 'w21003', 'xyz', '-Rtd', 'w21003-'])}-Rtd=1`]);
    case 9: {
      // the suffixes renamed
      const from = pick(['-Rtd=', '-Avg=', '-Flag=', '-Min=']);
      return join(
        header,
        groups.map((g) => g.split(from).join(pick(['-Rtd=', '-Avg=', '-Max=', '-Cou=', '-Flag=', '-X=', '=']))),
      );
    }
    case 10: {
      // a data flag: any letter
      return join(
        header,
        groups.map((g) => g.replace(/-Flag=[A-Z]/g, () => `-Flag=${pick(['N', 'M', 'X', 'n', '', 'NN', '1'])}`)),
      );
    }
    case 11: // no CP items at all
      return join(
        header,
        groups.filter((g) => g.startsWith('DataTime=')),
      );
    default: {
      // raw byte-level damage inside the segment
      const damaged = pick(byteMutations)(Buffer.from(segment));
      return damaged.toString('utf8');
    }
  }
}

function reframe(segment: string): string {
  try {
    return frameSegment(segment);
  } catch {
    return frameSegment(segment.slice(0, 9000));
  }
}

function mutateFrame(frame: string): Buffer {
  switch (int(8)) {
    case 0:
      return pick(byteMutations)(bytes(frame)); // damaged in transit: length/CRC/envelope errors
    case 1:
      return bytes(frame.replace(/([0-9A-F]{4})\r\n$/, (_m, c: string) => `${c.toLowerCase()}\r\n`)); // lower-case CRC: valid
    case 2:
      return bytes(chance(0.5) ? frame.trimEnd() : ` \n${frame}`); // no CRLF / leading whitespace: valid
    default:
      return bytes(reframe(mutateSegment(splitSegment(frame).segment)));
  }
}

function mutateTopic(topic: string): string {
  const [, medium, station] = topic.split('/');
  switch (int(3)) {
    case 0:
      return topicOf(pick(STATIONS));
    case 1:
      return `tuojiang/${medium === 'water' ? 'air' : 'water'}/${station}`;
    default:
      return `tuojiang/${medium}/${pick(['nowhere', 'hongyuan2', 'x', 'ZIYANG-CITY', '资阳'])}`;
  }
}

function generate(): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < BASES; i++) {
    let topic: string;
    let payload: Buffer;
    if (i % 2 === 0) {
      const base = baseJson(i);
      topic = base.topic;
      let text = chance(0.15) ? JSON.stringify(base.body) : mutateJsonBody(base.body);
      if (chance(0.1)) text = mutateJsonBody(base.body); // two structural mutations
      payload = chance(0.3) ? pick(byteMutations)(bytes(text)) : bytes(text);
    } else {
      const base = baseFrame(i);
      topic = base.topic;
      payload = chance(0.15) ? bytes(base.frame) : mutateFrame(base.frame);
      if (chance(0.15)) payload = mutateFrame(payload.toString('utf8'));
    }
    if (chance(0.06)) topic = mutateTopic(topic);
    out.push({ topic, payload });
  }
  // a few oversized payloads: over the ingest's 32 KiB, under the broker's 64 KiB (which drops
  // larger ones before the ingest sees them: test/integration/broker-attacks.test.ts)
  for (let i = 0; i < 20; i++) {
    const valid = jsonPayload({ ts: T0 - (i + 1) * 1000, values: { NH3N: 0.5 } });
    out.push({ topic: 'tuojiang/water/hongyuan', payload: bytes(valid.replace('}}', `},"pad":"${'x'.repeat(32_768 + int(30_000))}"}`)) });
  }
  return out;
}

// ---- an independent reading of what an accepted payload is ------------------------------------

const CN_PERIOD: Record<string, string> = { '2011': 'rt', '2051': 'min', '2061': 'hour', '2031': 'day' };
const STATION_BY_MN = new Map(Object.entries(MN).map(([id, mn]) => [mn.toUpperCase(), id]));

function cstToMs(dt: string): number {
  const n = (a: number, b: number) => Number(dt.slice(a, b));
  return Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14)) - 8 * 3_600_000;
}

/** measurement|station|period|ts of the point an accepted payload must have produced. */
function keyOf(m: Message): string {
  const text = m.payload.toString('utf8');
  const station = m.topic.split('/')[2]!;
  const measurement = kindOf(station) === 'water' ? 'water_quality' : 'air_quality';
  if (text.trimStart().startsWith('##')) {
    const segment = text.trim().slice(6, -4);
    const header = segment.slice(0, segment.indexOf('CP=&&'));
    const field = (k: string) => new RegExp(`(?:^|;)${k}=([^;]*)`).exec(header)?.[1];
    const dt = /DataTime=(\d{14})/.exec(segment.slice(segment.indexOf('CP=&&')))?.[1];
    if (STATION_BY_MN.get((field('MN') ?? '').toUpperCase()) !== station) throw new Error(`accepted frame of another station: ${text}`);
    return `${measurement}|${station}|${CN_PERIOD[field('CN') ?? '']}|${cstToMs(dt!)}`;
  }
  const body = JSON.parse(text) as { ts: number | string };
  const ts = typeof body.ts === 'number' ? body.ts : Date.parse(body.ts);
  return `${measurement}|${station}|rt|${ts}`;
}

// Dead letters keep a prefix of the payload, its size and its SHA-256: the hash identifies it.
const messageId = (topic: string, payload: Buffer) => `${topic}\u0000${sha256Hex(payload)}`;

describe('fuzzing the ingest over MQTT', () => {
  it(`survives ${BASES} mutated JSON readings and HJ 212 frames; each is stored or dead-lettered, nothing else`, async () => {
    const messages = generate();
    expect(messages.length).toBeGreaterThanOrEqual(10_000);

    const pub = await stack.publisher();
    // publishAll is typed for text; MQTT.js sends a Buffer payload as its exact bytes.
    await publishAll(pub, messages);

    // A publisher's PUBACK comes from the broker: wait until the ingest has accounted for every message
    // (or more, which the assertions below then catch), and until the writer has caught up.
    await waitFor(
      async () => {
        const t = await fetchMetrics(svc.httpPort!);
        const accounted =
          metric(t, 'tuojiang_readings_journaled_total') +
          Object.values(metricsByLabel(t, 'tuojiang_readings_rejected_total', 'reason')).reduce((a, b) => a + b, 0);
        return metric(t, 'tuojiang_readings_in_total') >= messages.length && accounted >= messages.length;
      },
      30_000,
      'every message to be stored or dead-lettered',
    );
    await waitFor(
      async () => {
        const t = await fetchMetrics(svc.httpPort!);
        return metric(t, 'tuojiang_readings_written_total') >= metric(t, 'tuojiang_readings_journaled_total');
      },
      30_000,
      'the writer to catch up',
    );
    const text = await fetchMetrics(svc.httpPort!);
    const received = metric(text, 'tuojiang_readings_in_total');
    const journaled = metric(text, 'tuojiang_readings_journaled_total');
    const byReason = metricsByLabel(text, 'tuojiang_readings_rejected_total', 'reason');
    const rejected = Object.values(byReason).reduce((a, b) => a + b, 0);
    console.log(`fuzz: ${received} in, ${journaled} stored, ${rejected} dead-lettered`, JSON.stringify(byReason));
    expect(received).toBe(messages.length);
    expect(journaled + rejected).toBe(received);
    // the writer's own reasons would mean a reading acknowledged as stored was not
    expect(byReason.TJ_INTERNAL ?? 0).toBe(0);
    expect(byReason.TJ_INFLUX_REJECTED ?? 0).toBe(0);
    expect(metric(text, 'tuojiang_readings_written_total')).toBe(journaled);
    // not vacuous: many of both, and most of the reasons
    expect(journaled).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
    expect(Object.keys(byReason).length).toBeGreaterThanOrEqual(14);

    // The dead-letter stream holds exactly the rejected messages, byte for byte, plus one entry per
    // message of which only out-of-range values were refused and the reading kept, plus one per
    // mutation that re-sent a stored reading with other values (a correction, the first kept).
    const all = await deadLetters(redis);
    const corrections = all.filter((d) => d.reason === 'TJ_READING_CORRECTED');
    const dead = all.filter((d) => !d.readingKept && d.reason !== 'TJ_READING_CORRECTED');
    const partial = all.filter((d) => d.readingKept);
    expect(corrections).toHaveLength(metric(text, 'tuojiang_readings_corrected_total'));
    expect(await redis.xlen('tuojiang:deadletters')).toBe(rejected + partial.length + corrections.length);
    expect(dead).toHaveLength(rejected);
    expect(partial.length).toBeGreaterThan(0);
    for (const d of partial) expect(d.reason).toBe('TJ_IMPLAUSIBLE_VALUE');
    const unclaimed = new Map<string, number>();
    for (const m of messages) unclaimed.set(messageId(m.topic, m.payload), (unclaimed.get(messageId(m.topic, m.payload)) ?? 0) + 1);
    for (const d of dead) {
      const id = `${d.topic}\u0000${d.sha256}`;
      // The stored prefix: all of a small payload, 4 KiB of a large one (less up to 3 bytes of a cut character).
      const kept = deadLetterBytes(d).length;
      expect(kept).toBeLessThanOrEqual(Math.min(d.size!, DEAD_LETTER_PREFIX_BYTES));
      expect(kept).toBeGreaterThanOrEqual(Math.min(d.size!, DEAD_LETTER_PREFIX_BYTES) - 3);
      const left = unclaimed.get(id);
      expect(left, `a dead letter that was never published: ${d.reason} ${d.topic} ${d.payload.slice(0, 80)}`).toBeGreaterThan(0);
      unclaimed.set(id, left! - 1);
    }
    const accepted = messages.filter((m) => {
      const id = messageId(m.topic, m.payload);
      const left = unclaimed.get(id) ?? 0;
      if (left === 0) return false;
      unclaimed.set(id, left - 1);
      return true;
    });
    expect(accepted).toHaveLength(journaled);

    // InfluxDB: exactly the points of the accepted payloads.
    const expected = new Set(accepted.map(keyOf));
    const stored: string[] = [];
    for (const measurement of ['water_quality', 'air_quality']) {
      for (const r of await rows(stack.influx, `SELECT * FROM "${measurement}"`))
        stored.push(`${measurement}|${String(r.station)}|${String(r.period)}|${String(r.time)}`);
    }
    expect(new Set(stored).size).toBe(stored.length);
    const missing = [...expected].filter((k) => !stored.includes(k));
    const extra = stored.filter((k) => !expected.has(k));
    expect({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }).toEqual({ missing: [], extra: [] });
    expect(stored.length).toBe(expected.size);

    // Alive, and still storing.
    expect((await fetch(`http://127.0.0.1:${svc.httpPort}/healthz`)).status).toBe(200);
    const ts = T0 - 3_600_000;
    await pub.publishAsync('tuojiang/water/hongyuan', jsonPayload({ ts, values: { NH3N: 0.123 } }), { qos: 1 });
    await waitFor(
      async () => (await pointsAt(stack.influx, 'water_quality', 'hongyuan', ts)).length === 1,
      30_000,
      'a reading after the fuzz',
    );
  });
});
