/**
 * What the code holds as "a Redis": one node or a Redis Cluster (config/connections.ts opens
 * either from REDIS_URL / REDIS_CLUSTER_NODES). Both speak the same commands and scripts; on a
 * cluster every command's keys must hash to one slot, which the key names below make sure of.
 */
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/**
 * The hash tag of a key as Redis Cluster reads it: the text between the first '{' and the first
 * '}' after it, when not empty. Keys with the same tag share a slot, whatever else they hold.
 */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close <= open + 1) return undefined;
  return key.slice(open + 1, close);
}
