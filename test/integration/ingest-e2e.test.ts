/**
 * The ingest end to end against real Mosquitto (production config: auth + ACL), Redis and InfluxDB:
 * MQTT in, InfluxDB or the dead-letter stream out. One stack and one ingest for the whole file; every
 * test uses its own timestamps so no test sees another's points.
 */
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestService } from '../../ingest/ingest-service.js';
import { frameSegment, parseFrame } from '../../ingest/hj212/frame.js';
import type { StoredDeadLetter } from '../../ingest/journal.js';
import {
  MN,
  deadLetters,
  isDeadLetterOf,
  eventually,
  fetchMetrics,
  metricsByLabel,
  hj212Frame,
  jsonPayload,
  metric,
  pointsAt,
  rows,
  type FrameInput,
  type Row,
} from '../helpers/fixtures.js';
import { startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

let stack: IngestStack;
let svc: IngestService;
let redis: Redis;
let pub: MqttClient;

beforeAll(async () => {
  stack = await startIngestStack();
  // The default split timeout (minutes): reassembly tests must not race a sweep. The incomplete-split
  // test restarts the ingest with a 1 s timeout.
  svc = await stack.startIngest();
  redis = new Redis(stack.env.REDIS_URL);
  pub = await stack.publisher();
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** Each test's own hour in 2025, so that no test sees another's points. */
const hour = (n: number): number => Date.parse('2025-06-01T00:00:00Z') + n * 3_600_000;

const publish = (topic: string, payload: string | Buffer, client: MqttClient = pub) => client.publishAsync(topic, payload, { qos: 1 });
const metrics = () => fetchMetrics(svc.httpPort!);

/**
 * The metrics once `ready` holds of them. A publisher's PUBACK comes from the broker, not from the
 * ingest, and the ingest counts a message just after making it durable: counters are waited for.
 */
async function metricsWhen(ready: (text: string) => boolean, what: string): Promise<string> {
  return eventually(async () => {
    const text = await metrics();
    return ready(text) ? text : undefined;
  }, what);
}

/** Split-packet parts of this ingest that became part of another message's item (PNUM parts -> one item). */
let absorbedParts = 0;

const counter = (text: string, name: string, labels?: Record<string, string>) => metric(text, `tuojiang_readings_${name}_total`, labels);

/** Everything journaled so far is in InfluxDB (the writer has caught up). */
async function settled(): Promise<void> {
  await waitFor(
    async () => {
      const text = await metrics();
      const journaled = metric(text, 'tuojiang_readings_journaled_total');
      return metric(text, 'tuojiang_readings_written_total') === journaled;
    },
    30_000,
    'the writer to catch up with the journal',
  );
}

/**
 * The point once its write is complete. InfluxDB 1.x stores each field of a point under its own key
 * and does not make a write atomic to a query: on a busy machine a query saw a point's values a
 * moment before its flag fields. Once the writer has caught up, its write has returned and every
 * field is there.
 */
async function point(measurement: string, station: string, ts: number): Promise<Row> {
  await eventually(
    async () => ((await pointsAt(stack.influx, measurement, station, ts)).length > 0 ? true : undefined),
    `a ${measurement} point of ${station} at ${new Date(ts).toISOString()}`,
  );
  await settled();
  const found = await pointsAt(stack.influx, measurement, station, ts);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('readings end to end', () => {
  it('stores a JSON water reading in water_quality: tags station/city/period, float fields, {param}_flag for non-N flags', async () => {
    const ts = hour(1);
    await publish(
      'tuojiang/water/hongyuan',
      jsonPayload({ ts: '2025-06-01T09:00:00+08:00', values: { NH3N: 0.42, pH: 7, DO: 6.5 }, flags: { NH3N: 'M', pH: 'N' } }),
    );
    const row = await point('water_quality', 'hongyuan', ts);
    expect(row).toMatchObject({ time: ts, station: 'hongyuan', city: 'chengdu', period: 'rt', NH3N: 0.42, pH: 7, DO: 6.5, NH3N_flag: 'M' });
    expect(row.pH_flag ?? null).toBeNull();
    expect(row.DO_flag ?? null).toBeNull();
  });

  it('stores the integer-looking value 7 as a float (a later 7.5 is not refused)', async () => {
    const ts = hour(2);
    await publish('tuojiang/water/huaikou', jsonPayload({ ts, values: { pH: 7 } }));
    await publish('tuojiang/water/huaikou', jsonPayload({ ts: ts + 1000, values: { pH: 7.5 } }));
    expect((await point('water_quality', 'huaikou', ts + 1000)).pH).toBe(7.5);
    expect((await point('water_quality', 'huaikou', ts)).pH).toBe(7);
  });

  it('stores an air reading in air_quality, with epoch-millisecond ts', async () => {
    const ts = hour(3);
    await publish(
      'tuojiang/air/jianyang-shijian',
      jsonPayload({ ts, values: { PM2_5: 35, PM10: 60, CO: 0.8, O3: 120 }, station: 'jianyang-shijian' }),
    );
    expect(await point('air_quality', 'jianyang-shijian', ts)).toMatchObject({
      station: 'jianyang-shijian',
      city: 'chengdu',
      period: 'rt',
      PM2_5: 35,
      PM10: 60,
      CO: 0.8,
      O3: 120,
    });
    expect(await pointsAt(stack.influx, 'water_quality', 'jianyang-shijian', ts)).toEqual([]);
  });

  it('stores extreme but plausible values exactly (float encoding accepted by the real InfluxDB)', async () => {
    const ts = hour(4);
    const values = { cond: 499_999.999_999, turb: 5e-324, CODMn: 9999.999, TP: 1e-7, COD: 2 ** 17, fecal_coliform: 1e11 };
    await publish('tuojiang/water/shiqiao', jsonPayload({ ts, values }));
    expect(await point('water_quality', 'shiqiao', ts)).toMatchObject(values);
  });

  it('stores an HJ 212 CN 2011 frame as a real-time reading, DataTime read as UTC+8', async () => {
    const ts = hour(5);
    const frame = hj212Frame({
      mn: MN.linjiangsi,
      ts,
      cn: '2011',
      items: { w21003: { Rtd: '0.61', Flag: 'N' }, w01001: { Rtd: '7.80', Flag: 'N' }, w01009: { Rtd: '5.2', Flag: 'D' } },
    });
    expect(frame).toContain(`DataTime=${'20250601130000'}`);
    await publish('tuojiang/water/linjiangsi', frame);
    const row = await point('water_quality', 'linjiangsi', ts);
    expect(row).toMatchObject({ station: 'linjiangsi', city: 'ziyang', period: 'rt', NH3N: 0.61, pH: 7.8, DO: 5.2, DO_flag: 'D' });
    expect(row.NH3N_flag ?? null).toBeNull();
  });

  it('stores an HJ 212 CN 2061 frame as an hourly average with -Min/-Max, apart from the real-time series', async () => {
    const ts = hour(6);
    await publish('tuojiang/water/ziyang-city', hj212Frame({ mn: MN['ziyang-city'], ts, cn: '2011', items: { w21003: { Rtd: '0.9' } } }));
    await publish(
      'tuojiang/water/ziyang-city',
      hj212Frame({
        mn: MN['ziyang-city'],
        ts,
        cn: '2061',
        items: { w21003: { Min: '0.35', Avg: '0.5', Max: '0.72', Flag: 'N' }, w21011: { Avg: '0.08' } },
      }),
    );
    await eventually(
      async () => ((await pointsAt(stack.influx, 'water_quality', 'ziyang-city', ts)).length === 2 ? true : undefined),
      'the real-time and the hourly point',
    );
    await settled(); // every field written (see point())
    const found = await pointsAt(stack.influx, 'water_quality', 'ziyang-city', ts);
    const byPeriod = Object.fromEntries(found.map((r) => [r.period, r]));
    expect(byPeriod.hour).toMatchObject({ NH3N: 0.5, NH3N_min: 0.35, NH3N_max: 0.72, TP: 0.08 });
    expect(byPeriod.rt).toMatchObject({ NH3N: 0.9 });
  });

  it("converts gongchengpu's NH3N from µg/L to mg/L, in JSON and in HJ 212, and drops its ignored factor w00000", async () => {
    const ts = hour(7);
    await publish('tuojiang/water/gongchengpu', jsonPayload({ ts, values: { NH3N: 420, pH: 7.1 } }));
    await publish(
      'tuojiang/water/gongchengpu',
      hj212Frame({
        mn: MN.gongchengpu,
        ts: ts + 60_000,
        cn: '2061',
        items: { w21003: { Min: '800', Avg: '850', Max: '900' }, w00000: { Avg: '35.5', Flag: 'N' } },
      }),
    );
    const json = await point('water_quality', 'gongchengpu', ts);
    expect(json.NH3N).toBeCloseTo(0.42, 12);
    expect(json.pH).toBe(7.1);
    const frame = await point('water_quality', 'gongchengpu', ts + 60_000);
    expect(frame.NH3N).toBeCloseTo(0.85, 12);
    expect(frame.NH3N_min).toBeCloseTo(0.8, 12);
    expect(frame.NH3N_max).toBeCloseTo(0.9, 12);
    const columns = (await stack.influx.query('SHOW FIELD KEYS FROM "water_quality"')).flatMap((s) => s.values.map((v) => String(v[0])));
    expect(columns.some((c) => c.includes('w00000'))).toBe(false);
  });

  it('stores a duplicated reading (redelivery, logger resend) as exactly one point', async () => {
    const ts = hour(8);
    const json = jsonPayload({ ts, values: { NH3N: 0.3 } });
    const frame = hj212Frame({ mn: MN.zhaozhen, ts: ts + 1000, items: { w21003: { Rtd: '0.31' } } });
    const before = counter(await metrics(), 'journaled');
    await Promise.all([
      publish('tuojiang/water/zhaozhen', json),
      publish('tuojiang/water/zhaozhen', json),
      publish('tuojiang/water/zhaozhen', json),
    ]);
    await Promise.all([publish('tuojiang/water/zhaozhen', frame), publish('tuojiang/water/zhaozhen', frame)]);
    await metricsWhen((t) => counter(t, 'journaled') - before >= 5, 'all five copies journaled');
    await settled();
    expect(counter(await metrics(), 'journaled') - before).toBe(5);
    const stored = await rows(
      stack.influx,
      `SELECT "NH3N" FROM "water_quality" WHERE "station" = 'zhaozhen' AND time >= ${ts}ms AND time < ${ts + 3_600_000}ms`,
    );
    expect(stored).toEqual([
      { time: ts, NH3N: 0.3 },
      { time: ts + 1000, NH3N: 0.31 },
    ]);
  });
});

describe('HJ 212 data answers', () => {
  it('answers a frame with Flag=5 (2017, bit A) with CN 9014 ST 91 and the same QN, to that station alone', async () => {
    const hongyuan = await stack.connectAs('hongyuan');
    const huaikou = await stack.connectAs('huaikou');
    const toHongyuan: string[] = [];
    const toHuaikou: string[] = [];
    hongyuan.on('message', (_t, p) => toHongyuan.push(p.toString()));
    huaikou.on('message', (_t, p) => toHuaikou.push(p.toString()));
    await hongyuan.subscribeAsync('tuojiang/reply/hongyuan', { qos: 1 });
    // SUBSCRIBE is granted to any filter; the ACL decides what is delivered (config/mosquitto/acl).
    await huaikou.subscribeAsync('tuojiang/reply/#', { qos: 1 });

    const ts = hour(9);
    // A frame without bit A, processed completely first: if it were answered, that answer would come first.
    await publish('tuojiang/water/hongyuan', hj212Frame({ mn: MN.hongyuan, ts, flag: 4, items: { w21003: { Rtd: '0.2' } } }), hongyuan);
    await point('water_quality', 'hongyuan', ts);

    const qn = '20250601170000123';
    await publish(
      'tuojiang/water/hongyuan',
      hj212Frame({ mn: MN.hongyuan, ts: ts + 60_000, flag: 5, qn, pw: '654321', items: { w21003: { Rtd: '0.25' } } }),
      hongyuan,
    );
    await waitFor(() => toHongyuan.length > 0, 30_000, 'the data answer to hongyuan');
    // Then an answer for huaikou: the ingest publishes answers in order on one connection, so had the
    // ACL let huaikou read hongyuan's answer, huaikou would have received it before its own.
    const qn2 = '20250601170100456';
    await publish(
      'tuojiang/water/huaikou',
      hj212Frame({ mn: MN.huaikou, ts: ts + 60_000, flag: 5, qn: qn2, items: { w21003: { Rtd: '0.25' } } }),
    );
    await waitFor(() => toHuaikou.length > 0, 30_000, 'the data answer to huaikou');

    expect(toHongyuan).toHaveLength(1);
    const answer = parseFrame(toHongyuan[0]!);
    expect(answer).toMatchObject({ qn, st: '91', cn: '9014', pw: '654321', mn: MN.hongyuan, flag: 4 });
    expect(toHongyuan[0]!.endsWith('\r\n')).toBe(true);
    expect(toHuaikou).toHaveLength(1);
    expect(parseFrame(toHuaikou[0]!)).toMatchObject({ qn: qn2, cn: '9014', mn: MN.huaikou });
    await metricsWhen((t) => metric(t, 'tuojiang_hj212_answers_total') >= 2, 'the answers counted');
    // the answered reading itself is stored too
    expect((await point('water_quality', 'hongyuan', ts + 60_000)).NH3N).toBe(0.25);
  });
});

describe('HJ 212 split packets', () => {
  const part = (pno: number, over: Partial<FrameInput>): string =>
    hj212Frame({ mn: MN.shiqiao, flag: 6, pnum: 3, pno, items: {}, ...over });

  it("reassembles PNUM=3 parts published out of order into one point carrying every part's values", async () => {
    const ts = hour(10);
    const qn = '20250601180000000';
    const parts = [
      part(1, { ts, qn, items: { w21003: { Rtd: '0.44', Flag: 'N' } } }),
      part(2, { ts, qn, items: { w01001: { Rtd: '7.3' }, w01009: { Rtd: '6.6', Flag: 'M' } } }),
      part(3, { ts, qn, items: { w21011: { Rtd: '0.09' }, w01010: { Rtd: '18.5' } } }),
    ];
    const before = await metrics();
    await publish('tuojiang/water/shiqiao', parts[2]!);
    await publish('tuojiang/water/shiqiao', parts[0]!);
    await publish('tuojiang/water/shiqiao', parts[1]!);
    const row = await point('water_quality', 'shiqiao', ts);
    expect(row).toMatchObject({ period: 'rt', NH3N: 0.44, pH: 7.3, DO: 6.6, DO_flag: 'M', TP: 0.09, temp: 18.5 });
    await metricsWhen((t) => counter(t, 'journaled') > counter(before, 'journaled'), 'the merged reading counted');
    await settled();
    const after = await metrics();
    expect(counter(after, 'in') - counter(before, 'in')).toBe(3);
    expect(counter(after, 'journaled') - counter(before, 'journaled')).toBe(1);
    expect(after).not.toMatch(/reason="TJ_SPLIT_INCOMPLETE"/);
    absorbedParts += 2;
  });

  it('reassembles parts with Flag=7 (split and answer wanted), answering each part', async () => {
    const ts = hour(11);
    const qn = '20250601190000000';
    const station = await stack.connectAs('shiqiao');
    const answers: string[] = [];
    station.on('message', (_t, p) => answers.push(parseFrame(p.toString()).qn ?? ''));
    await station.subscribeAsync('tuojiang/reply/shiqiao', { qos: 1 });
    await Promise.all([
      publish('tuojiang/water/shiqiao', part(2, { ts, qn, flag: 7, pnum: 2, items: { w01001: { Rtd: '6.9' } } }), station),
      publish('tuojiang/water/shiqiao', part(1, { ts, qn, flag: 7, pnum: 2, items: { w21003: { Rtd: '0.12' } } }), station),
    ]);
    expect(await point('water_quality', 'shiqiao', ts)).toMatchObject({ NH3N: 0.12, pH: 6.9 });
    await waitFor(() => answers.length === 2, 30_000, 'an answer to each part');
    expect(answers).toEqual([qn, qn]);
    absorbedParts += 1;
  });
});

interface DeadCase {
  reason: string;
  what: string;
  topic: string;
  payload: string | Buffer;
  /** station and ts of the reading the payload would have been, to prove nothing was written. */
  station?: string;
  ts?: number;
}

const DL = (n: number): number => hour(100) + n * 1000;
const dlFrame = (n: number, over: Partial<FrameInput> = {}) =>
  hj212Frame({ mn: MN.hongyuan, ts: DL(n), items: { w21003: { Rtd: '0.5' } }, ...over });
const validFrame = dlFrame(0);

const DEAD_CASES: DeadCase[] = [
  { reason: 'TJ_MALFORMED_JSON', what: 'truncated JSON', topic: 'tuojiang/water/hongyuan', payload: `{"ts":${DL(1)},"values":{"NH3N":` },
  {
    reason: 'TJ_MALFORMED_JSON',
    what: 'bytes that are not UTF-8',
    topic: 'tuojiang/water/hongyuan',
    payload: Buffer.from([0x7b, 0xff, 0xfe, 0x80, 0x7d]),
  },
  {
    reason: 'TJ_MALFORMED_JSON',
    what: 'a key outside the contract',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(2), values: { NH3N: 1 } }).replace('}}', '},"unit":"mg/L"}'),
    station: 'hongyuan',
    ts: DL(2),
  },
  {
    reason: 'TJ_MALFORMED_FRAME',
    what: 'a frame without CP (length and CRC right)',
    topic: 'tuojiang/water/hongyuan',
    payload: frameSegment(`QN=20250605040003000;ST=21;CN=2011;PW=123456;MN=${MN.hongyuan};Flag=4`),
  },
  {
    reason: 'TJ_MALFORMED_FRAME',
    what: 'a frame cut before its CRC',
    topic: 'tuojiang/water/hongyuan',
    payload: validFrame.slice(0, validFrame.indexOf(';CN=') + 3),
  },
  {
    reason: 'TJ_FRAME_LENGTH',
    what: 'a wrong length field',
    topic: 'tuojiang/water/hongyuan',
    payload: validFrame.replace(/^##(\d{4})/, (_m, n: string) => `##${String(Number(n) + 1).padStart(4, '0')}`),
    station: 'hongyuan',
    ts: DL(0),
  },
  {
    reason: 'TJ_FRAME_CRC',
    what: 'a wrong CRC',
    topic: 'tuojiang/water/hongyuan',
    payload: validFrame.replace(/([0-9A-F]{4})\r\n$/, (_m, c: string) => `${c === '0000' ? '0001' : '0000'}\r\n`),
    station: 'hongyuan',
    ts: DL(0),
  },
  {
    reason: 'TJ_FRAME_CRC',
    what: 'a MODBUS CRC instead of the Annex A CRC',
    topic: 'tuojiang/water/hongyuan',
    payload: modbusFramed(validFrame),
    station: 'hongyuan',
    ts: DL(0),
  },
  {
    reason: 'TJ_UNSUPPORTED_COMMAND',
    what: 'CN 1062 (set real-time interval)',
    topic: 'tuojiang/water/hongyuan',
    payload: dlFrame(3, { cn: '1062' }),
    station: 'hongyuan',
    ts: DL(3),
  },
  {
    reason: 'TJ_UNKNOWN_STATION',
    what: 'JSON on the topic of an unregistered station',
    topic: 'tuojiang/water/no-such-station',
    payload: jsonPayload({ ts: DL(4), values: { NH3N: 1 } }),
  },
  {
    reason: 'TJ_UNKNOWN_STATION',
    what: 'a frame with an unregistered MN',
    topic: 'tuojiang/water/hongyuan',
    payload: dlFrame(5, { mn: '0123456789ABCDEF01234567' }),
    station: 'hongyuan',
    ts: DL(5),
  },
  {
    reason: 'TJ_STATION_MISMATCH',
    what: 'JSON whose body names another station than the topic',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(6), values: { NH3N: 1 }, station: 'huaikou' }),
    station: 'hongyuan',
    ts: DL(6),
  },
  {
    reason: 'TJ_STATION_MISMATCH',
    what: 'a frame whose MN is another station than the topic',
    topic: 'tuojiang/water/hongyuan',
    payload: dlFrame(7, { mn: MN.huaikou }),
    station: 'huaikou',
    ts: DL(7),
  },
  {
    reason: 'TJ_KIND_MISMATCH',
    what: 'a water station on an air topic',
    topic: 'tuojiang/air/hongyuan',
    payload: jsonPayload({ ts: DL(8), values: { NH3N: 1 } }),
    station: 'hongyuan',
    ts: DL(8),
  },
  {
    reason: 'TJ_KIND_MISMATCH',
    what: "an air station's frame on a water topic",
    topic: 'tuojiang/water/ziyang-shijian',
    payload: dlFrame(9, { mn: MN['ziyang-shijian'], st: '22', items: { a34004: { Rtd: '35' } } }),
    station: 'ziyang-shijian',
    ts: DL(9),
  },
  {
    reason: 'TJ_UNKNOWN_PARAMETER',
    what: 'an unknown JSON parameter',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(10), values: { NH3N: 1, ammonia: 1 } }),
    station: 'hongyuan',
    ts: DL(10),
  },
  {
    reason: 'TJ_UNKNOWN_PARAMETER',
    what: 'an air parameter at a water station',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(11), values: { PM10: 50 } }),
    station: 'hongyuan',
    ts: DL(11),
  },
  {
    reason: 'TJ_UNKNOWN_PARAMETER',
    what: 'an unknown factor code',
    topic: 'tuojiang/water/hongyuan',
    payload: dlFrame(12, { items: { w21003: { Rtd: '0.5' }, w99999: { Rtd: '1' } } }),
    station: 'hongyuan',
    ts: DL(12),
  },
  {
    reason: 'TJ_INVALID_VALUE',
    what: 'a JSON value that is a string',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(13), values: { NH3N: '0.5' } }),
    station: 'hongyuan',
    ts: DL(13),
  },
  {
    reason: 'TJ_INVALID_VALUE',
    what: 'a JSON number too large for a double',
    topic: 'tuojiang/water/hongyuan',
    payload: `{"ts":${DL(14)},"values":{"cond":1e999}}`,
    station: 'hongyuan',
    ts: DL(14),
  },
  {
    reason: 'TJ_INVALID_VALUE',
    what: 'a frame value that is not a number',
    topic: 'tuojiang/water/hongyuan',
    payload: dlFrame(15, { items: { w21003: { Rtd: 'n/a' } } }),
    station: 'hongyuan',
    ts: DL(15),
  },
  {
    reason: 'TJ_INVALID_VALUE',
    what: 'a frame -Max too large for a double',
    topic: 'tuojiang/water/hongyuan',
    payload: dlFrame(26, { cn: '2061', items: { w21003: { Avg: '0.5', Max: '1e999' } } }),
    station: 'hongyuan',
    ts: DL(26),
  },
  {
    reason: 'TJ_IMPLAUSIBLE_VALUE',
    what: 'pH 15 and nothing else',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(16), values: { pH: 15 } }),
    station: 'hongyuan',
    ts: DL(16),
  },
  {
    reason: 'TJ_IMPLAUSIBLE_VALUE',
    what: 'a frame whose only value is a negative concentration',
    topic: 'tuojiang/water/hongyuan',
    payload: dlFrame(17, { items: { w21003: { Rtd: '-0.2' } } }),
    station: 'hongyuan',
    ts: DL(17),
  },
  {
    reason: 'TJ_IMPLAUSIBLE_VALUE',
    what: 'NH3N 1e308 and nothing else',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(27), values: { NH3N: 1e308 } }),
    station: 'hongyuan',
    ts: DL(27),
  },
  {
    reason: 'TJ_INVALID_FLAG',
    what: 'an unknown flag',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(18), values: { NH3N: 1 }, flags: { NH3N: 'X' } }),
    station: 'hongyuan',
    ts: DL(18),
  },
  {
    reason: 'TJ_INVALID_FLAG',
    what: 'a flag without a value',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(19), values: { NH3N: 1 }, flags: { pH: 'M' } }),
    station: 'hongyuan',
    ts: DL(19),
  },
  {
    reason: 'TJ_INVALID_FLAG',
    what: 'a frame flag that is no HJ 212 flag',
    topic: 'tuojiang/water/hongyuan',
    payload: dlFrame(20, { items: { w21003: { Rtd: '0.5', Flag: 'Z' } } }),
    station: 'hongyuan',
    ts: DL(20),
  },
  {
    reason: 'TJ_INVALID_TIMESTAMP',
    what: 'a zoneless ISO ts',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: '2025-06-05T12:00:21', values: { NH3N: 1 } }),
    station: 'hongyuan',
    ts: DL(21),
  },
  {
    reason: 'TJ_INVALID_TIMESTAMP',
    what: 'epoch seconds',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(22) / 1000, values: { NH3N: 1 } }),
  },
  {
    reason: 'TJ_INVALID_TIMESTAMP',
    what: 'a frame DataTime of February 30',
    topic: 'tuojiang/water/hongyuan',
    payload: frameSegment(`ST=21;CN=2011;MN=${MN.hongyuan};Flag=4;CP=&&DataTime=20250230080000;w21003-Rtd=0.5&&`),
  },
  {
    reason: 'TJ_INVALID_TIMESTAMP',
    what: 'a frame DataTime in the year 1026 (InfluxDB would refuse it)',
    topic: 'tuojiang/water/hongyuan',
    payload: frameSegment(`ST=21;CN=2011;MN=${MN.hongyuan};Flag=4;CP=&&DataTime=10250605080000;w21003-Rtd=0.5&&`),
  },
  {
    reason: 'TJ_FUTURE_TIMESTAMP',
    what: 'a ts a day ahead',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: Date.now() + 86_400_000, values: { NH3N: 1 } }),
  },
  {
    reason: 'TJ_EMPTY_READING',
    what: 'JSON without values',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(23), values: {} }),
    station: 'hongyuan',
    ts: DL(23),
  },
  {
    reason: 'TJ_EMPTY_READING',
    what: 'a frame carrying only an ignored factor',
    topic: 'tuojiang/water/gongchengpu',
    payload: dlFrame(24, { mn: MN.gongchengpu, items: { w00000: { Rtd: '30' } } }),
    station: 'gongchengpu',
    ts: DL(24),
  },
  // Over ingest.max_payload_bytes (32 KiB), under the broker's message_size_limit (64 KiB), which drops larger ones.
  {
    reason: 'TJ_TOO_LARGE',
    what: 'a 40 kB payload',
    topic: 'tuojiang/water/hongyuan',
    payload: jsonPayload({ ts: DL(25), values: { NH3N: 1 } }).replace('}}', `},"pad":"${'x'.repeat(40_000)}"}`),
    station: 'hongyuan',
    ts: DL(25),
  },
];

/** The same frame with a CRC-16/MODBUS checksum, what many loggers' vendors ship by mistake. */
function modbusFramed(frame: string): string {
  const segment = frame.slice(6, -6);
  let crc = 0xffff;
  for (const byte of Buffer.from(segment)) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return `${frame.slice(0, 6)}${segment}${crc.toString(16).toUpperCase().padStart(4, '0')}\r\n`;
}

/** The dead letter holding exactly these bytes (whatever its reason, so a wrong one shows as such). */
async function deadLetterOf(payload: Buffer): Promise<StoredDeadLetter> {
  return eventually(async () => (await deadLetters(redis)).find((d) => isDeadLetterOf(d, payload)), 'the dead letter');
}

describe('dead letters: every reason reachable from MQTT', () => {
  it.each(DEAD_CASES.map((c) => [c.reason, c.what, c] as const))('%s: %s', async (reason, _what, c) => {
    const before = await metrics();
    const payload = Buffer.isBuffer(c.payload) ? c.payload : Buffer.from(c.payload);
    await publish(c.topic, payload);
    const dead = await deadLetterOf(payload);
    expect(dead).toMatchObject({ reason, topic: c.topic, station: c.topic.split('/')[2] });
    expect(dead.message.length).toBeGreaterThan(0);
    expect(dead.encoding).toBe(Buffer.from(payload.toString('utf8')).equals(payload) ? 'utf8' : 'base64');
    await metricsWhen((t) => counter(t, 'rejected', { reason }) > counter(before, 'rejected', { reason }), `${reason} counted`);
    await settled();
    const after = await metrics();
    expect(counter(after, 'rejected', { reason }) - counter(before, 'rejected', { reason })).toBe(1);
    expect(counter(after, 'journaled')).toBe(counter(before, 'journaled'));
    if (c.station !== undefined && c.ts !== undefined) {
      for (const m of ['water_quality', 'air_quality']) expect(await pointsAt(stack.influx, m, c.station, c.ts)).toEqual([]);
    }
  });

  it('TJ_SPLIT_INCOMPLETE: parts 1 and 3 of 3, part 2 never sent, dead-lettered with both parts after splitTimeoutS: 1', async () => {
    // A restart with the same client ids and persistent sessions: nothing is lost in between, and
    // the new process has its own counters.
    await svc.stop();
    svc = await stack.startIngest({ splitTimeoutS: 1 });
    absorbedParts = 0;
    const ts = DL(30);
    const qn = '20250605120030000';
    const parts = [1, 3].map((pno) =>
      hj212Frame({
        mn: MN['ziyang-city'],
        ts,
        qn,
        flag: 6,
        pnum: 3,
        pno,
        items: { [pno === 1 ? 'w21003' : 'w01001']: { Rtd: pno === 1 ? '0.4' : '7.2' } },
      }),
    );
    const before = await metrics();
    await publish('tuojiang/water/ziyang-city', parts[0]!);
    await publish('tuojiang/water/ziyang-city', parts[1]!);
    const dead = await eventually(
      async () => (await deadLetters(redis, 'TJ_SPLIT_INCOMPLETE')).find((d) => d.payload.includes(qn)),
      'the incomplete split packet dead letter',
    );
    const kept = dead.payload.split('\n').sort();
    expect(kept).toEqual(parts.map((p) => p.trim()).sort());
    expect(dead.message).toContain(MN['ziyang-city']);
    // The MN names the station, so `deadletters --station` finds it (issue 11).
    expect(dead.station).toBe('ziyang-city');
    const rejected = (t: string) => counter(t, 'rejected', { reason: 'TJ_SPLIT_INCOMPLETE' });
    await metricsWhen((t) => rejected(t) > rejected(before), 'TJ_SPLIT_INCOMPLETE counted');
    await settled();
    const after = await metrics();
    expect(rejected(after) - rejected(before)).toBe(1);
    expect(counter(after, 'journaled')).toBe(counter(before, 'journaled'));
    expect(await pointsAt(stack.influx, 'water_quality', 'ziyang-city', ts)).toEqual([]);
    absorbedParts += 1;
  });

  it('a part redelivered after its packet completed is a duplicate, not the start of an incomplete packet', async () => {
    // Still the ingest with splitTimeoutS: 1 from the test above; a time outside the dead letters' range.
    const ts = hour(20);
    const qn = '20250605120031000';
    const parts = [1, 2].map((pno) =>
      hj212Frame({
        mn: MN['ziyang-city'],
        ts,
        qn,
        flag: 6,
        pnum: 2,
        pno,
        items: { [pno === 1 ? 'w21003' : 'w01001']: { Rtd: pno === 1 ? '0.41' : '7.1' } },
      }),
    );
    const before = await metrics();
    await publish('tuojiang/water/ziyang-city', parts[0]!);
    await publish('tuojiang/water/ziyang-city', parts[1]!);
    expect(await point('water_quality', 'ziyang-city', ts)).toMatchObject({ NH3N: 0.41, pH: 7.1 });
    await publish('tuojiang/water/ziyang-city', parts[1]!);
    // Longer than the split timeout plus one sweep: an incomplete group would be dead-lettered by now.
    await new Promise((r) => setTimeout(r, 3000));
    const after = await metricsWhen((t) => counter(t, 'in') - counter(before, 'in') === 3, 'three parts received');
    expect(counter(after, 'rejected', { reason: 'TJ_SPLIT_INCOMPLETE' })).toBe(
      counter(before, 'rejected', { reason: 'TJ_SPLIT_INCOMPLETE' }),
    );
    expect(counter(after, 'journaled') - counter(before, 'journaled')).toBe(1);
    expect((await deadLetters(redis, 'TJ_SPLIT_INCOMPLETE')).filter((d) => d.payload.includes(qn))).toEqual([]);
    absorbedParts += 2;
  });

  it('covers every dead-letter reason of lib/errors.ts that MQTT input can cause', () => {
    const covered = new Set([...DEAD_CASES.map((c) => c.reason), 'TJ_SPLIT_INCOMPLETE']);
    expect([...covered].sort()).toEqual([
      'TJ_EMPTY_READING',
      'TJ_FRAME_CRC',
      'TJ_FRAME_LENGTH',
      'TJ_FUTURE_TIMESTAMP',
      'TJ_IMPLAUSIBLE_VALUE',
      'TJ_INVALID_FLAG',
      'TJ_INVALID_TIMESTAMP',
      'TJ_INVALID_VALUE',
      'TJ_KIND_MISMATCH',
      'TJ_MALFORMED_FRAME',
      'TJ_MALFORMED_JSON',
      'TJ_SPLIT_INCOMPLETE',
      'TJ_STATION_MISMATCH',
      'TJ_TOO_LARGE',
      'TJ_UNKNOWN_PARAMETER',
      'TJ_UNKNOWN_STATION',
      'TJ_UNSUPPORTED_COMMAND',
    ]);
  });

  it("wrote nothing to InfluxDB in the dead letters' time range", async () => {
    await settled();
    const res = await stack.influx.query(
      `SELECT count(*) FROM "water_quality", "air_quality" WHERE time >= ${DL(0)}ms AND time <= ${DL(40)}ms`,
    );
    expect(res).toEqual([]);
  });
});

describe('absurd but finite values: refused one by one, the rest of the reading kept', () => {
  const refusedCount = (t: string, parameter: string) => metric(t, 'tuojiang_values_refused_total', { parameter });

  it('stores pH when NH3N is 1e308 at two stations, dead-letters each NH3N with station, value and range, and mean() over every station still works', async () => {
    const ts = hour(30);
    const sent = [
      { station: 'huaikou', payload: jsonPayload({ ts, values: { NH3N: 1e308, pH: 7.3 }, flags: { NH3N: 'N' } }) },
      { station: 'zhaozhen', payload: jsonPayload({ ts, values: { NH3N: 1.7e308, pH: 7.4 } }) },
    ];
    const before = await metrics();
    for (const s of sent) await publish(`tuojiang/water/${s.station}`, s.payload);
    for (const s of sent) {
      const row = await point('water_quality', s.station, ts);
      expect(row.pH).toBe(s.station === 'huaikou' ? 7.3 : 7.4);
      expect(row.NH3N ?? null).toBeNull();
      const dead = await deadLetterOf(Buffer.from(s.payload));
      expect(dead).toMatchObject({
        reason: 'TJ_IMPLAUSIBLE_VALUE',
        station: s.station,
        topic: `tuojiang/water/${s.station}`,
        readingKept: true,
        details: {
          refused: [{ parameter: 'NH3N', value: s.station === 'huaikou' ? 1e308 : 1.7e308, unit: 'mg/L', min: 0, max: 10_000 }],
          ts: new Date(ts).toISOString(),
          period: 'rt',
        },
      });
      expect(dead.message).toContain('outside the plausible range [0, 10000] mg/L');
    }
    await settled();
    const after = await metrics();
    expect(refusedCount(after, 'NH3N') - refusedCount(before, 'NH3N')).toBe(2);
    // The readings were kept, so the messages are not counted as refused.
    expect(counter(after, 'journaled') - counter(before, 'journaled')).toBe(2);
    expect(counter(after, 'rejected', { reason: 'TJ_IMPLAUSIBLE_VALUE' })).toBe(
      counter(before, 'rejected', { reason: 'TJ_IMPLAUSIBLE_VALUE' }),
    );
    // What blanked the dashboards: InfluxDB's mean() over all stations overflowing to +Inf.
    const [agg] = await rows(stack.influx, 'SELECT mean("NH3N") AS nh3n, sum("NH3N") AS total, mean("pH") AS ph FROM "water_quality"');
    expect(Number.isFinite(agg!.nh3n)).toBe(true);
    expect(Number.isFinite(agg!.total)).toBe(true);
    expect(agg!.total as number).toBeLessThan(1e9);
    expect(Number.isFinite(agg!.ph)).toBe(true);
  });

  it("keeps an hourly frame's average and drops only its absurd -Max", async () => {
    const ts = hour(31);
    const frame = hj212Frame({
      mn: MN.shiqiao,
      ts,
      cn: '2061',
      items: { w21003: { Min: '0.3', Avg: '0.5', Max: '1e300' }, w01001: { Avg: '7.1' } },
    });
    await publish('tuojiang/water/shiqiao', frame);
    const row = await point('water_quality', 'shiqiao', ts);
    expect(row).toMatchObject({ period: 'hour', NH3N: 0.5, NH3N_min: 0.3, pH: 7.1 });
    expect(row.NH3N_max ?? null).toBeNull();
    const dead = await deadLetterOf(Buffer.from(frame));
    expect(dead).toMatchObject({
      reason: 'TJ_IMPLAUSIBLE_VALUE',
      station: 'shiqiao',
      readingKept: true,
      details: { refused: [{ parameter: 'NH3N_max', value: 1e300 }] },
    });
  });
});

describe('operations', () => {
  it('is alive, ready with its checks, and still stores readings after all of the above', async () => {
    const base = `http://127.0.0.1:${svc.httpPort}`;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { mqtt: true, mqtt_session: true, redis: true, redis_state: true, redis_memory: true, redis_replicas: true, influxdb: true },
    });

    const ts = hour(200);
    await publish('tuojiang/water/hongyuan', jsonPayload({ ts, values: { NH3N: 0.1 } }));
    expect((await point('water_quality', 'hongyuan', ts)).NH3N).toBe(0.1);

    const text = await metrics();
    expect(text).toContain('tuojiang_influx_write_seconds_bucket');
    expect(text).toMatch(/^tuojiang_journal_backlog \d+$/m);
    const rejected = Object.values(metricsByLabel(text, 'tuojiang_readings_rejected_total', 'reason')).reduce((a, b) => a + b, 0);
    // every message became one reading or one dead letter, except that the parts of a split packet become one
    expect(counter(text, 'in')).toBe(counter(text, 'journaled') + rejected + absorbedParts);
    expect(text).not.toContain('reason="TJ_INTERNAL"');
    expect(text).not.toContain('reason="TJ_INFLUX_REJECTED"');
  });

  it('with redis.wait_replicas and no replica, /readyz says so before any reading is held (redis_replicas)', async () => {
    // A single node has no replica: every append would be refused. Before, /readyz said ready until
    // the first reading was held; with a replica there and when it goes: redis-cluster-replicas.test.ts.
    const needing = await stack.startIngest({ instance: 'needs-replica', env: { REDIS_WAIT_REPLICAS: 1 } });
    try {
      const ready = await fetch(`http://127.0.0.1:${needing.httpPort}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, boolean> }).checks).toMatchObject({ redis: true, redis_replicas: false });
    } finally {
      await needing.stop();
    }
  });
});

describe('pipeline health for the dashboards', () => {
  it('writes pipeline_health points with the ingest counters', async () => {
    const res = await waitFor(
      async () => {
        const r = await stack.influx.query(
          `SELECT last("readings_in"), last("readings_written"), last("journal_backlog") FROM "pipeline_health" WHERE "service" = 'ingest'`,
        );
        const row = r[0]?.values[0];
        return row && Number(row[1]) > 0 && Number(row[2]) > 0 ? row : undefined;
      },
      15_000,
      'a pipeline_health point with counters',
    );
    if (!res) throw new Error('unreachable: waitFor resolves only with a row');
    expect(Number(res[1])).toBeGreaterThanOrEqual(Number(res[2]));
    expect(Number(res[3])).toBeGreaterThanOrEqual(0);
  });
});
