import { TuojiangError, isTuojiangError } from '../lib/errors.js';
import type { StationRegistry } from '../config/station-registry.js';
import { DECODERS, type DecodeContext, type Decoded, type Decoder } from './decoders/index.js';
import type { DeadLetter, JournalItem } from './journal.js';
import type { SplitPacketStore } from './split-packet-store.js';
import { parseTopic, type TopicInfo } from './topics.js';
import { describeRefused, validateReading, type RawReading } from './validate-reading.js';

export interface ProcessorOptions {
  registry: StationRegistry;
  topicPrefix: string;
  maxPayloadBytes: number;
  futureToleranceMs: number;
  splitStore: SplitPacketStore;
  /** The wire formats, tried in order (default decoders/index.ts). */
  decoders?: readonly Decoder[];
  now?: () => number;
}

/** An answer to a station (HJ 212 CN 9014), sent by the message's source once it is durable. */
export interface Reply {
  station: string;
  payload: string;
}

/** What a source knows of a message besides its bytes. */
export interface MessageContext {
  /** Only these decoders (by name) may read it; default all. */
  decoders?: readonly string[] | undefined;
  /**
   * Identifies this exact message when its sender re-sends it (an HJ 212 logger that got no answer):
   * the journal keeps the reading of the first copy only (journal.ts).
   */
  dedupeKey?: string | undefined;
  /** The station the source authenticated, for dead letters of messages that name none. */
  station?: string | undefined;
}

export interface Outcome {
  /**
   * One item per message (a reading or a dead letter), plus a dead letter for values refused out of a
   * kept reading; none for a split-packet part that completes nothing.
   */
  items: JournalItem[];
  replies: Reply[];
  /** To run once the items are durable (releases a completed split packet's stored parts). */
  onDurable?: () => Promise<void>;
}

/**
 * Decode -> validate -> journal item, for one message. Never throws: whatever is wrong with the
 * input becomes a dead letter with a stable reason code, so the ingest survives any payload.
 */
export class MessageProcessor {
  private readonly now: () => number;
  private readonly decoders: readonly Decoder[];

  constructor(private readonly opts: ProcessorOptions) {
    this.now = opts.now ?? Date.now;
    this.decoders = opts.decoders ?? DECODERS;
  }

  /**
   * Synchronous for everything but a split-packet part, which must be stored in Redis first: the
   * hot path allocates no promise per message.
   */
  process(topic: string, payload: Buffer, msg: MessageContext = {}): Outcome | Promise<Outcome> {
    const receivedAt = this.now();
    const topicInfo = parseTopic(topic, this.opts.topicPrefix);
    const replies: Reply[] = [];
    const dead = (e: unknown): JournalItem[] => {
      const d = this.deadLetter(e, topic, topicInfo, payload, receivedAt);
      return [{ kind: 'dead', dead: d.station === undefined && msg.station !== undefined ? { ...d, station: msg.station } : d }];
    };
    const settle = (d: Decoded): Outcome => {
      const out: Outcome = { items: [], replies, ...(d.onDurable ? { onDurable: d.onDurable } : {}) };
      if (d.error !== undefined) out.items = dead(d.error);
      else if (d.raw) {
        try {
          out.items = this.accept(d.raw, receivedAt, topic, payload, msg.dedupeKey);
        } catch (e) {
          out.items = dead(e);
        }
      }
      return out;
    };
    try {
      if (payload.length > this.opts.maxPayloadBytes) {
        throw new TuojiangError('TOO_LARGE', `payload of ${payload.length} bytes exceeds ${this.opts.maxPayloadBytes}`);
      }
      const decoder = this.decoderFor(payload, msg.decoders);
      const ctx: DecodeContext = {
        topicInfo,
        registry: this.opts.registry,
        splitStore: this.opts.splitStore,
        receivedAt,
        answer: (station, text) => {
          replies.push({ station, payload: text });
        },
      };
      const decoded = decoder.decode(payload, ctx);
      return decoded instanceof Promise ? decoded.then(settle, (e: unknown) => settle({ error: e })) : settle(decoded);
    } catch (e) {
      return { items: dead(e), replies };
    }
  }

  private decoderFor(payload: Buffer, allowed: readonly string[] | undefined): Decoder {
    for (const d of this.decoders) {
      if (allowed && !allowed.includes(d.name)) continue;
      if (d.accepts(payload)) return d;
    }
    const what = allowed?.includes('hj212') ? 'MALFORMED_FRAME' : 'MALFORMED_JSON';
    throw new TuojiangError(
      what,
      `the payload is none of the formats accepted here (${(allowed ?? this.decoders.map((d) => d.name)).join(', ')})`,
    );
  }

  private accept(raw: RawReading, now: number, topic: string, payload: Buffer, dedupeKey: string | undefined): JournalItem[] {
    const { reading, refused } = validateReading(raw, {
      registry: this.opts.registry,
      now,
      futureToleranceMs: this.opts.futureToleranceMs,
    });
    const items: JournalItem[] = [{ kind: 'reading', reading, ...(dedupeKey ? { dedupeKey } : {}) }];
    if (refused.length > 0) {
      const err = new TuojiangError('IMPLAUSIBLE_VALUE', `${describeRefused(refused)}; the reading's other values were stored`);
      items.push({
        kind: 'dead',
        dead: {
          reason: err.code,
          message: err.message,
          topic,
          payload,
          receivedAt: now,
          station: reading.station,
          details: { refused, ts: new Date(reading.ts).toISOString(), period: reading.period },
          readingKept: true,
        },
      });
    }
    return items;
  }

  deadLetter(e: unknown, topic: string, topicInfo: TopicInfo | undefined, payload: Buffer, receivedAt: number): DeadLetter {
    const err = isTuojiangError(e) ? e : new TuojiangError('INTERNAL', (e as Error)?.message ?? String(e));
    return {
      reason: err.code,
      message: err.message,
      topic,
      payload,
      receivedAt,
      station: topicInfo?.stationId,
      ...(err.details ? { details: err.details } : {}),
    };
  }
}
