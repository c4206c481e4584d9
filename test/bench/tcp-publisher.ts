/**
 * Benchmark data loggers over HJ 212 TCP, run as their own process: STATIONS loggers (one TCP
 * connection each, simulator/tcp-logger.ts), COUNT frames in all, each kept until answered. Prints
 * the same JSON lines as publisher.ts: {"start"}, {"sent": n, "t"} every 1,000 answers, {"done"}.
 * Env: HOST, PORT, PW, COUNT, STATIONS, T0, SPACING_MS (sensor time between a logger's frames, default
 * a minute), WINDOW (unanswered frames per logger).
 */
import { encodeCp, encodeFrame, epochMsToDataTime, epochMsToQn } from '../../ingest/hj212/frame.js';
import { TcpLogger } from '../../simulator/tcp-logger.js';

/** Bench station n's MN (config written by ingest.bench.ts). */
export const benchMn = (n: number): string => `BENCH${String(n).padStart(19, '0')}`;

/** The bench reading i of station n as an HJ 212 CN 2011 frame (Flag 5 asks for the answer, 4 does not). */
export function benchFrame(n: number, ts: number, i: number, flag: 4 | 5, pw = '123456'): string {
  return encodeFrame({
    qn: epochMsToQn(ts),
    st: '21',
    cn: '2011',
    pw,
    mn: benchMn(n),
    flag,
    cp: encodeCp(epochMsToDataTime(ts), {
      w21003: { Rtd: ((i % 997) / 100).toFixed(2) },
      w01001: { Rtd: '7.40' },
      w01009: { Rtd: '8.10' },
    }),
  });
}

if (process.argv[1]?.endsWith('tcp-publisher.ts')) {
  const env = (k: string, d?: string): string => {
    const v = process.env[k] ?? d;
    if (v === undefined) throw new Error(`${k} is required`);
    return v;
  };
  const count = Number(env('COUNT', '100000'));
  const stations = Number(env('STATIONS', '100'));
  const t0 = Date.parse(env('T0', '2026-07-01T00:00:00Z'));
  const spacingMs = Number(env('SPACING_MS', '60000'));
  const pw = env('PW');
  const loggers = Array.from(
    { length: stations },
    () =>
      new TcpLogger({
        host: env('HOST', '127.0.0.1'),
        port: Number(env('PORT')),
        window: Number(env('WINDOW', '50')),
        resendAfterMs: 20_000,
      }),
  );
  const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  out({ start: Date.now() });
  let acked = 0;
  const sends: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const n = i % stations;
    const ts = t0 + Math.floor(i / stations) * spacingMs;
    sends.push(
      loggers[n]!.send(benchFrame(n, ts, i, 5, pw)).then(() => {
        acked++;
        if (acked % 1000 === 0) out({ sent: acked, t: Date.now() });
      }),
    );
  }
  await Promise.all(sends);
  const cpu = process.cpuUsage();
  out({ done: Date.now(), resent: loggers.reduce((a, l) => a + l.resent, 0), cpuMs: Math.round((cpu.user + cpu.system) / 1000) });
  for (const l of loggers) l.close();
}
