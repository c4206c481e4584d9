import type { Station, StationRegistry } from '../../config/station-registry.js';
import type { SplitPacketStore } from '../split-packet-store.js';
import type { TopicInfo } from '../topics.js';
import type { RawReading } from '../validate-reading.js';

/** What a decoder may use and tell besides the payload. */
export interface DecodeContext {
  topicInfo: TopicInfo | undefined;
  registry: StationRegistry;
  splitStore: SplitPacketStore;
  receivedAt: number;
  /** MessageContext.sender: the only station whose readings the message may carry; null, none. */
  sender?: string | null | undefined;
  /** An answer for the station, sent by the message's source once the message is durable. */
  answer(station: string, payload: string): void;
}

export interface Decoded {
  /** The reading to validate and journal; none for a part that completes nothing yet. */
  raw?: RawReading | undefined;
  /** Why the message is refused (becomes a dead letter), when it is found after async work. */
  error?: unknown;
  /** To run once the message's items are durable (e.g. release a split packet's stored parts). */
  onDurable?: () => Promise<void>;
}

/**
 * One wire format. The processor asks each decoder of its list (decoders/index.ts), in order, whether
 * it accepts a payload and hands the payload to the first that does. A decoder throws a
 * TuojiangError for input it refuses; whatever it throws becomes a dead letter, never a crash.
 */
export interface Decoder {
  readonly name: string;
  /** Cheap: looks at the first bytes only. */
  accepts(payload: Buffer): boolean;
  /** Synchronous unless the format needs I/O (an HJ 212 split part is stored in Redis first). */
  decode(payload: Buffer, ctx: DecodeContext): Decoded | Promise<Decoded>;
}

export type { Station };
