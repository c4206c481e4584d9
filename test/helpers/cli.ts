import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const TSX = join(process.cwd(), 'node_modules/.bin/tsx');
const MAIN = join(process.cwd(), 'cli/main.ts');

/**
 * `tuojiang <args…>` as a child process with the environment a deployment would have: `env` over
 * this process's environment without its endpoints, secrets and tuojiang settings.
 */
export function runCli(args: string[], env: Record<string, string> = {}, stdin = ''): Promise<CliRun> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(MQTT|REDIS|INFLUX|SMTP|MAIL|ACK|PUBLIC|GRAFANA|API|HTTP|TUOJIANG|INGEST|JOURNAL)_/.test(k),
    ),
  );
  return spawnCli(args, { ...base, ...env }, stdin);
}

/** `tuojiang <args…>` as a child process with exactly this environment and stdin. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
