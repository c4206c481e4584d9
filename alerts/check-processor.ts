/**
 * One check job: drain the reading's series in event-time order. Snapshot the series (state and
 * waiting readings), apply every ripe reading in ts order with the pure engine, and commit with a
 * compare-and-set on the series revision. When another worker committed first the snapshot is
 * simply retaken: whoever wins, each reading is applied exactly once and in order, so any number of
 * workers give the transitions one in-order worker would (docs/decisions/0003-alert-state.md).
 */
import type { StationRegistry } from '../config/station-registry.js';
import type { Logger } from '../lib/logger.js';
import type { AlertStore, InboxItem } from './alert-store.js';
import type { CheckJobData } from './check-enqueuer.js';
import type { MaintenanceCalendar } from './maintenance.js';
import { applyReadings } from './series-engine.js';
import type { ThresholdSource } from './thresholds.js';

export type CheckOutcome =
  | { status: 'done'; applied: number; events: number; conflicts: number }
  | { status: 'unknown-station' }
  /** The reading may not be applied before `until` (reorder window): run the job again then. */
  | { status: 'wait'; until: number };

export interface CheckProcessorOptions {
  store: AlertStore;
  registry: StationRegistry;
  thresholds: ThresholdSource;
  calendar: MaintenanceCalendar;
  log?: Logger;
  /** Readings applied per commit at most. */
  drainLimit?: number;
  /** Compare-and-set attempts before the job fails (and BullMQ retries it with backoff). */
  maxAttempts?: number;
}

export class CheckProcessor {
  constructor(private readonly o: CheckProcessorOptions) {}

  async process(job: CheckJobData): Promise<CheckOutcome> {
    const station = this.o.registry.get(job.s);
    if (!station) {
      this.o.log?.warn({ station: job.s }, 'check for a station not in the registry: skipped');
      return { status: 'unknown-station' };
    }
    const limit = this.o.drainLimit ?? 500;
    const maxAttempts = this.o.maxAttempts ?? 50;
    let applied = 0;
    let events = 0;
    let conflicts = 0;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const snap = await this.o.store.snapshot(job.s, job.p, limit, job.ts);
      // Our reading is no longer waiting: applied by another job's drain (or dropped as late).
      if (!snap) return { status: 'done', applied, events, conflicts };
      const { state, now } = snap;
      const late: InboxItem[] = [];
      const ripe: InboxItem[] = [];
      let blocked = false;
      for (const it of snap.items) {
        if (state.lastTs !== null && it.ts <= state.lastTs) late.push(it);
        else if (!blocked && it.ripeAt <= now) ripe.push(it);
        else blocked = true;
      }
      const mine = snap.items.find((it) => it.ts === job.ts);
      if (ripe.length === 0 && late.length === 0) {
        if (mine && mine.ripeAt > now) return { status: 'wait', until: mine.ripeAt };
        // Not waiting (applied by someone else) or behind an earlier reading whose own job drains it.
        return { status: 'done', applied, events, conflicts };
      }
      const [thresholds] = await Promise.all([this.o.thresholds.current(), this.o.calendar.refresh()]);
      this.o.calendar.useThresholds(thresholds.config);
      const result = applyReadings(
        state,
        ripe.map((it) => it.reading),
        { station, thresholds, isMuted: this.o.calendar.isMuted },
      );
      for (const e of result.events) {
        const src = ripe.find((it) => it.ts === e.at);
        if (src) e.enqueuedAt = src.enqueuedAt;
      }
      const removed = [...late, ...ripe].map((it) => it.ts);
      if (!(await this.o.store.commit(job.s, job.p, state.rev, result, removed, late.length))) {
        conflicts++;
        continue;
      }
      applied += ripe.length;
      events += result.events.length;
      if (late.length > 0)
        this.o.log?.info(
          { station: job.s, period: job.p, late: late.map((l) => l.ts) },
          'late readings not applied (series already past them)',
        );
      // Our reading was waiting (the snapshot said so); if it was not among the first `limit`
      // readings, or is still not applied, go round again.
      const stillWaiting = mine === undefined || !removed.includes(mine.ts);
      if (!stillWaiting) return { status: 'done', applied, events, conflicts };
    }
    throw new Error(`series ${job.s}/${job.p}: ${maxAttempts} commits lost to other workers in a row`);
  }
}
