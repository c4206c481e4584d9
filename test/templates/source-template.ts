/**
 * CONTRIBUTING.md, recipe 1: the smallest complete source, to copy to `ingest/sources/<name>.ts` and
 * list in `ingest/sources/index.ts`. A gateway on the same host (a Modbus poller, a file watcher)
 * opens a TCP connection and writes one message a line, each prefixed with the topic's tail:
 *
 *     water/zhaozhen {"ts":"2026-03-01T08:00:00+08:00","values":{"NH3N":0.42}}
 *
 * and reads, in the same order, `OK` once that message is durable in the journal (it may forget it)
 * or `RETRY` (it must send it again); answers a decoder queues for a station (an HJ 212 CN 9014) go
 * to the connection that last sent for that station. The station is the gateway's word: the
 * template listens on the loopback only. A source facing the stations themselves must prove who
 * sends (the MQTT broker's per-station login, the HJ 212 listener's MN and PW) before it names a
 * station. CI compiles it and test/unit/contributing-templates.test.ts runs it on a real socket.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../lib/logger.js';
import type { MessageHandler, Source, SourceFactory } from '../../ingest/sources/source.js';

export interface LineSourceOptions {
  /** 127.0.0.1: see above. */
  host: string;
  /** 0 = any free port (tests). */
  port: number;
  /** A longer line closes its connection, as soon as it is that long (nothing larger is buffered). */
  maxLineBytes: number;
  maxConnections: number;
  /** Lines of one connection read and not yet answered; beyond, that socket alone stops being read. */
  maxPendingPerConnection: number;
}

interface Conn {
  socket: Socket;
  partial: Buffer[];
  buffered: number;
  pending: number;
  /** OK / RETRY go out in the order the lines came in. */
  answers: Promise<void>;
}

const LINE = /^(water|air)\/([A-Za-z0-9_-]{1,64}) /;

export class LineSource implements Source {
  readonly name = 'tcp-lines';
  private server: Server | undefined;
  private handler: MessageHandler | undefined;
  private readonly conns = new Set<Conn>();
  private readonly byStation = new Map<string, Conn>();
  private holding = 0;
  private listening = false;

  constructor(
    private readonly opts: LineSourceOptions,
    private readonly topicPrefix: string,
    private readonly log: Logger,
  ) {}

  get held(): number {
    return this.holding;
  }

  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  ready(): Record<string, boolean> {
    return { tcp_lines: this.listening };
  }

  async start(handler: MessageHandler): Promise<void> {
    this.handler = handler;
    const server = createServer((s) => this.onConnection(s));
    this.server = server;
    // A port already taken must stop the ingest at start (ingest-service undoes what started), not later.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.log.error({ err: e.message }, 'line source listener error'));
    this.listening = true;
    this.log.info({ host: this.opts.host, port: this.port }, 'line source listening');
  }

  async reply(station: string, payload: string): Promise<void> {
    const conn = this.byStation.get(station);
    // The sender is gone: it sends again, and that copy is answered. Nothing is lost.
    if (!conn || conn.socket.destroyed) throw new Error(`station ${station} has no open connection`);
    conn.socket.write(payload.endsWith('\n') ? payload : `${payload}\n`);
  }

  quiesce(): void {
    this.listening = false;
    this.server?.close();
    for (const c of this.conns) c.socket.pause();
  }

  /** What was taken is answered (the ingest has closed the journal by now), then each connection ends. */
  async stop(): Promise<void> {
    this.quiesce();
    await Promise.all(
      [...this.conns].map(async (c) => {
        await c.answers;
        await new Promise<void>((resolve) => {
          if (c.socket.destroyed) return resolve();
          c.socket.once('close', () => resolve());
          c.socket.end();
        });
      }),
    );
  }

  drop(): void {
    this.quiesce();
    for (const c of this.conns) c.socket.destroy();
  }

  private onConnection(socket: Socket): void {
    socket.on('error', () => undefined); // a reset by the peer is a close like any other
    if (!this.listening || this.conns.size >= this.opts.maxConnections) {
      this.log.warn({ ip: socket.remoteAddress, open: this.conns.size }, 'line source: connection refused (limit or draining)');
      socket.destroy();
      return;
    }
    const conn: Conn = { socket, partial: [], buffered: 0, pending: 0, answers: Promise.resolve() };
    this.conns.add(conn);
    socket.on('close', () => {
      this.conns.delete(conn);
      for (const [station, c] of this.byStation) if (c === conn) this.byStation.delete(station);
    });
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
  }

  private onData(conn: Conn, chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const line = Buffer.concat([...conn.partial, chunk.subarray(start, nl)]);
      start = nl + 1;
      conn.partial = [];
      conn.buffered = 0;
      if (line.length > this.opts.maxLineBytes)
        return this.close(conn, `a line of ${line.length} bytes (at most ${this.opts.maxLineBytes})`);
      if (line.length > 0) this.take(conn, line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line);
    }
    if (start < chunk.length) {
      conn.partial.push(chunk.subarray(start));
      conn.buffered += chunk.length - start;
      if (conn.buffered > this.opts.maxLineBytes) this.close(conn, `more than ${this.opts.maxLineBytes} bytes without a line end`);
    }
  }

  private take(conn: Conn, line: Buffer): void {
    const m = LINE.exec(line.toString('latin1', 0, 80));
    if (!m || !this.handler) {
      this.answer(conn, Promise.resolve('ERR expected "<water|air>/<station> <payload>"'));
      return;
    }
    const [prefix, medium, station] = m as unknown as [string, string, string];
    this.byStation.set(station, conn);
    this.holding++;
    if (++conn.pending >= this.opts.maxPendingPerConnection) conn.socket.pause();
    // Handed over at once (so many lines share one journal batch); answered only once it settles.
    const durable = this.handler(`${this.topicPrefix}/${medium}/${station}`, line.subarray(prefix.length), { sender: station });
    this.answer(
      conn,
      durable
        .then(
          () => 'OK',
          () => 'RETRY',
        )
        .finally(() => {
          this.holding--;
          if (--conn.pending < this.opts.maxPendingPerConnection && this.listening) conn.socket.resume();
        }),
    );
  }

  private answer(conn: Conn, verdict: Promise<string>): void {
    conn.answers = conn.answers
      .then(() => verdict)
      .then((word) => {
        if (!conn.socket.destroyed) conn.socket.write(`${word}\n`);
      });
  }

  private close(conn: Conn, why: string): void {
    this.log.warn({ ip: conn.socket.remoteAddress, why }, 'line source: connection closed');
    conn.socket.destroy();
  }
}

/**
 * The one export `ingest/sources/index.ts` lists. A real source reads its settings from
 * `ctx.config.settings.ingest.<name>` (declared in config/schema.ts, off by default) and returns
 * undefined when it is not enabled; the template takes them as an argument.
 */
export function lineSource(opts: LineSourceOptions): SourceFactory {
  return (ctx) => new LineSource(opts, ctx.config.settings.mqtt.topic_prefix, ctx.log);
}
