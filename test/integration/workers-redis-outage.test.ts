import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServices } from '../../devtools/local-services/index.js';
import { waitFor } from '../helpers/ingest-stack.js';

/*
 * Issue 15, items 5 and 7 for the workers: `alerts worker` and `notify worker` through a Redis
 * outage log JSON only (rate-limited warnings per queue, worker and connection; one reconnected
 * line with the duration), and SIGTERM with Redis down ends within SHUTDOWN_DEADLINE_S.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const DEADLINE_S = 2;
const children: ChildProcess[] = [];
let services: Awaited<ReturnType<typeof startServices<{ redis: { appendonly: false }; influxdb: true }>>> | undefined;

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await services?.stopAll();
  services = undefined;
});

interface Worker {
  child: ChildProcess;
  out: () => string;
  records: () => Array<Record<string, unknown>>;
}

function spawnWorker(args: string[], env: NodeJS.ProcessEnv): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, LOG_LEVEL: 'info', SHUTDOWN_DEADLINE_S: String(DEADLINE_S) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const lines = () => out.split('\n').filter((l) => l.trim() !== '');
  return {
    child,
    out: () => out,
    records: () =>
      lines().map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return { notJson: l };
        }
      }),
  };
}

const exitWithin = (child: ChildProcess, ms: number) =>
  new Promise<number | null | 'running'>((r) => {
    const t = setTimeout(() => r('running'), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      r(code);
    });
  });

describe('alerts and notify workers through a Redis outage', () => {
  it('log JSON only, rate-limited, say when Redis is back, and stop within the deadline with Redis down', async () => {
    services = await startServices({ redis: { appendonly: false }, influxdb: true });
    const env = {
      REDIS_URL: services.redis.url,
      INFLUX_URL: services.influxdb.url,
      INFLUX_DB: 'tuojiang',
      SMTP_URL: 'smtp://127.0.0.1:9',
      ACK_SECRET: 'test-ack-secret-0123456789abcdef',
      PUBLIC_URL: 'http://tuojiang-api.test',
    };
    const alerts = spawnWorker(['alerts', 'worker', '--prefix', 'outage'], env);
    const notify = spawnWorker(['notify', 'worker', '--prefix', 'outage'], env);
    await waitFor(() => alerts.out().includes('alerts started') && notify.out().includes('notify started'), 60_000, 'both workers started');

    await services.redis.stop();
    await new Promise((r) => setTimeout(r, 4000));
    await services.redis.start();
    const reconnected = (w: Worker, source: string) =>
      w.records().some((r) => r.source === source && /^redis reconnected after \d+(\.\d)? s$/.test(String(r.msg)));
    await waitFor(() => reconnected(alerts, 'alerts') && reconnected(notify, 'notify'), 30_000, 'reconnected lines');

    for (const w of [alerts, notify]) {
      const records = w.records();
      expect(records.filter((r) => 'notJson' in r).slice(0, 5)).toEqual([]);
      expect(records.filter((r) => /\n\s+at /.test(`${String(r.msg)}${String(r.err ?? '')}`))).toEqual([]);
      const perSource = new Map<string, number>();
      for (const r of records)
        if (/redis unavailable$/.test(String(r.msg))) perSource.set(String(r.source), (perSource.get(String(r.source)) ?? 0) + 1);
      expect(perSource.size).toBeGreaterThan(0);
      for (const [source, n] of perSource) expect(n, source).toBeLessThanOrEqual(2);
      expect(records.filter((r) => /^redis reconnected after/.test(String(r.msg)))).toHaveLength(1);
    }

    await services.redis.stop();
    await new Promise((r) => setTimeout(r, 500));
    alerts.child.kill('SIGTERM');
    notify.child.kill('SIGTERM');
    // The bound, with slack for a loaded machine: before the deadline these waited for Redis forever.
    const [a, n] = await Promise.all([
      exitWithin(alerts.child, (DEADLINE_S + 8) * 1000),
      exitWithin(notify.child, (DEADLINE_S + 8) * 1000),
    ]);
    expect(a, alerts.out().slice(-800)).not.toBe('running');
    expect(n, notify.out().slice(-800)).not.toBe('running');
    for (const [code, w] of [
      [a, alerts],
      [n, notify],
    ] as const) {
      if (code !== 0) {
        expect(code).toBe(1);
        expect(w.records().some((r) => r.code === 'TJ_SHUTDOWN_INCOMPLETE')).toBe(true);
      }
    }
    await services.redis.start();
  }, 240_000);
});
