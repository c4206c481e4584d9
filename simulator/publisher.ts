/**
 * QoS 1 publishing with a window: at most `window` messages wait for their PUBACK at once. Waiting
 * for every acknowledgement one by one would cap the simulator at one message per round trip;
 * not waiting at all would let a slow broker buffer without bound and hide refusals (an MQTT 5
 * PUBACK with reason code 0x87 when the ACL denies the topic).
 */
import type { MqttClient } from 'mqtt';
import type { TcpLogger } from './tcp-logger.js';

export interface PublishFailure {
  topic: string;
  error: Error;
}

export class WindowedPublisher<M> implements Outbox<M> {
  private inflight = 0;
  private waiters: Array<() => void> = [];
  private idle: Array<() => void> = [];
  readonly failures: PublishFailure[] = [];

  constructor(
    private readonly client: MqttClient,
    private readonly window: number,
    /** Called once per message the broker acknowledged, in acknowledgement order. */
    private readonly onAck: (meta: M) => void,
    private readonly onFail: (meta: M, error: Error) => void = () => undefined,
  ) {
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`window must be a positive integer, got ${window}`);
  }

  get pending(): number {
    return this.inflight;
  }

  /** Sends one message; resolves once it is on its way and the window has room for the next. */
  async publish(topic: string, payload: string, meta: M): Promise<void> {
    while (this.inflight >= this.window) await new Promise<void>((r) => this.waiters.push(r));
    this.inflight++;
    this.client.publish(topic, payload, { qos: 1 }, (err) => {
      this.inflight--;
      if (err) {
        this.failures.push({ topic, error: err });
        this.onFail(meta, err);
      } else {
        this.onAck(meta);
      }
      this.waiters.shift()?.();
      if (this.inflight === 0) for (const r of this.idle.splice(0)) r();
    });
  }

  /** Resolves when every message sent so far has been acknowledged (or has failed). */
  async flush(): Promise<void> {
    if (this.inflight === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }
}

/** What the simulator publishes through: the MQTT window above, or data loggers over TCP. */
export interface Outbox<M> {
  readonly pending: number;
  readonly failures: PublishFailure[];
  publish(topic: string, payload: string, meta: M): Promise<void>;
  flush(): Promise<void>;
}

/**
 * HJ 212 over TCP: one TcpLogger (one connection) per station, as in the field. A message counts
 * as published when its answer came (or, asking for none, when it was written): the same meaning
 * as a PUBACK, so the summary's counts are still what must end up stored.
 */
export class TcpPublisher<M> implements Outbox<M> {
  private readonly loggers = new Map<string, TcpLogger>();
  private inflight = 0;
  private waiters: Array<() => void> = [];
  private idle: Array<() => void> = [];
  readonly failures: PublishFailure[] = [];

  constructor(
    private readonly logger: (station: string) => TcpLogger,
    private readonly stationOf: (meta: M) => string,
    private readonly window: number,
    private readonly onAck: (meta: M) => void,
    private readonly onFail: (meta: M, error: Error) => void = () => undefined,
  ) {}

  get pending(): number {
    return this.inflight;
  }

  /** Frames written more than once, over all loggers. */
  get resent(): number {
    let n = 0;
    for (const l of this.loggers.values()) n += l.resent;
    return n;
  }

  async publish(topic: string, payload: string, meta: M): Promise<void> {
    while (this.inflight >= this.window) await new Promise<void>((r) => this.waiters.push(r));
    this.inflight++;
    const station = this.stationOf(meta);
    let logger = this.loggers.get(station);
    if (!logger) this.loggers.set(station, (logger = this.logger(station)));
    logger
      .send(payload)
      .then(
        () => this.onAck(meta),
        (e: unknown) => {
          this.failures.push({ topic, error: e as Error });
          this.onFail(meta, e as Error);
        },
      )
      .finally(() => {
        this.inflight--;
        this.waiters.shift()?.();
        if (this.inflight === 0) for (const r of this.idle.splice(0)) r();
      });
  }

  async flush(): Promise<void> {
    if (this.inflight === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }

  close(): void {
    for (const l of this.loggers.values()) l.close();
  }
}
