import { createHash } from 'node:crypto';
import { enoughReplicasOnline, requireReplicas } from '../lib/redis-replicated.js';
import type { RedisClient } from '../lib/redis-client.js';
import type { Reading } from '../lib/reading.js';
import { readingRow, readingRows } from './journal-entry.js';

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

export type JournalItem =
  | {
      kind: 'reading';
      reading: Reading;
      /**
       * The message's identity when its sender may re-send it (an HJ 212 frame over TCP): a reading
       * whose key was journaled within the resend window is not journaled again, and append() marks
       * it `duplicate`.
       */
      dedupeKey?: string;
      duplicate?: boolean;
    }
  | { kind: 'dead'; dead: DeadLetter };

/**
 * Which batch an append is: a source (one per batcher, i.e. per ingest process) and its batches
 * numbered 1, 2, … in the order they are journaled. It makes an append idempotent: a batch appended
 * again (the retry after a reply lost when the connection dropped, or the client re-sending a
 * command whose reply never came) journals nothing the second time.
 */
export interface BatchId {
  source: string;
  seq: number;
}

/** The journal boundary: once append() resolves, every item survives a crash of this process. */
export interface Journal {
  append(items: readonly JournalItem[], batch?: BatchId): Promise<void>;
}

/** A source's last batch number is kept this long after its last batch (a week: any restart, any retry). */
export const BATCH_SOURCE_TTL_S = 7 * 24 * 3600;

/**
 * KEYS: readings stream, dead-letter stream, the hash of each source's last journaled batch, then
 * the dedupe key of each reading that carries one (`{stream}:seen:…`: declared, so that on a Redis
 * Cluster they are routed and checked like the others, all in the stream's slot).
 * ARGV: source ('' = no check), seq, TTL of the hash (s), dead-letter MAXLEN, the readings as rows
 * (field `r`, ingest/journal-entry.ts; '' = none), dead letters (JSON array of flat field/value arrays); then, only when some readings
 * carry a dedupe key: the resend window (s), those readings one row per line, in the order of their
 * keys. A keyed reading whose key is set already is left out (a re-sent frame), else its key is set.
 * Returns {1, indexes of the keyed readings left out} when journaled, {0} when this batch was
 * journaled already. One script: the number is
 * recorded in the same step as the entries are added, so a batch is in the journal once or not at
 * all. A source journals its batches strictly in order, so one number per source is enough.
 */
const APPEND = `
if ARGV[1] ~= '' then
  local last = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
  if tonumber(ARGV[2]) <= last then return {0} end
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
local out = {1}
if ARGV[5] ~= '' then redis.call('XADD', KEYS[1], '*', 'r', ARGV[5]) end
if ARGV[8] then
  local kept = {}
  local i = 0
  for reading in string.gmatch(ARGV[8], '[^\\n]+') do
    i = i + 1
    if redis.call('SET', KEYS[3 + i], '1', 'NX', 'EX', ARGV[7]) then
      kept[#kept + 1] = reading
    else
      out[#out + 1] = i - 1
    end
  end
  if #kept > 0 then redis.call('XADD', KEYS[1], '*', 'r', '[' .. table.concat(kept, ',') .. ']') end
end
for _, f in ipairs(cjson.decode(ARGV[6])) do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(f))
end
return out
`;

interface JournalScripts {
  /** numberOfKeys first: 3 + the dedupe keys (a script with a variable number of keys). */
  tjJournalAppend(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
}

export interface StoredDeadLetter extends Omit<DeadLetter, 'payload'> {
  id: string;
  /** The first DEAD_LETTER_PREFIX_BYTES of the payload at most; `size` and `sha256` describe all of it. */
  payload: string;
  encoding: 'utf8' | 'base64';
  /** Bytes of the original payload (absent in dead letters written before issue 11). */
  size?: number | undefined;
  /** SHA-256 (hex) of the original payload, to match it against a logger's own copy. */
  sha256?: string | undefined;
}

/**
 * What a dead letter keeps of its payload. Enough to see what was sent (a reading is a few hundred
 * bytes, an HJ 212 frame at most ~10 KB and its header is in the first bytes); not so much that a
 * station sending junk can fill Redis: 100,000 dead letters (ingest.dead_letter_max) stay under
 * ~500 MB whatever they carried.
 */
export const DEAD_LETTER_PREFIX_BYTES = 4096;

/** The first `max` bytes, cut back to a character boundary when the payload is UTF-8 text. */
export function payloadPrefix(p: Buffer, max = DEAD_LETTER_PREFIX_BYTES): Buffer {
  if (p.length <= max) return p;
  let end = max;
  // Stepping back over at most 3 continuation bytes (10xxxxxx) keeps a UTF-8 prefix readable.
  for (let back = 0; back < 3 && end > 0 && (p[end]! & 0xc0) === 0x80; back++) end--;
  return p.subarray(0, end);
}

function encodePayload(p: Buffer): { payload: string; encoding: 'utf8' | 'base64' } {
  const text = p.toString('utf8');
  // Keep readable payloads readable for operators; anything that is not valid UTF-8 stays exact.
  return Buffer.from(text, 'utf8').equals(p) ? { payload: text, encoding: 'utf8' } : { payload: p.toString('base64'), encoding: 'base64' };
}

/**
 * Redis Streams journal: readings go to one stream consumed by the writer group, dead letters to a
 * capped stream operators query. One script per batch: a round trip, not one per message, and
 * idempotent by batch id.
 */
export class RedisJournal implements Journal {
  constructor(
    private readonly redis: RedisClient,
    private readonly opts: {
      stream: string;
      deadLetterStream: string;
      deadLetterMax: number;
      resendWindowS?: number;
      /** Replicas that must hold an append before it resolves (redis.wait_replicas); 0 = the master's word. */
      replicas?: number;
      replicaTimeoutMs?: number;
    },
  ) {}

  async append(items: readonly JournalItem[], batch?: BatchId): Promise<void> {
    if (items.length === 0) return;
    // All readings of a batch travel as one stream entry: one XADD, one entry for the writer to
    // read and acknowledge, instead of one per reading (docs/decisions/0001).
    const readings: Reading[] = [];
    // Readings that carry a dedupe key go one per line (JSON has no raw line break), with their keys
    // one per line, so the script can leave out the re-sent ones without parsing any JSON (cjson
    // would also round the numbers), in two arguments rather than two per reading.
    const keyed: Array<Extract<JournalItem, { kind: 'reading' }>> = [];
    for (const item of items) {
      if (item.kind !== 'reading') continue;
      if (item.dedupeKey) keyed.push(item);
      else readings.push(item.reading);
    }
    const dead: string[][] = [];
    for (const item of items) {
      if (item.kind !== 'dead') continue;
      const d = item.dead;
      const { payload, encoding } = encodePayload(payloadPrefix(d.payload));
      const sha256 = createHash('sha256').update(d.payload).digest('hex');
      dead.push([
        'reason',
        d.reason,
        'message',
        d.message,
        'topic',
        d.topic,
        'station',
        d.station ?? '',
        'at',
        String(d.receivedAt),
        'enc',
        encoding,
        'payload',
        payload,
        'size',
        String(d.payload.length),
        'sha256',
        sha256,
        ...(d.details ? ['details', JSON.stringify(d.details)] : []),
        ...(d.readingKept ? ['kept', '1'] : []),
      ]);
    }
    const r = this.scripts();
    // Derived from the stream name, so they share its hash tag (its slot on a cluster).
    const seenKeys = keyed.map((k) => `${this.opts.stream}:seen:${k.dedupeKey}`);
    const extra = keyed.length === 0 ? [] : [String(this.opts.resendWindowS ?? 3600), keyed.map((k) => readingRow(k.reading)).join('\n')];
    const result = await r.tjJournalAppend(
      3 + seenKeys.length,
      this.opts.stream,
      this.opts.deadLetterStream,
      `${this.opts.stream}:batches`,
      ...seenKeys,
      batch?.source ?? '',
      batch?.seq ?? 0,
      BATCH_SOURCE_TTL_S,
      String(this.opts.deadLetterMax),
      readings.length > 0 ? readingRows(readings) : '',
      JSON.stringify(dead),
      ...extra,
    );
    for (const i of result.slice(1)) keyed[i]!.duplicate = true;
    // Only now may the senders be told: a rejection leaves them unacknowledged, and their re-sent
    // batch is recognised by (source, seq) above.
    await requireReplicas(this.redis, this.opts.stream, this.opts.replicas ?? 0, this.opts.replicaTimeoutMs ?? 2000, 'journal append');
  }

  /**
   * Whether the journal stream's master has the replicas an append needs, online now: the ingest's
   * /readyz `redis_replicas`, so that a lost or hung replica shows while no reading is arriving,
   * not only when the next append is refused. True when none is required.
   */
  enoughReplicasOnline(): Promise<boolean> {
    return enoughReplicasOnline(this.redis, this.opts.stream, this.opts.replicas ?? 0, this.opts.replicaTimeoutMs ?? 2000);
  }

  private scripts(): RedisClient & JournalScripts {
    const r = this.redis as RedisClient & Partial<JournalScripts>;
    if (typeof r.tjJournalAppend !== 'function') r.defineCommand('tjJournalAppend', { lua: APPEND });
    return r as RedisClient & JournalScripts;
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
  redis: RedisClient,
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
        size: f.size !== undefined ? Number(f.size) : undefined,
        sha256: f.sha256 || undefined,
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
