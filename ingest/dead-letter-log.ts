import type { Logger } from '../lib/logger.js';
import type { DeadLetter } from './journal.js';

/** Stations × reasons remembered at most; beyond, the memory starts again (a line too many, never one too few). */
const MAX_KEYS = 10_000;

/**
 * The log line of a dead letter, one per station and reason per window. A station sending junk (or
 * a flood of refused split-packet parts) makes thousands of dead letters a second, each already
 * counted (`tuojiang_readings_rejected_total`) and kept (`tuojiang deadletters`): a line each buried
 * every other line of the log (4,000 in one attack). The first of a window is logged whole; the next
 * one of that station and reason after the window says how many were not logged in between.
 */
export class DeadLetterLog {
  private readonly seen = new Map<string, { until: number; notLogged: number }>();

  constructor(
    private readonly log: Logger,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  write(dead: DeadLetter): void {
    const key = `${dead.station ?? ''}\u0000${dead.reason}`;
    const t = this.now();
    const last = this.seen.get(key);
    if (last && t < last.until) {
      last.notLogged++;
      return;
    }
    if (!last && this.seen.size >= MAX_KEYS) this.seen.clear();
    this.seen.set(key, { until: t + this.windowMs, notLogged: 0 });
    const event = dead.readingKept ? 'values dead-lettered; the rest of the reading kept' : 'reading dead-lettered';
    const notLogged = last?.notLogged ?? 0;
    // The dead letter's own message is the line's (a `msg` field beside a message string came out as
    // two `msg` keys, and JSON readers kept only the second, the generic one).
    this.log.warn(
      { code: dead.reason, event, topic: dead.topic, station: dead.station, ...(notLogged > 0 ? { notLogged } : {}) },
      notLogged > 0
        ? `${dead.message} (and ${notLogged} more dead letters of this station and reason not logged before this one: all counted and kept)`
        : dead.message,
    );
  }
}
