import { execFile, spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { TuojiangError } from '../../lib/errors.js';

export type ServiceName = 'mosquitto' | 'redis' | 'influxdb';

/** The executables each service needs, and the Debian package that ships them. */
const CATALOGUE: Record<ServiceName, { pkg: string; bins: readonly string[] }> = {
  mosquitto: { pkg: 'mosquitto', bins: ['mosquitto', 'mosquitto_passwd'] },
  redis: { pkg: 'redis-server', bins: ['redis-server'] },
  influxdb: { pkg: 'influxdb', bins: ['influxd'] },
};

/** The one command that makes any machine ready, whichever binary is missing. */
export const INSTALL_COMMAND = 'sudo apt-get install -y mosquitto redis-server influxdb';

export type Log = (line: string) => void;
const stderrLog: Log = (line) => process.stderr.write(`${line}\n`);

/** Absolute paths of the binaries, keyed by executable name (`mosquitto`, `mosquitto_passwd`, ...). */
export type BinaryPaths = Record<string, string>;

/** /usr/sbin is not on a non-root PATH on Debian, and that is where mosquitto lives. */
function searchDirs(): string[] {
  const fromPath = (process.env.PATH ?? '').split(delimiter).filter((d) => d.length > 0);
  return [...new Set([...fromPath, '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'])];
}

export async function findBinary(name: string): Promise<string | undefined> {
  for (const dir of searchDirs()) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

async function findAll(needs: readonly ServiceName[]): Promise<{ found: BinaryPaths; missing: ServiceName[] }> {
  const found: BinaryPaths = {};
  const missing: ServiceName[] = [];
  for (const service of needs) {
    let complete = true;
    for (const bin of CATALOGUE[service].bins) {
      const path = await findBinary(bin);
      if (path) found[bin] = path;
      else complete = false;
    }
    if (!complete) missing.push(service);
  }
  return { found, missing };
}

function run(cmd: string, args: string[], log: Log): Promise<void> {
  log(`$ ${cmd} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const relay = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) log(`  ${line.trimEnd()}`);
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}`));
    });
  });
}

/** What a non-root user sees: which binaries are missing and the one command that fixes it. */
export function missingBinariesError(missing: readonly ServiceName[], missingBins: readonly string[]): TuojiangError {
  const pkgs = missing.map((s) => CATALOGUE[s].pkg).join(', ');
  return new TuojiangError(
    'SERVICE_START',
    `Missing ${missingBins.join(', ')} (Debian packages ${pkgs}). Install them with: ${INSTALL_COMMAND}`,
    {
      missing: [...missingBins],
      command: INSTALL_COMMAND,
    },
  );
}

// apt-get update is slow and its result does not change within a run: do it at most once per process.
let aptUpdated: Promise<void> | undefined;
/**
 * apt-get under a lock of ours, waited for: test files run in parallel worker processes, and on a
 * fresh machine two of them may install a missing package at once; the second apt-get used to fail
 * on apt's own lock ("Could not get lock /var/lib/apt/lists/lock") and fail its whole test file.
 * `flock` is util-linux's, on every Debian. The in-process queue below orders one worker's installs;
 * `DPkg::Lock::Timeout` also waits out an apt-get run by the system (unattended-upgrades).
 */
const apt = (args: string[], log: Log): Promise<void> =>
  run('flock', ['-w', '900', join(tmpdir(), 'tuojiang-apt.lock'), 'apt-get', '-o', 'DPkg::Lock::Timeout=300', ...args], log);

// Concurrent startServices() calls must not run two apt-get processes at once (dpkg lock).
let installing: Promise<unknown> = Promise.resolve();

/**
 * Finds the binaries the given services need. When some are missing and we are root, installs the
 * Debian packages (apt-get update once, then install, non-interactive). Otherwise throws
 * SERVICE_START naming the exact command to run.
 *
 * Installing the Debian packages also starts their system services (influxdb on 8086/8088, redis on
 * 6379, mosquitto on 1883); that is harmless, the launcher always uses its own free ports.
 */
export async function ensureBinaries(needs: readonly ServiceName[], log: Log = stderrLog): Promise<BinaryPaths> {
  const first = await findAll(needs);
  if (first.missing.length === 0) return first.found;

  const missingBins = first.missing.flatMap((s) => CATALOGUE[s].bins.filter((b) => !(b in first.found)));
  if (process.getuid?.() !== 0) throw missingBinariesError(first.missing, missingBins);

  const step = installing.then(async () => {
    const again = await findAll(needs);
    if (again.missing.length === 0) return;
    const pkgs = again.missing.map((s) => CATALOGUE[s].pkg);
    log(`local-services: installing ${pkgs.join(' ')} (missing ${missingBins.join(', ')})`);
    aptUpdated ??= apt(['update'], log);
    await aptUpdated;
    await apt(['install', '-y', ...pkgs], log);
  });
  installing = step.catch(() => undefined);
  try {
    await step;
  } catch (e) {
    throw new TuojiangError(
      'SERVICE_START',
      `Installing ${first.missing.join(', ')} failed: ${(e as Error).message}. Try: ${INSTALL_COMMAND}`,
      {
        command: INSTALL_COMMAND,
      },
    );
  }

  const after = await findAll(needs);
  if (after.missing.length > 0) {
    throw new TuojiangError(
      'SERVICE_START',
      `apt-get install finished but ${after.missing.join(', ')} binaries are still missing. Try: ${INSTALL_COMMAND}`,
      {
        command: INSTALL_COMMAND,
      },
    );
  }
  return after.found;
}

/** Runs a short helper command (mosquitto_passwd) and rejects with its stderr. */
export function execHelper(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _stdout, stderr) => {
      if (err) reject(new TuojiangError('SERVICE_START', `${cmd} failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/** Debian tools some tests need beside the services (compose validation, the broker health check). */
const TOOLS = {
  // Without recommends: otherwise apt brings the whole Docker engine, and `config` needs none.
  'docker-compose': { pkg: 'docker-compose', noRecommends: true },
  mosquitto_sub: { pkg: 'mosquitto-clients', noRecommends: false },
  caddy: { pkg: 'caddy', noRecommends: true },
  // The ack-page test's headless browser.
  chromium: { pkg: 'chromium', noRecommends: false },
} as const;
export type ToolName = keyof typeof TOOLS;

/** Finds a tool; installs its Debian package when missing and running as root, else names the command. */
export async function ensureTool(bin: ToolName, log: Log = stderrLog): Promise<string> {
  const found = await findBinary(bin);
  if (found) return found;
  const { pkg, noRecommends } = TOOLS[bin];
  const args = ['install', '-y', ...(noRecommends ? ['--no-install-recommends'] : []), pkg];
  const command = `sudo apt-get ${args.join(' ')}`;
  if (process.getuid?.() !== 0)
    throw new TuojiangError('SERVICE_START', `Missing ${bin} (Debian package ${pkg}). Install it with: ${command}`, { command });
  const step = installing.then(async () => {
    if (await findBinary(bin)) return;
    log(`local-services: installing ${pkg} (missing ${bin})`);
    aptUpdated ??= apt(['update'], log);
    await aptUpdated;
    await apt(args, log);
  });
  installing = step.catch(() => undefined);
  await step;
  const after = await findBinary(bin);
  if (!after)
    throw new TuojiangError('SERVICE_START', `apt-get install finished but ${bin} is still missing. Try: ${command}`, { command });
  return after;
}
