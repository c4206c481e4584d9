import { TuojiangError } from '../lib/errors.js';
import { withArticle } from '../lib/format.js';
import type { StationRegistry } from '../config/station-registry.js';
import type { TopicInfo } from './topics.js';
import type { RawReading } from './validate-reading.js';

const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const ALLOWED_KEYS = new Set(['ts', 'values', 'flags', 'station']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(2000, month - 1, day));
  d.setUTCFullYear(year);
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/**
 * Valid ISO timestamps already parsed: the stations of a basin report on the same minute, so one
 * string stands for hundreds of readings (docs/decisions/0018). Only valid ones are kept, and at
 * most ISO_PARSED_MAX: a sender inventing timestamps empties it, it never grows beyond.
 */
const isoParsed = new Map<string, number>();
const ISO_PARSED_MAX = 4096;

/** `ts` as ISO 8601 with an explicit zone (a zoneless time is ambiguous across UTC and UTC+8) or epoch ms. */
export function parseTimestamp(ts: unknown): number {
  if (typeof ts === 'number') {
    // Epoch seconds sent by mistake would land in 1970: refuse instead of storing nonsense.
    if (!Number.isInteger(ts) || ts < 946_684_800_000 || ts > 32_503_680_000_000) {
      throw new TuojiangError('INVALID_TIMESTAMP', `ts ${ts} is not epoch milliseconds between 2000 and 3000`);
    }
    return ts;
  }
  if (typeof ts === 'string') {
    const known = isoParsed.get(ts);
    if (known !== undefined) return known;
    const m = ISO_WITH_ZONE.exec(ts);
    if (m) {
      const ms = Date.parse(m[0]);
      // Date.parse rolls impossible days over (02-30 becomes 03-02): refuse them instead of moving the reading.
      if (Number.isFinite(ms) && isCalendarDate(Number(m[1]), Number(m[2]), Number(m[3]))) {
        if (isoParsed.size >= ISO_PARSED_MAX) isoParsed.clear();
        isoParsed.set(ts, ms);
        return ms;
      }
    }
  }
  throw new TuojiangError('INVALID_TIMESTAMP', `ts ${JSON.stringify(ts)?.slice(0, 60)} is not ISO 8601 with a zone or epoch milliseconds`);
}

/** Decode a wire-contract JSON payload: `{"ts", "values", "flags"?, "station"?}`. */
export function decodeJson(payload: Buffer, topic: TopicInfo | undefined, registry: StationRegistry): RawReading {
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    throw new TuojiangError('MALFORMED_JSON', `payload is not JSON: ${(e as Error).message.slice(0, 100)}`);
  }
  if (!isPlainObject(body)) throw new TuojiangError('MALFORMED_JSON', 'payload must be a JSON object');
  for (const k in body) {
    if (!ALLOWED_KEYS.has(k))
      throw new TuojiangError('MALFORMED_JSON', `unexpected key "${k.slice(0, 40)}"; expected ts, values, flags, station`);
  }
  if (!isPlainObject(body.values)) throw new TuojiangError('MALFORMED_JSON', '"values" must be an object of parameter -> number');
  if (body.flags !== undefined && !isPlainObject(body.flags))
    throw new TuojiangError('MALFORMED_JSON', '"flags" must be an object of parameter -> flag');
  if (body.station !== undefined && typeof body.station !== 'string')
    throw new TuojiangError('MALFORMED_JSON', '"station" must be a string');

  const stationId = topic?.stationId ?? (body.station as string | undefined);
  if (stationId === undefined) throw new TuojiangError('UNKNOWN_STATION', 'no station: the topic names none and the body has no "station"');
  if (topic && body.station !== undefined && body.station !== topic.stationId) {
    throw new TuojiangError(
      'STATION_MISMATCH',
      `body names station "${String(body.station).slice(0, 40)}" but the topic is for "${topic.stationId}"`,
    );
  }
  const station = registry.get(stationId);
  if (!station)
    throw new TuojiangError('UNKNOWN_STATION', `station "${stationId.slice(0, 60)}" is not in the registry`, {
      station: stationId.slice(0, 60),
    });
  if (topic && topic.medium !== station.kind) {
    throw new TuojiangError(
      'KIND_MISMATCH',
      `station ${station.id} is ${withArticle(station.kind)} station but published on ${withArticle(topic.medium)} topic`,
    );
  }
  return {
    station,
    ts: parseTimestamp(body.ts),
    period: 'rt',
    values: body.values,
    flags: (body.flags as Record<string, unknown> | undefined) ?? {},
    source: 'json',
  };
}
