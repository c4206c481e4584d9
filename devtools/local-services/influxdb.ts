import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TuojiangError } from '../../lib/errors.js';
import { freePort } from './ports.js';
import { ensureBinaries, type Log } from './packages.js';
import { ServiceProcess, adoptDir, launch, type ServiceControl } from './process.js';

export interface InfluxdbOptions {
  /** Data dir (meta, data, wal, config, log). Default: a new temp dir, removed by destroy(). */
  dir?: string;
  /** HTTP port. */
  port?: number;
  log?: Log;
}

export interface InfluxdbHandle extends ServiceControl {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The RPC (backup/restore) port: set explicitly, since the default 8088 collides between instances. */
  rpcPort: number;
  dir: string;
  configFile: string;
  logFile: string;
  readonly pid: number | undefined;
}

async function influxPing(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 204;
  } catch {
    return false;
  }
}

const toml = (s: string): string => JSON.stringify(s);

/** InfluxDB 1.6 config: everything on loopback and in `dir`, no phoning home, quiet logs. */
export function renderInfluxdbConfig(dir: string, httpPort: number, rpcPort: number): string {
  return [
    '# Rendered by devtools/local-services/influxdb.ts',
    'reporting-disabled = true',
    `bind-address = ${toml(`127.0.0.1:${rpcPort}`)}`,
    '',
    '[meta]',
    `  dir = ${toml(join(dir, 'meta'))}`,
    '',
    '[data]',
    `  dir = ${toml(join(dir, 'data'))}`,
    `  wal-dir = ${toml(join(dir, 'wal'))}`,
    '  query-log-enabled = false',
    '',
    '[http]',
    '  enabled = true',
    `  bind-address = ${toml(`127.0.0.1:${httpPort}`)}`,
    '  auth-enabled = false',
    '  log-enabled = false',
    '',
    '[monitor]',
    '  store-enabled = false',
    '',
    '[logging]',
    '  level = "warn"',
    '',
  ].join('\n');
}

export async function startInfluxdb(opts: InfluxdbOptions = {}): Promise<InfluxdbHandle> {
  const bins = await ensureBinaries(['influxdb'], opts.log);
  const influxd = bins['influxd'];
  if (!influxd) throw new TuojiangError('SERVICE_START', 'influxd not found');

  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'tuojiang-influxdb-')));
  if (ownsDir) adoptDir(dir);
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'influxdb.conf');
  const logFile = join(dir, 'influxd.log');

  const { proc, port, rpcPort, url, control } = await launch({
    dir,
    ownsDir,
    fixedPort: opts.port !== undefined,
    prepare: async () => {
      const port = opts.port ?? (await freePort());
      const rpcPort = await freePort();
      const url = `http://127.0.0.1:${port}`;
      await writeFile(configFile, renderInfluxdbConfig(dir, port, rpcPort));
      const proc = new ServiceProcess({
        name: 'influxd',
        bin: influxd,
        args: ['-config', configFile],
        logFile,
        port,
        ready: () => influxPing(url),
        startTimeoutMs: 30_000,
      });
      return { proc, port, rpcPort, url };
    },
  });

  return {
    url,
    port,
    rpcPort,
    dir,
    configFile,
    logFile,
    get pid() {
      return proc.pid;
    },
    ...control,
  };
}
