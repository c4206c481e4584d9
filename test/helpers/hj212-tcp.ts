/**
 * Helpers for the HJ 212 TCP listener's tests: a configuration whose stations have logger
 * passwords, written to a folder for child ingests, and a raw logger connection that records every
 * line the platform sends and when it closed.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { RegistrySchema } from '../../config/schema.js';
import type { LoadedConfig } from '../../config/load.js';
import { parseFrame, type Hj212Frame } from '../../ingest/hj212/frame.js';
import { hashPassword } from '../../lib/password-hash.js';

/** Cheap scrypt costs: tests hash and verify many times; the format and the check are the same. */
const TEST_COST = { N: 1024, r: 8, p: 1 };

export interface StationHj212 {
  crc?: 'annex-a' | 'modbus' | 'modbus-swapped' | 'none';
  lenient?: string[];
  /** Another password for this station; `null` for none at all. */
  password?: string | null;
}

/** `config` with every station's logger password set to `password` (hashed), and per-station overrides. */
export async function withLoggerPasswords(
  config: LoadedConfig,
  password: string,
  overrides: Record<string, StationHj212> = {},
): Promise<LoadedConfig> {
  const shared = await hashPassword(password, TEST_COST);
  const stations = [];
  for (const s of config.registry.stations) {
    const o = overrides[s.id] ?? {};
    const pw = o.password === null ? undefined : o.password !== undefined ? await hashPassword(o.password, TEST_COST) : shared;
    stations.push({ ...s, hj212: { crc: o.crc ?? s.hj212.crc, lenient: o.lenient ?? s.hj212.lenient, ...(pw ? { pw_hash: pw } : {}) } });
  }
  return { ...config, registry: RegistrySchema.parse({ ...config.registry, stations }) };
}

/** A copy of the configuration folder whose stations.yaml carries `config`'s hj212 settings. */
export function writeConfigDir(config: LoadedConfig): string {
  const dir = mkdtempSync(join(tmpdir(), 'tj-hj212-config-'));
  cpSync(config.dir, dir, { recursive: true });
  const doc = parseDocument(readFileSync(join(config.dir, 'stations.yaml'), 'utf8'));
  config.registry.stations.forEach((s, i) => doc.setIn(['stations', i, 'hj212'], doc.createNode(s.hj212)));
  writeFileSync(join(dir, 'stations.yaml'), doc.toString());
  return dir;
}

/** One raw TCP connection as a logger: writes what it is told, records answers and the close. */
export class RawLogger {
  readonly socket: Socket;
  readonly answers: Hj212Frame[] = [];
  readonly closed: Promise<void>;
  private inbox = '';
  private listeners: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      this.inbox += d.toString('utf8');
      for (let nl = this.inbox.indexOf('\n'); nl >= 0; nl = this.inbox.indexOf('\n')) {
        const line = this.inbox.slice(0, nl);
        this.inbox = this.inbox.slice(nl + 1);
        if (line.trim()) this.answers.push(parseFrame(line));
      }
      for (const l of this.listeners.splice(0)) l();
    });
    this.closed = new Promise((r) =>
      socket.once('close', () => {
        for (const l of this.listeners.splice(0)) l();
        r();
      }),
    );
  }

  static async open(port: number): Promise<RawLogger> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawLogger(socket);
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readyState === 'closed';
  }

  send(frame: string | Buffer): void {
    this.socket.write(frame);
  }

  /** Resolves with the answer to `qn` once it came; rejects if the connection closes first. */
  async answerTo(qn: string): Promise<Hj212Frame> {
    for (;;) {
      const a = this.answers.find((x) => x.qn === qn);
      if (a) return a;
      if (this.isClosed) throw new Error(`connection closed before the answer to ${qn}`);
      await new Promise<void>((r) => this.listeners.push(r));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
