/**
 * Every Lua script of the project on a real Redis Cluster (3 masters), driven through the classes
 * that own them, with a hash-tag prefix: none may fail with CROSSSLOT or a non-local key (Redis 7
 * refuses a key a script builds outside its declared keys' slot). And the refusal: a cluster with
 * an untagged prefix or journal stream stops a service before it starts (TJ_REDIS_HASH_TAG).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirtyHours } from '../../aggregates/dirty-hours.js';
import { AlertStore } from '../../alerts/alert-store.js';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import { AlertKeys } from '../../alerts/keys.js';
import { RateWindow } from '../../alerts/notify/channels/rate-window.js';
import { startAlertsService } from '../../alerts/service.js';
import { ThresholdStore } from '../../alerts/threshold-store/store.js';
import { StaticThresholdSource, loadThresholdsFile } from '../../alerts/thresholds.js';
import { createRedis, isCluster, type RedisClient } from '../../config/connections.js';
import { readEnv } from '../../config/env.js';
import { loadConfig } from '../../config/load.js';
import { StationRegistry } from '../../config/station-registry.js';
import { startRedisCluster, type RedisClusterHandle } from '../../devtools/local-services/index.js';
import { IngestService } from '../../ingest/ingest-service.js';
import { parseFrame } from '../../ingest/hj212/frame.js';
import { RedisJournal } from '../../ingest/journal.js';
import { ResendDetector } from '../../ingest/resend-detector.js';
import { SplitPacketStore } from '../../ingest/split-packet-store.js';
import type { InfluxStore } from '../../lib/influx/client.js';
import { createLogger } from '../../lib/logger.js';
import { HOUR, reading } from '../helpers/alerts-stack.js';
import { codeOfAsync, hj212Frame } from '../helpers/fixtures.js';
import { ADDR, alertEvent, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';

const config = loadConfig();
const registry = new StationRegistry(config.registry);
const thresholds = loadThresholdsFile(join(config.dir, 'thresholds.yaml'), config.registry);

let cluster: RedisClusterHandle;
let redis: RedisClient;
const tag = (): string => `{c${randomBytes(3).toString('hex')}}`;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0, appendonly: false });
  redis = createRedis(cluster.url, { maxRetriesPerRequest: null });
}, 60_000);
afterAll(async () => {
  await redis?.quit().catch(() => undefined);
  await cluster?.stop();
});

describe('the scripts on a Redis Cluster', () => {
  it('the connection from a list of node URLs is a cluster, and the keys of one tag share a slot', async () => {
    expect(isCluster(redis)).toBe(true);
    const t = tag();
    const slots = await Promise.all(
      [`${t}:journal`, `${t}:deadletters`, `${t}:journal:seen:ab12`, `${t}:as:outbox`].map((k) => cluster.keySlot(k)),
    );
    expect(new Set(slots).size).toBe(1);
    // The tags spread: 20 tags land on more than one master.
    const masters = new Set<number>();
    for (let i = 0; i < 20; i++) masters.add((await cluster.masterOf(await cluster.keySlot(`{tj-p${i}}:journal`))).port);
    expect(masters.size).toBeGreaterThan(1);
  });

  it('journal append: readings, dead letters, HJ 212 re-send keys (declared keys), batch numbers', async () => {
    const t = tag();
    const journal = new RedisJournal(redis, {
      stream: `${t}:journal`,
      deadLetterStream: `${t}:deadletters`,
      deadLetterMax: 1000,
      resendWindowS: 60,
    });
    const r1 = reading('shiqiao', Date.now() - HOUR, { NH3N: 0.5 });
    const r2 = reading('hongyuan', Date.now() - HOUR, { NH3N: 0.4 });
    const dead = { reason: 'TJ_UNKNOWN_STATION', message: 'x', topic: 't', payload: Buffer.from('junk'), receivedAt: Date.now() };
    const first = [
      { kind: 'reading' as const, reading: r1, dedupeKey: 'aa11' },
      { kind: 'reading' as const, reading: r2 },
      { kind: 'dead' as const, dead },
    ];
    await journal.append(first, { source: 's1', seq: 1 });
    await journal.append(first, { source: 's1', seq: 1 }); // the same batch again: nothing
    const resent = [{ kind: 'reading' as const, reading: r1, dedupeKey: 'aa11' }];
    await journal.append(resent, { source: 's1', seq: 2 });
    expect(resent[0]).toMatchObject({ duplicate: true });
    expect(await redis.xlen(`${t}:journal`)).toBe(2);
    expect(await redis.xlen(`${t}:deadletters`)).toBe(1);
    expect(await redis.exists(`${t}:journal:seen:aa11`)).toBe(1);
  });

  it('re-send detection of the writer, split-packet store', async () => {
    const t = tag();
    const ts = Date.now() - HOUR;
    // A first value as 0.1.0 kept it: found on whichever master holds the slot, and read.
    await redis.set(`${t}:journal:first:hongyuan:hour:${ts - 60_000}`, 'NH3N=0.3', 'EX', 600);
    const detector = new ResendDetector(redis, { keyPrefix: `${t}:journal:`, windowS: 600 });
    expect((await detector.prepare()).legacyUntil).toBeGreaterThan(Date.now());
    const [old] = await detector.check([reading('hongyuan', ts - 60_000, { NH3N: 0.8 })]);
    expect(old!.changes).toEqual([{ parameter: 'NH3N', stored: '0.3', resent: '0.8' }]);
    await detector.check([reading('shiqiao', ts, { NH3N: 0.5 }), reading('hongyuan', ts, { NH3N: 0.4 })]);
    const [v] = await detector.check([reading('shiqiao', ts, { NH3N: 0.9 })]);
    expect(v!.changes.map((c) => c.parameter)).toEqual(['NH3N']);
    await detector.markRecorded([{ reading: reading('shiqiao', ts, { NH3N: 0.9 }), changes: v!.changes }]);

    const split = new SplitPacketStore(redis, 60_000, `${t}:split`);
    const mn = registry.get('shiqiao')!.mn!;
    const part = (pno: number, code: string) => hj212Frame({ mn, ts, flag: 6, pnum: 2, pno, items: { [code]: { Rtd: 1.5, Flag: 'N' } } });
    expect((await split.add(parseFrame(part(1, 'w21003')), part(1, 'w21003'), Date.now())).status).toBe('pending');
    const done = await split.add(parseFrame(part(2, 'w01018')), part(2, 'w01018'), Date.now());
    expect(done.status).toBe('complete');
    if (done.status === 'complete') await done.release();
    // Three packets expire: all are taken and leased (a sweep that would have taken them before
    // finds none) and stay until released.
    const late = (pno: number) => hj212Frame({ mn, ts: ts + HOUR, flag: 6, pnum: 2, pno, items: { w21003: { Rtd: pno, Flag: 'N' } } });
    const plain = hj212Frame({ mn, ts: ts + 2 * HOUR, flag: 6, pnum: 2, pno: 1, items: { w21003: { Rtd: 1, Flag: 'N' } } });
    const three = (pno: number) => hj212Frame({ mn, ts: ts + 3 * HOUR, flag: 6, pnum: 3, pno, items: { w21003: { Rtd: pno, Flag: 'N' } } });
    for (const f of [late(1), plain, three(1)]) await split.add(parseFrame(f), f, Date.now() - 10_000);
    const taken = await split.takeExpired(Date.now(), Date.now());
    expect(taken.groups).toHaveLength(3);
    expect(taken.examined).toBe(3);
    expect((await split.takeExpired(Date.now() - 5_000, Date.now())).groups).toEqual([]);
    // The first one's last part arrives while it is leased: it completes. The sweep's release leaves
    // it to its own release, so a re-send of that part (its reading not yet durable) completes it again.
    const completed = await split.add(parseFrame(late(2)), late(2), Date.now());
    expect(completed.status).toBe('complete');
    // The third gets another part, acknowledged once stored: the release leaves that packet too.
    expect((await split.add(parseFrame(three(2)), three(2), Date.now())).status).toBe('pending');
    await taken.release();
    expect((await split.add(parseFrame(late(2)), late(2), Date.now())).status).toBe('complete');
    if (completed.status === 'complete') await completed.release();
    // Left: the third, both of its parts, for a later sweep; the plain one is gone.
    const again = await split.takeExpired(Date.now() + 1, Date.now() + 2);
    expect(again.groups).toHaveLength(1);
    expect(again.groups[0]!.sort()).toEqual([three(1), three(2)].sort());
    await again.release();
    expect(await redis.zcard(`${t}:split:index`)).toBe(0);
  });

  it('alert state: enqueue, the sweep’s look at the oldest waiting reading, snapshot, compare-and-set commit with an event into the outbox; dirty hours; a rate window', async () => {
    const prefix = tag();
    const store = new AlertStore(redis, prefix);
    const ts = Date.now() - 2 * HOUR;
    const r = reading('shiqiao', ts, { NH3N: 1.9 });
    const before = Date.now();
    expect((await store.enqueue([r])).status).toEqual([1]);
    const after = Date.now();
    const waiting = await store.oldestWaiting([
      { station: 'shiqiao', period: 'hour' },
      { station: 'shiqiao', period: 'rt' },
    ]);
    expect(waiting.oldest).toEqual([{ ts, ripeAt: expect.any(Number), enqueuedAt: expect.any(Number) }, undefined]);
    // Redis's clock, on this machine: within the enqueue call (a second's slack for the clocks' rounding).
    for (const t of [waiting.oldest[0]!.ripeAt, waiting.oldest[0]!.enqueuedAt]) {
      expect(t).toBeGreaterThanOrEqual(before - 1000);
      expect(t).toBeLessThanOrEqual(after + 1000);
    }
    const snap = await store.snapshot('shiqiao', 'hour', 100);
    expect(snap?.items).toHaveLength(1);
    const event = alertEvent({ station: 'shiqiao', kind: 'firing', at: ts, value: 1.9 });
    const state = { ...snap!.state, rev: snap!.state.rev + 1, lastTs: ts };
    expect(await store.commit('shiqiao', 'hour', snap!.state.rev, { state, changedKeys: [], events: [event] }, [ts], 0)).toBe(true);
    // The same revision again loses the compare-and-set.
    expect(await store.commit('shiqiao', 'hour', snap!.state.rev, { state, changedKeys: [], events: [event] }, [ts], 0)).toBe(false);
    expect(await redis.xlen(new AlertKeys(prefix).outbox)).toBe(1);
    expect((await store.readState('shiqiao', 'hour')).lastTs).toBe(ts);

    const hours = new DirtyHours(redis, prefix);
    await hours.markReadings([r]);
    const taken = await hours.take(10, 0, Date.now() + 1);
    expect(taken).toHaveLength(1);
    expect(await hours.done(taken, Date.now() + 2)).toBe(1);

    const window = new RateWindow(redis, (robot) => `${prefix}:nt:rate:wecom:${robot}`, 1, 60_000);
    expect(await window.take('robot-a', 'm1')).toEqual({ ok: true });
    expect((await window.take('robot-a', 'm2')).ok).toBe(false);
  });

  it('threshold store: seed (commit), a proposal, its approval', async () => {
    const store = new ThresholdStore({ redis, registry: config.registry, prefix: tag() });
    await store.seed(thresholds);
    const r = await store.propose(
      { operator: 'cd-wang', city: 'chengdu' },
      { station: 'shiqiao', param: 'NH3N', value: 0.95, why: 'loosen' },
    );
    expect(r.outcome).toBe('pending');
    const a = await store.approve({ operator: 'zy-zhang', city: 'ziyang' }, 'p1');
    expect(a.outcome).toBe('applied');
    expect((await store.current()).version).toBe(2);
  });

  it('notifications and incidents: a transition becomes an incident report by e-mail', async () => {
    const services = { redis: { url: cluster.url }, users: [], mosquitto: undefined, influxdb: undefined } as unknown as NotifyServices;
    const stack = await startNotifyStack(services, { prefix: tag(), incidents: true, recipients: (r) => (r.incidents.reorder_s = 0) });
    try {
      await stack.emit(alertEvent({ station: 'shiqiao', kind: 'firing', at: Date.now() - 60_000, value: 3 }));
      await stack.sink.waitFor(() => stack.sink.to(ADDR.chengdu).length > 0, 30_000, 'the first report');
      expect(stack.sink.to(ADDR.chengdu)[0]!.parsed.subject).toMatch(/初报/);
    } finally {
      await stack.close();
    }
  });
});

describe('refusal on a cluster without hash tags', () => {
  it('a worker with an untagged prefix does not start: TJ_REDIS_HASH_TAG', async () => {
    expect(await codeOfAsync(() => new CheckEnqueuer({ redisUrl: cluster.url, prefix: 'tuojiang' }))).toBe('TJ_REDIS_HASH_TAG');
    const influx = { writeLines: async () => undefined } as unknown as InfluxStore; // refused before any use
    expect(
      await codeOfAsync(
        startAlertsService({
          redisUrl: cluster.url,
          registry,
          thresholds: new StaticThresholdSource(thresholds),
          prefix: 'tuojiang',
          influx,
        }),
      ),
    ).toBe('TJ_REDIS_HASH_TAG');
  });

  it('an ingest whose journal stream has no tag, or a dead-letter stream in another slot, does not start', async () => {
    const env = readEnv({ REDIS_CLUSTER_NODES: cluster.addresses.join(','), REDIS_PREFIX: '{tuojiang}' });
    expect(env.REDIS_URL.split(',')).toHaveLength(cluster.addresses.length);
    const log = createLogger('cluster-test', 'silent');
    const err = await codeOfAsync(() => new IngestService({ config, env, log }));
    expect(err).toBe('TJ_REDIS_HASH_TAG');
    const mixed = readEnv({
      REDIS_URL: cluster.url,
      REDIS_PREFIX: '{tuojiang}',
      JOURNAL_STREAM: '{tj-p1}:journal',
      JOURNAL_DEAD_LETTER_STREAM: '{tuojiang}:deadletters',
    });
    await expect(Promise.resolve().then(() => new IngestService({ config, env: mixed, log }))).rejects.toThrow(
      /not tagged like the journal stream/,
    );
    // On one node nothing is refused: the default layout stays as it is.
    expect(() => readEnv({ REDIS_URL: 'redis://127.0.0.1:1' })).not.toThrow();
  });

  it('a malformed node list is refused when the environment is read', async () => {
    expect(await codeOfAsync(() => readEnv({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1' }))).toBe('TJ_ENV_INVALID');
    expect(await codeOfAsync(() => readEnv({ REDIS_URL: 'redis://a:1,http://b:2' }))).toBe('TJ_ENV_INVALID');
  });
});
