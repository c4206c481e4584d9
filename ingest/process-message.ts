import { TuojiangError, isTuojiangError } from '../lib/errors.js';
import type { StationRegistry } from '../config/station-registry.js';
import { decodeJson } from './decode-json.js';
import { frameToRawReading, stationOfFrame } from './decode-hj212.js';
import { buildDataAnswer } from './hj212/answer.js';
import { flagHasSplit, flagWantsAnswer, parseFrame } from './hj212/frame.js';
import type { DeadLetter, JournalItem } from './journal.js';
import type { SplitPacketStore } from './split-packet-store.js';
import { parseTopic, replyTopic, type TopicInfo } from './topics.js';
import { describeRefused, validateReading, type RawReading } from './validate-reading.js';

export interface ProcessorOptions {
  registry: StationRegistry;
  topicPrefix: string;
  replyTopicTemplate: string;
  maxPayloadBytes: number;
  futureToleranceMs: number;
  splitStore: SplitPacketStore;
  now?: () => number;
}

export interface Reply {
  topic: string;
  payload: string;
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

/** A payload is an HJ 212 frame when it starts with `##` (after any whitespace); otherwise JSON. */
function looksLikeFrame(payload: Buffer): boolean {
  let i = 0;
  while (i < payload.length && (payload[i] === 0x20 || payload[i] === 0x0a || payload[i] === 0x0d || payload[i] === 0x09)) i++;
  return payload[i] === 0x23 && payload[i + 1] === 0x23;
}

/**
 * Decode -> validate -> journal item, for one MQTT message. Never throws: whatever is wrong with the
 * input becomes a dead letter with a stable reason code, so the ingest survives any payload.
 */
export class MessageProcessor {
  private readonly now: () => number;

  constructor(private readonly opts: ProcessorOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Synchronous for everything but a split-packet part, which must be stored in Redis first: the
   * hot path allocates no promise per message.
   */
  process(topic: string, payload: Buffer): Outcome | Promise<Outcome> {
    const receivedAt = this.now();
    const topicInfo = parseTopic(topic, this.opts.topicPrefix);
    const replies: Reply[] = [];
    try {
      if (payload.length > this.opts.maxPayloadBytes) {
        throw new TuojiangError('TOO_LARGE', `payload of ${payload.length} bytes exceeds ${this.opts.maxPayloadBytes}`);
      }
      if (!looksLikeFrame(payload)) return this.accept(decodeJson(payload, topicInfo, this.opts.registry), replies, receivedAt, topic, payload);
      const frame = parseFrame(payload);
      // Identify the station before anything else so an answer only ever goes to a known station.
      const station = stationOfFrame(frame, topicInfo, this.opts.registry);
      if (flagWantsAnswer(frame.flag)) {
        replies.push({ topic: replyTopic(this.opts.replyTopicTemplate, station.id), payload: buildDataAnswer(frame, receivedAt) });
      }
      if (!(flagHasSplit(frame.flag) && frame.pnum !== undefined && frame.pnum > 1)) {
        return this.accept(frameToRawReading(frame, topicInfo, this.opts.registry), replies, receivedAt, topic, payload);
      }
      if (frame.pno === undefined || frame.pno < 1 || frame.pno > frame.pnum) {
        throw new TuojiangError('MALFORMED_FRAME', `PNO ${frame.pno} outside 1..PNUM ${frame.pnum}`);
      }
      const dead = (e: unknown): Outcome => ({ items: [{ kind: 'dead', dead: this.deadLetter(e, topic, topicInfo, payload, receivedAt) }], replies });
      return this.opts.splitStore.add(frame, payload.toString('utf8').trim(), receivedAt).then((r) => {
        if (r.status !== 'complete') return { items: [], replies };
        try {
          return { ...this.accept(frameToRawReading(r.frame, topicInfo, this.opts.registry), replies, receivedAt, topic, payload), onDurable: r.release };
        } catch (e) {
          return { ...dead(e), onDurable: r.release };
        }
      }, dead);
    } catch (e) {
      return { items: [{ kind: 'dead', dead: this.deadLetter(e, topic, topicInfo, payload, receivedAt) }], replies };
    }
  }

  private accept(raw: RawReading, replies: Reply[], now: number, topic: string, payload: Buffer): Outcome {
    const { reading, refused } = validateReading(raw, { registry: this.opts.registry, now, futureToleranceMs: this.opts.futureToleranceMs });
    const items: JournalItem[] = [{ kind: 'reading', reading }];
    if (refused.length > 0) {
      const err = new TuojiangError('IMPLAUSIBLE_VALUE', `${describeRefused(refused)}; the reading's other values were stored`);
      items.push({
        kind: 'dead',
        dead: {
          reason: err.code, message: err.message, topic, payload, receivedAt: now, station: reading.station,
          details: { refused, ts: new Date(reading.ts).toISOString(), period: reading.period }, readingKept: true,
        },
      });
    }
    return { items, replies };
  }

  deadLetter(e: unknown, topic: string, topicInfo: TopicInfo | undefined, payload: Buffer, receivedAt: number): DeadLetter {
    const err = isTuojiangError(e) ? e : new TuojiangError('INTERNAL', (e as Error)?.message ?? String(e));
    return { reason: err.code, message: err.message, topic, payload, receivedAt, station: topicInfo?.stationId, ...(err.details ? { details: err.details } : {}) };
  }
}
