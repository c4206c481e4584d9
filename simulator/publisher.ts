/**
 * QoS 1 publishing with a window: at most `window` messages wait for their PUBACK at once. Waiting
 * for every acknowledgement one by one would cap the simulator at one message per round trip;
 * not waiting at all would let a slow broker buffer without bound and hide refusals (an MQTT 5
 * PUBACK with reason code 0x87 when the ACL denies the topic).
 */
import type { MqttClient } from 'mqtt';

export interface PublishFailure {
  topic: string;
  error: Error;
}

export class WindowedPublisher<M> {
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
