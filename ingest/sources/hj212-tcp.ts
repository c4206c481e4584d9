/**
 * HJ 212 data loggers (数采仪) over TCP, as they connect in the field: one connection per logger,
 * frames `##…\r\n` one after another, the logger waiting for the data answer (CN 9014) and
 * re-sending a frame that got none.
 *
 * - The first frame's MN names the station; its PW is checked against the station's hash
 *   (stations.yaml `hj212.pw_hash`). A connection whose MN changes, or whose PW is wrong, is closed
 *   and counted; so is one for an unknown MN (its frame is dead-lettered, so that an operator sees
 *   which logger is knocking).
 * - The answer goes out only once the frame's reading (or dead letter) is durable in the journal,
 *   the same rule as the MQTT source's held PUBACK. A frame re-sent because the answer was lost is
 *   recognised by its bytes and journaled once (dedupeKey, ingest/journal.ts).
 * - Limits, each closing only the connection that broke it: connections overall and per address,
 *   frame length (a line longer than max_frame_bytes is refused as soon as it is that long), a frame
 *   begun and not finished in time (a trickling client), idle connections, answers the logger does
 *   not read, and frames pending per connection (beyond it we stop reading that socket: TCP flow
 *   control pushes back on that logger alone).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { TuojiangError, type ErrorName } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { IngestMetrics } from '../../lib/metrics.js';
import { verifyPassword } from '../../lib/password-hash.js';
import type { Station, StationRegistry } from '../../config/station-registry.js';
import type { MessageHandler, Source, SourceFactory } from './source.js';
import { frameStart } from '../hj212/frame.js';

export interface Hj212TcpOptions {
  host: string;
  port: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxFrameBytes: number;
  maxPendingPerConnection: number;
  idleTimeoutMs: number;
  frameTimeoutMs: number;
  maxUnreadAnswerBytes: number;
}

/** Why a connection was closed by us; the `reason` label of tuojiang_hj212_tcp_closed_total. */
export const CLOSE_REASONS = {
  'unknown-mn': 'UNKNOWN_STATION',
  'wrong-password': 'HJ212_AUTH',
  'no-password-configured': 'HJ212_AUTH',
  'mn-changed': 'HJ212_MN_CHANGED',
  'not-hj212': 'HJ212_REFUSED',
  'frame-too-long': 'HJ212_REFUSED',
  'slow-frame': 'HJ212_REFUSED',
  'slow-reader': 'HJ212_REFUSED',
  idle: 'HJ212_REFUSED',
  'too-many-connections': 'HJ212_REFUSED',
  'too-many-from-address': 'HJ212_REFUSED',
  'auth-busy': 'HJ212_REFUSED',
  replaced: 'HJ212_REFUSED',
} as const satisfies Record<string, ErrorName>;
export type CloseReason = keyof typeof CLOSE_REASONS;

interface Conn {
  socket: Socket;
  ip: string;
  station: Station | undefined;
  /** The PW the station authenticated with on this connection; every later frame must carry it. */
  pw: string | undefined;
  chunks: Buffer[];
  buffered: number;
  pending: number;
  paused: boolean;
  /** Frames are handled in order: the first one's authentication before anything else. */
  chain: Promise<void>;
  frameTimer: NodeJS.Timeout | undefined;
  closed: boolean;
}

/**
 * Scrypt verifications at once, across all connections (libuv's thread pool has 4 threads): a flood
 * of password guesses costs this much CPU at most. Beyond, connections wait their turn — all the
 * loggers reconnecting after a restart are let in a few at a time — up to MAX_AUTH_QUEUE waiting;
 * further ones are closed (`auth-busy`) and reconnect later.
 */
const MAX_VERIFYING = 4;
const MAX_AUTH_QUEUE = 5000;
const KNOWN_PASSWORDS_MAX = 10_000;

// A value counts only with its closing `;`: one cut off by the 400-byte window is a different MN.
const HEADER_FIELD: Record<'MN' | 'PW', RegExp> = { MN: /(?:^##\d{4}|;)MN=([^;]*);/, PW: /(?:^##\d{4}|;)PW=([^;]*);/ };

/**
 * A header field of a frame (`;KEY=value;`) read before the frame is parsed, to know whose it is.
 * Leading whitespace is skipped as parseFrame skips it (frameStart): otherwise a frame of another station behind
 * a space passed the connection's MN check. A frame whose MN is not in its first 400 bytes is still
 * held to the connection's station by the decoder (stationOfFrame).
 */
export function headerField(line: Buffer, key: 'MN' | 'PW'): string | undefined {
  const start = frameStart(line);
  const text = line.toString('latin1', start, Math.min(line.length, start + 400));
  const cp = text.indexOf('CP=');
  return HEADER_FIELD[key].exec(cp < 0 ? text : text.slice(0, cp))?.[1];
}

export class Hj212TcpSource implements Source {
  readonly name = 'hj212-tcp';
  private server: Server | undefined;
  private handler: MessageHandler | undefined;
  private readonly conns = new Set<Conn>();
  private readonly byStation = new Map<string, Conn>();
  private readonly perIp = new Map<string, number>();
  /** station id -> SHA-256 of a PW scrypt accepted / refused: scrypt runs once per password, not per connection. */
  private readonly accepted = new Map<string, string>();
  private readonly refused = new Map<string, true>();
  private verifying = 0;
  private readonly authQueue: Array<() => void> = [];
  private listening = false;
  private quiescing = false;
  private holding = 0;

  constructor(
    private readonly opts: Hj212TcpOptions,
    private readonly registry: StationRegistry,
    private readonly log: Logger,
    private readonly metrics: IngestMetrics,
  ) {}

  get held(): number {
    return this.holding;
  }

  /** The port listened on (the configured one, or the one chosen for port 0). */
  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  ready(): Record<string, boolean> {
    return { hj212_tcp: this.listening };
  }

  async start(handler: MessageHandler): Promise<void> {
    this.handler = handler;
    const server = createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }, (s) => this.onConnection(s));
    this.server = server;
    server.on('error', (e) => this.log.error({ err: e.message }, 'HJ 212 TCP listener error'));
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error): void =>
        reject(new TuojiangError('HJ212_LISTEN', `cannot listen for HJ 212 loggers on ${this.opts.host}:${this.opts.port}: ${e.message}`));
      server.once('error', fail);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', fail);
        resolve();
      });
    });
    this.listening = true;
    const withPassword = this.registry.stations.filter((st) => st.hj212.pw_hash !== undefined).length;
    this.log.info({ host: this.opts.host, port: this.port, stationsWithPassword: withPassword }, 'HJ 212 TCP listener started');
    // Not an error (MQTT stations need none), but a listener no logger can pass is worth a line.
    if (withPassword === 0)
      this.log.warn(
        { code: 'TJ_HJ212_AUTH' },
        'HJ 212 TCP listener is on but no station has hj212.pw_hash in stations.yaml: no logger can connect (tuojiang stations hash-password)',
      );
  }

  private onConnection(socket: Socket): void {
    const ip = socket.remoteAddress ?? '?';
    const conn: Conn = {
      socket,
      ip,
      station: undefined,
      pw: undefined,
      chunks: [],
      buffered: 0,
      pending: 0,
      paused: false,
      chain: Promise.resolve(),
      frameTimer: undefined,
      closed: false,
    };
    socket.on('error', () => undefined); // a reset by the peer is a close like any other
    if (this.quiescing) {
      socket.destroy();
      return;
    }
    const fromIp = (this.perIp.get(ip) ?? 0) + 1;
    this.conns.add(conn);
    this.perIp.set(ip, fromIp);
    this.metrics.hj212Connections.set(this.conns.size);
    socket.on('close', () => this.onClose(conn));
    if (this.conns.size > this.opts.maxConnections)
      return this.refuse(conn, 'too-many-connections', `${this.opts.maxConnections} connections are open`);
    if (fromIp > this.opts.maxConnectionsPerIp)
      return this.refuse(conn, 'too-many-from-address', `${this.opts.maxConnectionsPerIp} connections are open from ${ip}`);
    socket.setTimeout(this.opts.idleTimeoutMs, () => this.refuse(conn, 'idle', `nothing received for ${this.opts.idleTimeoutMs / 1000} s`));
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
  }

  private onClose(conn: Conn): void {
    conn.closed = true;
    clearTimeout(conn.frameTimer);
    this.conns.delete(conn);
    const n = (this.perIp.get(conn.ip) ?? 1) - 1;
    if (n > 0) this.perIp.set(conn.ip, n);
    else this.perIp.delete(conn.ip);
    if (conn.station && this.byStation.get(conn.station.id) === conn) this.byStation.delete(conn.station.id);
    this.metrics.hj212Connections.set(this.conns.size);
  }

  /** Splits the stream into lines (`\n`, a preceding `\r` dropped) without copying more than once. */
  private onData(conn: Conn, chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0 && !conn.closed; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      let line = conn.buffered === 0 ? piece : Buffer.concat([...conn.chunks, piece]);
      conn.chunks = [];
      conn.buffered = 0;
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      if (line.length > this.opts.maxFrameBytes)
        return this.refuse(conn, 'frame-too-long', `a line of ${line.length} bytes (at most ${this.opts.maxFrameBytes})`);
      // An empty line carries nothing; some loggers send one to keep the connection up.
      if (line.length > 0) this.enqueue(conn, Buffer.from(line));
    }
    if (conn.closed) return;
    if (start < chunk.length) {
      conn.chunks.push(chunk.subarray(start));
      conn.buffered += chunk.length - start;
      if (conn.buffered > this.opts.maxFrameBytes)
        return this.refuse(conn, 'frame-too-long', `more than ${this.opts.maxFrameBytes} bytes without a line end`);
      conn.frameTimer ??= setTimeout(
        () => this.refuse(conn, 'slow-frame', `a frame begun ${this.opts.frameTimeoutMs / 1000} s ago is not finished`),
        this.opts.frameTimeoutMs,
      );
    } else if (conn.frameTimer) {
      clearTimeout(conn.frameTimer);
      conn.frameTimer = undefined;
    }
  }

  private enqueue(conn: Conn, line: Buffer): void {
    // Held from here: the frame is ours until its answer is sent or its connection closes.
    conn.pending++;
    this.setHolding(this.holding + 1);
    if (conn.pending >= this.opts.maxPendingPerConnection && !conn.paused) {
      conn.paused = true;
      conn.socket.pause();
      this.metrics.readPauses.inc();
    }
    const settled = (): void => {
      conn.pending--;
      this.setHolding(this.holding - 1);
      if (conn.paused && conn.pending <= Math.floor(this.opts.maxPendingPerConnection / 2) && !this.quiescing) {
        conn.paused = false;
        conn.socket.resume();
      }
    };
    conn.chain = conn.chain
      .then(() => this.handleFrame(conn, line))
      .then(
        (durable) => {
          if (durable) durable.then(settled, settled);
          else settled();
        },
        (e: unknown) => {
          settled();
          this.log.error({ err: (e as Error).message }, 'HJ 212 TCP frame handling failed');
        },
      );
  }

  /** Authenticates where needed, then hands the frame over; the promise of its durability, or none if refused. */
  private async handleFrame(conn: Conn, line: Buffer): Promise<Promise<void> | undefined> {
    if (conn.closed || !this.handler) return undefined;
    const mn = headerField(line, 'MN');
    const pw = headerField(line, 'PW');
    if (conn.station === undefined) {
      if (mn === undefined) return this.refuse(conn, 'not-hj212', 'the first line is not an HJ 212 frame with an MN');
      const station = this.registry.byMN(mn);
      if (!station) {
        // Journaled as a dead letter (TJ_UNKNOWN_STATION, with the frame) so that a new logger is found.
        // No password was asked: should the parser read a registered MN after all, the frame is refused.
        const durable = this.handler('hj212-tcp', line, { decoders: ['hj212'], sender: null });
        durable.catch(() => undefined);
        this.refuse(conn, 'unknown-mn', `MN ${mn.slice(0, 40)} is not in the registry`, { mn: mn.slice(0, 40) });
        return durable;
      }
      const verdict = await this.authenticate(station, pw);
      if (conn.closed) return undefined;
      if (verdict !== 'ok')
        return this.refuse(
          conn,
          verdict,
          `station ${station.id}: ${verdict === 'auth-busy' ? 'too many password checks at once' : verdict === 'no-password-configured' ? 'no hj212.pw_hash in stations.yaml' : 'wrong PW'}`,
          { station: station.id },
        );
      conn.station = station;
      conn.pw = pw;
      const previous = this.byStation.get(station.id);
      // One connection per logger: a logger that reconnects leaves its old connection half-open.
      if (previous && previous !== conn)
        this.refuse(previous, 'replaced', `station ${station.id} connected again from ${conn.ip}`, { station: station.id });
      this.byStation.set(station.id, conn);
      this.log.info({ station: station.id, ip: conn.ip }, 'HJ 212 logger connected');
    } else {
      if (mn !== undefined && this.registry.byMN(mn)?.id !== conn.station.id) {
        return this.refuse(conn, 'mn-changed', `the connection of station ${conn.station.id} sent a frame with MN ${mn.slice(0, 40)}`, {
          station: conn.station.id,
        });
      }
      if (pw !== conn.pw)
        return this.refuse(conn, 'wrong-password', `station ${conn.station.id}: the PW changed within the connection`, {
          station: conn.station.id,
        });
    }
    const dedupeKey = createHash('sha256').update(line).digest('base64url').slice(0, 32);
    return this.handler(`hj212-tcp/${conn.station.id}`, line, { decoders: ['hj212'], dedupeKey, sender: conn.station.id });
  }

  private async authenticate(
    station: Station,
    pw: string | undefined,
  ): Promise<'ok' | 'wrong-password' | 'no-password-configured' | 'auth-busy'> {
    const hash = station.hj212.pw_hash;
    if (!hash) return 'no-password-configured';
    if (pw === undefined) return 'wrong-password';
    const digest = createHash('sha256').update(`${station.id}\u0000${pw}\u0000${hash}`).digest('hex');
    if (this.accepted.get(station.id) === digest) return 'ok';
    if (this.refused.has(digest)) return 'wrong-password';
    if (this.verifying >= MAX_VERIFYING) {
      if (this.authQueue.length >= MAX_AUTH_QUEUE) return 'auth-busy';
      await new Promise<void>((r) => this.authQueue.push(r));
      // Another connection of the same station may have verified the same PW meanwhile.
      if (this.accepted.get(station.id) === digest) return this.nextAuth('ok');
      if (this.refused.has(digest)) return this.nextAuth('wrong-password');
    }
    this.verifying++;
    try {
      const ok = await verifyPassword(pw, hash);
      if (ok) this.accepted.set(station.id, digest);
      else {
        if (this.refused.size >= KNOWN_PASSWORDS_MAX) this.refused.clear();
        this.refused.set(digest, true);
      }
      return ok ? 'ok' : 'wrong-password';
    } finally {
      this.verifying--;
      this.authQueue.shift()?.();
    }
  }

  /** A queued check answered from the cache: pass the turn on. */
  private nextAuth<T>(verdict: T): T {
    this.authQueue.shift()?.();
    return verdict;
  }

  /** Closes one connection for a reason, counted and logged with its stable code. */
  private refuse(conn: Conn, reason: CloseReason, message: string, details: Record<string, unknown> = {}): undefined {
    if (conn.closed) return undefined;
    conn.closed = true;
    const err = new TuojiangError(CLOSE_REASONS[reason], `HJ 212 connection from ${conn.ip} closed (${reason}): ${message}`);
    this.metrics.hj212Closed.inc({ reason, station: conn.station?.id ?? (typeof details.station === 'string' ? details.station : '') });
    const level = reason === 'replaced' || reason === 'idle' ? 'info' : 'warn';
    this.log[level]({ code: err.code, reason, ip: conn.ip, ...details, hint: err.hint }, err.message);
    clearTimeout(conn.frameTimer);
    conn.socket.destroy();
    return undefined;
  }

  async reply(station: string, payload: string): Promise<void> {
    const conn = this.byStation.get(station);
    // The logger is gone (or reconnected and not yet re-authenticated): it re-sends, and the
    // re-sent frame is answered then. Nothing is lost.
    if (!conn || conn.closed) throw new Error(`station ${station} has no open HJ 212 connection`);
    if (conn.socket.writableLength > this.opts.maxUnreadAnswerBytes) {
      this.refuse(conn, 'slow-reader', `${conn.socket.writableLength} bytes of answers not read`, { station });
      throw new Error(`station ${station} does not read its answers`);
    }
    // The answers of one journal batch are written in the same tick: one send for all of them.
    if (!conn.socket.writableCorked) {
      conn.socket.cork();
      process.nextTick(() => conn.socket.uncork());
    }
    conn.socket.write(payload);
  }

  private setHolding(n: number): void {
    this.holding = n;
    this.metrics.hj212FramesHeld.set(n);
  }

  quiesce(): void {
    this.quiescing = true;
    this.listening = false;
    this.server?.close();
    for (const c of this.conns) c.socket.pause();
  }

  /**
   * Answers owed were written when their frames became durable (the ingest closes the journal
   * before stopping its sources); end each connection after them, and destroy what has not closed
   * within 2 s. Frames read and not journaled get no answer: their loggers re-send them.
   */
  async stop(): Promise<void> {
    this.quiesce();
    const open = [...this.conns];
    await Promise.all(
      open.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.closed || c.socket.destroyed) return resolve();
            const t = setTimeout(() => {
              c.socket.destroy();
              resolve();
            }, 2000);
            c.socket.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            c.socket.end();
          }),
      ),
    );
    await new Promise<void>((resolve) => (this.server?.listening ? this.server.close(() => resolve()) : resolve()));
  }

  drop(): void {
    this.quiesce();
    for (const c of this.conns) c.socket.destroy();
  }
}

/** On when tuojiang.yaml `ingest.hj212_tcp.enabled` or HJ212_TCP_PORT is set. */
export const hj212TcpSource: SourceFactory = (ctx) => {
  const c = ctx.config.settings.ingest.hj212_tcp;
  if (!c.enabled && ctx.env.HJ212_TCP_PORT === undefined) return undefined;
  return new Hj212TcpSource(
    {
      host: ctx.env.HJ212_TCP_HOST ?? c.host,
      port: ctx.env.HJ212_TCP_PORT ?? c.port,
      maxConnections: c.max_connections,
      maxConnectionsPerIp: c.max_connections_per_ip,
      maxFrameBytes: c.max_frame_bytes,
      maxPendingPerConnection: c.max_pending_per_connection,
      idleTimeoutMs: c.idle_timeout_s * 1000,
      frameTimeoutMs: c.frame_timeout_s * 1000,
      maxUnreadAnswerBytes: c.max_unread_answer_bytes,
    },
    ctx.registry,
    ctx.log,
    ctx.metrics,
  );
};
