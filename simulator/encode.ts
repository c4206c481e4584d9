/**
 * A simulated reading as what a station puts on the wire: the JSON of the wire contract
 * (README, Wire contract) or an HJ 212-2017 CN 2011 real-time frame, in the station's own units (a logger that
 * sends NH3-N in µg/L is simulated sending µg/L), plus the deliberately broken messages a run may
 * inject so that dead-lettering shows up in a demo.
 */
import { ERRORS, type ErrorCode } from '../lib/errors.js';
import { PARAMETER_BY_KEY } from '../lib/parameters.js';
import type { Station } from '../config/station-registry.js';
import { conversionFactor, type Unit } from '../lib/units.js';
import { encodeCp, encodeFrame, epochMsToDataTime, epochMsToQn } from '../ingest/hj212/frame.js';
import { HOUR_MS } from './clock.js';
import { DECIMALS } from './generators.js';
import { smoothNoise } from './random.js';
import type { SimReading } from './readings.js';
import { cstIso } from '../lib/cst.js';

export type Encoding = 'json' | 'hj212';

/** HJ 212 Flag: version 2017 (bits 000001) with the answer bit A off (4) or on (5). */
export type Hj212Flag = 4 | 5;

/** The password field of the frame: HJ 212's factory default, which field loggers mostly keep. */
export const HJ212_PASSWORD = '123456';

/** Kinds of broken message, and the dead-letter reason the ingest must give each. */
export const INVALID_KINDS = {
  'bad-crc': ERRORS.FRAME_CRC.code,
  'unknown-parameter': ERRORS.UNKNOWN_PARAMETER.code,
  'impossible-value': ERRORS.IMPLAUSIBLE_VALUE.code,
} as const satisfies Record<string, ErrorCode>;
export type InvalidKind = keyof typeof INVALID_KINDS;

export interface SentValue {
  /** The number in the station's unit, already rounded to what the logger reports. */
  value: number;
  /** The same as text with a fixed number of decimals (the HJ 212 Rtd). */
  text: string;
}

function decimalsFor(param: string): number {
  return (DECIMALS as Record<string, number | undefined>)[param] ?? 3;
}

/**
 * Catalogue units -> the units the station sends (registry `units:`). The decimals follow the
 * scale, so 0.412 mg/L is sent as 412 µg/L, not 412.000.
 */
export function toSentUnits(station: Station, values: Record<string, number>): Record<string, SentValue> {
  const out: Record<string, SentValue> = {};
  for (const [param, v] of Object.entries(values)) {
    const unit = station.units[param] as Unit | undefined;
    const info = PARAMETER_BY_KEY.get(param);
    const factor = unit && info ? (conversionFactor(unit, info.unit) ?? 1) : 1;
    const decimals = Math.max(0, decimalsFor(param) + Math.round(Math.log10(factor)));
    const text = (v / factor).toFixed(decimals);
    out[param] = { value: Number(text), text };
  }
  return out;
}

export function topicOf(prefix: string, station: Station): string {
  return `${prefix}/${station.kind}/${station.id}`;
}

/** `2026-03-01T08:00:00+08:00`: the wire contract's ISO form, in the stations' own zone. */
export function isoCst(ts: number): string {
  return cstIso(ts);
}

/** Wire-contract JSON. Flags are sent only where not N (the contract's default). */
export function encodeJson(reading: SimReading, tsStyle: 'iso' | 'epoch'): string {
  const sent = toSentUnits(reading.station, reading.values);
  const values: Record<string, number> = {};
  for (const [k, s] of Object.entries(sent)) values[k] = s.value;
  const flags = Object.fromEntries(Object.entries(reading.flags).filter(([, f]) => f !== 'N'));
  return JSON.stringify({
    ts: tsStyle === 'iso' ? isoCst(reading.ts) : reading.ts,
    values,
    ...(Object.keys(flags).length > 0 ? { flags } : {}),
  });
}

/** A value for an extra channel the logger sends and the registry ignores (e.g. w00000, flow). */
function extraChannel(station: Station, code: string, ts: number, seed: number): string {
  return (180 + 60 * smoothNoise(seed, `${station.id}/${code}`, ts, 12 * HOUR_MS)).toFixed(1);
}

/**
 * HJ 212-2017 CN 2011 (real-time data): ST 21 for a water section, 22 for an air station; each
 * parameter as `<factor>-Rtd=<value>,<factor>-Flag=<N|M>`; channels listed in the station's
 * `ignore_factors` are sent too, as the real logger does.
 */
export function encodeHj212(reading: SimReading, flag: Hj212Flag, seed = 0, pw = HJ212_PASSWORD): string {
  const { station } = reading;
  const sent = toSentUnits(station, reading.values);
  const items: Record<string, Record<string, string>> = {};
  const codeOf = new Map(Object.entries(station.factor_codes).map(([code, key]) => [key, code]));
  for (const [param, s] of Object.entries(sent)) {
    const code = codeOf.get(param) ?? PARAMETER_BY_KEY.get(param)?.hj212?.[0];
    if (!code) throw new RangeError(`no HJ 212 factor code for ${param}`);
    items[code] = { Rtd: s.text, Flag: reading.flags[param] ?? 'N' };
  }
  for (const code of station.ignore_factors) items[code] = { Rtd: extraChannel(station, code, reading.ts, seed), Flag: 'N' };
  return encodeFrame({
    qn: epochMsToQn(reading.ts),
    st: station.kind === 'water' ? '21' : '22',
    cn: '2011',
    pw,
    mn: station.mn,
    flag,
    cp: encodeCp(epochMsToDataTime(reading.ts), items),
  });
}

/** The invalid kinds that fit an encoding. */
export function invalidKindsFor(encoding: Encoding): InvalidKind[] {
  return encoding === 'hj212' ? ['bad-crc'] : ['unknown-parameter', 'impossible-value'];
}

/**
 * A deliberately broken message in place of a reading: a frame damaged in transit (one digit of
 * its QN changed after the CRC was computed), a gateway's mistyped key, or an impossible value.
 */
export function encodeInvalid(reading: SimReading, kind: InvalidKind, pw = HJ212_PASSWORD): string {
  switch (kind) {
    case 'bad-crc': {
      const frame = encodeHj212(reading, 4, 0, pw);
      const at = frame.indexOf('QN=') + 3 + 16; // last digit of the 17-digit QN
      const digit = frame[at] === '9' ? '0' : String(Number(frame[at]) + 1);
      return frame.slice(0, at) + digit + frame.slice(at + 1);
    }
    case 'unknown-parameter': {
      // A gateway's mapping typo: NH3N sent as "NH3-N" (or, at an air station, PM2_5 as "PM2.5").
      const body = JSON.parse(encodeJson(reading, 'epoch')) as {
        ts: number;
        values: Record<string, number>;
        flags?: Record<string, string>;
      };
      const [from, to] = reading.station.kind === 'water' ? ['NH3N', 'NH3-N'] : ['PM2_5', 'PM2.5'];
      const values: Record<string, number> = {};
      for (const [k, v] of Object.entries(body.values)) values[k === from ? to : k] = v;
      if (body.flags && from in body.flags) {
        body.flags[to] = body.flags[from]!;
        delete body.flags[from];
      }
      return JSON.stringify({ ...body, values });
    }
    case 'impossible-value': {
      // Only the impossible value: the ingest refuses it alone and keeps the rest of a reading, so a
      // message that is meant to be dead-lettered whole must carry nothing else.
      const { ts } = JSON.parse(encodeJson(reading, 'epoch')) as { ts: number };
      return JSON.stringify({ ts, values: reading.station.kind === 'water' ? { pH: 14.9 } : { PM10: -3 } });
    }
  }
}
