import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { TuojiangError } from '../../lib/errors.js';
import { ADDRESS_IN_USE } from './ports.js';

/**
 * Children of this process, so that no service outlives it. Layers, because each covers a case
 * the others miss:
 * - `stop()` / `kill()` in normal operation;
 * - a synchronous SIGKILL from process 'exit' (a test that throws, a forgotten stopAll);
 * - the same on SIGTERM/SIGINT/SIGHUP when nobody else handles the signal (vitest ends its fork
 *   workers with SIGTERM, which skips 'exit'); the signal is then re-raised, so the process still
 *   dies of it. A process with its own handler (the demo's graceful shutdown) is left alone: it
 *   is expected to call stopAll() itself;
 * - `setpriv --pdeathsig SIGKILL`, so the kernel kills the service even when this process is itself
 *   SIGKILLed, where no JavaScript runs at all.
 * Services run in their own process group (detached) so a terminal Ctrl-C reaches only us: the
 * demo's graceful shutdown can still flush through Redis and InfluxDB before stopping them.
 */
const live = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function cleanUpNow(): void {
  for (const child of live) signalGroup(child, 'SIGKILL');
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
  ownedDirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  cleanUpNow();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', cleanUpNow);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, onSignal);
}

/** A temp dir the launcher created: removed on exit if nobody removed it before. */
export function adoptDir(dir: string): void {
  installExitHook();
  ownedDirs.add(dir);
}

export function releaseDir(dir: string): void {
  ownedDirs.delete(dir);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export function pidsOfLiveChildren(): number[] {
  return [...live].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
}

export function logTail(file: string, lines = 20): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * True when process `pid` holds the socket LISTENING on `port` (Linux /proc). Another process
 * listening there (it took the port between our probe and the service's bind) must not pass for
 * our service: a TCP connect or even a protocol answer cannot tell them apart. Where /proc is
 * missing, assumes yes.
 */
export function listensOn(pid: number, port: number): boolean {
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  let haveProc = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
      haveProc = true;
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f[1]?.endsWith(suffix) && f[3] === '0A' && f[9]) inodes.add(f[9]);
    }
  }
  if (!haveProc) return true;
  if (inodes.size === 0) return false;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] && inodes.has(m[1])) return true;
    }
  } catch {
    return false;
  }
  return false;
}

/** True once something accepts a TCP connection on 127.0.0.1:port. */
export function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ServiceSpec {
  /** For messages: "mosquitto", "redis-server", "influxd". */
  name: string;
  bin: string;
  args: string[];
  /** stdout and stderr of the service are appended here; its tail goes into every error. */
  logFile: string;
  /** The port the service listens on: ready only once THIS process listens there. */
  port: number;
  /** Resolves true once the service answers. Polled until startTimeoutMs. */
  ready: () => Promise<boolean>;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

/**
 * One long-running service binary: start, graceful stop (SIGTERM, wait), kill (SIGKILL), restart
 * with the very same arguments (hence the same ports and data dir).
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private starting: Promise<void> | undefined;

  constructor(private readonly spec: ServiceSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Resolves once running and ready; concurrent callers share one start. */
  start(): Promise<void> {
    if (!this.starting) {
      this.starting = this.child ? Promise.resolve() : this.spawnAndWait();
      void this.starting
        .finally(() => {
          this.starting = undefined;
        })
        .catch(() => undefined);
    }
    return this.starting;
  }

  private async spawnAndWait(): Promise<void> {
    installExitHook();
    const { name, bin, args, logFile } = this.spec;
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', bin, ...args]] : [bin, args];
      child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    live.add(child);
    // Unreferenced: a forgotten service must not keep the parent alive (the exit hook then kills it).
    child.unref();

    let spawnError: Error | undefined;
    let exitInfo: string | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (e) => {
        spawnError = e;
        live.delete(child);
        resolve();
      });
      child.once('exit', (code, signal) => {
        exitInfo = signal ? `signal ${signal}` : `code ${code}`;
        live.delete(child);
        resolve();
      });
    });
    this.exited.then(
      () => {
        if (this.child === child) this.child = undefined;
      },
      () => undefined,
    );

    const timeoutMs = this.spec.startTimeoutMs ?? 20_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnError || exitInfo) {
        const why = spawnError ? spawnError.message : `exited with ${exitInfo}`;
        throw new TuojiangError('SERVICE_START', `${name} (${bin}) ${why} before it was ready. Log ${logFile}:\n${logTail(logFile)}`, {
          bin,
          log: logFile,
        });
      }
      if (child.pid !== undefined && listensOn(child.pid, this.spec.port) && (await this.spec.ready().catch(() => false))) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new TuojiangError(
          'SERVICE_START',
          `${name} (${bin}) was not ready within ${timeoutMs} ms. Log ${logFile}:\n${logTail(logFile)}`,
          {
            bin,
            log: logFile,
          },
        );
      }
      await sleep(50);
    }
  }

  /** SIGTERM and wait: services flush (mosquitto.db, AOF, WAL) on SIGTERM. SIGKILL after the timeout. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.ref();
    signalGroup(child, 'SIGTERM');
    const timeoutMs = this.spec.stopTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), timeoutMs);
    });
    const late = await Promise.race([this.exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      process.stderr.write(`local-services: ${this.spec.name} ignored SIGTERM for ${timeoutMs} ms; killing it\n`);
      await this.kill();
    }
  }

  /** SIGKILL: a crash, for tests of what survives one. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.ref();
    signalGroup(child, 'SIGKILL');
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** What every service handle offers besides its address. */
export interface ServiceControl {
  /** Start again after stop()/kill(): same binary, arguments, ports and data. */
  start(): Promise<void>;
  /** SIGTERM and wait for exit (services flush on the way out); SIGKILL if that takes too long. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Graceful stop, then start on the same port with the same data. */
  restart(): Promise<void>;
  /** stop(), then remove the data dir if the launcher created it. */
  destroy(): Promise<void>;
}

/**
 * Prepares (ports, config) and starts a service, and returns what `prepare` returned plus the
 * controls. When the launcher chose the port itself and the service finds it taken after all
 * (another process got there between probe and bind), it prepares again with new ports. A service
 * that still fails takes its temp dir with it (the error already carries the log's tail).
 */
export async function launch<T extends { proc: ServiceProcess }>(opts: {
  dir: string;
  ownsDir: boolean;
  /** The caller fixed the port: a clash is then the caller's to solve. */
  fixedPort: boolean;
  prepare: () => Promise<T>;
}): Promise<T & { control: ServiceControl }> {
  const removeDir = async (): Promise<void> => {
    if (!opts.ownsDir) return;
    await rm(opts.dir, { recursive: true, force: true });
    releaseDir(opts.dir);
  };
  for (let attempt = 1; ; attempt++) {
    const prepared = await opts.prepare();
    const { proc } = prepared;
    try {
      await proc.start();
    } catch (e) {
      if (!opts.fixedPort && attempt < 4 && ADDRESS_IN_USE.test((e as Error).message)) continue;
      await removeDir();
      throw e;
    }
    const control: ServiceControl = {
      start: () => proc.start(),
      stop: () => proc.stop(),
      kill: () => proc.kill(),
      restart: () => proc.restart(),
      destroy: async () => {
        await proc.stop();
        await removeDir();
      },
    };
    return { ...prepared, control };
  }
}
