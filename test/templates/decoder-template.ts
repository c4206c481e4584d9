/**
 * CONTRIBUTING.md, recipe 2: the smallest complete decoder, to copy to `ingest/decoders/<name>.ts`
 * and list in `ingest/decoders/index.ts` before `jsonDecoder` (which accepts anything). It reads one
 * line of `key=value` text, as some gateways emit:
 *
 *     TJKV ts=2026-03-01T08:00:00+08:00 NH3N=0.42 pH=7.6 NH3N.flag=N
 *
 * The station comes from the topic (over MQTT the broker's ACL proves it), or from `station=` when the
 * topic names none; both given and different is refused, as in the JSON contract. Pure: no I/O, no
 * clock. Everything after it — parameter keys, units, plausible ranges, flags, the journal — is the
 * shared validation's (ingest/validate-reading.ts). CI compiles it and
 * test/unit/contributing-templates.test.ts runs it, so the recipe cannot drift from the interface.
 */
import { TuojiangError } from '../../lib/errors.js';
import { withArticle } from '../../lib/format.js';
import { parseTimestamp } from '../../ingest/decode-json.js';
import type { Decoded, Decoder } from '../../ingest/decoders/decoder.js';

const MAGIC = 'TJKV ';
/** More pairs than any station has parameters (26 water ones, each with a flag): refused beyond. */
const MAX_PAIRS = 64;
const KEY = /^[A-Za-z][A-Za-z0-9_]{0,31}(\.flag)?$/;

export const keyValueDecoder: Decoder = {
  name: 'kv',
  // Cheap, on the first bytes only: the processor asks every decoder of the list in turn.
  accepts: (payload) => payload.length >= MAGIC.length && payload.toString('latin1', 0, MAGIC.length) === MAGIC,
  decode(payload, ctx): Decoded {
    // A real decoder adds its own code with a hint to lib/errors.ts (TJ_MALFORMED_<NAME>); the template borrows one.
    const malformed = (why: string) => new TuojiangError('MALFORMED_JSON', `TJKV line: ${why}`);
    const pairs = payload.toString('utf8', MAGIC.length).trim().split(/ +/);
    if (pairs.length > MAX_PAIRS) throw malformed(`${pairs.length} pairs (at most ${MAX_PAIRS})`);
    const fields = new Map<string, string>();
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      const key = eq > 0 ? pair.slice(0, eq) : '';
      if (!KEY.test(key) && key !== 'ts' && key !== 'station') throw malformed(`"${pair.slice(0, 40)}" is not key=value`);
      // One rule for a repeated key, said out loud: refused (a gateway that repeats one is broken).
      if (fields.has(key)) throw malformed(`key "${key}" given twice`);
      fields.set(key, pair.slice(eq + 1));
    }
    const named = fields.get('station');
    const stationId = ctx.topicInfo?.stationId ?? named;
    if (stationId === undefined)
      throw new TuojiangError('UNKNOWN_STATION', 'no station: the topic names none and the line has no station=');
    if (ctx.topicInfo && named !== undefined && named !== ctx.topicInfo.stationId) {
      throw new TuojiangError(
        'STATION_MISMATCH',
        `line names station "${named.slice(0, 40)}" but the topic is for "${ctx.topicInfo.stationId}"`,
      );
    }
    const station = ctx.registry.get(stationId);
    if (!station)
      throw new TuojiangError('UNKNOWN_STATION', `station "${stationId.slice(0, 60)}" is not in the registry`, {
        station: stationId.slice(0, 60),
      });
    if (ctx.topicInfo && ctx.topicInfo.medium !== station.kind) {
      throw new TuojiangError(
        'KIND_MISMATCH',
        `station ${station.id} is ${withArticle(station.kind)} station but published on ${withArticle(ctx.topicInfo.medium)} topic`,
      );
    }
    const values: Record<string, unknown> = {};
    const flags: Record<string, unknown> = {};
    for (const [key, text] of fields) {
      if (key === 'ts' || key === 'station') continue;
      // Text that is no number stays text: the shared validation refuses it (TJ_INVALID_VALUE) with the others'.
      if (key.endsWith('.flag')) flags[key.slice(0, -'.flag'.length)] = text;
      else values[key] = text !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
    }
    const ts = fields.get('ts');
    if (ts === undefined) throw new TuojiangError('INVALID_TIMESTAMP', 'TJKV line without ts=');
    // `source` is Reading['source'] (lib/reading.ts): a real decoder adds its name there; the template borrows 'json'.
    return { raw: { station, ts: parseTimestamp(/^\d+$/.test(ts) ? Number(ts) : ts), period: 'rt', values, flags, source: 'json' } };
  },
};
