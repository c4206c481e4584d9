/**
 * The alerts processes' job schedulers (silence, inbox sweep, aggregation): BullMQ keeps one per id
 * in Redis, and every process upserts the same one, so there is one whoever made it. A Redis that
 * came back empty has none, and nothing would ever run that job again: each process looks again
 * periodically, puts it back, and says so once per loss.
 */
import type { Queue } from 'bullmq';
import { TuojiangError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export interface SchedulerSpec {
  id: string;
  /** The name of the jobs it adds. */
  name: string;
  everyMs: number;
  /** For the log line: 'silence scheduler'. */
  what: string;
  /** What its loss cost, for the log line ('' when nothing). */
  lost: string;
}

/** Upserts the scheduler; returns the check that recreates it when Redis has lost it. */
export async function keepScheduler(queue: Queue, spec: SchedulerSpec, log?: Logger): Promise<() => Promise<void>> {
  const upsert = () =>
    queue.upsertJobScheduler(
      spec.id,
      { every: spec.everyMs },
      { name: spec.name, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
  await upsert();
  // One look at a time: two overlapping looks would both find it missing and both say so.
  let looking = false;
  return async () => {
    if (looking) return;
    looking = true;
    try {
      if (await queue.getJobScheduler(spec.id)) return;
      await upsert();
      const err = new TuojiangError(
        'REDIS_STATE_LOST',
        `Redis was found without the ${spec.what} (emptied or replaced); recreated${spec.lost ? `. ${spec.lost}` : ''}`,
      );
      log?.error({ code: err.code, what: spec.what, hint: err.hint }, err.message);
    } finally {
      looking = false;
    }
  };
}
