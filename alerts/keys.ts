/**
 * Redis key names of the alert state. Everything lives under the BullMQ prefix (default
 * 'tuojiang'); for Redis Cluster use a hash-tag prefix such as '{tuojiang}' so that the scripts,
 * which touch several stations' keys, stay within one slot. `as` = alert state: a queue named
 * 'as' would collide, so none is.
 */
export const QUEUE_CHECKS = 'checks';
export const QUEUE_SILENCE = 'silence';
/** The inbox sweep (alerts/inbox-sweep.ts): its own queue, so that it neither waits for a silence tick nor shares its interval. */
export const QUEUE_SWEEP = 'sweep';
export const QUEUE_NOTIFY = 'notify';
/** The hourly-aggregates job (aggregates/): its own queue, its dirty set under `{prefix}:agg:`. */
export const QUEUE_AGGREGATES = 'aggregates';
export const DEFAULT_PREFIX = 'tuojiang';

/** The period of whole-station keys (silence), which belong to no reading series. */
export const STATION_SERIES = 'station';

export class AlertKeys {
  /** Base of per-station keys, passed to the scripts, which build the rest the same way. */
  readonly base: string;
  readonly outbox: string;
  readonly stats: string;
  readonly seriesIndex: string;
  readonly epoch: string;
  readonly alive: string;
  readonly maintenance: string;

  constructor(readonly prefix: string = DEFAULT_PREFIX) {
    this.base = `${prefix}:as:`;
    this.outbox = `${this.base}outbox`;
    this.stats = `${this.base}stats`;
    this.seriesIndex = `${this.base}series`;
    this.epoch = `${this.base}epoch`;
    this.alive = `${this.base}alive`;
    this.maintenance = `${prefix}:maintenance`;
  }

  series(station: string, period: string): { state: string; inbox: string; data: string } {
    const b = `${this.base}${station}:${period}`;
    return { state: `${b}:state`, inbox: `${b}:inbox`, data: `${b}:data` };
  }

  seen(station: string): string {
    return `${this.base}${station}:seen`;
  }
}
