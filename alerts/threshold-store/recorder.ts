/**
 * Every applied version becomes a point in the InfluxDB measurement `threshold_changes`, which the
 * dashboards draw as annotations (dashboards/datasource.ts). The version is committed first and the
 * point written after, from the `changes` stream the commit appended to: a crash in between leaves
 * the entry for the next flush (any CLI, API or worker process), and the point's timestamp is the
 * version's, so writing it twice is harmless.
 */
import type { RedisClient } from '../../lib/redis-client.js';
import type { InfluxStore } from '../../lib/influx/client.js';
import { encodePoint } from '../../lib/influx/line-protocol.js';
import type { Logger } from '../../lib/logger.js';
import { withThresholdScripts, type ThresholdKeys } from './scripts.js';
import type { ThresholdVersion } from './types.js';

export const THRESHOLD_CHANGES_MEASUREMENT = 'threshold_changes';

/**
 * The dashboards' vocabulary: the end of an exception puts a tighter limit back; a tightening past
 * the floor is a tightening (the consent is in the summary); a restore keeps its own tag, since it
 * may move either way and is the one change made without consent that is not a tightening.
 */
export function changeTag(v: Pick<ThresholdVersion, 'kind'>): 'tighten' | 'loosen' | 'exception' | 'seed' | 'restore' {
  return v.kind === 'exception-end' || v.kind === 'floor' ? 'tighten' : v.kind;
}

export function changePoint(v: ThresholdVersion): string {
  const t = v.target;
  return encodePoint({
    measurement: THRESHOLD_CHANGES_MEASUREMENT,
    tags: {
      scope: t?.scope ?? 'defaults',
      // Only a station's own change carries the tag; the dashboards match station = '' for the rest.
      station: t?.scope === 'station' ? t.station : '',
      change: changeTag(v),
    },
    fields: { version: String(v.version), summary: v.summary, by: v.by },
    ts: v.at,
  });
}

export class ChangeRecorder {
  private flushing: Promise<number> | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: ThresholdKeys,
    private readonly influx: InfluxStore,
    private readonly load: (version: number) => Promise<ThresholdVersion | undefined>,
    private readonly log?: Logger,
  ) {}

  /** Writes what is not yet written; resolves to the number of points written (0 on failure, logged). */
  flush(): Promise<number> {
    this.flushing ??= this.run()
      .catch((e: unknown) => {
        this.log?.warn({ err: (e as Error).message }, 'threshold changes not yet written to InfluxDB; retried on the next change or poll');
        return 0;
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async run(): Promise<number> {
    let written = 0;
    for (;;) {
      const cursor = (await this.redis.get(this.keys.recorded)) ?? '0-0';
      const entries = await this.redis.xrange(this.keys.changes, `(${cursor}`, '+', 'COUNT', 100);
      if (entries.length === 0) return written;
      const lines: string[] = [];
      for (const [, fields] of entries) {
        const i = fields.indexOf('version');
        const v = i >= 0 ? await this.load(Number(fields[i + 1])) : undefined;
        if (v) lines.push(changePoint(v));
      }
      await this.influx.writeLines(lines);
      const last = entries[entries.length - 1]?.[0] as string;
      await withThresholdScripts(this.redis).thrAdvance(this.keys.recorded, last);
      written += lines.length;
    }
  }
}
