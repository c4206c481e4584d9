/**
 * Live thresholds: BullMQ check workers (startAlertsService in-process) take their thresholds from
 * a RedisThresholdSource while operators change them through the store over another connection,
 * as the CLI or the API would. A tightening is in force for the next check once the poll interval
 * (1 s; the promise is 5 s) has passed, a loosening does nothing until the other city approves, an
 * exception ends at its date in the workers themselves, each alert names the version it used, and
 * every version becomes a `threshold_changes` point in InfluxDB.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisThresholdSource } from '../../alerts/threshold-store/source.js';
import { ThresholdStore } from '../../alerts/threshold-store/store.js';
import type { Actor } from '../../alerts/threshold-store/types.js';
import { InfluxClient } from '../../lib/influx/client.js';
import {
  HOUR,
  T0,
  reading,
  registry,
  startAlertServices,
  startAlertsStack,
  thresholdsWith,
  waitFor,
  type AlertsStack,
  type Services,
} from '../helpers/alerts-stack.js';
import { loadConfig } from '../../config/load.js';

const CD: Actor = { operator: 'cd-wang', city: 'chengdu' };
const CD2: Actor = { operator: 'cd-li', city: 'chengdu' };
const ZY: Actor = { operator: 'zy-zhang', city: 'ziyang' };

const POLL_MS = 1000;
/** Waiting out the poll interval is the contract under test ("in force within 5 s"), not a timing assertion. */
const pastPoll = () => sleep(POLL_MS + 100);

// Instant limit rule (one reading fires, one reading clears) so each check's outcome shows the limit it used.
const seed = thresholdsWith((c) => {
  c.defaults.rules.limit = { ...c.defaults.rules.limit, consecutive: 1, duration_min: null, clear_consecutive: 1, hysteresis: 0.1 };
  c.sections = [];
  c.stations.huaikou = { limits: { NH3N: 0.6 } };
}, 'live-seed');

let services: Services;
let stack: AlertsStack;
let source: RedisThresholdSource;
let store: ThresholdStore;
let changes: InfluxClient;
const clock = { now: Date.now() };
const connections: Redis[] = [];

beforeAll(async () => {
  services = await startAlertServices();
  const prefix = `thr${randomBytes(3).toString('hex')}`;
  changes = new InfluxClient({ url: services.influxdb.url, database: `changes_${prefix}` });
  await changes.ensureDatabase();
  const workerRedis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
  const operatorRedis = new Redis(services.redis.url, { maxRetriesPerRequest: null });
  connections.push(workerRedis, operatorRedis);
  const cfg = loadConfig().registry;
  // The workers' side: seeds the empty store, polls it, ends exceptions, records versions in InfluxDB.
  source = new RedisThresholdSource({
    redis: workerRedis,
    registry: cfg,
    prefix,
    pollMs: POLL_MS,
    seed,
    influx: changes,
    now: () => clock.now,
  });
  stack = await startAlertsStack(services, { thresholdSource: source, workers: 2 });
  // The operators' side (the CLI or the API in another process): no InfluxDB at all.
  store = new ThresholdStore({ redis: operatorRedis, registry: cfg, prefix, now: () => clock.now });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await Promise.all(connections.map((r) => r.quit()));
  await services?.stopAll();
});

async function check(station: string, hour: number, nh3n: number): Promise<void> {
  await stack.enqueuer.enqueue([reading(station, T0 + hour * HOUR, { NH3N: nh3n, DO: 7 })]);
  await stack.idle();
}

async function limitTransitions(station: string) {
  const points = await stack.alertPoints();
  return points
    .filter((p) => p.station === station && p.rule === 'limit' && p.parameter === 'NH3N' && p.state !== 'reminder')
    .map((p) => ({ state: p.state, value: p.value, limit: p.limit, version: p.threshold_version }));
}

describe('live thresholds in running check workers', () => {
  it('the store was seeded from the file by the workers, and alerts name version 1', async () => {
    expect((await store.current()).seed).toEqual({ source: 'test', fileVersion: 'live-seed' });
    await check('hongyuan', 0, 0.9); // class III limit 1.0: no alert
    await check('huaikou', 0, 0.7); // its own 0.6: fires
    expect(await limitTransitions('hongyuan')).toEqual([]);
    expect(await limitTransitions('huaikou')).toEqual([{ state: 'firing', value: 0.7, limit: 0.6, version: '1' }]);
  });

  it("a tightening is in force within the poll interval and changes the next check's outcome", async () => {
    const r = await store.propose(CD, { station: 'hongyuan', param: 'NH3N', value: 0.8, why: 'upstream works restarting' });
    expect(r.outcome).toBe('applied');
    await pastPoll();
    await check('hongyuan', 1, 0.9); // the same value as before, now above the limit
    expect(await limitTransitions('hongyuan')).toEqual([{ state: 'firing', value: 0.9, limit: 0.8, version: '2' }]);
    expect(source.version?.version).toBe(2);
  });

  it('a loosening does nothing until the other city approves', async () => {
    const r = await store.propose(CD, { station: 'huaikou', param: 'NH3N', value: 0.9, why: 'new background data' });
    if (r.outcome !== 'pending') throw new Error('expected a pending proposal');
    await pastPoll();
    await source.refresh();
    expect(source.version?.version).toBe(2);
    await check('huaikou', 1, 0.7); // still above 0.6: stays firing, no transition
    await expect(store.approve(CD2, r.proposal.id)).rejects.toThrow(/same-city approval does not count/);
    await pastPoll();
    await check('huaikou', 2, 0.7);
    expect(await limitTransitions('huaikou')).toEqual([{ state: 'firing', value: 0.7, limit: 0.6, version: '1' }]);

    expect((await store.approve(ZY, r.proposal.id)).outcome).toBe('applied');
    await pastPoll();
    await check('huaikou', 3, 0.7); // 0.7 ≤ 0.9 × (1 − 0.1): resolves under the approved version
    expect(await limitTransitions('huaikou')).toEqual([
      { state: 'firing', value: 0.7, limit: 0.6, version: '1' },
      { state: 'resolved', value: 0.7, limit: 0.9, version: '3' },
    ]);
  });

  it('an exception signed by both cities is in force until its date, then the workers end it', async () => {
    await check('zhaozhen', 0, 1.2);
    const r = await store.propose(CD, {
      station: 'zhaozhen',
      param: 'NH3N',
      value: 1.5,
      why: 'flood flushing',
      exception: { reason: 'reservoir flushing for two hours', until: clock.now + 2 * HOUR },
    });
    if (r.outcome !== 'pending') throw new Error('expected a pending proposal');
    expect((await store.approve(ZY, r.proposal.id)).outcome).toBe('recorded');
    expect((await store.approve(CD2, r.proposal.id)).outcome).toBe('applied'); // v4
    await pastPoll();
    await check('zhaozhen', 1, 1.2); // under 1.5 × 0.9: resolves
    clock.now += 2 * HOUR; // the end date passes
    await pastPoll();
    await check('zhaozhen', 2, 1.2); // the worker's source ends the exception (v5): the standard's 1.0 again
    expect(await limitTransitions('zhaozhen')).toEqual([
      { state: 'firing', value: 1.2, limit: 1, version: '3' },
      { state: 'resolved', value: 1.2, limit: 1.5, version: '4' },
      { state: 'firing', value: 1.2, limit: 1, version: '5' },
    ]);
    expect(await store.current()).toMatchObject({ version: 5, kind: 'exception-end', by: 'system', exceptions: [] });
  });

  it("every version is a threshold_changes point for the dashboards, written by the workers' side", async () => {
    const rows = async () => {
      const s = (await changes.query('SELECT * FROM threshold_changes'))[0];
      return s ? s.values.map((row) => Object.fromEntries(s.columns.map((c, i) => [c, row[i]]))) : [];
    };
    await waitFor(async () => (await rows()).length === 5, 10_000, 'five threshold_changes points');
    const points = await rows();
    expect(points.map((p) => [p.version, p.change, p.scope, p.station ?? null, p.by])).toEqual([
      ['1', 'seed', 'defaults', null, 'system'],
      ['2', 'tighten', 'station', 'hongyuan', 'cd-wang'],
      ['3', 'loosen', 'station', 'huaikou', 'cd-wang'],
      ['4', 'exception', 'station', 'zhaozhen', 'cd-wang'],
      ['5', 'tighten', 'station', 'zhaozhen', 'system'],
    ]);
    expect(String(points[1]?.summary)).toMatch(/^收紧：宏缘 氨氮 standard → ≤ 0\.8 mg\/L.* \/ Tightened: NH3N at Hongyuan/);
    // the dashboards' own annotation query (dashboards/section-detail.ts)
    const q = await changes.query(
      `SELECT "summary", "version", "change", "scope" FROM "threshold_changes" WHERE ("station" = 'huaikou' OR "station" = '')`,
    );
    expect(q[0]?.values.map((v) => v[2])).toEqual(['1', '3']);
    expect(registry.get('huaikou')).toBeDefined();
  });
});
