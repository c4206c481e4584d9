/**
 * Where the pipeline's keys live in Redis, the same for every process: the key prefix of the alert
 * and notification state and the BullMQ queues, and the ingest's journal streams. On a Redis
 * Cluster each needs a hash tag (decision 0016): a script's keys must share a slot, and the
 * scripts build some keys from others.
 */
import { TuojiangError } from '../lib/errors.js';
import { hashTag } from '../lib/redis-client.js';
import type { Env } from './env.js';
import type { Settings } from './schema.js';

export interface RedisLayout {
  /** BullMQ prefix and base of the alert, notification, threshold, incident, aggregate and split keys. */
  prefix: string;
  /** The readings journal (consumed by the writers); its batch numbers and re-send keys derive from it. */
  journalStream: string;
  /** Dead letters, appended by the same script as the journal: in its slot on a cluster. */
  deadLetterStream: string;
}

/** The suggestion every refusal makes. */
export const CLUSTER_PREFIX_EXAMPLE = '{tuojiang}';

/**
 * The layout of this process: `--prefix` (a CLI override) before REDIS_PREFIX before config
 * `redis.prefix`; JOURNAL_STREAM / JOURNAL_DEAD_LETTER_STREAM before config `journal.*` (so an ingest
 * process may have a journal of its own, e.g. one per partition, each with its own hash tag).
 */
export function redisLayout(
  settings: Pick<Settings, 'redis' | 'journal'>,
  env: Partial<Pick<Env, 'REDIS_PREFIX' | 'JOURNAL_STREAM' | 'JOURNAL_DEAD_LETTER_STREAM'>> = {},
  prefixOverride?: string,
): RedisLayout {
  return {
    prefix: prefixOverride ?? env.REDIS_PREFIX ?? settings.redis.prefix,
    journalStream: env.JOURNAL_STREAM ?? settings.journal.stream,
    deadLetterStream: env.JOURNAL_DEAD_LETTER_STREAM ?? settings.journal.dead_letter_stream,
  };
}

export type ClusterNames = Partial<RedisLayout>;

/**
 * Throws TJ_REDIS_HASH_TAG unless the names keep every script's keys in one slot: the prefix has a
 * hash tag, and the journal stream has one that its dead-letter stream shares.
 */
export function checkClusterNames(names: ClusterNames): void {
  const problems: string[] = [];
  if (names.prefix !== undefined && hashTag(names.prefix) === undefined)
    problems.push(
      `the key prefix "${names.prefix}" has no hash tag: set REDIS_PREFIX (or config redis.prefix) to e.g. "${CLUSTER_PREFIX_EXAMPLE}"`,
    );
  if (names.journalStream !== undefined) {
    const tag = hashTag(names.journalStream);
    if (tag === undefined)
      problems.push(
        `the journal stream "${names.journalStream}" has no hash tag: set journal.stream (or JOURNAL_STREAM) to e.g. "${CLUSTER_PREFIX_EXAMPLE}:journal"`,
      );
    else if (names.deadLetterStream !== undefined && hashTag(names.deadLetterStream) !== tag)
      problems.push(
        `the dead-letter stream "${names.deadLetterStream}" is not tagged like the journal stream ({${tag}}): set journal.dead_letter_stream (or JOURNAL_DEAD_LETTER_STREAM) to e.g. "{${tag}}:deadletters"`,
      );
  }
  if (problems.length > 0) throw new TuojiangError('REDIS_HASH_TAG', `Redis Cluster: ${problems.join('; ')}`, { ...names });
}
