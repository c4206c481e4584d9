import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TuojiangError } from '../errors.js';
import { freePort } from './ports.js';
import { ensureBinaries, execHelper, type Log } from './packages.js';
import { ServiceProcess, adoptDir, launch, tcpAccepts, type ServiceControl } from './process.js';

export interface MqttUser {
  username: string;
  password: string;
}

/** Directive value overrides: a value replaces every line of that directive, null removes them. */
export type MosquittoOverrides = Record<string, string | number | boolean | null>;

export interface MosquittoOptions {
  /** Working dir (config, passwd, acl, mosquitto.db, log). Default: a new temp dir, removed by destroy(). */
  dir?: string;
  users: MqttUser[];
  /** ACL file to use instead of the production config/mosquitto/acl. */
  aclFile?: string;
  port?: number;
  /** Default true (as in production). */
  persistence?: boolean;
  /** Change production directives for an experiment (the broker-burst benchmark). */
  overrides?: MosquittoOverrides;
  /** Production config template to render from. Default: config/mosquitto/mosquitto.conf. */
  templateFile?: string;
  log?: Log;
}

export interface MosquittoHandle extends ServiceControl {
  /** mqtt://127.0.0.1:PORT */
  url: string;
  port: number;
  dir: string;
  configFile: string;
  logFile: string;
  readonly pid: number | undefined;
}

/**
 * Finds config/mosquitto/ by walking up from this module, which sits at lib/local-services/ in a
 * checkout and at dist/lib/local-services/ in a build.
 */
export function brokerConfigDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'config', 'mosquitto');
    if (existsSync(join(candidate, 'mosquitto.conf'))) return candidate;
    dir = dirname(dir);
  }
  throw new TuojiangError('SERVICE_START', 'config/mosquitto/mosquitto.conf not found above lib/local-services/');
}

export interface RenderTarget {
  port: number;
  passwordFile: string;
  aclFile: string;
  persistenceDir: string;
  persistence: boolean;
  /** Set `user root`: as root, mosquitto 2.0 otherwise switches to user "mosquitto", which cannot read our temp dir. */
  runAsRoot: boolean;
  overrides?: MosquittoOverrides;
}

const DIRECTIVE = /^\s*([A-Za-z_][A-Za-z0-9_]*)(?:\s+(.*))?$/;

/**
 * The production config with only what must differ locally replaced: listener (loopback, our port),
 * file paths, log destination (stderr, which the launcher sends to a log file), `user`. Every
 * other directive, queue limits included, is kept as written.
 */
export function renderMosquittoConfig(template: string, target: RenderTarget): string {
  const replace: MosquittoOverrides = {
    password_file: target.passwordFile,
    acl_file: target.aclFile,
    persistence: target.persistence,
    persistence_location: target.persistenceDir,
    user: target.runAsRoot ? 'root' : null,
    pid_file: null,
    include_dir: null,
    ...target.overrides,
  };
  const out: string[] = [];
  const seen = new Set<string>();
  let listenerDone = false;
  for (const line of template.split('\n')) {
    const m = line.trimStart().startsWith('#') ? null : DIRECTIVE.exec(line);
    const key = m?.[1];
    if (!key) {
      out.push(line);
      continue;
    }
    if (key === 'listener') {
      // The first listener becomes ours; any other (TLS, websockets) would bind production ports.
      out.push(listenerDone ? `# (local) ${line}` : `listener ${target.port} 127.0.0.1`);
      listenerDone = true;
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
  if (!listenerDone) out.push(`listener ${target.port} 127.0.0.1`);
  if (!seen.has('log_dest')) out.push('log_dest stderr');
  for (const [key, value] of Object.entries(replace)) {
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
  const configFile = join(dir, 'mosquitto.conf');
  const logFile = join(dir, 'mosquitto.log');
  const templateFile = opts.templateFile ?? join(brokerConfigDir(), 'mosquitto.conf');
  const template = await readFile(templateFile, 'utf8');
  await writePasswordFile(mosquittoPasswd, passwordFile, opts.users);
  await copyFile(opts.aclFile ?? join(brokerConfigDir(), 'acl'), aclFile);

  const { proc, port, control } = await launch({
    dir,
    ownsDir,
    fixedPort: opts.port !== undefined,
    prepare: async () => {
      const port = opts.port ?? (await freePort());
      const rendered = renderMosquittoConfig(template, {
        port,
        passwordFile,
        aclFile,
        persistenceDir: dataDir,
        persistence: opts.persistence ?? true,
        runAsRoot: process.getuid?.() === 0,
        ...(opts.overrides ? { overrides: opts.overrides } : {}),
      });
      await writeFile(configFile, `# Rendered by lib/local-services/mosquitto.ts from ${templateFile}\n${rendered}`);
      const proc = new ServiceProcess({ name: 'mosquitto', bin: mosquitto, args: ['-c', configFile], logFile, port, ready: () => tcpAccepts(port) });
      return { proc, port };
    },
  });

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    configFile,
    logFile,
    get pid() {
      return proc.pid;
    },
    ...control,
  };
}
