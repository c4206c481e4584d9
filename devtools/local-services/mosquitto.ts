import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TuojiangError } from '../../lib/errors.js';
import { freePort } from './ports.js';
import { ensureBinaries, execHelper, type Log } from './packages.js';
import { ServiceProcess, adoptDir, launch, tcpAccepts, type ServiceControl } from './process.js';

/** The accounts that live on the service listener; every other account is a station's. */
export const SERVICE_ACCOUNTS: readonly string[] = ['ingest', 'healthcheck', 'simulator'];

export interface MqttUser {
  username: string;
  password: string;
  /** Which listener's password file holds the account. Default: 'services' for SERVICE_ACCOUNTS, else 'stations'. */
  listener?: 'stations' | 'services';
}

function listenerOf(u: MqttUser): 'stations' | 'services' {
  return u.listener ?? (SERVICE_ACCOUNTS.includes(u.username) ? 'services' : 'stations');
}

/** Directive value overrides: a value replaces every line of that directive, null removes them. */
export type MosquittoOverrides = Record<string, string | number | boolean | null>;

export interface MosquittoOptions {
  /** Working dir (config, passwd, acl, mosquitto.db, log). Default: a new temp dir, removed by destroy(). */
  dir?: string;
  users: MqttUser[];
  /** Ready-made password files (e.g. from scripts/mosquitto-passwd.sh) instead of ones built from `users`. */
  passwordFiles?: { stations: string; services: string };
  /** Station listener ACL to use instead of the production config/mosquitto/acl. */
  aclFile?: string;
  /** Service listener ACL to use instead of the production config/mosquitto/acl-services. */
  servicesAclFile?: string;
  /** Service listener port (ingest, simulator); default a free one. */
  port?: number;
  /** Station listener port; default a free one. */
  stationPort?: number;
  /** Default true (as in production). */
  persistence?: boolean;
  /** Change production directives for an experiment (the broker-burst benchmark). */
  overrides?: MosquittoOverrides;
  /** Production config template to render from. Default: config/mosquitto/mosquitto.conf. */
  templateFile?: string;
  log?: Log;
}

export interface MosquittoHandle extends ServiceControl {
  /** The service listener, mqtt://127.0.0.1:PORT: ingest, simulator, healthcheck log in here. */
  url: string;
  port: number;
  /** The station listener (client id = username): station accounts log in here. */
  stationUrl: string;
  stationPort: number;
  dir: string;
  configFile: string;
  logFile: string;
  readonly pid: number | undefined;
}

/**
 * Finds config/mosquitto/ by walking up from this module, which sits at devtools/local-services/ in a
 * checkout and at dist/devtools/local-services/ in a build.
 */
export function brokerConfigDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'config', 'mosquitto');
    if (existsSync(join(candidate, 'mosquitto.conf'))) return candidate;
    dir = dirname(dir);
  }
  throw new TuojiangError('SERVICE_START', 'config/mosquitto/mosquitto.conf not found above devtools/local-services/');
}

/** Paths and port of one listener in the rendered config. */
export interface ListenerTarget {
  port: number;
  passwordFile: string;
  aclFile: string;
}

export interface RenderTarget {
  /** The template's first listener (stations), then its second (services). */
  listeners: [ListenerTarget, ListenerTarget];
  persistenceDir: string;
  persistence: boolean;
  /** Set `user root`: as root, mosquitto 2.0 otherwise switches to user "mosquitto", which cannot read our temp dir. */
  runAsRoot: boolean;
  overrides?: MosquittoOverrides;
}

const DIRECTIVE = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(.*))?$/;

/** Directives that belong to the listener they follow (per_listener_settings). */
const PER_LISTENER: ReadonlySet<string> = new Set(['password_file', 'acl_file']);

/**
 * The production config with only what must differ locally replaced: the two listeners (loopback,
 * our ports), their password and ACL files, persistence paths, log destination (stderr, which the
 * launcher sends to a log file), `user`. Every other directive, queue and size limits included,
 * is kept as written, in its place: a listener's options must follow its `listener` line.
 */
export function renderMosquittoConfig(template: string, target: RenderTarget): string {
  const replace: MosquittoOverrides = {
    persistence: target.persistence,
    persistence_location: target.persistenceDir,
    user: target.runAsRoot ? 'root' : null,
    pid_file: null,
    include_dir: null,
    ...target.overrides,
  };
  const out: string[] = [];
  const seen = new Set<string>();
  let listener = -1;
  for (const line of template.split('\n')) {
    const m = line.trimStart().startsWith('#') ? null : DIRECTIVE.exec(line);
    const key = m?.[1];
    if (!key) {
      out.push(line);
      continue;
    }
    if (key === 'listener') {
      listener++;
      const mine = target.listeners[listener];
      // Any listener beyond the two (TLS, websockets) would bind production ports.
      out.push(mine ? `listener ${mine.port} 127.0.0.1` : `# (local) ${line}`);
      continue;
    }
    if (PER_LISTENER.has(key)) {
      const mine = target.listeners[listener];
      if (!mine) throw new TuojiangError('SERVICE_START', `broker template: ${key} outside the first two listeners`);
      out.push(`${key} ${key === 'password_file' ? mine.passwordFile : mine.aclFile}`);
      continue;
    }
    if (key === 'log_dest') {
      if (!seen.has(key)) out.push('log_dest stderr');
      seen.add(key);
      continue;
    }
    if (key in replace) {
      const value = replace[key];
      if (!seen.has(key) && value !== null && value !== undefined) out.push(`${key} ${String(value)}`);
      seen.add(key);
      continue;
    }
    out.push(line);
  }
  if (listener < 1) throw new TuojiangError('SERVICE_START', 'broker template: expected a station and a service listener');
  if (!seen.has('log_dest')) out.push('log_dest stderr');
  for (const [key, value] of Object.entries(replace)) {
    // Appended last, so after the listeners: only global directives may be added this way.
    if (!seen.has(key) && value !== null && value !== undefined) out.push(`${key} ${String(value)}`);
  }
  return `${out.join('\n').trimEnd()}\n`;
}

async function writePasswordFile(mosquittoPasswd: string, file: string, users: readonly MqttUser[]): Promise<void> {
  await rm(file, { force: true });
  let first = true;
  for (const { username, password } of users) {
    await execHelper(mosquittoPasswd, first ? ['-b', '-c', file, username, password] : ['-b', file, username, password]);
    first = false;
  }
  if (first) await writeFile(file, '');
  // mosquitto 2.0.11 warns about a password file others can read.
  await chmod(file, 0o600);
}

export async function startMosquitto(opts: MosquittoOptions): Promise<MosquittoHandle> {
  const bins = await ensureBinaries(['mosquitto'], opts.log);
  const mosquitto = bins['mosquitto'];
  const mosquittoPasswd = bins['mosquitto_passwd'];
  if (!mosquitto || !mosquittoPasswd) throw new TuojiangError('SERVICE_START', 'mosquitto binaries not found');

  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'tuojiang-mosquitto-')));
  if (ownsDir) adoptDir(dir);
  await mkdir(dir, { recursive: true });
  const dataDir = join(dir, 'data');
  await mkdir(dataDir, { recursive: true });

  const passwordFile = join(dir, 'passwd');
  const aclFile = join(dir, 'acl');
  const servicesPasswordFile = join(dir, 'passwd-services');
  const servicesAclFile = join(dir, 'acl-services');
  const configFile = join(dir, 'mosquitto.conf');
  const logFile = join(dir, 'mosquitto.log');
  const templateFile = opts.templateFile ?? join(brokerConfigDir(), 'mosquitto.conf');
  const template = await readFile(templateFile, 'utf8');
  if (opts.passwordFiles) {
    for (const [from, to] of [
      [opts.passwordFiles.stations, passwordFile],
      [opts.passwordFiles.services, servicesPasswordFile],
    ] as const) {
      await copyFile(from, to);
      await chmod(to, 0o600);
    }
  } else {
    await writePasswordFile(
      mosquittoPasswd,
      passwordFile,
      opts.users.filter((u) => listenerOf(u) === 'stations'),
    );
    await writePasswordFile(
      mosquittoPasswd,
      servicesPasswordFile,
      opts.users.filter((u) => listenerOf(u) === 'services'),
    );
  }
  await copyFile(opts.aclFile ?? join(brokerConfigDir(), 'acl'), aclFile);
  await copyFile(opts.servicesAclFile ?? join(brokerConfigDir(), 'acl-services'), servicesAclFile);

  const { proc, port, stationPort, control } = await launch({
    dir,
    ownsDir,
    fixedPort: opts.port !== undefined || opts.stationPort !== undefined,
    prepare: async () => {
      const port = opts.port ?? (await freePort());
      let stationPort = opts.stationPort ?? (await freePort());
      while (stationPort === port) stationPort = await freePort();
      const rendered = renderMosquittoConfig(template, {
        listeners: [
          { port: stationPort, passwordFile, aclFile },
          { port, passwordFile: servicesPasswordFile, aclFile: servicesAclFile },
        ],
        persistenceDir: dataDir,
        persistence: opts.persistence ?? true,
        runAsRoot: process.getuid?.() === 0,
        ...(opts.overrides ? { overrides: opts.overrides } : {}),
      });
      await writeFile(configFile, `# Rendered by devtools/local-services/mosquitto.ts from ${templateFile}\n${rendered}`);
      const ready = async (): Promise<boolean> => (await tcpAccepts(port)) && (await tcpAccepts(stationPort));
      const proc = new ServiceProcess({ name: 'mosquitto', bin: mosquitto, args: ['-c', configFile], logFile, port, ready });
      return { proc, port, stationPort };
    },
  });

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stationUrl: `mqtt://127.0.0.1:${stationPort}`,
    stationPort,
    dir,
    configFile,
    logFile,
    get pid() {
      return proc.pid;
    },
    ...control,
  };
}
