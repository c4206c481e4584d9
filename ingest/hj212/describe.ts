/**
 * `tuojiang hj212 decode`: one frame per line in, one JSON object per line out, for operators
 * checking what a logger really sends. Values are shown as sent (factor codes, suffixes), with
 * numbers as numbers, so the output can be piped into jq.
 */
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { isTuojiangError } from '../../lib/errors.js';
import { LENIENCY_NAMES, STRICT, type CrcFlavour, type Hj212Tolerance, type Leniency } from '../../lib/hj212-tolerance.js';
import { dataTimeToEpochMs, parseFrame } from './frame.js';

export interface ValidFrameDescription {
  valid: true;
  qn: string | null;
  st: string | null;
  cn: string;
  pw: string | null;
  mn: string;
  flag: number | null;
  pnum: number | null;
  pno: number | null;
  /** DataTime as an ISO 8601 UTC instant (the packet's time is China Standard Time). */
  dataTime: string | null;
  values: Record<string, Record<string, number | string>>;
  /** CP keys that are not `<code>-<Suffix>`, e.g. RtdInterval. */
  other: Record<string, number | string>;
  /** Deviations from the standard the tolerance applied let through (stations.yaml `hj212:`). */
  quirks: string[];
}

/** The stations.yaml `hj212:` settings under which a refused frame would be accepted. */
export interface AcceptableWith {
  crc: CrcFlavour;
  lenient: Leniency[];
}

export interface InvalidFrameDescription {
  valid: false;
  error: { code: string; message: string };
  /** Present when some station tolerance would accept the frame (only without a station's own). */
  acceptableWith?: AcceptableWith;
}

export type FrameDescription = ValidFrameDescription | InvalidFrameDescription;

/** Suffixes whose values are codes or times even when they look like numbers. */
const TEXT_SUFFIXES = new Set(['Flag', 'EFlag', 'SampleTime']);
const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function asValue(value: string, keepText: boolean): number | string {
  if (keepText || !NUMERIC.test(value)) return value;
  const n = Number(value);
  return Number.isFinite(n) ? n : value;
}

/** Keys come from the wire: define them, so that "__proto__" is a key like any other. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Which tolerance would make a refused frame acceptable: the standard CRC or one of the field
 * flavours (a checksum matching none is only accepted by `none`), and the leniencies it used.
 */
export function acceptableWith(line: string): AcceptableWith | undefined {
  const all = new Set(LENIENCY_NAMES);
  for (const crc of ['annex-a', 'modbus', 'modbus-swapped', 'none'] as const) {
    try {
      const frame = parseFrame(line, { crc, lenient: all });
      const lenient = LENIENCY_NAMES.filter((l) => frame.quirks.includes(l));
      if (frame.cp.dataTime !== undefined) dataTimeToEpochMs(frame.cp.dataTime);
      return { crc, lenient };
    } catch {
      // the next flavour
    }
  }
  return undefined;
}

/**
 * Describes one frame as a station with `tolerance` would have it decoded (default the standard); a
 * malformed frame or an impossible DataTime gives `valid: false`, and without a station's tolerance
 * `acceptableWith` says which stations.yaml settings would accept it.
 */
export function describeFrame(line: string, tolerance?: Hj212Tolerance): FrameDescription {
  try {
    const frame = parseFrame(line, tolerance ?? STRICT);
    const dataTime = frame.cp.dataTime === undefined ? null : new Date(dataTimeToEpochMs(frame.cp.dataTime)).toISOString();
    const values: Record<string, Record<string, number | string>> = {};
    for (const [code, suffixes] of Object.entries(frame.cp.items)) {
      const out: Record<string, number | string> = {};
      for (const [suffix, value] of Object.entries(suffixes)) setOwn(out, suffix, asValue(value, TEXT_SUFFIXES.has(suffix)));
      setOwn(values, code, out);
    }
    const other: Record<string, number | string> = {};
    for (const [key, value] of Object.entries(frame.cp.other)) {
      setOwn(other, key, asValue(value, false));
    }
    return {
      valid: true,
      qn: frame.qn ?? null,
      st: frame.st ?? null,
      cn: frame.cn,
      pw: frame.pw ?? null,
      mn: frame.mn,
      flag: frame.flag ?? null,
      pnum: frame.pnum ?? null,
      pno: frame.pno ?? null,
      dataTime,
      values,
      other,
      quirks: frame.quirks,
    };
  } catch (e) {
    if (!isTuojiangError(e)) throw e;
    const fix = tolerance ? undefined : acceptableWith(line);
    return { valid: false, error: { code: e.code, message: e.message }, ...(fix ? { acceptableWith: fix } : {}) };
  }
}

/** Reads frames line by line (blank lines skipped) and writes one JSON line per frame. */
export async function decodeStream(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  tolerance?: Hj212Tolerance,
): Promise<{ valid: number; invalid: number }> {
  const counts = { valid: 0, invalid: 0 };
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const description = describeFrame(line, tolerance);
    if (description.valid) counts.valid++;
    else counts.invalid++;
    if (!output.write(`${JSON.stringify(description)}\n`)) await once(output, 'drain');
  }
  return counts;
}
