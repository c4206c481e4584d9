/**
 * The HJ 212 TCP listener against real Redis, InfluxDB and Mosquitto: loggers connect as in the
 * field, and every answer is checked against the journal at the instant it arrives.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerSimulateCommand } from '../../cli/commands/simulate.js';
import type { SimSummary } from '../../simulator/run.js';
import { hj212Crc, modbusSwappedCrc } from '../../ingest/hj212/crc.js';
import { epochMsToDataTime, frameSegment } from '../../ingest/hj212/frame.js';
import type { IngestService } from '../../ingest/ingest-service.js';
import type { Hj212TcpSource } from '../../ingest/sources/hj212-tcp.js';
import type { LoadedConfig } from '../../config/load.js';
import { MN, deadLetters, eventually, fetchMetrics, hj212Frame, metric, pointWith, pointsAt, rows } from '../helpers/fixtures.js';
import { RawLogger, withLoggerPasswords } from '../helpers/hj212-tcp.js';
import { startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

const PW = 'tj-7Q2v';
let stack: IngestStack;
let config: LoadedConfig;
let svc: IngestService;
let port: number;
let redis: Redis;

/** Test limits: short frame timeout so a trickling client is closed soon. */
function tcpConfig(c: LoadedConfig): LoadedConfig {
  return {
    ...c,
    settings: { ...c.settings, ingest: { ...c.settings.ingest, hj212_tcp: { ...c.settings.ingest.hj212_tcp, frame_timeout_s: 2 } } },
  };
}

beforeAll(async () => {
  stack = await startIngestStack();
  config = tcpConfig(
    await withLoggerPasswords(stack.config, PW, {
      hongyuan: { crc: 'modbus-swapped', lenient: ['repeated-key'] },
      gongchengpu: { password: null },
    }),
  );
  svc = await stack.startIngest({ config, env: { HJ212_TCP_PORT: 0, HJ212_TCP_HOST: '127.0.0.1' } });
  port = svc.source<Hj212TcpSource>('hj212-tcp')!.port!;
  redis = new Redis(stack.env.REDIS_URL);
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** Each test's own day in 2025, so no test sees another's points. */
const day = (n: number): number => Date.parse('2025-09-01T00:00:00Z') + n * 86_400_000;
const metrics = () => fetchMetrics(svc.httpPort!);

/** The journal's record of a frame (written in the same script as the reading): present once it is durable. */
const journaled = async (frame: string): Promise<boolean> => {
  const key = createHash('sha256').update(frame.replace(/\r\n$/, '')).digest('base64url').slice(0, 32);
  return (await redis.exists(`${config.settings.journal.stream}:seen:${key}`)) === 1;
};

const frame = (
  station: keyof typeof MN,
  ts: number,
  value: number,
  o: { pw?: string; flag?: number } = {},
): { qn: string; text: string } => {
  const qn = `${new Date(ts).toISOString().replace(/\D/g, '').slice(0, 17)}`;
  return {
    qn,
    text: hj212Frame({ mn: MN[station], ts, qn, pw: o.pw ?? PW, flag: o.flag ?? 5, items: { w21003: { Rtd: value.toFixed(3) } } }),
  };
};

const closedBy = async (reason: string, station = ''): Promise<number> =>
  metric(await metrics(), 'tuojiang_hj212_tcp_closed_total', { reason, station });

describe('HJ 212 over TCP', () => {
  it('answers every data frame only once its reading is in the journal, and stores each', async () => {
    const logger = await RawLogger.open(port);
    const sent = Array.from({ length: 200 }, (_, i) => frame('zhaozhen', day(1) + i * 60_000, i / 100));
    for (const f of sent) logger.send(f.text);
    for (const f of sent) {
      const answer = await logger.answerTo(f.qn);
      // Checked the moment the answer is in: the reading must already be durable.
      expect(await journaled(f.text)).toBe(true);
      expect(answer).toMatchObject({ cn: '9014', st: '91', mn: MN.zhaozhen, pw: PW });
    }
    await waitFor(
      async () =>
        (
          await rows(
            stack.influx,
            `SELECT count("NH3N") FROM "water_quality" WHERE "station" = 'zhaozhen' AND time >= ${day(1)}ms AND time < ${day(2)}ms`,
          )
        )[0]?.count === 200,
      30_000,
      '200 points',
    );
    const stored = await rows(
      stack.influx,
      `SELECT "NH3N" FROM "water_quality" WHERE "station" = 'zhaozhen' AND time >= ${day(1)}ms AND time < ${day(2)}ms`,
    );
    expect(stored.map((r) => r.NH3N)).toEqual(sent.map((_, i) => Number((i / 100).toFixed(3))));
    logger.close();
  });

  it('holds the answer while the journal cannot take the frame (Redis writes paused)', async () => {
    const logger = await RawLogger.open(port);
    const warm = frame('zhaozhen', day(11), 0.1);
    logger.send(warm.text);
    await logger.answerTo(warm.qn);
    // Writes (the journal's script) wait for 1.5 s; reads such as the check below do not.
    await redis.call('CLIENT', 'PAUSE', '1500', 'WRITE');
    const f = frame('zhaozhen', day(11) + 60_000, 0.2);
    logger.send(f.text);
    await logger.answerTo(f.qn);
    expect(await journaled(f.text)).toBe(true);
    logger.close();
  });

  it('a frame re-sent because its answer was lost is answered again and journaled once', async () => {
    const before = await metrics();
    const logger = await RawLogger.open(port);
    const f = frame('huaikou', day(2), 0.5);
    logger.send(f.text);
    await logger.answerTo(f.qn);
    logger.send(f.text);
    await eventually(() => (logger.answers.filter((a) => a.qn === f.qn).length === 2 ? true : undefined), 'the second answer');
    const after = await metrics();
    expect(
      metric(after, 'tuojiang_hj212_resent_total', { station: 'huaikou' }) -
        metric(before, 'tuojiang_hj212_resent_total', { station: 'huaikou' }),
    ).toBe(1);
    expect(
      metric(after, 'tuojiang_readings_journaled_total', { medium: 'water' }) -
        metric(before, 'tuojiang_readings_journaled_total', { medium: 'water' }),
    ).toBe(1);
    logger.close();
  });

  it('a wrong PW closes the connection, counted with the station; nothing is stored or answered', async () => {
    const before = await closedBy('wrong-password', 'shiqiao');
    const logger = await RawLogger.open(port);
    const f = frame('shiqiao', day(3), 0.7, { pw: '123456' });
    logger.send(f.text);
    await logger.closed;
    expect(logger.answers).toEqual([]);
    expect(await closedBy('wrong-password', 'shiqiao')).toBe(before + 1);
    expect(await journaled(f.text)).toBe(false);
    expect(await pointsAt(stack.influx, 'water_quality', 'shiqiao', day(3))).toEqual([]);
  });

  it('an unknown MN closes the connection, counted, and its frame is dead-lettered for the operator', async () => {
    const before = await closedBy('unknown-mn');
    const logger = await RawLogger.open(port);
    logger.send(hj212Frame({ mn: 'FFFF00000000000000000099', ts: day(4), pw: PW, flag: 5, items: { w21003: { Rtd: '1' } } }));
    await logger.closed;
    expect(logger.answers).toEqual([]);
    expect(await closedBy('unknown-mn')).toBe(before + 1);
    await eventually(
      async () => (await deadLetters(redis, 'TJ_UNKNOWN_STATION')).find((d) => d.payload.includes('FFFF00000000000000000099')),
      'the dead letter',
    );
  });

  it("a connection whose MN changes is closed after its first station's frames are answered", async () => {
    const before = await closedBy('mn-changed', 'linjiangsi');
    const logger = await RawLogger.open(port);
    const first = frame('linjiangsi', day(5), 0.2);
    logger.send(first.text);
    await logger.answerTo(first.qn);
    const other = frame('ziyang-city', day(5), 0.3);
    logger.send(other.text);
    await logger.closed;
    expect(await closedBy('mn-changed', 'linjiangsi')).toBe(before + 1);
    expect(await journaled(other.text)).toBe(false);
  });

  it("another station's frame hidden from the connection's MN check is refused: not stored, not answered", async () => {
    // Both frames carry the connection's own PW; only their MN is another station's.
    const ts = day(12);
    const cp = `CP=&&DataTime=${epochMsToDataTime(ts)};w21003-Rtd=77.7&&`;
    const openAs = async (): Promise<RawLogger> => {
      const logger = await RawLogger.open(port);
      const own = frame('linjiangsi', ts, 0.2);
      logger.send(own.text);
      await logger.answerTo(own.qn);
      return logger;
    };

    // A space before `##`, the MN first: the header was read without skipping it.
    const closedBefore = await closedBy('mn-changed', 'linjiangsi');
    const first = await openAs();
    first.send(` ${frameSegment(`MN=${MN.huaikou};QN=20250913000000001;ST=21;CN=2011;PW=${PW};Flag=5;${cp}`)}`);
    await first.closed;
    expect(await closedBy('mn-changed', 'linjiangsi')).toBe(closedBefore + 1);

    // The MN beyond the bytes the header check reads: the frame's own MN must still be the connection's.
    const second = await openAs();
    const far = frameSegment(`QN=20250913000000002;ST=21;CN=2011;PW=${PW};XX=${'x'.repeat(420)};MN=${MN.huaikou};Flag=5;${cp}`);
    second.send(far);
    const refused = await eventually(
      async () => (await deadLetters(redis, 'TJ_STATION_MISMATCH')).find((d) => d.payload.includes('20250913000000002')),
      'the dead letter',
    );
    expect(refused.message).toMatch(/linjiangsi/);
    expect(second.answers.map((a) => a.qn)).not.toContain('20250913000000002');
    second.close();
    expect(await pointsAt(stack.influx, 'water_quality', 'huaikou', ts)).toEqual([]);
  });

  it('a first frame whose MN the header look reads cut short cannot pass as another station without its password', async () => {
    // Padding puts `;MN=` just before byte 400: a look limited to 400 bytes read a prefix of the MN,
    // unknown, so the frame went the unknown-MN way (no password asked) while the parser read the
    // whole MN, a registered station's, and stored it as that station's reading.
    const ts = day(14);
    const cp = `CP=&&DataTime=${epochMsToDataTime(ts)};w21003-Rtd=66.6&&`;
    const head = `QN=20250915000000000;ST=21;CN=2011;PW=000000;Flag=4;XX=`;
    const pad = 'x'.repeat(392 - 6 - head.length);
    const text = frameSegment(`${head}${pad};MN=${MN.huaikou};${cp}`);
    expect(text.indexOf(`;MN=`)).toBe(392);
    const logger = await RawLogger.open(port);
    logger.send(text);
    await logger.closed;
    expect(logger.answers).toEqual([]);
    // Whatever the connection's fate, the frame is not huaikou's reading.
    await new Promise((r) => setTimeout(r, 500));
    expect(await pointsAt(stack.influx, 'water_quality', 'huaikou', ts)).toEqual([]);
  });

  it('a split packet from a logger on an idle ingest: each part answered once stored, the reading stored once complete', async () => {
    // Nothing else arrives meanwhile: a part used to wait for another station's reading to be answered,
    // and the logger sends its next part only after that answer.
    const ts = day(13);
    const qn = '20250914000000000';
    const logger = await RawLogger.open(port);
    const part = (pno: number, items: Record<string, Record<string, string>>): string =>
      hj212Frame({ mn: MN.zhaozhen, ts, qn, pw: PW, flag: 7, pnum: 2, pno, items });
    logger.send(part(1, { w21003: { Rtd: '0.61' } }));
    await eventually(() => (logger.answers.length === 1 ? true : undefined), 'the answer to part 1');
    logger.send(part(2, { w01001: { Rtd: '7.4' } }));
    await eventually(() => (logger.answers.length === 2 ? true : undefined), 'the answer to part 2');
    expect(logger.answers.map((a) => a.qn)).toEqual([qn, qn]);
    const point = await pointWith(stack.influx, 'water_quality', 'zhaozhen', ts, ['NH3N', 'pH']);
    expect(point).toMatchObject({ NH3N: 0.61, pH: 7.4 });
    logger.close();
  });

  it('a station without a password in stations.yaml cannot connect', async () => {
    const logger = await RawLogger.open(port);
    logger.send(frame('gongchengpu', day(6), 0.2).text);
    await logger.closed;
    expect(await closedBy('no-password-configured', 'gongchengpu')).toBe(1);
  });

  it('a tolerated quirk stores the reading with its quirk and counts it per station and quirk in /metrics and pipeline_health', async () => {
    const ts = day(7);
    const seg = frame('hongyuan', ts, 0.9).text.slice(6, -6).replace('w21003-Rtd=0.900', 'w21003-Rtd=0.100,w21003-Rtd=0.900');
    const quirky = `##${String(Buffer.byteLength(seg)).padStart(4, '0')}${seg}${modbusSwappedCrc(seg)}\r\n`;
    expect(modbusSwappedCrc(seg)).not.toBe(hj212Crc(seg));
    const logger = await RawLogger.open(port);
    logger.send(quirky);
    await logger.answerTo(frame('hongyuan', ts, 0.9).qn);
    const point = await pointWith(stack.influx, 'water_quality', 'hongyuan', ts, ['NH3N', 'quirk']);
    expect(point).toMatchObject({ NH3N: 0.9, quirk: 'crc-modbus-swapped,repeated-key' });
    const text = await metrics();
    expect(metric(text, 'tuojiang_hj212_quirks_total', { station: 'hongyuan', quirk: 'crc-modbus-swapped' })).toBe(1);
    expect(metric(text, 'tuojiang_hj212_quirks_total', { station: 'hongyuan', quirk: 'repeated-key' })).toBe(1);
    await eventually(async () => {
      const r = await rows(
        stack.influx,
        `SELECT last("hj212_quirks") AS q FROM "pipeline_health" WHERE "service" = 'ingest' AND "station" = ''`,
      );
      return (r[0]?.q as number) >= 2 ? true : undefined;
    }, 'the hj212_quirks total in pipeline_health');
    // And per station and quirk, as points tagged with both.
    const perQuirk = await eventually(async () => {
      const r = await rows(
        stack.influx,
        `SELECT last("hj212_quirks") AS q FROM "pipeline_health" WHERE "station" = 'hongyuan' GROUP BY "quirk"`,
      );
      return r.length === 2 ? r : undefined;
    }, 'hj212_quirks per station and quirk in pipeline_health');
    expect(Object.fromEntries(perQuirk.map((r) => [r.quirk, r.q]))).toEqual({ 'crc-modbus-swapped': 1, 'repeated-key': 1 });
    logger.close();
  });

  it('a trickling client, a client that never reads and a 1 MB line do not stall a logger', async () => {
    const [tooLong, trickled] = [await closedBy('frame-too-long'), await closedBy('slow-frame')];
    // 1 MB without a line end: refused once it is longer than any frame can be.
    const huge = await RawLogger.open(port);
    huge.send(Buffer.alloc(1024 * 1024, 0x41));
    // A frame begun and never finished.
    const trickle = await RawLogger.open(port);
    trickle.send(frame('ziyang-city', day(8), 0.1).text.slice(0, 30));
    // Sends many frames and never reads its answers.
    const deaf = await RawLogger.open(port);
    deaf.socket.pause();
    for (let i = 0; i < 500; i++) deaf.send(frame('shiqiao', day(8) + i * 1000, 0.3).text);

    const good = await RawLogger.open(port);
    const sent = Array.from({ length: 100 }, (_, i) => frame('zhaozhen', day(8) + i * 60_000, 0.4));
    for (const f of sent) good.send(f.text);
    for (const f of sent) await good.answerTo(f.qn);

    await huge.closed;
    await trickle.closed;
    expect(await closedBy('frame-too-long')).toBe(tooLong + 1);
    expect(await closedBy('slow-frame')).toBe(trickled + 1);
    // The deaf client's frames are stored all the same; its answers wait in its own socket.
    await waitFor(
      async () =>
        (
          await rows(
            stack.influx,
            `SELECT count("NH3N") FROM "water_quality" WHERE "station" = 'shiqiao' AND time >= ${day(8)}ms AND time < ${day(9)}ms`,
          )
        )[0]?.count === 500,
      30_000,
      "the deaf client's 500 readings",
    );
    deaf.close();
    good.close();
  });

  it('a logger that reconnects replaces its old connection, and gets the answers there', async () => {
    const old = await RawLogger.open(port);
    const a = frame('huaikou', day(9), 0.1);
    old.send(a.text);
    await old.answerTo(a.qn);
    const fresh = await RawLogger.open(port);
    const b = frame('huaikou', day(9) + 60_000, 0.2);
    fresh.send(b.text);
    await fresh.answerTo(b.qn);
    await old.closed;
    expect(await closedBy('replaced', 'huaikou')).toBeGreaterThanOrEqual(1);
    fresh.close();
  });
});

describe("the listener's port taken", () => {
  it('refuses to start with TJ_HJ212_LISTEN naming the address', async () => {
    await expect(
      stack.startIngest({ config, instance: 'taken', env: { HJ212_TCP_PORT: port, HJ212_TCP_HOST: '127.0.0.1' } }),
    ).rejects.toMatchObject({ code: 'TJ_HJ212_LISTEN', message: expect.stringContaining(`127.0.0.1:${port}`) });
  });
});

describe('tuojiang simulate --transport tcp', () => {
  it('runs every station as a logger on its own connection; every reading it counts is answered and stored', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { HJ212_LOGGER_PASSWORD: PW, MQTT_URL: stack.services.mosquitto.url });
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
          '--transport',
          'tcp',
          '--hj212-port',
          String(port),
          '--speed',
          '3600',
          '--duration',
          '2',
          '--stations',
          'zhaozhen,ziyang-shijian',
          '--seed',
          '12',
          '--invalid-share',
          '0',
          '--json',
        ],
        { from: 'user' },
      );
    } finally {
      spy.mockRestore();
      process.env = saved;
    }
    const s = JSON.parse(out.join('').trim().split('\n').at(-1)!) as SimSummary & { type: string };
    expect(s.type).toBe('summary');
    expect(s.failed).toBe(0);
    // A logger speaks HJ 212 only and asks for every answer.
    expect(s.byEncoding.json).toBe(0);
    expect(s.byHj212Flag['5']).toBe(s.byEncoding.hj212);
    expect(s.readings).toBeGreaterThan(20);
    const count = async (m: string, f: string, station: string) =>
      Number(
        (
          await rows(
            stack.influx,
            `SELECT count("${f}") AS n FROM "${m}" WHERE "station" = '${station}' AND time >= ${s.simStart}ms AND time <= ${s.simEnd}ms`,
          )
        )[0]?.n ?? 0,
      );
    await waitFor(
      async () =>
        (await count('water_quality', 'NH3N', 'zhaozhen')) + (await count('air_quality', 'PM2_5', 'ziyang-shijian')) === s.readings,
      30_000,
      `the ${s.readings} simulated readings`,
    );
  });
});

describe('graceful drain on SIGTERM', () => {
  it('stops accepting, answers exactly the frames that are durable, and closes', async () => {
    const other = await stack.startIngest({ config, instance: 'drain', env: { HJ212_TCP_PORT: 0, HJ212_TCP_HOST: '127.0.0.1' } });
    const p = other.source<Hj212TcpSource>('hj212-tcp')!.port!;
    const logger = await RawLogger.open(p);
    const sent = Array.from({ length: 2000 }, (_, i) => frame('zhaozhen', day(10) + i * 1000, 0.5));
    for (const f of sent) logger.send(f.text);
    await logger.answerTo(sent[0]!.qn);
    const stopping = other.stop();
    await logger.closed;
    await stopping;
    await expect(RawLogger.open(p)).rejects.toThrow();
    // Answered <=> durable, frame by frame: no answer without the journal, no durable frame left unanswered.
    let answered = 0;
    for (const f of sent) {
      const isAnswered = logger.answers.some((a) => a.qn === f.qn);
      if (isAnswered) answered++;
      expect({ qn: f.qn, answered: isAnswered }).toEqual({ qn: f.qn, answered: await journaled(f.text) });
    }
    expect(answered).toBeGreaterThan(0);
  });
});
