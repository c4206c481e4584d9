/**
 * What each station may send: a token bucket per station (ingest.station_rate), checked before a
 * message is decoded (docs/decisions/0019).
 *
 * Why the ingest and not the broker: Mosquitto 2.0 has no per-client publish rate, and every
 * station's messages reach the ingest through the same session, whose queue the broker caps
 * (max_queued_bytes). A station sending faster than the ingest journals its messages fills that
 * queue, and then the broker discards what arrives for the ingest from any station. Refusing a
 * station's excess costs the ingest a fraction of journaling it, so the ingest stays ahead of the
 * broker whatever one station sends.
 */

/** admit(): the message is within the station's budget. */
export const ADMITTED = -1;
/** admit(): refused, and not to be recorded (a refusal of this station was recorded less than recordEveryMs ago). */
export const REFUSED = -2;

export interface StationRateOptions {
  /** Sustained messages per second per station; 0 = no limit. */
  perS: number;
  /** Messages a station may send at once (a backlog after an outage) before perS binds. */
  burst: number;
  /** At most one refusal per station recorded in this window; the others only counted. */
  recordEveryMs?: number;
  /** Stations remembered at most (the keys come from authenticated senders and their topics). */
  maxStations?: number;
}

interface Bucket {
  tokens: number;
  at: number;
  recordAfter: number;
  notRecorded: number;
}

/** A message costs one token per started KiB: a flood of large messages binds as soon as one of small ones. */
export const costOf = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));

export class StationRate {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly recordEveryMs: number;
  private readonly maxStations: number;

  constructor(private readonly opts: StationRateOptions) {
    this.perMs = opts.perS / 1000;
    this.recordEveryMs = opts.recordEveryMs ?? 10_000;
    this.maxStations = opts.maxStations ?? 100_000;
  }

  /** Stations remembered now (each with a budget that is not full, or was not when last seen). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * ADMITTED, REFUSED, or (refused, to be recorded) how many of this station's refusals since its
   * last recorded one were not recorded. A number rather than an object: it runs for every message.
   */
  admit(station: string, bytes: number, now: number): number {
    if (this.perMs === 0) return ADMITTED;
    const cost = costOf(bytes);
    let b = this.buckets.get(station);
    if (b === undefined) {
      if (this.buckets.size >= this.maxStations) this.forgetIdle(now);
      b = { tokens: this.opts.burst, at: now, recordAfter: 0, notRecorded: 0 };
      this.buckets.set(station, b);
    } else {
      if (now > b.at) b.tokens = Math.min(this.opts.burst, b.tokens + (now - b.at) * this.perMs);
      // Also when the clock stepped back (NTP): refill from the new time on, not once it has caught up.
      b.at = now;
    }
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return ADMITTED;
    }
    if (now < b.recordAfter) {
      b.notRecorded++;
      return REFUSED;
    }
    b.recordAfter = now + this.recordEveryMs;
    const n = b.notRecorded;
    b.notRecorded = 0;
    return n;
  }

  /**
   * The stations whose refusals since their last record went unrecorded and whose record window has
   * passed (a flood that stopped: no later refusal will record them), with how many; each is then
   * counted as recorded. Called every few seconds, so that every refusal is on record within about
   * recordEveryMs of its own.
   */
  takeUnrecorded(now: number): Array<{ station: string; refused: number }> {
    const out: Array<{ station: string; refused: number }> = [];
    for (const [station, b] of this.buckets) {
      if (b.notRecorded === 0 || now < b.recordAfter) continue;
      out.push({ station, refused: b.notRecorded });
      b.notRecorded = 0;
      b.recordAfter = now + this.recordEveryMs;
    }
    return out;
  }

  /** Counts handed over by takeUnrecorded that could not be recorded: theirs again, for the next record. */
  giveBack(entries: ReadonlyArray<{ station: string; refused: number }>): void {
    for (const { station, refused } of entries) {
      const b = this.buckets.get(station);
      if (b === undefined) continue;
      b.notRecorded += refused;
      b.recordAfter = 0;
    }
  }

  /** Whether the station's budget would be full now: it has not sent recently, its bucket carries nothing. */
  private idle(b: Bucket, now: number): boolean {
    return b.notRecorded === 0 && b.tokens + (now - b.at) * this.perMs >= this.opts.burst;
  }

  private forgetIdle(now: number): void {
    for (const [k, b] of this.buckets) if (this.idle(b, now)) this.buckets.delete(k);
    // Still full: more stations are busy than the bound allows. Starting again gives each a fresh
    // burst, once; keeping them all would let the map grow without end.
    if (this.buckets.size >= this.maxStations) this.buckets.clear();
  }

  /** For the message of a record: what the budget is. */
  describe(): string {
    return `${this.opts.perS} message${this.opts.perS === 1 ? '' : 's'} a second after a burst of ${this.opts.burst}; a message over 1 KiB counts one per started KiB`;
  }
}
