/**
 * Writes a service's health counters to InfluxDB every few seconds, so the pipeline-health
 * dashboard needs nothing but the InfluxDB the readings already go to (no Prometheus server).
 * The Prometheus endpoint of each service stays: this is a copy of a few numbers, not a second
 * metrics system.
 */
import type { InfluxStore } from './influx/client.js';
import { encodePoint } from './influx/line-protocol.js';

/**
 * Measurement of the health points: tags `service`, `instance` (and `partitions`, N, from a
 * partitioned ingest); one float field per counter.
 */
export const PIPELINE_HEALTH_MEASUREMENT = 'pipeline_health';

/**
 * The fields the dashboards read. Counters are cumulative since the process started (the
 * dashboards take non_negative_derivative, so restarts do not show as negative rates); gauges are
 * the value at the sampling instant. A service writes only the ones it has.
 */
export const HEALTH_FIELDS = {
  readings_in: 'counter: MQTT messages received by the ingest',
  readings_written: 'counter: readings written to InfluxDB',
  readings_rejected: 'counter: messages dead-lettered',
  journal_backlog: 'gauge: readings journaled but not yet written to InfluxDB',
  write_lag_s: "gauge: seconds from a reading's sensor time to its write, latest batch",
  check_jobs_waiting: 'gauge: check jobs waiting in the BullMQ queue',
  check_series_overdue: 'gauge: series whose oldest waiting reading was 5+ min past due at the last inbox sweep (alerts/inbox-sweep.ts)',
  check_series_stuck:
    "gauge: of those, series 10+ min past due: the sweep's own check job did not clear them, their alerts are not going out",
  aggregate_backlog_hours: 'gauge: station-hours marked and not yet aggregated (recent and backfill)',
  emails_sent: 'counter: notification e-mails accepted by the SMTP server',
  emails_failed: 'counter: notification e-mail attempts that failed',
  redis_memory_ratio: 'gauge: Redis used_memory / maxmemory (0 when Redis has no maxmemory); writes are refused at 1',
  redis_oom_refusals: 'counter: journal appends Redis refused at maxmemory',
  ready: "gauge: 1 when the service's /readyz would answer 200, else 0",
  partition_index: "gauge: k of a partitioned ingest's partition k/N (docs/decisions/0017); absent when unpartitioned",
  partition_count: "gauge: N of a partitioned ingest's partition k/N: how many processes must report",
  disk_free_ratio:
    "gauge: free / total bytes of the file system the service's container lives on (docker's data root, where the volumes are)",
  hj212_quirks:
    "counter: readings stored under a station's HJ 212 tolerance (per station and quirk: tuojiang_hj212_quirks_total on /metrics)",
  hj212_resent: 'counter: HJ 212 frames a logger re-sent after it was journaled (answered, not stored again)',
} as const;

export type HealthField = keyof typeof HEALTH_FIELDS;

export interface HealthReporterOptions {
  influx: InfluxStore;
  /** e.g. 'ingest', 'alerts', 'notify' */
  service: string;
  /** The process: TUOJIANG_INSTANCE or the host name. */
  instance: string;
  /** Tags of every point besides `service` and `instance` (a partitioned ingest's `partitions`, N). */
  tags?: Record<string, string>;
  intervalMs: number;
  /** The current counters; non-finite values are left out. */
  sample: () => Promise<Record<string, number>>;
  /**
   * Counters with a breakdown (e.g. per station and quirk), written as extra points of the same
   * measurement and instant with these tags added. Their fields must never exceed the same field's
   * total in `sample` (a panel taking max() per instance then still reads the total).
   */
  series?: () => Promise<Array<{ tags: Record<string, string>; fields: Record<string, number> }>>;
  /** A failed sample or write (InfluxDB down): reported here, never thrown; the next tick tries again. */
  onError?: (e: unknown) => void;
  /** Clock, for tests. */
  now?: () => number;
}

export interface HealthReporter {
  /** Stops the timer and writes one last sample (the counters at shutdown). */
  stop(): Promise<void>;
}

/**
 * Samples and writes one point every `intervalMs`. A tick that comes while the previous write is
 * still running is skipped rather than queued: health points are snapshots, and piling them up
 * behind a slow InfluxDB would only add load when it can least take it. The timer does not keep
 * the process alive.
 */
export function startHealthReporter(o: HealthReporterOptions): HealthReporter {
  if (!(o.intervalMs > 0)) throw new Error(`health reporter: intervalMs must be positive, got ${o.intervalMs}`);
  const now = o.now ?? Date.now;
  let inflight: Promise<void> | undefined;
  let stopped = false;

  const writeOnce = async (): Promise<void> => {
    try {
      const values = await o.sample();
      const finite = (v: Record<string, number>): Record<string, number> =>
        Object.fromEntries(Object.entries(v).filter(([, x]) => Number.isFinite(x)));
      const fields = finite(values);
      if (Object.keys(fields).length === 0) return;
      const ts = now();
      const tags = { ...o.tags, service: o.service, instance: o.instance };
      const lines = [encodePoint({ measurement: PIPELINE_HEALTH_MEASUREMENT, tags, fields, ts })];
      for (const s of (await o.series?.()) ?? []) {
        const f = finite(s.fields);
        if (Object.keys(f).length > 0)
          lines.push(encodePoint({ measurement: PIPELINE_HEALTH_MEASUREMENT, tags: { ...s.tags, ...tags }, fields: f, ts }));
      }
      await o.influx.writeLines(lines);
    } catch (e) {
      o.onError?.(e);
    }
  };

  const tick = (): void => {
    if (inflight) return;
    inflight = writeOnce().finally(() => {
      inflight = undefined;
    });
  };

  const timer = setInterval(tick, o.intervalMs);
  timer.unref();

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await inflight;
      await writeOnce();
    },
  };
}
