/**
 * Acknowledged means on a replica (redis.wait_replicas): on a real Redis Cluster with one replica
 * per master, a journal append and a check hand-off resolve only once the replica of their slot's
 * master holds them; with that replica stopped they are refused (TJ_REDIS_NOT_REPLICATED), so the
 * ingest keeps the readings unacknowledged; with the replica back, the retried batch resolves and
 * is journaled once. A notification is handed over only once its commit mark is on the replica too,
 * and its "sent" mark is waited for after the hand-over.
 * And the slot arithmetic the WAIT is routed by agrees with the cluster's own.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckEnqueuer } from '../../alerts/check-enqueuer.js';
import { createRedis, type RedisClient } from '../../config/connections.js';
import { startRedisCluster, type ClusterNode, type RedisClusterHandle } from '../../devtools/local-services/index.js';
import { RedisJournal } from '../../ingest/journal.js';
import { parseFrame } from '../../ingest/hj212/frame.js';
import { SplitPacketStore } from '../../ingest/split-packet-store.js';
import { NotifyKeys } from '../../alerts/notify/keys.js';
import { NotifyStore } from '../../alerts/notify/store.js';
import { notifyReadiness } from '../../alerts/notify/readiness.js';
import { isTuojiangError } from '../../lib/errors.js';
import { HOUR, reading, waitFor } from '../helpers/alerts-stack.js';
import { capturedLogger } from '../helpers/captured-log.js';
import { ADDR, alertEvent, startNotifyStack, type NotifyServices } from '../helpers/notify-stack.js';
import { codeOfAsync, hj212Frame, MN } from '../helpers/fixtures.js';
import { keySlot, waitForReplicas } from '../../lib/redis-replicated.js';

let cluster: RedisClusterHandle;
let redis: RedisClient;
const tag = (): string => `{r${randomBytes(3).toString('hex')}}`;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, appendonly: false });
  redis = createRedis(cluster.url, { maxRetriesPerRequest: null });
}, 90_000);
afterAll(async () => {
  await redis?.quit().catch(() => undefined);
  await cluster?.stop();
});

/** The replica node of the master serving `key`. */
async function replicaOf(key: string): Promise<ClusterNode> {
  const master = await cluster.masterOf(await cluster.keySlot(key));
  const admin = new Redis({ host: '127.0.0.1', port: master.port, lazyConnect: true });
  try {
    await admin.connect();
    const lines = ((await admin.call('CLUSTER', 'REPLICAS', master.id)) as string[]).map((l) => l.split(' '));
    const port = Number(lines[0]![1]!.split('@')[0]!.split(':')[1]);
    return cluster.nodes.find((n) => n.port === port)!;
  } finally {
    admin.disconnect();
  }
}

/** A read as the replica itself answers it (READONLY lets a replica answer for its master's slots). */
async function onReplica<T>(node: ClusterNode, read: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true });
  try {
    await r.connect();
    await r.call('READONLY');
    return await read(r);
  } finally {
    r.disconnect();
  }
}
const xlenOnReplica = (node: ClusterNode, key: string) => onReplica(node, (r) => r.xlen(key));
const hgetOnReplica = (node: ClusterNode, key: string, field: string) => onReplica(node, (r) => r.hget(key, field));

describe('writes acknowledged only once a replica holds them (redis.wait_replicas)', () => {
  it("our slot of a key is the cluster's (CLUSTER KEYSLOT), tagged or not", async () => {
    const keys = [
      'tuojiang:journal',
      '{tuojiang}:journal',
      '{tj-p1}:journal',
      'a{}b',
      '{}',
      '沱江:{资阳}:x',
      `k${randomBytes(8).toString('hex')}`,
    ];
    for (const k of keys) expect(keySlot(k), k).toBe(await cluster.keySlot(k));
  });

  it('a journal append waits for the replica, is refused without it, and its retry is journaled once', async () => {
    const t = tag();
    const stream = `${t}:journal`;
    // Appends that must be acknowledged get time: with appendfsync always the replica fsyncs before it
    // answers, which took longer than 300 ms under the full suite's load. The refusal needs none.
    const journal = (replicas: number, replicaTimeoutMs = 5000) =>
      new RedisJournal(redis, { stream, deadLetterStream: `${t}:deadletters`, deadLetterMax: 100, replicas, replicaTimeoutMs });
    const replica = await replicaOf(stream);
    const items = (v: number) => [{ kind: 'reading' as const, reading: reading('shiqiao', Date.now() - HOUR, { NH3N: v }) }];

    await journal(1).append(items(0.5), { source: 's', seq: 1 });
    // Resolved means the replica has it already, not eventually.
    expect(await xlenOnReplica(replica, stream)).toBe(1);
    expect(await waitForReplicas(redis, stream, 1, 5000)).toBe(1);
    // The ingest's /readyz redis_replicas: the stream's master has the replica an append needs…
    expect(await journal(1).enoughReplicasOnline()).toBe(true);

    await replica.redis.stop();
    try {
      // …and does not, said at once, before any append is refused; without the requirement it is not asked.
      expect(await journal(1).enoughReplicasOnline()).toBe(false);
      expect(await journal(0).enoughReplicasOnline()).toBe(true);
      expect(await codeOfAsync(journal(1, 300).append(items(0.6), { source: 's', seq: 2 }))).toBe('TJ_REDIS_NOT_REPLICATED');
      // Without the requirement the master's word is enough: the same setup resolves.
      await journal(0).append(items(0.7), { source: 's', seq: 3 });
    } finally {
      await replica.redis.start();
    }
    // The batcher retries a refused batch under its number: the replica catches up, nothing twice.
    for (let i = 0; ; i++) {
      try {
        await journal(1).append(items(0.6), { source: 's', seq: 2 });
        break;
      } catch (e) {
        expect(isTuojiangError(e) && e.code).toBe('TJ_REDIS_NOT_REPLICATED');
      }
      if (i > 100) throw new Error('the replica never caught up');
    }
    expect(await redis.xlen(stream)).toBe(3);
    expect(await xlenOnReplica(replica, stream)).toBe(3);
    expect(await journal(1).enoughReplicasOnline()).toBe(true);
  }, 60_000);

  it('a split-packet part is stored on the replica before it resolves, and waits while there is none', async () => {
    const prefix = `${tag()}:split`;
    const reported: string[] = [];
    const store = new SplitPacketStore(
      redis,
      60_000,
      prefix,
      64,
      { replicas: 1, timeoutMs: 300 },
      { failed: (e) => reported.push((e as { code?: string }).code ?? e.message), recovered: () => reported.push('recovered') },
    );
    const mn = MN.shiqiao;
    const part = (qn: string) => hj212Frame({ mn, ts: Date.now() - HOUR, qn, flag: 6, pnum: 2, pno: 1, items: { w21003: { Rtd: '0.5' } } });
    const replica = await replicaOf(`${prefix}:index`);

    const first = part('20260301000000001');
    expect((await store.add(parseFrame(first), first, Date.now())).status).toBe('pending');
    // A part is acknowledged when this resolves: the replica has it already.
    expect(await onReplica(replica, (r) => r.zcard(`${prefix}:index`))).toBe(1);

    await replica.redis.stop();
    const second = part('20260301000000002');
    let resolved = false;
    const adding = store.add(parseFrame(second), second, Date.now()).then((r) => {
      resolved = true;
      return r;
    });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect(resolved).toBe(false);
    } finally {
      await replica.redis.start();
    }
    expect((await adding).status).toBe('pending');
    expect(await onReplica(replica, (r) => r.zcard(`${prefix}:index`))).toBe(2);
    // Told as a refused append is (log, counter, /readyz), and told when it is over.
    expect(reported.length).toBeGreaterThan(1);
    expect(reported.slice(0, -1).every((c) => c === 'TJ_REDIS_NOT_REPLICATED' || /Connection|closed/i.test(c))).toBe(true);
    expect(reported.at(-1)).toBe('recovered');
  }, 60_000);

  it("the check hand-off is refused while the prefix's master has no replica", async () => {
    const prefix = tag();
    const enqueuer = new CheckEnqueuer({
      redisUrl: cluster.url,
      connection: redis,
      prefix,
      granularity: 'batch',
      replicas: 1,
      // Long enough for the first hand-off to be acknowledged under load; the refused one waits it out.
      replicaTimeoutMs: 5000,
    });
    try {
      await enqueuer.enqueue([reading('shiqiao', Date.now() - 2 * HOUR, { NH3N: 0.5 })]);
      const replica = await replicaOf(`${prefix}:x`);
      await replica.redis.stop();
      try {
        expect(await codeOfAsync(enqueuer.enqueue([reading('shiqiao', Date.now() - HOUR, { NH3N: 0.6 })]))).toBe('TJ_REDIS_NOT_REPLICATED');
      } finally {
        await replica.redis.start();
      }
    } finally {
      await enqueuer.close();
    }
  }, 60_000);

  it("a notification is handed over only once its commit mark is on the replica of the outbox's master", async () => {
    const prefix = tag();
    const store = (replicaTimeoutMs = 5000) => new NotifyStore(redis, prefix, { replicas: 1, replicaTimeoutMs });
    const outbox = (batch: string) => new NotifyKeys(prefix).outbox(batch);
    const replica = await replicaOf(outbox('b1'));

    expect((await store().begin('b1', 'a1', 60_000)).state).toBe('go');
    expect(await store().commit('b1', 'a1')).toBe(true);
    // Held by the replica before the message's last bytes go: after a failover the next attempt
    // finds the commit (and reports the delivery uncertain) instead of sending it again.
    expect(await hgetOnReplica(replica, outbox('b1'), 'state')).toBe('committing');
    // The "sent" mark after the hand-over waits for the replica too (never throwing: the message is
    // out): lost in a failover, a next attempt would dead-letter a delivered notice as uncertain.
    expect(await store().finish('b1', 'a1', 'sent', { to: 'duty@example.org' })).toBe(true);
    expect(await store().finalMarkReplicated('b1')).toBe(true);
    expect(await hgetOnReplica(replica, outbox('b1'), 'state')).toBe('sent');
    expect((await store().begin('b4', 'a1', 60_000)).state).toBe('go');
    expect(await store().commit('b4', 'a1')).toBe(true);
    const replicaPid = replica.redis.pid!;
    process.kill(replicaPid, 'SIGSTOP');
    try {
      expect(await store(300).finish('b4', 'a1', 'sent', { to: 'duty@example.org' })).toBe(true);
      expect(await store(300).finalMarkReplicated('b4')).toBe(false);
    } finally {
      process.kill(replicaPid, 'SIGCONT');
    }
    await waitFor(() => store(300).finalMarkReplicated('b4'), 15_000, 'the sent mark on the replica once it is back');
    expect(await hgetOnReplica(replica, outbox('b4'), 'state')).toBe('sent');

    // The notify worker's /readyz says when notices would be held (a TCP listener stands in for the SMTP server).
    const held = store(300);
    const smtp = createServer((socket) => socket.end()).listen(0, '127.0.0.1');
    await once(smtp, 'listening');
    const ready = notifyReadiness({
      redis,
      smtpUrl: `smtp://127.0.0.1:${(smtp.address() as AddressInfo).port}`,
      cacheMs: 0,
      replicasOnline: () => held.enoughReplicasOnline(),
    });
    expect(await ready()).toEqual({ ready: true, checks: { redis: true, smtp: true, redis_replicas: true } });

    // A replica that hangs with its connection open (SIGSTOP) stops acknowledging: said within seconds.
    const pid = replica.redis.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(async () => (await ready()).checks.redis_replicas === false, 15_000, 'the hung replica seen');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(async () => (await ready()).ready, 15_000, 'the replica back');

    await replica.redis.stop();
    try {
      // At once, while no notice is due: not at the first one of an incident.
      expect(await ready()).toEqual({ ready: false, checks: { redis: true, smtp: true, redis_replicas: false } });
      expect((await held.begin('b2', 'a2', 60_000)).state).toBe('go');
      expect(await codeOfAsync(held.commit('b2', 'a2'))).toBe('TJ_REDIS_NOT_REPLICATED');
      expect(await ready()).toEqual({ ready: false, checks: { redis: true, smtp: true, redis_replicas: false } });
      // Not handed over: the attempt ends as a retry (what deliver does with an error before the commit)…
      expect(await store(300).finish('b2', 'a2', 'retry', { error: 'no replica' })).toBe(true);
      // …and without the requirement the master's word is enough.
      expect((await new NotifyStore(redis, prefix).begin('b3', 'a1', 60_000)).state).toBe('go');
      expect(await new NotifyStore(redis, prefix).commit('b3', 'a1')).toBe(true);
    } finally {
      await replica.redis.start();
    }
    // The next attempt may send it, once the replica holds the commit.
    expect((await held.begin('b2', 'a3', 60_000)).state).toBe('go');
    for (let i = 0; ; i++) {
      try {
        expect(await held.commit('b2', 'a3')).toBe(true);
        break;
      } catch (e) {
        expect(isTuojiangError(e) && e.code).toBe('TJ_REDIS_NOT_REPLICATED');
      }
      if (i > 100) throw new Error('the replica never caught up');
    }
    expect(await hgetOnReplica(replica, outbox('b2'), 'state')).toBe('committing');
    expect((await ready()).checks.redis_replicas).toBe(true);
    smtp.close();
  }, 60_000);

  it('a notice whose "sent" mark misses the replica is sent once, and the delivery says so', async () => {
    const prefix = tag();
    const replica = await replicaOf(new NotifyKeys(prefix).outbox('x'));
    const pid = replica.redis.pid!;
    const { log, lines } = capturedLogger();
    let stopped = false;
    // The replica hangs after the commit (which waited for it) while the SMTP server takes the
    // message: the "sent" mark written after the 250 reply cannot reach it.
    const stack = await startNotifyStack({ redis: { url: cluster.url } } as unknown as NotifyServices, {
      prefix,
      sink: {
        afterStore: () => {
          if (stopped) return;
          stopped = true;
          process.kill(pid, 'SIGSTOP');
        },
      },
      notify: { waitReplicas: { replicas: 1, timeoutMs: 500 }, log },
    });
    try {
      await stack.emit(alertEvent({ station: 'shiqiao', kind: 'firing', at: Date.now() - 60_000, value: 3 }));
      await waitFor(() => lines.some((l) => l.code === 'TJ_NOTIFY_SENT_NOT_REPLICATED'), 30_000, 'the warning');
      // The message taken while the replica hung is the one the warning names.
      const first = stack.sink.messages[0]!;
      const warned = lines.find((l) => l.code === 'TJ_NOTIFY_SENT_NOT_REPLICATED' && l.messageId === first.parsed.messageId);
      expect(warned?.level).toBe(40);
      process.kill(pid, 'SIGCONT');
      await stack.idle({ timeoutMs: 30_000 });
      // Every bureau's notice once: the unreplicated mark did not make anything go twice.
      const ids = stack.sink.messages.map((m) => m.parsed.messageId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(stack.sink.to(ADDR.chengdu)).toHaveLength(1);
      expect(stack.sink.to(ADDR.ziyang)).toHaveLength(1);
    } finally {
      if (stopped) process.kill(pid, 'SIGCONT');
      await stack.close();
    }
  }, 90_000);
});
