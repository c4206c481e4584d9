import { mkdir, mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TuojiangError } from '../../lib/errors.js';
import { freePort } from './ports.js';
import { ensureBinaries, type Log } from './packages.js';
import { ServiceProcess, adoptDir, launch, type ServiceControl } from './process.js';

export interface RedisOptions {
  /** Data dir (AOF, log). Default: a new temp dir, removed by destroy(). */
  dir?: string;
  port?: number;
  /** AOF as in production (default true): survives restart() and kill(). */
  appendonly?: boolean;
  /** AOF fsync policy (default always, as docker-compose.yml ships; everysec to measure what it saves). */
  appendfsync?: 'everysec' | 'always';
  /** More redis-server arguments (a cluster node's, devtools/local-services/redis-cluster.ts). */
  extraArgs?: (port: number) => string[];
  log?: Log;
}

export interface RedisHandle extends ServiceControl {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  dir: string;
  logFile: string;
  readonly pid: number | undefined;
}

/** Inline PING on a raw socket: true on +PONG (false while Redis still answers -LOADING). */
export function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buffer = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      if (buffer.includes('\r\n')) done(buffer.startsWith('+PONG'));
    });
  });
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  const bins = await ensureBinaries(['redis'], opts.log);
  const redisServer = bins['redis-server'];
  if (!redisServer) throw new TuojiangError('SERVICE_START', 'redis-server not found');

  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'tuojiang-redis-')));
  if (ownsDir) adoptDir(dir);
  await mkdir(dir, { recursive: true });
  const logFile = join(dir, 'redis.log');

  // Production settings that matter for correctness: AOF fsynced before Redis answers (by default,
  // as shipped: a crash loses nothing it acknowledged), and noeviction (BullMQ and the journal must never lose keys to memory
  // pressure). No RDB snapshots: the AOF is the durable copy.
  const { proc, port, control } = await launch({
    dir,
    ownsDir,
    fixedPort: opts.port !== undefined,
    prepare: async () => {
      const port = opts.port ?? (await freePort());
      const args = [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        opts.appendonly === false ? 'no' : 'yes',
        '--appendfsync',
        opts.appendfsync ?? 'always',
        '--maxmemory-policy',
        'noeviction',
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
        ...(opts.extraArgs?.(port) ?? []),
      ];
      const proc = new ServiceProcess({ name: 'redis-server', bin: redisServer, args, logFile, port, ready: () => redisPing(port) });
      return { proc, port };
    },
  });

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    logFile,
    get pid() {
      return proc.pid;
    },
    ...control,
  };
}
