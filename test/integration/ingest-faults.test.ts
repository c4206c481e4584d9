import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../devtools/local-services/index.js';
import { compareBurst, makeBurst, storedValues } from '../helpers/burst.js';
import { countPoints, publishAll, spawnIngest, startIngestStack, waitFor, type IngestStack } from '../helpers/ingest-stack.js';

/*
 * Fault tests of issue #2: each ends with every published reading in InfluxDB exactly once, with its
 * value. Publishing uses a persistent-session publisher so that its own unacknowledged messages
 * survive a broker restart, as a real data logger's would.
 */
const N = 20_000;
let stack: IngestStack | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await stack?.stop();
  stack = undefined;
});

async function expectExactlyOnce(s: IngestStack, burst: ReturnType<typeof makeBurst>): Promise<void> {
  const from = burst[0]!.ts;
  const to = burst[burst.length - 1]!.ts;
  const where = `time >= ${from}ms AND time <= ${to}ms`;
  await waitFor(
    async () => (await countPoints(s.influx, 'water_quality', 'NH3N', where)) >= burst.length,
    120_000,
    `all ${burst.length} readings in InfluxDB`,
    250,
  );
  const diff = compareBurst(burst, await storedValues(s.influx, from, to));
  expect(diff).toEqual({ missing: 0, doubled: 0, wrong: 0, extra: 0 });
  expect(await countPoints(s.influx, 'water_quality', 'NH3N', where)).toBe(burst.length);
}

/** The ingest with its checks, as a child process on this ops port; what it printed is shown if it dies unasked. */
function ingestProcess(s: IngestStack, httpPort: number): ChildProcess {
  const { child, output } = spawnIngest({ ...s.childEnv(), INGEST_HTTP_PORT: String(httpPort) }, { checks: true });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL') console.error(`ingest exited ${code} ${signal}\n${output().slice(-4000)}`);
  });
  children.push(child);
  return child;
}

const ready = (port: number) =>
  waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 30_000, 'ingest ready');

describe('ingest under faults', () => {
  it('loses and doubles nothing when the ingest is SIGKILLed mid-burst and restarted', async () => {
    stack = await startIngestStack();
    const s = stack;
    const port = await freePort();
    const first = ingestProcess(s, port);
    await ready(port);

    const burst = makeBurst(N, Date.parse('2026-03-02T00:00:00Z'));
    const pub = await s.publisher('burst-publisher-kill');
    let killed = false;
    await publishAll(pub, burst, 500, (sent) => {
      if (!killed && sent === N / 2) {
        killed = true;
        first.kill('SIGKILL');
      }
    });
    expect(killed).toBe(true);
    await new Promise((r) => (first.exitCode !== null || first.signalCode !== null ? r(null) : first.once('exit', r)));
    // Part of the burst was journaled and PUBACKed before the kill; the rest waits at the broker.
    ingestProcess(s, port);
    await ready(port);
    await expectExactlyOnce(s, burst);
  });

  it('drains on SIGTERM mid-burst, exits 0, and the restarted ingest completes the burst exactly once', async () => {
    stack = await startIngestStack();
    const s = stack;
    const port = await freePort();
    const first = ingestProcess(s, port);
    await ready(port);
    const burst = makeBurst(N, Date.parse('2026-03-06T00:00:00Z'));
    const pub = await s.publisher('burst-publisher-term');
    let exited: Promise<number | null> | undefined;
    await publishAll(pub, burst, 500, (sent) => {
      if (!exited && sent === N / 2) {
        exited = new Promise((r) => first.once('exit', (code) => r(code)));
        first.kill('SIGTERM');
      }
    });
    expect(await exited).toBe(0);
    ingestProcess(s, port);
    await ready(port);
    await expectExactlyOnce(s, burst);
  });

  it('loses and doubles nothing when InfluxDB is down for 30 s mid-burst', async () => {
    stack = await startIngestStack();
    const s = stack;
    const svc = await s.startIngest();
    const burst = makeBurst(N, Date.parse('2026-03-03T00:00:00Z'));
    const pub = await s.publisher('burst-publisher-influx');
    let stopped: Promise<void> | undefined;
    await publishAll(pub, burst, 500, (sent) => {
      if (!stopped && sent === N / 4) stopped = s.services.influxdb.stop();
    });
    await stopped;
    // Everything published is journaled (PUBACKed) although InfluxDB is down: the broker is not blocked.
    await waitFor(
      async () => (await svc.metrics.readingsJournaled.get()).values.reduce((a, v) => a + v.value, 0) >= N,
      60_000,
      'all journaled',
    );
    const notReady = await fetch(`http://127.0.0.1:${svc.httpPort}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { checks: Record<string, boolean> }).checks.influxdb).toBe(false);
    await new Promise((r) => setTimeout(r, 30_000));
    await s.services.influxdb.start();
    await expectExactlyOnce(s, burst);
    expect((await svc.metrics.writeFailures.get()).values[0]?.value ?? 0).toBeGreaterThan(0);
  });

  it('loses and doubles nothing when the broker restarts mid-burst', async () => {
    stack = await startIngestStack();
    const s = stack;
    await s.startIngest();
    const burst = makeBurst(N, Date.parse('2026-03-04T00:00:00Z'));
    const pub = await s.publisher('burst-publisher-broker');
    let restarted: Promise<void> | undefined;
    await publishAll(pub, burst, 500, (sent) => {
      if (!restarted && sent === N / 2) restarted = s.services.mosquitto.restart();
    });
    await restarted;
    await expectExactlyOnce(s, burst);
  });

  it('splits a burst across two ingest processes in a $share group, storing it exactly once', async () => {
    stack = await startIngestStack();
    const s = stack;
    const a = await s.startIngest({ shareGroup: 'tuojiang-ingest', connections: 2, instance: 'a' });
    const b = await s.startIngest({ shareGroup: 'tuojiang-ingest', connections: 2, instance: 'b' });
    const burst = makeBurst(N, Date.parse('2026-03-05T00:00:00Z'));
    await publishAll(await s.publisher('burst-publisher-share'), burst, 500);
    await expectExactlyOnce(s, burst);
    const journaled = async (svc: typeof a) => (await svc.metrics.readingsJournaled.get()).values.reduce((x, v) => x + v.value, 0);
    const [ja, jb] = [await journaled(a), await journaled(b)];
    expect(ja + jb).toBe(N);
    // Both members took a real share of the load (the broker balances the group round-robin).
    expect(Math.min(ja, jb)).toBeGreaterThan(N / 10);
  });
});
