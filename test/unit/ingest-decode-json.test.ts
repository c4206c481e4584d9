import { describe, expect, it } from 'vitest';
import { decodeJson, parseTimestamp } from '../../ingest/decode-json.js';
import type { TopicInfo } from '../../ingest/topics.js';
import { codeOf, shippedRegistry } from '../helpers/fixtures.js';

const registry = shippedRegistry();
const WATER: TopicInfo = { medium: 'water', stationId: 'hongyuan' };
const TS = Date.parse('2026-03-01T00:00:00Z');

/** `null`: a message on a topic that names no station. */
function decode(body: unknown, topic: TopicInfo | null = WATER) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return decodeJson(Buffer.from(payload, 'utf8'), topic ?? undefined, registry);
}

describe('decodeJson: the wire contract', () => {
  it('decodes a full reading into a raw reading of the topic station', () => {
    const raw = decode({ ts: TS, values: { NH3N: 0.42, pH: 7.6 }, flags: { NH3N: 'M' }, station: 'hongyuan' });
    expect(raw.station.id).toBe('hongyuan');
    expect(raw.station.kind).toBe('water');
    expect(raw).toMatchObject({ ts: TS, period: 'rt', values: { NH3N: 0.42, pH: 7.6 }, flags: { NH3N: 'M' }, source: 'json' });
  });

  it('defaults flags to none and leaves value checking to validation', () => {
    const raw = decode({ ts: TS, values: { NH3N: 'high', nonsense: 1 } });
    expect(raw.flags).toEqual({});
    expect(raw.values).toEqual({ NH3N: 'high', nonsense: 1 });
  });

  it('takes the station from the body when there is no topic', () => {
    expect(decode({ ts: TS, values: { PM10: 40 }, station: 'ziyang-yanjiang' }, null).station.id).toBe('ziyang-yanjiang');
  });

  it.each([
    ['not JSON at all', '{"ts": 1'],
    ['an empty payload', ''],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"hello"'],
    ['JSON null', 'null'],
    ['a number', '42'],
    ['an unexpected key', { ts: TS, values: { NH3N: 1 }, extra: true }],
    ['values missing', { ts: TS }],
    ['values an array', { ts: TS, values: [1] }],
    ['values null', { ts: TS, values: null }],
    ['values a number', { ts: TS, values: 3 }],
    ['flags an array', { ts: TS, values: { NH3N: 1 }, flags: ['N'] }],
    ['flags a string', { ts: TS, values: { NH3N: 1 }, flags: 'N' }],
    ['station a number', { ts: TS, values: { NH3N: 1 }, station: 7 }],
    ['a UTF-8 BOM before the object', '\ufeff{"ts":1772323200000,"values":{"NH3N":1}}'],
  ])('refuses %s as TJ_MALFORMED_JSON', (_what, body) => {
    expect(codeOf(() => decode(body))).toBe('TJ_MALFORMED_JSON');
  });

  it('refuses a station unknown to the registry (from the topic)', () => {
    expect(codeOf(() => decode({ ts: TS, values: { NH3N: 1 } }, { medium: 'water', stationId: 'nowhere' }))).toBe('TJ_UNKNOWN_STATION');
  });

  it('refuses a body station unknown to the registry when there is no topic', () => {
    expect(codeOf(() => decode({ ts: TS, values: { NH3N: 1 }, station: 'nowhere' }, null))).toBe('TJ_UNKNOWN_STATION');
  });

  it('refuses a reading naming no station at all', () => {
    expect(codeOf(() => decode({ ts: TS, values: { NH3N: 1 } }, null))).toBe('TJ_UNKNOWN_STATION');
  });

  it('refuses a body station that differs from the topic, even a registered one', () => {
    expect(codeOf(() => decode({ ts: TS, values: { NH3N: 1 }, station: 'huaikou' }))).toBe('TJ_STATION_MISMATCH');
  });

  it('refuses a water station publishing on an air topic and the reverse', () => {
    expect(codeOf(() => decode({ ts: TS, values: { NH3N: 1 } }, { medium: 'air', stationId: 'hongyuan' }))).toBe('TJ_KIND_MISMATCH');
    expect(codeOf(() => decode({ ts: TS, values: { PM10: 1 } }, { medium: 'water', stationId: 'ziyang-shijian' }))).toBe(
      'TJ_KIND_MISMATCH',
    );
  });

  it('checks the message before the timestamp: a bad ts of an unknown station is an unknown station', () => {
    expect(codeOf(() => decode({ ts: 'soon', values: { NH3N: 1 } }, { medium: 'water', stationId: 'nowhere' }))).toBe('TJ_UNKNOWN_STATION');
  });

  it('refuses a missing ts', () => {
    expect(codeOf(() => decode({ values: { NH3N: 1 } }))).toBe('TJ_INVALID_TIMESTAMP');
  });
});

describe('parseTimestamp', () => {
  it.each([
    ['2026-03-01T08:00:00+08:00', TS],
    ['2026-03-01T00:00:00Z', TS],
    ['2026-03-01T00:00:00.250Z', TS + 250],
    ['2026-02-28T19:00:00-05:00', TS],
    ['2026-03-01T08:00:00+0800', TS],
    ['2026-03-01T08:00+08:00', TS],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('reads ISO 8601 with a zone: %s', (ts, expected) => {
    expect(parseTimestamp(ts)).toBe(expected);
  });

  it('reads epoch milliseconds', () => {
    expect(parseTimestamp(1772323200000)).toBe(1772323200000);
    expect(parseTimestamp(946_684_800_000)).toBe(946_684_800_000);
  });

  it.each([
    ['a zoneless ISO time (UTC or UTC+8?)', '2026-03-01T08:00:00'],
    ['a date without time', '2026-03-01'],
    ['a space instead of T', '2026-03-01 08:00:00+08:00'],
    ['an HJ 212 DataTime string', '20260301080000'],
    ['epoch milliseconds as a string', '1772323200000'],
    ['epoch seconds (would land in 1970)', 1772323200],
    ['a fractional epoch', 1772323200000.5],
    ['a negative epoch', -1],
    ['epoch ms before 2000', 946_684_799_999],
    ['epoch ms after 3000', 32_503_680_000_001],
    ['NaN', Number.NaN],
    ['null', null],
    ['a boolean', true],
    ['an object', { t: 1 }],
    ['month 13', '2026-13-01T00:00:00Z'],
    ['February 30 (Date.parse would roll it over to March 2)', '2026-02-30T00:00:00Z'],
    ['April 31', '2026-04-31T08:00:00+08:00'],
    ['February 29 of a common year', '2026-02-29T00:00:00Z'],
    ['minute 60', '2026-03-01T08:60:00Z'],
    ['garbage', 'yesterday'],
  ])('refuses %s as TJ_INVALID_TIMESTAMP', (_what, ts) => {
    expect(codeOf(() => parseTimestamp(ts))).toBe('TJ_INVALID_TIMESTAMP');
  });
});
