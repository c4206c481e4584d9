import type { Redis } from 'ioredis';
import type { Reading } from '../lib/reading.js';

export interface DeadLetter {
  /** Stable error code (lib/errors.ts), e.g. TJ_UNKNOWN_STATION. */
  reason: string;
  message: string;
  topic: string;
  payload: Buffer;
  receivedAt: number;
  station?: string | undefined;
  /** Structured facts for operators and tools, e.g. the refused values with their ranges. */
  details?: Record<string, unknown> | undefined;
  /**
   * The message's reading was stored and only the values named in `details` were refused: counted
   * as refused values, not as a refused message.
   */
  readingKept?: boolean | undefined;
}

export type JournalItem = { kind: 'reading'; reading: Reading } | { kind: 'dead'; dead: DeadLetter };

/** The journal boundary: once append() resolves, every item survives a crash of this process. */
export interface Journal {
  append(items: readonly JournalItem[]): Promise<void>;
}

export interface StoredDeadLetter extends Omit<DeadLetter, 'payload'> {
  id: string;
  payload: string;
  encoding: 'utf8' | 'base64';
}

function encodePayload(p: Buffer): { payload: string; encoding: 'utf8' | 'base64' } {
  const text = p.toString('utf8');
  // Keep readable payloads readable for operators; anything that is not valid UTF-8 stays exact.
  return Buffer.from(text, 'utf8').equals(p) ? { payload: text, encoding: 'utf8' } : { payload: p.toString('base64'), encoding: 'base64' };
}

/**
 * Redis Streams journal: readings go to one stream consumed by the writer group, dead letters to a
 * capped stream operators query. One pipeline per batch: a round trip, not one per message.
 */
export class RedisJournal implements Journal {
  constructor(
    private readonly redis: Redis,
    private readonly opts: { stream: string; deadLetterStream: string; deadLetterMax: number },
  ) {}

  async append(items: readonly JournalItem[]): Promise<void> {
    if (items.length === 0) return;
    const pipe = this.redis.pipeline();
    // All readings of a batch travel as one stream entry: one XADD, one entry for the writer to
    // read and acknowledge, instead of one per reading (docs/decisions/0001).
    const readings: Reading[] = [];
    for (const item of items) if (item.kind === 'reading') readings.push(item.reading);
    if (readings.length > 0) pipe.xadd(this.opts.stream, '*', 'b', JSON.stringify(readings));
    for (const item of items) {
      if (item.kind === 'dead') {
        const d = item.dead;
        const { payload, encoding } = encodePayload(d.payload);
        pipe.xadd(
          this.opts.deadLetterStream, 'MAXLEN', '~', String(this.opts.deadLetterMax), '*',
          'reason', d.reason, 'message', d.message, 'topic', d.topic, 'station', d.station ?? '',
          'at', String(d.receivedAt), 'enc', encoding, 'payload', payload,
          ...(d.details ? ['details', JSON.stringify(d.details)] : []),
          ...(d.readingKept ? ['kept', '1'] : []),
        );
      }
    }
    const results = await pipe.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error('journal pipeline returned nothing');
  }
}

function parseDetails(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { text };
  } catch {
    // Written by us, but the stream outlives versions: show what is there rather than fail the listing.
    return { text };
  }
}

/** Newest first; filtered by reason code and/or station. */
export async function readDeadLetters(
  redis: Redis,
  stream: string,
  opts: { limit: number; reason?: string | undefined; station?: string | undefined },
): Promise<StoredDeadLetter[]> {
  const out: StoredDeadLetter[] = [];
  let end = '+';
  while (out.length < opts.limit) {
    const page = await redis.xrevrange(stream, end, '-', 'COUNT', 500);
    if (page.length === 0) break;
    for (const [id, fields] of page) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
      const d: StoredDeadLetter = {
        id,
        reason: f.reason ?? '',
        message: f.message ?? '',
        topic: f.topic ?? '',
        station: f.station || undefined,
        receivedAt: Number(f.at),
        payload: f.payload ?? '',
        encoding: f.enc === 'base64' ? 'base64' : 'utf8',
        ...(f.details ? { details: parseDetails(f.details) } : {}),
        ...(f.kept === '1' ? { readingKept: true } : {}),
      };
      if (opts.reason && d.reason !== opts.reason) continue;
      if (opts.station && d.station !== opts.station) continue;
      out.push(d);
      if (out.length >= opts.limit) break;
    }
    const last = page[page.length - 1]![0];
    const [ms, seq] = last.split('-').map(Number) as [number, number];
    end = seq > 0 ? `${ms}-${seq - 1}` : `${ms - 1}-18446744073709551615`;
    if (ms === 0 && seq === 0) break;
  }
  return out;
}
