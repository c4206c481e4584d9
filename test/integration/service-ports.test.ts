import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startServices } from '../../devtools/local-services/index.js';
import { waitFor } from '../helpers/ingest-stack.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';

/*
 * Issue 15 item 6: the ingest and the notify worker on one host with one environment. HTTP_PORT
 * used to be read by both, so the second to start died with EADDRINUSE.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** A `tuojiang notify worker` process on its own port (NOTIFY_HTTP_PORT), stopped after the test; its first /readyz answer. */
async function notifyWorker(extraEnv: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; stderr: () => string; readyz: Response }> {
  const services = await startServices({ redis: { appendonly: false } });
  cleanups.push(() => services.stopAll());
  const sink = await startSmtpSink();
  cleanups.push(() => sink.close());
  const notifyPort = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), 'notify', 'worker', '--prefix', 'tjports'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        REDIS_URL: services.redis.url,
        SMTP_URL: sink.url,
        ACK_SECRET: 'test-ack-secret-0123456789abcdef',
        NOTIFY_HTTP_PORT: String(notifyPort),
        LOG_LEVEL: 'info',
        ...extraEnv,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  cleanups.push(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });
  const readyz = (await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`notify worker exited ${child.exitCode}: ${stderr.slice(-2000)}`);
      return fetch(`http://127.0.0.1:${notifyPort}/readyz`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
    },
    60_000,
    'notify /readyz',
    250,
  )) as Response;
  return { child, stderr: () => stderr, readyz };
}

describe('per-service HTTP ports', () => {
  it("the notify worker serves /readyz on NOTIFY_HTTP_PORT while the ingest's HTTP_PORT is taken, with Redis and SMTP checks", async () => {
    // The ingest's port, already taken (as by an ingest on the same host).
    const taken: Server = createServer((_q, r) => r.end('ingest'));
    const ingestPort = await freePort();
    await new Promise<void>((r) => taken.listen(ingestPort, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => taken.close(() => r(null))));

    const { child, stderr, readyz } = await notifyWorker({ HTTP_PORT: String(ingestPort), INGEST_HTTP_PORT: String(ingestPort) });
    expect(readyz.status).toBe(200);
    expect(((await readyz.json()) as { checks: Record<string, boolean> }).checks).toEqual({ redis: true, smtp: true });
    expect(child.exitCode).toBeNull();
    expect(stderr()).not.toMatch(/EADDRINUSE/);
  });

  it('with REDIS_WAIT_REPLICAS set, its /readyz says whether the replicas a delivery needs are there (redis_replicas)', async () => {
    // A single node: a notice would be held for want of a replica, and /readyz says so before any is due.
    // With the replica there and when it goes: redis-cluster-replicas.test.ts.
    const { readyz } = await notifyWorker({ REDIS_WAIT_REPLICAS: '1' });
    expect(readyz.status).toBe(503);
    expect(((await readyz.json()) as { checks: Record<string, boolean> }).checks).toEqual({
      redis: true,
      smtp: true,
      redis_replicas: false,
    });
  });
});
