/**
 * A real Redis Cluster on loopback for tests and benchmarks: `masters` masters with
 * `replicasPerMaster` replicas each, every node a redis-server of its own (startRedis) on free
 * ports with its own data dir, slots split evenly. A small cluster-node-timeout makes a failover
 * take a few seconds: killMaster() SIGKILLs the master of a slot and returns once its replica
 * serves that slot and every live node says cluster_state:ok.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { TuojiangError } from '../../lib/errors.js';
import { freePort } from './ports.js';
import { adoptDir, releaseDir } from './process.js';
import { startRedis, type RedisHandle } from './redis.js';
import type { Log } from './packages.js';

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** cluster-node-timeout (ms): how long a master may be silent before its replica takes over. Default 1000. */
  nodeTimeoutMs?: number;
  /** AOF on every node, as in production (default true). */
  appendonly?: boolean;
  /** Parent dir of the nodes' dirs. Default: a new temp dir, removed by stop(). */
  dir?: string;
  /** Bound on forming the cluster and on each failover (default 30 s). */
  timeoutMs?: number;
  log?: Log;
}

export interface ClusterNode {
  redis: RedisHandle;
  port: number;
  /** The cluster's id of the node (CLUSTER MYID). */
  id: string;
  /** False after killMaster() took it down (until restartNode()). */
  alive: boolean;
}

export interface RedisClusterHandle {
  nodes: ClusterNode[];
  /** 127.0.0.1:PORT of every node, for REDIS_CLUSTER_NODES. */
  addresses: string[];
  /** redis://127.0.0.1:PORT of every node, comma-separated: a REDIS_URL that names the cluster. */
  url: string;
  /** The live node that serves `slot` as master now. */
  masterOf(slot: number): Promise<ClusterNode>;
  /** The slot of a key (CLUSTER KEYSLOT, asked of a live node). */
  keySlot(key: string): Promise<number>;
  /**
   * SIGKILLs the master that serves `slot` (default: that of the key `{tuojiang}`), waits until one
   * of its replicas serves the slot and every live node reports cluster_state:ok. Returns the
   * killed node and the promoted one.
   */
  killMaster(slot?: number): Promise<{ killed: ClusterNode; promoted: ClusterNode; failoverMs: number }>;
  /** Starts a killed node again; it rejoins as a replica of whoever took over its slots. */
  restartNode(node: ClusterNode): Promise<void>;
  /** Stops every node and removes the dir it created. */
  stop(): Promise<void>;
}

const SLOTS = 16384;

function admin(port: number): Redis {
  return new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
}

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = admin(port);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

const clusterInfo = (port: number): Promise<Record<string, string>> =>
  ask(port, async (r) => {
    const text = (await r.call('CLUSTER', 'INFO')) as string;
    return Object.fromEntries(
      text
        .split(/\r?\n/)
        .filter((l) => l.includes(':'))
        .map((l) => l.split(':') as [string, string]),
    );
  });

/** CLUSTER SHARDS-free view: [start, end, master port] per slot range, as one node sees it. */
async function slotOwners(port: number): Promise<Array<[number, number, number]>> {
  const slots = (await ask(port, (r) => r.call('CLUSTER', 'SLOTS'))) as Array<[number, number, [string, number, string], ...unknown[]]>;
  return slots.map(([start, end, master]) => [start, end, Number(master[1])]);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline)
      throw new TuojiangError(
        'SERVICE_START',
        `redis cluster: ${what} not reached in ${timeoutMs} ms${lastError ? ` (${(lastError as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 1;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (masters < 1 || replicas < 0) throw new TuojiangError('SERVICE_START', 'redis cluster: at least one master');
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'tuojiang-redis-cluster-')));
  if (ownsDir) adoptDir(dir);
  const nodes: ClusterNode[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.redis.stop().catch(() => undefined)));
    if (ownsDir) {
      await rm(dir, { recursive: true, force: true });
      releaseDir(dir);
    }
  };
  try {
    const total = masters * (1 + replicas);
    const started = await Promise.all(
      Array.from({ length: total }, async (_, i) => {
        const nodeDir = join(dir, `node-${i}`);
        await mkdir(nodeDir, { recursive: true });
        // The bus port explicitly: the default (port + 10000) may be taken or fall in the ephemeral range.
        const busPort = await freePort();
        return startRedis({
          dir: nodeDir,
          appendonly: opts.appendonly ?? true,
          ...(opts.log ? { log: opts.log } : {}),
          extraArgs: () => [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(nodeDir, 'nodes.conf'),
            '--cluster-port',
            String(busPort),
            '--cluster-node-timeout',
            String(opts.nodeTimeoutMs ?? 1000),
            // A replica takes over however long it was cut off (a test's clock is short).
            '--cluster-replica-validity-factor',
            '0',
          ],
        }).then((redis) => ({ redis, busPort }));
      }),
    );
    for (const { redis } of started)
      nodes.push({ redis, port: redis.port, id: await ask(redis.port, (r) => r.call('CLUSTER', 'MYID') as Promise<string>), alive: true });

    // Slots first, split evenly over the masters; then one MEET per node (gossip does the rest).
    for (let m = 0; m < masters; m++) {
      const start = Math.floor((m * SLOTS) / masters);
      const end = Math.floor(((m + 1) * SLOTS) / masters) - 1;
      await ask(nodes[m]!.port, (r) => r.call('CLUSTER', 'ADDSLOTSRANGE', String(start), String(end)));
    }
    for (let i = 1; i < total; i++)
      await ask(nodes[0]!.port, (r) => r.call('CLUSTER', 'MEET', '127.0.0.1', String(started[i]!.redis.port), String(started[i]!.busPort)));
    await until('every node knowing every other', timeoutMs, async () => {
      for (const n of nodes) {
        const text = (await ask(n.port, (r) => r.call('CLUSTER', 'NODES'))) as string;
        if (text.trim().split('\n').length < total || /handshake|noaddr/.test(text)) return false;
      }
      return true;
    });
    for (let i = masters; i < total; i++) {
      const master = nodes[(i - masters) % masters]!;
      await ask(nodes[i]!.port, (r) => r.call('CLUSTER', 'REPLICATE', master.id));
    }
    await until('cluster_state:ok with every replica in sync', timeoutMs, async () => {
      for (const n of nodes) if ((await clusterInfo(n.port)).cluster_state !== 'ok') return false;
      for (let i = masters; i < total; i++) {
        const info = await ask(nodes[i]!.port, (r) => r.info('replication'));
        if (!/master_link_status:up/.test(info)) return false;
      }
      return true;
    });
  } catch (e) {
    await stop();
    throw e;
  }

  const live = (): ClusterNode[] => nodes.filter((n) => n.alive);
  const byPort = (port: number): ClusterNode | undefined => nodes.find((n) => n.port === port);
  const masterOf = async (slot: number): Promise<ClusterNode> => {
    const owners = await slotOwners(live()[0]!.port);
    const range = owners.find(([s, e]) => slot >= s && slot <= e);
    const node = range ? byPort(range[2]) : undefined;
    if (!node) throw new TuojiangError('SERVICE_START', `redis cluster: no live master serves slot ${slot}`);
    return node;
  };
  const keySlot = async (key: string): Promise<number> => Number(await ask(live()[0]!.port, (r) => r.call('CLUSTER', 'KEYSLOT', key)));

  return {
    nodes,
    addresses: nodes.map((n) => `127.0.0.1:${n.port}`),
    url: nodes.map((n) => `redis://127.0.0.1:${n.port}`).join(','),
    masterOf,
    keySlot,
    async killMaster(slot) {
      const target = slot ?? (await keySlot('{tuojiang}'));
      const killed = await masterOf(target);
      const began = Date.now();
      await killed.redis.kill();
      killed.alive = false;
      const promoted = await until(`a replica serving slot ${target}`, timeoutMs, async () => {
        for (const n of live()) {
          const owners = await slotOwners(n.port);
          const range = owners.find(([s, e]) => target >= s && target <= e);
          if (!range || range[2] === killed.port) return undefined;
        }
        const node = await masterOf(target);
        for (const n of live()) if ((await clusterInfo(n.port)).cluster_state !== 'ok') return undefined;
        return node;
      });
      return { killed, promoted, failoverMs: Date.now() - began };
    },
    async restartNode(node) {
      await node.redis.start();
      node.alive = true;
    },
    stop,
  };
}
