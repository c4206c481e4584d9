/**
 * The services of docker-compose.yml as compose would run them, on this machine: the resolved
 * file (`docker-compose config`) gives each service's command, arguments, environment and health
 * check; only what cannot be the same without containers is mapped — host names of the compose
 * network to loopback ports, container paths to temp dirs, fixed ports to free ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { freePort } from '../../devtools/local-services/index.js';
import { ensureBinaries } from '../../devtools/local-services/packages.js';
import { ServiceProcess, launch, type ServiceControl } from '../../devtools/local-services/process.js';
import { redisPing } from '../../devtools/local-services/redis.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

export interface ComposeService {
  image?: string;
  build?: { context: string; target?: string; args?: Record<string, string> };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  volumes?: Array<string | { source: string; target: string; read_only?: boolean; type?: string }>;
  ports?: Array<string | { host_ip?: string; published?: string | number; target?: number }>;
  profiles?: string[];
  networks?: Record<string, unknown> | string[];
  read_only?: boolean;
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  user?: string;
  mem_limit?: string | number;
  logging?: { driver?: string; options?: Record<string, string> };
  network_mode?: string;
  tmpfs?: string[] | string;
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, { external?: boolean | { name?: string }; name?: string }>;
  networks?: Record<string, { internal?: boolean } | null>;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd ?? ROOT,
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.stdin);
    }
  });
}

/** `KEY=value` lines of an env file. */
export async function readEnvFile(path: string): Promise<Record<string, string>> {
  const text = await readFile(path, 'utf8');
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z0-9_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** docker-compose config with this env file and a clean environment; parsed, or the failed run. */
export async function composeConfig(
  dockerCompose: string,
  envFile: string,
  home: string,
  ...extra: string[]
): Promise<{ run: Run; file?: ComposeFile }> {
  const r = await run(dockerCompose, ['--env-file', envFile, '-f', COMPOSE_FILE, ...extra, 'config'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
  });
  return { run: r, ...(r.code === 0 ? { file: parse(r.stdout) as ComposeFile } : {}) };
}

/** The strings docker-compose puts in a container: `config` prints a literal `$` as `$$`. */
export const unescape = (s: string): string => s.replace(/\$\$/g, '$');

/** Where the compose network's names are on this machine. */
export interface Endpoints {
  redis: number;
  mosquitto: number;
  influxdbUrl: string;
  smtp?: string;
}

/** A compose environment with the network's host names replaced by loopback endpoints. */
export function mapEnv(env: Record<string, string>, e: Endpoints): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    out[k] = unescape(v)
      .replace(/@redis:6379\b/, `@127.0.0.1:${e.redis}`)
      .replace(/^mqtt:\/\/mosquitto:1884$/, `mqtt://127.0.0.1:${e.mosquitto}`)
      .replace(/^http:\/\/influxdb:8086$/, e.influxdbUrl);
  }
  if (e.smtp && out.SMTP_URL) out.SMTP_URL = e.smtp;
  return out;
}

/**
 * Redis as the compose service runs it: its entrypoint script renders the ACL file from the
 * template and the REDIS_*_PASSWORD variables, then redis-server gets the service's arguments with
 * /data and the tmpfs ACL path mapped to `dir`, on a free loopback port.
 */
export async function startComposeRedis(
  service: ComposeService,
  dir: string,
  override: { maxmemory?: string } = {},
): Promise<ServiceControl & { port: number; dir: string; aclFile: string; logFile: string }> {
  const bins = await ensureBinaries(['redis']);
  await mkdir(join(dir, 'data'), { recursive: true });
  const env = service.environment ?? {};
  const aclFile = join(dir, 'users.acl');
  const template = join(ROOT, 'config/redis/users.acl.template');
  const entry = service.entrypoint ?? [];
  // The script the container runs, found through the service's mounts (./scripts/redis-start.sh).
  const script = join(ROOT, 'scripts', entry[1]?.split('/').pop() ?? 'redis-start.sh');
  const render = await run('sh', [script], {
    env: { PATH: process.env.PATH ?? '', ...env, REDIS_ACL_TEMPLATE: template, REDIS_ACL_FILE: aclFile },
  });
  if (render.code !== 0) throw new Error(`redis-start.sh failed: ${render.stderr}`);
  const args = [...(service.command ?? [])];
  if (args[0] !== 'redis-server') throw new Error(`redis command: ${args.join(' ')}`);
  args.shift();
  const mapped = args.map((a, i) => {
    if (a === '/run/redis/users.acl') return aclFile;
    if (a === '/data') return join(dir, 'data');
    if (args[i - 1] === '--maxmemory' && override.maxmemory) return override.maxmemory;
    return a;
  });
  const logFile = join(dir, 'redis.log');
  const { port, control } = await launch({
    dir,
    ownsDir: false,
    fixedPort: false,
    prepare: async () => {
      const port = await freePort();
      const proc = new ServiceProcess({
        name: 'redis-server',
        bin: bins['redis-server'] as string,
        args: [...mapped, '--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'no'],
        logFile,
        port,
        ready: () => redisPing(port).then(async (pong) => pong || /NOAUTH|NOPERM/.test(await rawPing(port))),
      });
      return { proc, port };
    },
  });
  return { ...control, port, dir, aclFile, logFile };
}

/** PING without auth: with `user default off` Redis answers -NOAUTH, which still means "up". */
async function rawPing(port: number): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let b = '';
    s.setTimeout(1000, () => {
      s.destroy();
      resolve('');
    });
    s.once('error', () => resolve(''));
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      b += d.toString('latin1');
      if (b.includes('\r\n')) {
        s.destroy();
        resolve(b);
      }
    });
  });
}

export interface RunningService {
  name: string;
  child: ChildProcess;
  env: Record<string, string>;
  /** The container's fixed ports mapped to the free ones it got here. */
  ports: Map<number, number>;
  log(): string;
  alive(): boolean;
  stop(): Promise<number | null>;
}

/** Fixed ports a service listens on inside its container, from its environment and command. */
function fixedPorts(service: ComposeService): Array<{ where: 'env' | 'arg'; key: string | number; port: number }> {
  const out: Array<{ where: 'env' | 'arg'; key: string | number; port: number }> = [];
  for (const [k, v] of Object.entries(service.environment ?? {}))
    if (/_HTTP_PORT$|_OPS_PORT$/.test(k)) out.push({ where: 'env', key: k, port: Number(v) });
  const cmd = service.command ?? [];
  cmd.forEach((a, i) => {
    if (cmd[i - 1] === '--port') out.push({ where: 'arg', key: i, port: Number(a) });
  });
  return out;
}

/** A tuojiang service: the CLI with the service's command and mapped environment, on free ports. */
export async function startComposeService(
  name: string,
  service: ComposeService,
  e: Endpoints,
  extraEnv: Record<string, string> = {},
): Promise<RunningService> {
  const env: Record<string, string> = { ...mapEnv(service.environment ?? {}, e), TUOJIANG_CONFIG: join(ROOT, 'config'), ...extraEnv };
  const command = [...(service.command ?? [])];
  const ports = new Map<number, number>();
  for (const f of fixedPorts(service)) {
    const free = await freePort();
    ports.set(f.port, free);
    if (f.where === 'env') env[f.key as string] = String(free);
    else command[f.key as number] = String(free);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), ...command], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    name,
    child,
    env,
    ports,
    log: () => log,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The service's compose health check, run here: its command with the container's ports mapped. */
export function healthcheck(service: ComposeService, running: RunningService): Promise<Run> {
  const test = service.healthcheck?.test;
  if (!Array.isArray(test) || test[0] !== 'CMD') throw new Error(`${running.name}: healthcheck ${JSON.stringify(test)}`);
  const args = test.slice(1).map((a) => {
    let out = unescape(a);
    for (const [inside, here] of running.ports) out = out.replace(`127.0.0.1:${inside}/`, `127.0.0.1:${here}/`);
    return out;
  });
  if (args[0] !== 'node') throw new Error(`${running.name}: healthcheck runs ${args[0]}`);
  return run(process.execPath, args.slice(1), { env: { PATH: process.env.PATH ?? '', ...running.env } });
}

/** Polls until `check` is true; throws with `what` after `ms` (a wait, not an assertion on speed). */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
