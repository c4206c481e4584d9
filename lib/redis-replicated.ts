/**
 * WAIT for replicas, on the connection that made the writes.
 *
 * Redis replicates asynchronously: a write the master acknowledged is lost when the master dies
 * before a replica has it and that replica is promoted. Where an acknowledgement leaves the
 * pipeline (a PUBACK to the broker, a CN 9014 answer to a data logger), the journal entry must be
 * on a replica first. WAIT blocks the calling connection until the given number of replicas hold
 * every write that connection made, so it has to go over the same connection as the writes: on a
 * Redis Cluster, the cluster client's connection to the master serving the key's slot.
 */
import type { Redis } from 'ioredis';
import { TuojiangError } from './errors.js';
import { hashTag, isCluster, type RedisClient } from './redis-client.js';

/** CRC16/XMODEM, the hash Redis Cluster maps keys to slots with. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The slot of a key: of its hash tag if it has one, else of the whole key. */
export function keySlot(key: string): number {
  return crc16(Buffer.from(hashTag(key) ?? key, 'utf8')) % 16384;
}

/** The connection to the master serving `key` (the client itself on a single node). */
function connectionFor(client: RedisClient, key: string): Redis | undefined {
  if (!isCluster(client)) return client;
  const nodeKey = client.slots[keySlot(key)]?.[0];
  if (nodeKey === undefined) return undefined;
  return client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === nodeKey);
}

/**
 * How many replicas of `key`'s master hold this client's writes to it, waiting at most `timeoutMs`
 * for `replicas` of them; `replicas` 0 returns 0 at once without a round trip.
 */
export async function waitForReplicas(client: RedisClient, key: string, replicas: number, timeoutMs: number): Promise<number> {
  if (replicas <= 0) return 0;
  const conn = connectionFor(client, key);
  // Slots not known yet (a cluster still connecting, or just failed over): no replica is proven.
  if (!conn) return 0;
  return Number(await conn.wait(replicas, timeoutMs));
}

/**
 * Replicas of `key`'s master that are online and acknowledged it within `maxLagS` seconds, from the
 * master's INFO replication. Unlike WAIT it never blocks the connection, and it sees a replica that
 * hangs or is cut off with its connection still open (replicas acknowledge every second; `lag` is
 * the seconds since the last), where WAIT would count it for its old acknowledgements.
 */
export async function replicasOnline(client: RedisClient, key: string, maxLagS: number): Promise<number> {
  const conn = connectionFor(client, key);
  if (!conn) return 0;
  let n = 0;
  for (const [, fields] of (await conn.info('replication')).matchAll(/^slave\d+:(.*)$/gm)) {
    const f = Object.fromEntries(
      (fields ?? '')
        .trim()
        .split(',')
        .map((kv) => kv.split('=') as [string, string]),
    );
    if (f.state === 'online' && Number(f.lag) <= maxLagS) n++;
  }
  return n;
}

/**
 * Whether `key`'s master has `replicas` replicas online that acknowledged within the writes' own
 * wait (`timeoutMs`, at least 2 s: replicas acknowledge once a second): a /readyz `redis_replicas`
 * that is true at the moment it is asked, not at the last write. True when none is required; false
 * at once when the client is not connected (the question would only queue behind the reconnect).
 * It is asked on the connection the writes use, so it also waits behind a WAIT in flight: a caller
 * bounding it (`within`) reads a replica too slow to acknowledge within that bound as missing.
 */
export async function enoughReplicasOnline(client: RedisClient, key: string, replicas: number, timeoutMs: number): Promise<boolean> {
  if (replicas <= 0) return true;
  if (client.status !== 'ready') return false;
  return (await replicasOnline(client, key, Math.max(2, Math.ceil(timeoutMs / 1000)))) >= replicas;
}

/** waitForReplicas, refusing (TJ_REDIS_NOT_REPLICATED) when fewer than `replicas` answered in time. */
export async function requireReplicas(client: RedisClient, key: string, replicas: number, timeoutMs: number, what: string): Promise<void> {
  if (replicas <= 0) return;
  const n = await waitForReplicas(client, key, replicas, timeoutMs);
  if (n < replicas)
    throw new TuojiangError('REDIS_NOT_REPLICATED', `${what}: ${n} of ${replicas} replica(s) acknowledged within ${timeoutMs} ms`);
}
