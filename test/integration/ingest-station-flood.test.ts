/**
 * One station flooding the broker must not cost any other station its readings. Every station's
 * messages reach the ingest through one broker session per ingest connection, and the broker keeps
 * at most max_queued_bytes queued for it: a station sending faster than the ingest can journal its
 * messages (here 9 KB payloads the ingest journals as dead letters) fills that queue, and from then
 * on the broker discards whatever arrives for the ingest, from any station, while still answering
 * each publisher with a PUBACK. A station's messages beyond its budget (ingest.station_rate) are
 * refused before they are decoded, at a fraction of the cost of journaling them, so the ingest
 * keeps ahead of the broker and the queue never fills.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadLetters, jsonPayload } from '../helpers/fixtures.js';
import { countPoints, publishAll, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';
import type { IngestService } from '../../ingest/ingest-service.js';
import { RATE_RECORD_TOPIC } from '../../ingest/process-message.js';

// Small enough that a flood the ingest cannot keep up with fills it within seconds (the shipped
// 256 MiB takes the same flood minutes), large enough for an ingest that keeps up on a busy machine.
const QUEUED_BYTES = 32 * 1024 * 1024;
const FLOOD = 30_000;
const BURST = 200;

let stack: IngestStack;
let svc: IngestService;
let redis: Redis;

beforeAll(async () => {
  stack = await startIngestStack({ brokerOverrides: { max_queued_bytes: QUEUED_BYTES } });
  const config = { ...stack.config, settings: { ...stack.config.settings } };
  config.settings.ingest = { ...config.settings.ingest, station_rate: { per_s: 100, burst: BURST } };
  svc = await stack.startIngest({ connections: 1, config });
  redis = new Redis(stack.env.REDIS_URL);
}, 120_000);

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** The attacker in a process of its own (test/helpers/flood-publisher.ts); resolves when the broker has acknowledged every message. */
function flood(station: string, ts: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'helpers', 'flood-publisher.ts')], {
    env: {
      ...process.env,
      URL: stack.services.mosquitto.stationUrl,
      USER: station,
      PASS: stack.users[station]!,
      TOPIC: `tuojiang/water/${station}`,
      COUNT: String(FLOOD),
      BYTES: '9000',
      TS: String(ts),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 && out.includes('"done"') ? resolve() : reject(new Error(`flood publisher exited ${code}: ${out}`)),
    ),
  );
}

describe('a station flooding the broker', () => {
  it('costs no other station a reading: its messages beyond its budget are refused with a reason, before they are decoded', async () => {
    const ts = Date.parse('2026-03-02T00:00:00Z');
    const victim = await stack.connectAs('huaikou');
    // The other station reports all through the flood: a reading every 20 ms (within its budget of 100 a second), each acknowledged by the broker.
    let flooding = true;
    let sent = 0;
    const victimReadings = async (): Promise<void> => {
      while (flooding || sent < 50) {
        await victim.publishAsync('tuojiang/water/huaikou', jsonPayload({ ts: ts + sent * 60_000, values: { NH3N: 0.31 } }), { qos: 1 });
        sent++;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await Promise.all([
      flood('zhaozhen', ts).finally(() => {
        flooding = false;
      }),
      victimReadings(),
    ]);

    const stored = (): Promise<number> => countPoints(stack.influx, 'water_quality', 'NH3N', `"station"='huaikou' AND time >= ${ts}ms`);
    // Every one of the victim's readings the broker accepted is stored: none discarded at a full queue.
    await waitFor(async () => (await stored()) === sent, 60_000, "every one of the other station's readings stored").catch(() => undefined);
    // The cause, when it fails: the broker discarded messages for the ingest at its queue limit.
    const brokerLog = readFileSync(stack.services.mosquitto.logFile, 'utf8');
    expect(brokerLog.split('\n').filter((l) => l.includes('Outgoing messages are being dropped'))).toEqual([]);
    expect(await stored()).toBe(sent);

    // The flood's refusals are on record: counted one by one, kept as a dead letter per station and 10 s.
    const rejected = await waitFor(
      async () => {
        const v = (await svc.metrics.readingsRejected.get()).values.find((x) => x.labels.reason === 'TJ_RATE_LIMITED')?.value ?? 0;
        return v > 0 ? v : undefined;
      },
      10_000,
      'refusals counted',
    );
    expect(rejected).toBeGreaterThan(FLOOD / 2);
    const kept = (await deadLetters(redis, 'TJ_RATE_LIMITED')).filter((d) => d.station === 'zhaozhen');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(20);
    expect(kept[0]!.message).toMatch(/ingest\.station_rate/);
    // What was refused was refused before journaling: dead letters of the flood's admitted part only,
    // its burst (200 tokens: 22 messages of 9 KiB) and 100 tokens a second for the seconds it lasted.
    const flooded = (await deadLetters(redis, 'TJ_MALFORMED_JSON')).filter((d) => d.station === 'zhaozhen').length;
    expect(flooded).toBeGreaterThan(0);
    expect(flooded).toBeLessThan(300);
    await waitFor(() => svc.sources.every((src) => src.held === 0), 10_000, 'nothing held');

    // Every refusal is on record within a window of the last: the records that are refusals
    // themselves, plus the counts of those refused unrecorded before each record (a last record
    // without a payload, on the topic RATE_RECORD_TOPIC, once the flood stopped), add up to the counter.
    const total = async (): Promise<number> => {
      const records = (await deadLetters(redis, 'TJ_RATE_LIMITED')).filter((d) => d.station === 'zhaozhen');
      return records.reduce(
        (sum, d) =>
          sum + (d.topic === RATE_RECORD_TOPIC ? 0 : 1) + Number((d.details as { notRecorded?: number } | undefined)?.notRecorded ?? 0),
        0,
      );
    };
    const counted = (await svc.metrics.readingsRejected.get()).values.find((x) => x.labels.reason === 'TJ_RATE_LIMITED')!.value;
    await waitFor(async () => (await total()) === counted, 20_000, 'every refusal on record').catch(() => undefined);
    expect(await total()).toBe(counted);
    const last = (await deadLetters(redis, 'TJ_RATE_LIMITED'))
      .filter((d) => d.station === 'zhaozhen')
      .find((d) => d.topic === RATE_RECORD_TOPIC);
    expect(last?.message).toMatch(
      /^station zhaozhen: \d+ more message\(s\) over ingest\.station_rate .* were refused since the previous record, counted and not kept; none since$/,
    );

    // A stop records the last window too: refusals after the last record, then the ingest stops.
    const attacker = await stack.connectAs('zhaozhen');
    // More than its burst (200) at once: some are refused, after its last record.
    await publishAll(
      attacker,
      Array.from({ length: 600 }, (_, i) => ({
        topic: 'tuojiang/water/zhaozhen',
        payload: jsonPayload({ ts: ts + i, values: { NH3N: 0.3 } }),
      })),
      100,
    );
    const countedAtStop = await waitFor(
      async () => {
        const v = (await svc.metrics.readingsRejected.get()).values.find((x) => x.labels.reason === 'TJ_RATE_LIMITED')!.value;
        return v > counted ? v : undefined;
      },
      10_000,
      'the last refusals counted',
    );
    await svc.stop();
    expect(await total()).toBe(countedAtStop);
  }, 120_000);
});
