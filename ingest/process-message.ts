import { ERRORS, TuojiangError, isTuojiangError } from '../lib/errors.js';
import type { StationRegistry } from '../config/station-registry.js';
import { DECODERS, type DecodeContext, type Decoded, type Decoder } from './decoders/index.js';
import type { DeadLetter, JournalItem } from './journal.js';
import type { SplitPacketStore } from './split-packet-store.js';
import { ADMITTED, REFUSED, type StationRate } from './station-rate.js';
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
  /** What each station may send (ingest.station_rate); checked before anything else. */
  stationRate?: StationRate;
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
  /**
   * The station the source authenticated the sender as (an HJ 212 logger's connection): the message
   * may carry that station's readings only, and its dead letter names it when the message names
   * none. Null when such a source authenticated none (the frame of an unknown MN, taken for its dead
   * letter): no station's. Undefined: the source does not say (MQTT, where the broker's ACL and the
   * topic decide).
   */
  sender?: string | null | undefined;
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
  /**
   * Refused and not kept, under this reason: a station over its budget, whose refusals are recorded
   * one per window (station-rate.ts). Counted by the caller; no items.
   */
  dropped?: string;
}

/** What a message with no answers owes: one shared empty list, not one per message. */
const NO_REPLIES: Reply[] = Object.freeze([]) as unknown as Reply[];
const NO_CONTEXT: MessageContext = Object.freeze({});
/** The topic of a tally of refusals over a station budget (refusalTally): a record, not a message. */
export const RATE_RECORD_TOPIC = '(station budget)';
/** Whose budget a refusal record speaks of: a station, or whoever sends on a topic that names none. */
const budgetHolder = (station: string | undefined, topic: string): string =>
  station === undefined ? `the sender on ${topic}` : `station ${station}`;
/** A refusal over a station's budget that is not recorded: one shared outcome, nothing allocated. */
const RATE_DROPPED: Outcome = Object.freeze({
  items: Object.freeze([]) as unknown as JournalItem[],
  replies: NO_REPLIES,
  dropped: ERRORS.RATE_LIMITED.code,
});

/**
 * One message on its way through: what a decoder may use (DecodeContext) and what settling it needs,
 * in one object rather than a context and closures per message (docs/decisions/0018).
 */
class MessageScope implements DecodeContext {
  replies: Reply[] = NO_REPLIES;
  constructor(
    readonly topic: string,
    readonly topicInfo: TopicInfo | undefined,
    readonly payload: Buffer,
    readonly msg: MessageContext,
    readonly registry: StationRegistry,
    readonly splitStore: SplitPacketStore,
    readonly receivedAt: number,
  ) {}

  get sender(): string | null | undefined {
    return this.msg.sender;
  }

  answer(station: string, payload: string): void {
    if (this.replies === NO_REPLIES) this.replies = [];
    this.replies.push({ station, payload });
  }
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
  process(topic: string, payload: Buffer, msg: MessageContext = NO_CONTEXT): Outcome | Promise<Outcome> {
    const receivedAt = this.now();
    const topicInfo = parseTopic(topic, this.opts.topicPrefix);
    const rate = this.opts.stationRate;
    // Not for a frame whose source authenticated no one (an HJ 212 logger with an unknown MN): it is
    // the one frame of a connection closed after it, bounded by the listener's connection limits, and
    // one budget for all of them would let anyone keep a new logger's TJ_UNKNOWN_STATION record out.
    if (rate !== undefined && msg.sender !== null) {
      // Whose budget: the source's authenticated sender, else the topic's station, which the broker's
      // ACL reserves to that station's account; a topic naming none is its own budget.
      const from = msg.sender ?? topicInfo?.stationId;
      const admitted = rate.admit(from ?? topic, payload.length, receivedAt);
      if (admitted === REFUSED) return RATE_DROPPED;
      if (admitted !== ADMITTED) return this.overRate(rate, from ?? undefined, admitted, topic, topicInfo, payload, receivedAt);
    }
    const scope = new MessageScope(topic, topicInfo, payload, msg, this.opts.registry, this.opts.splitStore, receivedAt);
    try {
      if (payload.length > this.opts.maxPayloadBytes) {
        throw new TuojiangError('TOO_LARGE', `payload of ${payload.length} bytes exceeds ${this.opts.maxPayloadBytes}`);
      }
      const decoder = this.decoderFor(payload, msg.decoders);
      const decoded = decoder.decode(payload, scope);
      return decoded instanceof Promise
        ? decoded.then(
            (d) => this.settle(scope, d),
            (e: unknown) => this.settle(scope, { error: e }),
          )
        : this.settle(scope, decoded);
    } catch (e) {
      return { items: this.dead(scope, e), replies: scope.replies };
    }
  }

  /** The refusal of a station over its budget that is kept: a dead letter, with how many went unrecorded before it. */
  private overRate(
    rate: StationRate,
    station: string | undefined,
    notRecorded: number,
    topic: string,
    topicInfo: TopicInfo | undefined,
    payload: Buffer,
    receivedAt: number,
  ): Outcome {
    const who = budgetHolder(station, topic);
    const before = notRecorded > 0 ? `; ${notRecorded} more were refused since the previous record, counted and not kept` : '';
    const err = new TuojiangError(
      'RATE_LIMITED',
      `${who} sent more than ingest.station_rate allows (${rate.describe()}): this message of ${payload.length} bytes was refused before decoding, not stored${before}. ` +
        'A station in a loop or with stolen credentials: stop it or change its password. A legitimate backlog: raise the burst, then have the station send that period again (MQTT readings refused are gone; an HJ 212 logger re-sends an unanswered frame up to its retry count).',
      { notRecorded, bytes: payload.length },
    );
    const dead = this.deadLetter(err, topic, topicInfo, payload, receivedAt);
    return { items: [{ kind: 'dead', dead: station !== undefined ? { ...dead, station } : dead }], replies: NO_REPLIES };
  }

  /**
   * The record of refusals over a budget that no kept refusal counted (the station stopped sending):
   * a TJ_RATE_LIMITED dead letter without a payload, on RATE_RECORD_TOPIC. `key` is the budget's: a
   * station's id, or the topic of a message that named none.
   */
  refusalTally(key: string, refused: number, receivedAt: number): JournalItem {
    const station = this.opts.registry.get(key) !== undefined ? key : undefined;
    const err = new TuojiangError(
      'RATE_LIMITED',
      `${budgetHolder(station, key)}: ${refused} more message(s) over ingest.station_rate (${this.opts.stationRate?.describe() ?? 'off'}) were refused since the previous record, counted and not kept; none since`,
      { notRecorded: refused },
    );
    return { kind: 'dead', dead: { ...this.deadLetter(err, RATE_RECORD_TOPIC, undefined, Buffer.alloc(0), receivedAt), station } };
  }

  private settle(scope: MessageScope, d: Decoded): Outcome {
    let items: JournalItem[] = [];
    if (d.error !== undefined) items = this.dead(scope, d.error);
    else if (d.raw) {
      try {
        items = this.accept(d.raw, scope.receivedAt, scope.topic, scope.payload, scope.msg.dedupeKey);
      } catch (e) {
        items = this.dead(scope, e);
      }
    }
    return d.onDurable ? { items, replies: scope.replies, onDurable: d.onDurable } : { items, replies: scope.replies };
  }

  private dead(scope: MessageScope, e: unknown): JournalItem[] {
    const d = this.deadLetter(e, scope.topic, scope.topicInfo, scope.payload, scope.receivedAt);
    const station = scope.msg.sender ?? undefined;
    return [{ kind: 'dead', dead: d.station === undefined && station !== undefined ? { ...d, station } : d }];
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
    const items: JournalItem[] = [dedupeKey ? { kind: 'reading', reading, dedupeKey } : { kind: 'reading', reading }];
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
