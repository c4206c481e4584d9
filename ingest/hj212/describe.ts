/**
 * `tuojiang hj212 decode`: one frame per line in, one JSON object per line out, for operators
 * checking what a logger really sends. Values are shown as sent (factor codes, suffixes), with
 * numbers as numbers, so the output can be piped into jq.
 */
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { isTuojiangError } from '../../lib/errors.js';
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
}

export interface InvalidFrameDescription {
  valid: false;
  error: { code: string; message: string };
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

/** Describes one frame; a malformed frame or an impossible DataTime gives `valid: false`. */
export function describeFrame(line: string): FrameDescription {
  try {
    const frame = parseFrame(line);
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
    };
  } catch (e) {
    if (!isTuojiangError(e)) throw e;
    return { valid: false, error: { code: e.code, message: e.message } };
  }
}

/** Reads frames line by line (blank lines skipped) and writes one JSON line per frame. */
export async function decodeStream(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<{ valid: number; invalid: number }> {
  const counts = { valid: 0, invalid: 0 };
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const description = describeFrame(line);
    if (description.valid) counts.valid++;
    else counts.invalid++;
    if (!output.write(`${JSON.stringify(description)}\n`)) await once(output, 'drain');
  }
  return counts;
}
