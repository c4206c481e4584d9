import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../devtools/local-services/index.js';
import { compareBurst, makeBurst, storedValues } from '../helpers/burst.js';
import { countPoints, publishAll, spawnIngest, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

/*
 * Issue 15, item 7: SIGTERM with Redis unreachable used to wait forever (the journal append retries,
 * ioredis queues every command). The ingest now gives up at SHUTDOWN_DEADLINE_S, says what it left,
 * exits 1, and the broker redelivers what was never acknowledged to the next ingest.
 */
const N = 3000;
const DEADLINE_S = 2;
let stack: IngestStack | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stack?.stop();
  stack = undefined;
});

/** The ingest with its checks, as a child process on this ops port; its log lines. */
function ingestProcess(s: IngestStack, httpPort: number): { child: ChildProcess; lines: () => string[] } {
  const { child, output } = spawnIngest(
    { ...s.childEnv(), INGEST_HTTP_PORT: String(httpPort), SHUTDOWN_DEADLINE_S: String(DEADLINE_S) },
    { checks: true },
  );
  children.push(child);
  return { child, lines: () => output().split('\n').filter(Boolean) };
}

const ready = (port: number) =>
  waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000, 'ingest ready');

async function held(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^tuojiang_ingest_messages_held (\S+)$/m.exec(text)?.[1] ?? 0);
}

describe('ingest shutdown deadline', () => {
  it('exits 1 within SHUTDOWN_DEADLINE_S of SIGTERM with Redis down, names what it left, and a restart stores every reading once', async () => {
    stack = await startIngestStack();
    const s = stack;
    const port = await freePort();
    const first = ingestProcess(s, port);
    await ready(port);

    await s.services.redis.stop();
    const burst = makeBurst(N, Date.parse('2026-04-03T00:00:00Z'));
    const pub = await s.publisher('shutdown-deadline-publisher');
    await publishAll(pub, burst, 500);
    await waitFor(async () => (await held(port)) > 0, 30_000, 'the ingest to hold messages it cannot journal');

    const exited = new Promise<{ code: number | null; at: number }>((r) => first.child.once('exit', (code) => r({ code, at: Date.now() })));
    const sentAt = Date.now();
    first.child.kill('SIGTERM');
    // Generous slack over the deadline: the bound is what matters, not the speed (old code: never).
    const outcome = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    expect(outcome, `ingest still running 30 s after SIGTERM:\n${first.lines().slice(-5).join('\n')}`).not.toBeNull();
    expect(outcome!.code).toBe(1);
    expect(outcome!.at - sentAt).toBeLessThan((DEADLINE_S + 8) * 1000);
    const left = first
      .lines()
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      })
      .find((o) => o?.code === 'TJ_SHUTDOWN_INCOMPLETE');
    expect(left, first.lines().slice(-10).join('\n')).toBeDefined();
    expect(left!.unjournaled).toBeGreaterThan(0);
    // Whatever the source: a PUBACK (or an HJ 212 answer) withheld makes the sender deliver it again.
    expect(String(left!.msg)).toMatch(/not journaled, left unacknowledged for their senders to deliver again/);

    await s.services.redis.start();
    const second = ingestProcess(s, port);
    await ready(port);
    const from = burst[0]!.ts;
    const to = burst[burst.length - 1]!.ts;
    await waitFor(
      async () => (await countPoints(s.influx, 'water_quality', 'NH3N', `time >= ${from}ms AND time <= ${to}ms`)) >= N,
      120_000,
      `all ${N} readings in InfluxDB`,
      250,
    );
    expect(compareBurst(burst, await storedValues(s.influx, from, to))).toEqual({ missing: 0, doubled: 0, wrong: 0, extra: 0 });
    second.child.kill('SIGTERM');
    const secondExit = await new Promise<number | null>((r) => second.child.once('exit', (code) => r(code)));
    expect(secondExit).toBe(0);
  }, 240_000);
});
