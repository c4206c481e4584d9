/**
 * A re-sent reading (same station, period and sensor time) against real Mosquitto, Redis and
 * InfluxDB: identical copies are redelivery and change nothing; different values are a correction,
 * recorded as TJ_READING_CORRECTED while the first values stay in the main measurement
 * (docs/decisions/0009-corrections.md).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestService } from '../../ingest/ingest-service.js';
import type { StoredDeadLetter } from '../../ingest/journal.js';
import {
  MN,
  deadLetters,
  eventually,
  fetchMetrics,
  hj212Frame,
  jsonPayload,
  metric,
  metricsByLabel,
  pointsAt,
  type Row,
} from '../helpers/fixtures.js';
import { startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

let stack: IngestStack;
let svc: IngestService;
let redis: Redis;
let pub: MqttClient;

beforeAll(async () => {
  stack = await startIngestStack();
  svc = await stack.startIngest();
  redis = new Redis(stack.env.REDIS_URL);
  pub = await stack.publisher();
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

const hour = (n: number): number => Date.parse('2025-09-01T00:00:00Z') + n * 3_600_000;
const publish = (station: string, payload: string) => pub.publishAsync(`tuojiang/water/${station}`, payload, { qos: 1 });
const metrics = () => fetchMetrics(svc.httpPort!);
const corrected = (t: string) => metric(t, 'tuojiang_readings_corrected_total');

/** Everything received is journaled or refused, and everything journaled is written. */
async function settled(received: number): Promise<string> {
  return eventually(async () => {
    const t = await metrics();
    const journaled = metric(t, 'tuojiang_readings_journaled_total');
    const rejected = Object.values(metricsByLabel(t, 'tuojiang_readings_rejected_total', 'reason')).reduce((a, b) => a + b, 0);
    // A message is counted in before it is journaled: wait until each one is accounted for.
    const accounted = journaled + rejected >= received;
    const done =
      metric(t, 'tuojiang_readings_in_total') >= received && accounted && metric(t, 'tuojiang_readings_written_total') === journaled;
    return done ? t : undefined;
  }, `${received} messages processed and written`);
}

let sent = 0;
async function send(station: string, payload: string): Promise<void> {
  await publish(station, payload);
  sent++;
}

async function onlyPoint(station: string, ts: number): Promise<Row> {
  const found = await eventually(
    async () => {
      const r = await pointsAt(stack.influx, 'water_quality', station, ts);
      return r.length > 0 ? r : undefined;
    },
    `the point of ${station} at ${new Date(ts).toISOString()}`,
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

const correctionsOf = async (station: string): Promise<StoredDeadLetter[]> =>
  (await deadLetters(redis, 'TJ_READING_CORRECTED')).filter((d) => d.station === station);

describe('re-sent readings', () => {
  it('an identical re-send (redelivery, a logger repeating an unanswered frame) is stored once and is no correction', async () => {
    const ts = hour(1);
    const json = jsonPayload({ ts, values: { NH3N: 0.42, pH: 7.6 }, flags: { NH3N: 'M' } });
    const frame = hj212Frame({ mn: MN.huaikou, ts: ts + 60_000, items: { w21003: { Rtd: '0.5', Flag: 'N' } } });
    for (let i = 0; i < 3; i++) await send('huaikou', json);
    for (let i = 0; i < 2; i++) await send('huaikou', frame);
    const t = await settled(sent);
    expect(corrected(t)).toBe(0);
    expect(await onlyPoint('huaikou', ts)).toMatchObject({ NH3N: 0.42, pH: 7.6, NH3N_flag: 'M' });
    expect(await onlyPoint('huaikou', ts + 60_000)).toMatchObject({ NH3N: 0.5 });
    expect(await correctionsOf('huaikou')).toEqual([]);
  });

  it('new parameters at the same time are merged into the point, not a correction', async () => {
    const ts = hour(2);
    await send('zhaozhen', jsonPayload({ ts, values: { NH3N: 0.3 } }));
    await send('zhaozhen', jsonPayload({ ts, values: { pH: 7.2, DO: 6.1 } }));
    const t = await settled(sent);
    expect(corrected(t)).toBe(0);
    await waitFor(async () => (await onlyPoint('zhaozhen', ts)).DO === 6.1, 30_000, 'both messages merged');
    expect(await onlyPoint('zhaozhen', ts)).toMatchObject({ NH3N: 0.3, pH: 7.2, DO: 6.1 });
    expect(await correctionsOf('zhaozhen')).toEqual([]);
  });

  it('different values at the same time: the first stay stored, the re-send is recorded with both, counted once even when redelivered', async () => {
    const ts = hour(3);
    const first = jsonPayload({ ts, values: { NH3N: 51.3, pH: 7.1 } });
    // Hides the spill peak and marks the instrument faulty; adds TP, which is new and merged.
    const resent = jsonPayload({ ts, values: { NH3N: 0.31, pH: 7.1, TP: 0.05 }, flags: { NH3N: 'D' } });
    await send('hongyuan', first);
    await onlyPoint('hongyuan', ts);
    const before = corrected(await settled(sent));
    await send('hongyuan', resent);
    await send('hongyuan', resent);
    const t = await settled(sent);
    const list = await eventually(async () => {
      const l = await correctionsOf('hongyuan');
      return l.length > 0 ? l : undefined;
    }, 'the correction record');
    expect(corrected(t) - before).toBe(1);
    expect(list).toHaveLength(1);
    const row = await onlyPoint('hongyuan', ts);
    expect(row).toMatchObject({ NH3N: 51.3, pH: 7.1, TP: 0.05 });
    expect(row.NH3N_flag ?? null).toBeNull();
    const c = list[0]!;
    expect(c).toMatchObject({
      reason: 'TJ_READING_CORRECTED',
      station: 'hongyuan',
      details: { ts: new Date(ts).toISOString(), period: 'rt', changes: [{ parameter: 'NH3N', stored: '51.3', resent: '0.31 D' }] },
    });
    expect(c.message).toContain('NH3N 51.3 → 0.31 D');
    expect(JSON.parse(c.payload)).toMatchObject({
      station: 'hongyuan',
      ts,
      values: { NH3N: 0.31, pH: 7.1, TP: 0.05 },
      flags: { NH3N: 'D' },
    });
    // Neither a refused message nor a refused value: the counters of bad input do not move.
    expect(t).not.toContain('reason="TJ_READING_CORRECTED"');
  });

  it('a flag change alone (N → C, calibration found afterwards) is a correction', async () => {
    const ts = hour(4);
    await send('shiqiao', hj212Frame({ mn: MN.shiqiao, ts, items: { w21003: { Rtd: '0.8', Flag: 'N' } } }));
    await onlyPoint('shiqiao', ts);
    const before = corrected(await settled(sent));
    await send('shiqiao', hj212Frame({ mn: MN.shiqiao, ts, items: { w21003: { Rtd: '0.8', Flag: 'C' } } }));
    const t = await settled(sent);
    const [c] = await eventually(async () => {
      const l = await correctionsOf('shiqiao');
      return l.length > 0 ? l : undefined;
    }, 'the correction record');
    expect(corrected(t) - before).toBe(1);
    expect(c!.details).toMatchObject({ changes: [{ parameter: 'NH3N', stored: '0.8', resent: '0.8 C' }] });
    expect((await onlyPoint('shiqiao', ts)).NH3N_flag ?? null).toBeNull();
  });

  it('an hourly average at the same time as a real-time value is another series, not a correction', async () => {
    const ts = hour(5);
    await send('linjiangsi', hj212Frame({ mn: MN.linjiangsi, ts, cn: '2011', items: { w21003: { Rtd: '0.9' } } }));
    await send('linjiangsi', hj212Frame({ mn: MN.linjiangsi, ts, cn: '2061', items: { w21003: { Avg: '0.5' } } }));
    const t = await settled(sent);
    expect(await correctionsOf('linjiangsi')).toEqual([]);
    expect(corrected(t)).toBe(corrected(await metrics()));
    await waitFor(
      async () => (await pointsAt(stack.influx, 'water_quality', 'linjiangsi', ts)).length === 2,
      30_000,
      'both periods stored',
    );
  });

  it('`tuojiang deadletters --reason TJ_READING_CORRECTED` lists the corrections with what was stored and what was re-sent', async () => {
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(
        join(process.cwd(), 'node_modules/.bin/tsx'),
        [join(process.cwd(), 'cli/main.ts'), 'deadletters', '--reason', 'TJ_READING_CORRECTED'],
        { env: stack.childEnv(), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('TJ_READING_CORRECTED');
    expect(run.stdout).toMatch(/hongyuan.*NH3N 51\.3 → 0\.31 D/);
    expect(run.stdout).toMatch(/shiqiao.*NH3N 0\.8 → 0\.8 C/);
    expect(run.stdout).not.toContain('huaikou');
  });
});
