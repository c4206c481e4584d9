import { createHash } from 'node:crypto';
import { TuojiangError } from '../lib/errors.js';

/**
 * Partitioned ingest (docs/decisions/0017): N ingest processes, each holding plain persistent
 * subscriptions to the stations whose id hashes to its partition. Pure: the same station id and N
 * give the same partition in every process, the CLI and `stations add`.
 */

/** Partition `index` of `count`, 1-based: "2/4" is the second of four. */
export interface Partition {
  index: number;
  count: number;
}

/** At most this many partitions: beyond it, one process per station would be simpler. */
export const MAX_PARTITIONS = 256;

const PATTERN = /^(\d{1,3})\/(\d{1,3})$/;

/** Why `text` is not a partition ("k/N", 1 ≤ k ≤ N ≤ 256), or undefined when it is one. */
export function partitionProblem(text: string): string | undefined {
  const m = PATTERN.exec(text.trim());
  if (!m) return `a partition "k/N" such as "2/4" (the second of four, 1-based)`;
  const [index, count] = [Number(m[1]), Number(m[2])];
  if (count < 1 || count > MAX_PARTITIONS) return `N between 1 and ${MAX_PARTITIONS} in "k/N"`;
  if (index < 1 || index > count) return `k between 1 and ${count} in "k/${count}" (partitions are numbered from 1)`;
  return undefined;
}

export function parsePartition(text: string): Partition {
  const problem = partitionProblem(text);
  if (problem) throw new TuojiangError('CONFIG_INVALID', `partition ${JSON.stringify(text)}: expected ${problem}`);
  const [index, count] = text.trim().split('/').map(Number) as [number, number];
  return { index, count };
}

/** "2/4": how an operator writes it. */
export const partitionText = (p: Partition): string => `${p.index}/${p.count}`;

/** "p2of4": the client ids' middle part, so a replacement process for the partition resumes its sessions. */
export const partitionTag = (p: Partition): string => `p${p.index}of${p.count}`;

/**
 * The partition (1-based) of a station among `count`: the first 4 bytes of the SHA-256 of its id, as
 * an unsigned big-endian integer, mod `count`, plus 1. An engineer can check it by hand:
 * `printf %s zhaozhen | sha256sum`, the first 8 hex digits, mod N, plus 1. SHA-256 rather than a
 * short hash so that ids differing in one character (s001, s002, …) still spread evenly.
 */
export function partitionOf(stationId: string, count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > MAX_PARTITIONS)
    throw new TuojiangError('CONFIG_INVALID', `partition count ${count}: expected 1 to ${MAX_PARTITIONS}`);
  return (createHash('sha256').update(stationId, 'utf8').digest().readUInt32BE(0) % count) + 1;
}

/** The ids among `ids` that belong to partition `p`, in their given order. */
export function idsInPartition(ids: readonly string[], p: Partition): string[] {
  return ids.filter((id) => partitionOf(id, p.count) === p.index);
}

/** Every partition 1..count with its station ids (each in the given order). */
export function assignPartitions(ids: readonly string[], count: number): string[][] {
  const out: string[][] = Array.from({ length: count }, () => []);
  for (const id of ids) out[partitionOf(id, count) - 1]!.push(id);
  return out;
}

/** What of tuojiang.yaml `mqtt:` a partition is checked against and turned into topics with. */
export interface PartitionSettings {
  partition: string;
  share_group: string;
  topic_prefix: string;
  subscriptions: readonly string[];
}

const MEDIA = ['water', 'air'] as const;

/**
 * This process's partition: INGEST_PARTITION when set, else tuojiang.yaml `mqtt.partition`; undefined
 * when neither is (unpartitioned: wildcard subscriptions, or a `$share` group). Refused with a share
 * group (the group would balance each partition's messages across processes that hold other
 * partitions, and a broker that forgets `$share` sessions loses them again), and with a filter other
 * than the stations' own wildcards (a gateway's topic, where only a frame's MN names the station,
 * could carry any partition's stations).
 */
export function ingestPartition(mqtt: PartitionSettings, env: { INGEST_PARTITION?: string | undefined }): Partition | undefined {
  const fromEnv = env.INGEST_PARTITION?.trim();
  const text = fromEnv || mqtt.partition.trim();
  if (!text) return undefined;
  const where = fromEnv ? 'INGEST_PARTITION' : 'tuojiang.yaml mqtt.partition';
  const problem = partitionProblem(text);
  if (problem) throw new TuojiangError('CONFIG_INVALID', `${where}=${JSON.stringify(text)}: expected ${problem}`);
  if (mqtt.share_group)
    throw new TuojiangError(
      'CONFIG_INVALID',
      `${where}=${text} and mqtt.share_group "${mqtt.share_group}" exclude each other: a partitioned ingest subscribes to its own stations' topics without $share; empty share_group, or unset the partition`,
    );
  const other = mqtt.subscriptions.filter((f) => !MEDIA.some((m) => f === `${mqtt.topic_prefix}/${m}/+`));
  if (other.length > 0)
    throw new TuojiangError(
      'CONFIG_INVALID',
      `${where}=${text}: mqtt.subscriptions may list only ${MEDIA.map((m) => `${mqtt.topic_prefix}/${m}/+`).join(' and ')} with a partition (each becomes its stations' exact topics); ${other.join(', ')} could carry any partition's stations`,
    );
  return parsePartition(text);
}

/**
 * The exact topics a partitioned ingest subscribes to: `{prefix}/{medium}/{id}` for each station of
 * the partition and each medium whose wildcard `mqtt.subscriptions` lists. Both media, not only the
 * station's kind: a reading on the wrong one stays a TJ_KIND_MISMATCH dead letter, as it is
 * unpartitioned, instead of going to no subscriber at all.
 */
export function partitionTopics(
  ids: readonly string[],
  p: Partition,
  mqtt: Pick<PartitionSettings, 'topic_prefix' | 'subscriptions'>,
): string[] {
  const media = MEDIA.filter((m) => mqtt.subscriptions.includes(`${mqtt.topic_prefix}/${m}/+`));
  return idsInPartition(ids, p).flatMap((id) => media.map((m) => `${mqtt.topic_prefix}/${m}/${id}`));
}
