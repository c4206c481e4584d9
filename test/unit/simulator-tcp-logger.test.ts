/**
 * The simulated data logger against a scripted platform on loopback: it keeps a frame until its
 * answer, re-sends after the timeout, and re-opens a dropped connection (with backoff) and re-sends
 * what was unanswered there.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildDataAnswer } from '../../ingest/hj212/answer.js';
import { parseFrame } from '../../ingest/hj212/frame.js';
import { TcpLogger } from '../../simulator/tcp-logger.js';
import { hj212Frame } from '../helpers/fixtures.js';

let server: Server | undefined;
const loggers: TcpLogger[] = [];
afterEach(async () => {
  for (const l of loggers.splice(0)) l.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A platform that calls `onFrame` for every frame line it receives, with the connection's number. */
async function platform(onFrame: (line: string, socket: Socket, connection: number) => void): Promise<number> {
  let connections = 0;
  server = createServer((socket) => {
    const n = ++connections;
    let buf = '';
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        onFrame(line, socket, n);
      }
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return (server.address() as { port: number }).port;
}

const frame = (qn: string, flag = 5) =>
  hj212Frame({ mn: 'M1', ts: Date.parse('2026-01-01T00:00:00Z'), qn, flag, items: { w21003: { Rtd: '1' } } });

describe('TcpLogger', () => {
  it('re-sends a frame that got no answer in time, and is done at the first answer', async () => {
    const seen = new Map<string, number>();
    const port = await platform((line, socket) => {
      const f = parseFrame(line);
      const n = (seen.get(f.qn!) ?? 0) + 1;
      seen.set(f.qn!, n);
      if (n === 2) socket.write(buildDataAnswer(f, Date.now()));
    });
    const logger = new TcpLogger({ host: '127.0.0.1', port, resendAfterMs: 200 });
    loggers.push(logger);
    await logger.send(frame('20260101080000001'));
    expect(seen.get('20260101080000001')).toBe(2);
    expect(logger.resent).toBe(1);
    expect(logger.unanswered).toBe(0);
  });

  it('re-opens a dropped connection and re-sends what was unanswered on it', async () => {
    const port = await platform((line, socket, connection) => {
      if (connection === 1) socket.destroy();
      else socket.write(buildDataAnswer(parseFrame(line), Date.now()));
    });
    const logger = new TcpLogger({ host: '127.0.0.1', port, resendAfterMs: 60_000, backoff: { initialMs: 20, maxMs: 100 } });
    loggers.push(logger);
    await logger.send(frame('20260101080000002'));
    expect(logger.connections).toBe(2);
    expect(logger.resent).toBe(1);
  });

  it('is done with a frame asking for no answer once it is written', async () => {
    const got: string[] = [];
    const port = await platform((line) => got.push(parseFrame(line).qn!));
    const logger = new TcpLogger({ host: '127.0.0.1', port });
    loggers.push(logger);
    await logger.send(frame('20260101080000003', 4));
    expect(logger.unanswered).toBe(0);
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (got.length > 0) {
          clearInterval(t);
          r();
        }
      }, 10);
    });
    expect(got).toEqual(['20260101080000003']);
  });
});
