/**
 * Issue 12, end to end over TCP with the real services: 10 data loggers send 1,000 readings each to
 * a child `tuojiang ingest`, which is SIGKILLed mid-burst and started again. The loggers behave as
 * in the field (simulator/tcp-logger.ts): keep every frame until answered, re-send, reconnect with
 * backoff. Every reading must end up in InfluxDB exactly once with its value.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { epochMsToQn } from '../../ingest/hj212/frame.js';
import { freePort } from '../../devtools/local-services/index.js';
import { StationRegistry } from '../../config/station-registry.js';
import { TcpLogger } from '../../simulator/tcp-logger.js';
import { MN, fetchMetrics, hj212Frame, metric, rows } from '../helpers/fixtures.js';
import { RawLogger, withLoggerPasswords, writeConfigDir } from '../helpers/hj212-tcp.js';
import { startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PER_LOGGER = 1000;
const PW = 'e2e-pw-81';
const STATIONS = [
  'zhaozhen',
  'huaikou',
  'hongyuan',
  'shiqiao',
  'linjiangsi',
  'ziyang-city',
  'gongchengpu',
  'jianyang-shijian',
  'jianyang-hedong',
  'ziyang-shijian',
] as const;
const AIR = new Set<string>(['jianyang-shijian', 'jianyang-hedong', 'ziyang-shijian']);
const START = Date.parse('2026-04-01T00:00:00Z');

let stack: IngestStack | undefined;
let configDir: string | undefined;
const children: ChildProcess[] = [];
const loggers: TcpLogger[] = [];

afterAll(async () => {
  for (const l of loggers) l.close();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stack?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

interface Sent {
  station: string;
  ts: number;
  value: number;
  frame: string;
}

function readings(station: string): Sent[] {
  return Array.from({ length: PER_LOGGER }, (_, i) => {
    const ts = START + i * 60_000;
    const air = AIR.has(station);
    // Distinct, known values: a reading stored with another's value would show.
    const value = air ? 1 + ((i * 7919) % 400) : ((i * 7919) % 1000) / 1000 + 0.01;
    const items: Record<string, Record<string, string>> = air
      ? { a34004: { Rtd: value.toFixed(0) } }
      : { w21003: { Rtd: value.toFixed(3) } };
    return {
      station,
      ts,
      value: Number(air ? value.toFixed(0) : value.toFixed(3)),
      frame: hj212Frame({ mn: MN[station as keyof typeof MN], ts, qn: epochMsToQn(ts), pw: PW, flag: 5, items }),
    };
  });
}

describe('HJ 212 over TCP end to end', () => {
  it(
    '10 loggers x 1,000 readings, ingest SIGKILLed mid-burst: every frame answered after the journal, 0 lost, 0 doubled',
    { timeout: 120_000 },
    async () => {
      stack = await startIngestStack();
      const s = stack;
      const config = await withLoggerPasswords(s.config, PW);
      configDir = writeConfigDir(config);
      const [httpPort, tcpPort] = [await freePort(), await freePort()];
      const spawnIngest = (): ChildProcess => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), 'ingest', '--no-checks'], {
          cwd: ROOT,
          env: {
            ...s.childEnv(),
            TUOJIANG_CONFIG: configDir,
            HTTP_PORT: String(httpPort),
            INGEST_HTTP_PORT: String(httpPort),
            HJ212_TCP_PORT: String(tcpPort),
            HJ212_TCP_HOST: '127.0.0.1',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        child.stderr?.on('data', (d: Buffer) => {
          err = (err + d.toString()).slice(-4000);
        });
        child.on('exit', (code, signal) => {
          if (code !== 0 && signal !== 'SIGKILL') console.error(`ingest exited ${code} ${signal}\n${err}`);
        });
        children.push(child);
        return child;
      };
      const ready = () =>
        waitFor(
          async () => {
            const r = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
            return r.status === 200 && ((await r.json()) as { checks: Record<string, boolean> }).checks.hj212_tcp === true;
          },
          60_000,
          'ingest ready with its HJ 212 listener',
        );

      const first = spawnIngest();
      await ready();

      const all = STATIONS.flatMap((st) => readings(st));
      // Checked as each answer arrives: the frame's journal record (written with its reading) exists.
      const redis = new Redis(s.env.REDIS_URL);
      const inJournal = async (frame: string): Promise<boolean> => {
        const key = createHash('sha256').update(frame.replace(/\r\n$/, '')).digest('base64url').slice(0, 32);
        return (await redis.exists(`${config.settings.journal.stream}:seen:${key}`)) === 1;
      };
      const checks: Array<Promise<boolean>> = [];
      let answered = 0;
      let killed: Promise<void> | undefined;
      const done = STATIONS.map((station) => {
        const logger = new TcpLogger({
          host: '127.0.0.1',
          port: tcpPort,
          resendAfterMs: 3000,
          backoff: { initialMs: 100, maxMs: 1000 },
          window: 100,
        });
        loggers.push(logger);
        return Promise.all(
          all
            .filter((r) => r.station === station)
            .map((r) =>
              logger.send(r.frame).then(() => {
                checks.push(inJournal(r.frame));
                answered++;
                if (!killed && answered >= all.length / 2) {
                  killed = new Promise((res) => first.once('exit', () => res()));
                  first.kill('SIGKILL');
                }
              }),
            ),
        );
      });
      await waitFor(() => killed !== undefined, 60_000, 'half the readings answered');
      await killed;
      spawnIngest();
      await ready();

      // While the loggers re-send: a wrong PW, an unknown MN and a 1 MB line are refused and counted.
      const wrong = await RawLogger.open(tcpPort);
      wrong.send(hj212Frame({ mn: MN.zhaozhen, ts: START, pw: '123456', flag: 5, items: { w21003: { Rtd: '9' } } }));
      const unknown = await RawLogger.open(tcpPort);
      unknown.send(hj212Frame({ mn: 'ABCDEF000000000000000001', ts: START, pw: PW, flag: 5, items: { w21003: { Rtd: '9' } } }));
      const huge = await RawLogger.open(tcpPort);
      huge.send(Buffer.alloc(1024 * 1024, 0x23));
      await Promise.all(done);
      await Promise.all([wrong.closed, unknown.closed, huge.closed]);
      const answeredUnjournaled = (await Promise.all(checks)).filter((ok) => !ok).length;
      redis.disconnect();
      expect({ answers: checks.length, answeredUnjournaled }).toEqual({ answers: all.length, answeredUnjournaled: 0 });

      const text = await fetchMetrics(httpPort);
      expect(metric(text, 'tuojiang_hj212_tcp_closed_total', { reason: 'wrong-password', station: 'zhaozhen' })).toBe(1);
      expect(metric(text, 'tuojiang_hj212_tcp_closed_total', { reason: 'unknown-mn', station: '' })).toBe(1);
      expect(metric(text, 'tuojiang_hj212_tcp_closed_total', { reason: 'frame-too-long', station: '' })).toBe(1);
      // The kill cost answers: the loggers re-sent frames, some of them already journaled.
      const resent = loggers.reduce((n, l) => n + l.resent, 0);
      expect(resent).toBeGreaterThan(0);

      // Every reading stored once, with its value.
      const where = `time >= ${START}ms AND time < ${START + PER_LOGGER * 60_000}ms`;
      const stored = new Map<string, number[]>();
      await waitFor(
        async () => {
          stored.clear();
          for (const [measurement, field] of [
            ['water_quality', 'NH3N'],
            ['air_quality', 'PM2_5'],
          ] as const) {
            for (const r of await rows(s.influx, `SELECT "${field}" AS v, "station" FROM "${measurement}" WHERE ${where}`)) {
              const key = `${String(r.station)}@${Number(r.time)}`;
              stored.set(key, [...(stored.get(key) ?? []), r.v as number]);
            }
          }
          return stored.size >= all.length;
        },
        60_000,
        `all ${all.length} readings in InfluxDB`,
        500,
      );
      // A station sending in another unit (stations.yaml units:) is stored in the catalogue's unit.
      const registry = new StationRegistry(config.registry);
      let missing = 0,
        doubled = 0,
        wrongValue = 0;
      for (const r of all) {
        const got = stored.get(`${r.station}@${r.ts}`);
        const expected = r.value * registry.unitScale(r.station, AIR.has(r.station) ? 'PM2_5' : 'NH3N');
        if (!got) missing++;
        else if (got.length > 1) doubled++;
        else if (Math.abs(got[0]! - expected) > 1e-9 * Math.max(1, expected)) wrongValue++;
      }
      expect({ stored: stored.size, missing, doubled, wrongValue }).toEqual({ stored: all.length, missing: 0, doubled: 0, wrongValue: 0 });
      // Frames re-sent after their reading was journaled were recognised and not journaled again.
      console.log(
        `hj212 tcp e2e: ${all.length} readings, ${resent} frames re-sent by the loggers, ${metric(text, 'tuojiang_hj212_resent_total')} recognised as re-sent by the restarted ingest`,
      );
    },
  );
});
