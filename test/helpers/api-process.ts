/**
 * `tuojiang api` as the real CLI in a child process, for tests that must see whether a request can
 * kill it: the process is alive or it is not, and its JSON log is kept for assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = process.cwd();

export interface ApiProcess {
  port: number;
  child: ChildProcess;
  /** Everything it logged (pino JSON lines on stderr). */
  log(): string;
  /** The log lines as objects. */
  logLines(): Array<Record<string, unknown>>;
  alive(): boolean;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function startApiProcess(env: Record<string, string>, args: string[] = []): Promise<ApiProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), 'api', '--port', '0', '--host', '127.0.0.1', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    log += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = (): Array<Record<string, unknown>> =>
    log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const port = await new Promise<number>((resolve, reject) => {
    const check = () => {
      const started = lines().find((l) => l.msg === 'api started');
      if (started) {
        child.stderr?.off('data', check);
        resolve(started.port as number);
      }
    };
    child.stderr?.on('data', check);
    void exited.then((code) => reject(new Error(`tuojiang api exited (${code}) before it started; its log:\n${log}`)));
  });
  return {
    port,
    child,
    log: () => log,
    logLines: lines,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
