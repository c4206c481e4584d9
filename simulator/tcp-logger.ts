/**
 * A data logger's side of HJ 212 over TCP, as field loggers behave: one connection to the platform,
 * every frame kept until its answer (CN 9014, same QN) arrives, re-sent when none came within
 * `resendAfterMs`, and the connection re-opened with exponential backoff when it drops, re-sending
 * everything unanswered. A frame sent without asking for an answer (Flag bit A off) is done once
 * written, as a logger does.
 */
import { connect, type Socket } from 'node:net';
import { parseFrame } from '../ingest/hj212/frame.js';

export interface TcpLoggerOptions {
  host: string;
  port: number;
  /** Re-send a frame not answered within this. Default 10 s. */
  resendAfterMs?: number;
  /** Reconnect delays: from initialMs, doubling up to maxMs. Default 200 ms .. 5 s. */
  backoff?: { initialMs: number; maxMs: number };
  /** Unanswered frames at most; send() waits for room. Default 100. */
  window?: number;
}

interface Pending {
  frame: string;
  sentAt: number;
  attempts: number;
  resolve: () => void;
}

export class TcpLogger {
  private socket: Socket | undefined;
  private connected = false;
  private closed = false;
  private readonly pending = new Map<string, Pending>();
  /** send() calls waiting for room in the window: one is let in per answer. */
  private readonly slotWaiters: Array<() => void> = [];
  /** Waiting for a connection, or for everything to be answered. */
  private readonly waiters: Array<() => void> = [];
  private inbox = '';
  private delay: number;
  private readonly timer: NodeJS.Timeout;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Frames written more than once (re-sent after a timeout or a reconnect). */
  resent = 0;
  /** Connections opened, the first included. */
  connections = 0;
  /** Why the last connection ended, if it did (for a summary). */
  lastError: string | undefined;

  constructor(private readonly opts: TcpLoggerOptions) {
    this.delay = opts.backoff?.initialMs ?? 200;
    const resendAfter = opts.resendAfterMs ?? 10_000;
    this.timer = setInterval(() => this.resendOverdue(resendAfter), Math.max(50, Math.floor(resendAfter / 4)));
    this.timer.unref();
    this.open();
  }

  /** Frames written and not answered yet. */
  get unanswered(): number {
    return this.pending.size;
  }

  /**
   * Sends one frame; resolves once it is answered (or written, when it asks for no answer). The QN
   * identifies it: a second frame with a pending QN waits for the same answer.
   */
  async send(frame: string): Promise<void> {
    // The header is enough (the frame is ours, already valid): no CRC to compute per frame sent.
    const qnField = /(?:^##\d{4}|;)QN=([^;]*)/.exec(frame)?.[1];
    const flagField = /;Flag=(\d+)/.exec(frame.slice(0, frame.indexOf('CP=')))?.[1];
    const wantsAnswer = flagField !== undefined && (Number(flagField) & 1) === 1 && qnField !== undefined;
    if (!wantsAnswer) {
      await this.whenConnected();
      this.socket!.write(frame);
      return;
    }
    while (this.pending.size >= (this.opts.window ?? 100) && !this.closed) await new Promise<void>((r) => this.slotWaiters.push(r));
    const qn = qnField!;
    const existing = this.pending.get(qn);
    if (existing)
      return new Promise<void>((resolve) => {
        const prev = existing.resolve;
        existing.resolve = () => {
          prev();
          resolve();
        };
      });
    return new Promise<void>((resolve) => {
      const p: Pending = { frame, sentAt: Date.now(), attempts: 0, resolve };
      this.pending.set(qn, p);
      if (this.connected) this.write(p);
    });
  }

  /** Resolves when every frame sent so far has been answered. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await new Promise<void>((r) => this.waiters.push(r));
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    for (const w of this.waiters.splice(0)) w();
    for (const w of this.slotWaiters.splice(0)) w();
  }

  private async whenConnected(): Promise<void> {
    while (!this.connected && !this.closed) await new Promise<void>((r) => this.waiters.push(r));
    if (this.closed) throw new Error('logger closed');
  }

  private write(p: Pending): void {
    if (p.attempts > 0) this.resent++;
    p.attempts++;
    p.sentAt = Date.now();
    this.socket!.write(p.frame);
  }

  private open(): void {
    if (this.closed) return;
    const socket = connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      this.connections++;
      this.delay = this.opts.backoff?.initialMs ?? 200;
      // Everything unanswered goes again, oldest first: the platform may have lost it with the connection.
      for (const p of this.pending.values()) this.write(p);
      this.wake();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => {
      this.lastError = e.message;
    });
    socket.on('close', () => {
      this.connected = false;
      this.inbox = '';
      if (this.closed) return;
      const wait = this.delay;
      this.delay = Math.min(this.delay * 2, this.opts.backoff?.maxMs ?? 5000);
      this.reconnectTimer = setTimeout(() => this.open(), wait);
    });
  }

  private onData(chunk: Buffer): void {
    this.inbox += chunk.toString('utf8');
    for (let nl = this.inbox.indexOf('\n'); nl >= 0; nl = this.inbox.indexOf('\n')) {
      const line = this.inbox.slice(0, nl);
      this.inbox = this.inbox.slice(nl + 1);
      if (line.trim() === '') continue;
      try {
        const answer = parseFrame(line);
        if (answer.cn !== '9014' || answer.qn === undefined) continue;
        const p = this.pending.get(answer.qn);
        if (!p) continue; // an answer to a re-sent frame already answered
        this.pending.delete(answer.qn);
        p.resolve();
        this.slotWaiters.shift()?.();
      } catch {
        // Not a frame we understand: a logger ignores it.
      }
    }
    this.wake();
  }

  private resendOverdue(afterMs: number): void {
    if (!this.connected) return;
    const now = Date.now();
    for (const p of this.pending.values()) if (now - p.sentAt >= afterMs) this.write(p);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
