/**
 * HJ 212-2017 frames (docs/domain.md §3): parse, encode, and the time conventions of the protocol.
 *
 * Frame: `##` + 4-digit decimal length of the data segment in BYTES + data segment + 4 hex CRC +
 * `\r\n`. Data segment: `QN=..;ST=..;CN=..;PW=..;MN=..;Flag=..;[PNUM=..;PNO=..;]CP=&&...&&`.
 * parseFrame is the one place raw bytes from the field become structure, so it must reject anything
 * malformed with a TuojiangError (which the caller dead-letters) and never throw anything else.
 */
import { TuojiangError } from '../../lib/errors.js';
import { STRICT, type Hj212Tolerance, type Quirk } from '../../lib/hj212-tolerance.js';
import { hj212Crc, modbusCrc, modbusSwappedCrc } from './crc.js';
import { CST_OFFSET_MS } from '../../lib/cst.js';

/** The CP field, split into its parts. Factor codes and suffixes are kept exactly as sent. */
export interface Hj212Cp {
  /** Raw `DataTime` (YYYYMMDDhhmmss, China Standard Time); see dataTimeToEpochMs. */
  dataTime?: string;
  /** factor code -> suffix ('Rtd', 'Avg', 'Flag', …) -> value as sent. */
  items: Record<string, Record<string, string>>;
  /** CP keys that are not `<code>-<Suffix>`, e.g. RtdInterval. */
  other: Record<string, string>;
}

export interface Hj212Frame {
  qn?: string;
  st?: string;
  cn: string;
  pw?: string;
  mn: string;
  flag?: number;
  pnum?: number;
  pno?: number;
  cp: Hj212Cp;
  /** The data segment as received (between the length and the CRC); kept for dead letters. */
  segment: string;
  /** Deviations from the standard this frame has and its station's tolerance let through. */
  quirks: Quirk[];
}

/** A frame's tolerance, fixed or chosen from its MN (the station's, from stations.yaml). */
export type ToleranceFor = Hj212Tolerance | ((mn: string | undefined) => Hj212Tolerance);

export interface Hj212FrameFields {
  qn?: string | undefined;
  st: string;
  cn: string;
  pw?: string | undefined;
  mn: string;
  flag?: number | undefined;
  pnum?: number | undefined;
  pno?: number | undefined;
  /** The inner CP text, without the surrounding `&&`. */
  cp: string;
}

/** The length field has four decimal digits, so no data segment can be longer. */
export const MAX_SEGMENT_BYTES = 9999;

const FLAG_ANSWER = 0b01;
const FLAG_SPLIT = 0b10;

/** Bit A: the sender wants an answer (CN 9014 for data). A 2005-style packet has no Flag. */
export function flagWantsAnswer(flag: number | undefined): boolean {
  return flag !== undefined && (flag & FLAG_ANSWER) !== 0;
}

/** Bit D: the packet is one part of a split packet and carries PNUM/PNO. */
export function flagHasSplit(flag: number | undefined): boolean {
  return flag !== undefined && (flag & FLAG_SPLIT) !== 0;
}

/** Bits V5..V0: 1 = HJ 212-2017, 0 = HJ 212-2005 (also what a packet without Flag means). */
export function flagVersion(flag: number | undefined): number {
  return flag === undefined ? 0 : (flag >> 2) & 0x3f;
}

function malformed(message: string, details?: Record<string, unknown>): TuojiangError {
  return new TuojiangError('MALFORMED_FRAME', message, details);
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0b || byte === 0x0c;
}

/** Where a frame starts in `buf`: after the leading whitespace parseFrame skips. */
export function frameStart(buf: Buffer): number {
  let start = 0;
  while (start < buf.length && isSpace(buf[start]!)) start++;
  return start;
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x39;
}

function isHexDigit(byte: number | undefined): boolean {
  return byte !== undefined && (isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses one frame. Surrounding whitespace and the trailing `\r\n` are optional. Checks, in order:
 * the envelope (`##`, 4 digits, 4 hex CRC) -> MALFORMED_FRAME; declared length against the byte
 * length of the segment -> FRAME_LENGTH; CRC (case-insensitive) -> FRAME_CRC; then the syntax of the
 * segment and its CP -> MALFORMED_FRAME. The length and CRC are checked before the syntax because a
 * frame that fails them was damaged in transit, which is the more useful diagnosis.
 */
export function parseFrame(raw: string | Buffer, tolerance: ToleranceFor = STRICT): Hj212Frame {
  if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) throw malformed('An HJ 212 frame must be a string or a Buffer.');
  const buf = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const start = frameStart(buf);
  let end = buf.length;
  while (end > start && isSpace(buf[end - 1]!)) end--;

  if (end - start < 2 || buf[start] !== 0x23 || buf[start + 1] !== 0x23) throw malformed('The frame does not start with ##.');
  for (let i = start + 2; i < start + 6; i++) {
    if (!isDigit(buf[i])) throw malformed('The frame has no 4-digit decimal length after ##.');
  }
  if (end - start < 10) throw malformed('The frame ends before its 4-digit CRC.');
  for (let i = end - 4; i < end; i++) {
    if (!isHexDigit(buf[i])) throw malformed('The frame does not end with a 4-hex-digit CRC.');
  }

  const declared = Number(buf.toString('latin1', start + 2, start + 6));
  const segmentBytes = buf.subarray(start + 6, end - 4);
  if (segmentBytes.length !== declared) {
    throw new TuojiangError(
      'FRAME_LENGTH',
      `The frame declares a ${declared}-byte data segment but carries ${segmentBytes.length} bytes.`,
      { declared, actual: segmentBytes.length },
    );
  }
  const tol = typeof tolerance === 'function' ? tolerance(headerMn(segmentBytes)) : tolerance;
  const quirks: Quirk[] = [];
  const sentCrc = buf.toString('latin1', end - 4, end).toUpperCase();
  const crc = hj212Crc(segmentBytes);
  if (sentCrc !== crc) {
    const other = crcQuirk(segmentBytes, sentCrc, tol);
    if (!other)
      throw new TuojiangError('FRAME_CRC', `The frame's CRC is ${sentCrc}; its data segment's CRC is ${crc}.`, {
        sent: sentCrc,
        computed: crc,
      });
    quirks.push(other);
  }

  let segment: string;
  try {
    segment = utf8.decode(segmentBytes);
  } catch {
    throw malformed('The data segment is not valid UTF-8.');
  }
  return parseSegment(segment, tol, quirks);
}

/** The quirk under which a CRC that is not Annex A's is accepted for this tolerance, if any. */
function crcQuirk(segment: Uint8Array, sent: string, tol: Hj212Tolerance): Quirk | undefined {
  if (tol.crc === 'none') return 'crc-unchecked';
  if (tol.crc === 'modbus' && modbusCrc(segment) === sent) return 'crc-modbus';
  if (tol.crc === 'modbus-swapped' && modbusSwappedCrc(segment) === sent) return 'crc-modbus-swapped';
  return undefined;
}

/**
 * The MN of a segment before it is checked, to choose the station's tolerance: the first `MN=`
 * header field (at the start or after `;`, before `CP=`). Undefined when there is none.
 */
export function headerMn(segment: Uint8Array): string | undefined {
  const text = Buffer.from(segment.buffer, segment.byteOffset, segment.byteLength).toString('latin1');
  const cp = text.indexOf('CP=');
  return /(?:^|;)MN=([^;]*)/.exec(cp < 0 ? text : text.slice(0, cp))?.[1];
}

function splitPair(pair: string, where: string): [string, string] {
  const eq = pair.indexOf('=');
  if (eq < 0) throw malformed(`${where}: "${clip(pair)}" has no "=".`);
  if (eq === 0) throw malformed(`${where}: "${clip(pair)}" has an empty key.`);
  return [pair.slice(0, eq), pair.slice(eq + 1)];
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function parseSegment(segment: string, tol: Hj212Tolerance, quirks: Quirk[]): Hj212Frame {
  const header = new Map<string, string>();
  let pos = 0;
  let cpText: string | undefined;
  while (pos <= segment.length) {
    if (segment.startsWith('CP=', pos)) {
      cpText = segment.slice(pos + 3);
      break;
    }
    const semi = segment.indexOf(';', pos);
    if (semi < 0) break;
    const [key, value] = splitPair(segment.slice(pos, semi), 'Header field');
    if (header.has(key)) throw malformed(`The header field ${key} appears twice.`);
    header.set(key, value);
    pos = semi + 1;
  }
  if (cpText === undefined) throw malformed('The data segment has no CP=&&…&& field.');
  if (cpText.length < 4 || !cpText.startsWith('&&') || !cpText.endsWith('&&')) {
    throw malformed('The CP field must be CP=&&…&& and end the data segment.');
  }
  const cpInner = cpText.slice(2, -2);
  if (cpInner.includes('&&')) throw malformed('The CP field has "&&" inside it.');

  const cn = header.get('CN');
  const mn = header.get('MN');
  if (!cn) throw malformed('The data segment has no CN.');
  if (!mn) throw malformed('The data segment has no MN (station identifier).');

  const flag = optionalInt(header.get('Flag'), 'Flag', 0, 255);
  const pnum = optionalInt(header.get('PNUM'), 'PNUM', 1, MAX_SEGMENT_BYTES);
  const pno = optionalInt(header.get('PNO'), 'PNO', 1, MAX_SEGMENT_BYTES);
  if ((pnum === undefined) !== (pno === undefined)) throw malformed('PNUM and PNO must come together.');
  if (pnum !== undefined && pno !== undefined && pno > pnum) throw malformed(`PNO ${pno} exceeds PNUM ${pnum}.`);
  let frameFlag = flag;
  if (flagHasSplit(flag) && pnum === undefined) {
    if (!tol.lenient.has('split-flag-without-pnum')) throw malformed('Flag marks a split packet (bit D) but PNUM/PNO are missing.');
    // The frame is whole: clear bit D so that nothing downstream waits for other parts.
    frameFlag = flag! & ~FLAG_SPLIT;
    quirks.push('split-flag-without-pnum');
  }

  const cp = parseCp(
    cpInner,
    tol.lenient.has('repeated-key')
      ? () => {
          if (!quirks.includes('repeated-key')) quirks.push('repeated-key');
        }
      : undefined,
  );
  if (cp.dataTime !== undefined && /^\d{17}$/.test(cp.dataTime)) {
    if (!tol.lenient.has('datatime-17-digits')) {
      throw new TuojiangError('INVALID_TIMESTAMP', `DataTime "${cp.dataTime}" has 17 digits; HJ 212 gives 14 (YYYYMMDDhhmmss).`);
    }
    quirks.push('datatime-17-digits');
  }
  // Header fields other than these are vendor extras: they carry no reading and are ignored.
  const frame: Hj212Frame = { cn, mn, cp, segment, quirks };
  const qn = header.get('QN');
  const st = header.get('ST');
  const pw = header.get('PW');
  if (qn !== undefined) frame.qn = qn;
  if (st !== undefined) frame.st = st;
  if (pw !== undefined) frame.pw = pw;
  if (frameFlag !== undefined) frame.flag = frameFlag;
  if (pnum !== undefined) frame.pnum = pnum;
  if (pno !== undefined) frame.pno = pno;
  return frame;
}

function optionalInt(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,4}$/.test(text)) throw malformed(`${name} must be a decimal integer, got "${clip(text)}".`);
  const n = Number(text);
  if (n < min || n > max) throw malformed(`${name} must be between ${min} and ${max}, got ${n}.`);
  return n;
}

/**
 * Parses the inner CP text. Empty items and pairs (a trailing `;` or `,`) carry nothing and are
 * skipped; a pair without `=` or an empty key is malformed, and so is a key given twice unless
 * `onRepeat` is given: then the last value wins (the one rule, also for split packets' parts,
 * ingest/split-packet-store.ts) and onRepeat is told.
 */
export function parseCp(inner: string, onRepeat?: (key: string) => void): Hj212Cp {
  // Null-prototype records: factor codes come from the wire, and "__proto__" must stay a plain key.
  const items: Record<string, Record<string, string>> = Object.create(null);
  const other: Record<string, string> = Object.create(null);
  const cp: Hj212Cp = { items, other };
  for (const group of inner.split(';')) {
    for (const pair of group.split(',')) {
      if (pair === '') continue;
      const [key, value] = splitPair(pair, 'CP');
      if (key === 'DataTime') {
        if (cp.dataTime !== undefined) {
          if (!onRepeat) throw malformed('CP has DataTime twice.');
          onRepeat(key);
        }
        cp.dataTime = value;
        continue;
      }
      const dash = key.indexOf('-');
      if (dash > 0 && dash < key.length - 1) {
        const code = key.slice(0, dash);
        const suffix = key.slice(dash + 1);
        const item = (items[code] ??= Object.create(null) as Record<string, string>);
        if (suffix in item) {
          if (!onRepeat) throw malformed(`CP has ${key} twice.`);
          onRepeat(key);
        }
        item[suffix] = value;
      } else {
        if (key in other) {
          if (!onRepeat) throw malformed(`CP has ${key} twice.`);
          onRepeat(key);
        }
        other[key] = value;
      }
    }
  }
  return cp;
}

function checkEncodable(name: string, value: string, forbidden: RegExp): void {
  if (forbidden.test(value)) throw malformed(`Cannot encode ${name} "${clip(value)}": it contains a separator.`);
}

/** Builds a complete frame, `##dddd<segment><CRC>\r\n`, for the simulator, tests and answers. */
export function encodeFrame(fields: Hj212FrameFields): string {
  const parts: string[] = [];
  const text = (key: string, value: string | undefined, required: boolean): void => {
    if (value === undefined) return;
    if (required && value === '') throw malformed(`Cannot encode a frame with an empty ${key}.`);
    checkEncodable(key, value, /[;]/);
    parts.push(`${key}=${value}`);
  };
  const int = (key: string, value: number | undefined, min: number, max: number): void => {
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < min || value > max)
      throw malformed(`Cannot encode ${key}=${value}: not an integer in ${min}..${max}.`);
    parts.push(`${key}=${value}`);
  };
  text('QN', fields.qn, false);
  text('ST', fields.st, true);
  text('CN', fields.cn, true);
  text('PW', fields.pw, false);
  text('MN', fields.mn, true);
  int('Flag', fields.flag, 0, 255);
  int('PNUM', fields.pnum, 1, MAX_SEGMENT_BYTES);
  int('PNO', fields.pno, 1, MAX_SEGMENT_BYTES);
  if (fields.cp.includes('&&')) throw malformed('Cannot encode a CP that contains "&&".');
  parts.push(`CP=&&${fields.cp}&&`);
  return frameSegment(parts.join(';'));
}

/** Wraps a data segment in `##`, its byte length, its CRC and `\r\n`. */
export function frameSegment(segment: string): string {
  const length = Buffer.byteLength(segment, 'utf8');
  if (length > MAX_SEGMENT_BYTES) {
    throw new TuojiangError('TOO_LARGE', `The data segment is ${length} bytes; HJ 212 allows at most ${MAX_SEGMENT_BYTES}.`);
  }
  return `##${String(length).padStart(4, '0')}${segment}${hj212Crc(segment)}\r\n`;
}

/**
 * The inverse of parseCp: `DataTime=…;code-Suf=v,code-Suf=v;…`, one item per factor code, then the
 * `other` keys (e.g. RtdInterval) as one item. Numbers are written with String(); callers that need
 * a fixed number of decimals format them first.
 */
export function encodeCp(
  dataTime: string | undefined,
  items: Record<string, Record<string, string | number>>,
  other: Record<string, string | number> = {},
): string {
  const groups: string[] = [];
  const pair = (key: string, value: string | number): string => {
    const v = String(value);
    checkEncodable('CP key', key, /[;,=&]/);
    checkEncodable(`CP value of ${key}`, v, /[;,&]/);
    return `${key}=${v}`;
  };
  if (dataTime !== undefined) groups.push(pair('DataTime', dataTime));
  for (const [code, suffixes] of Object.entries(items)) {
    const pairs = Object.entries(suffixes).map(([suffix, value]) => {
      if (code === '' || suffix === '') throw malformed('Cannot encode a CP item with an empty factor code or suffix.');
      return pair(`${code}-${suffix}`, value);
    });
    if (pairs.length > 0) groups.push(pairs.join(','));
  }
  const otherPairs = Object.entries(other).map(([key, value]) => pair(key, value));
  if (otherPairs.length > 0) groups.push(otherPairs.join(','));
  return groups.join(';');
}

const DATA_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Reads `YYYYMMDDhhmmss` (DataTime) or `YYYYMMDDhhmmsszzz` (QN) as China Standard Time, UTC+8 with no
 * daylight saving, which is what every HJ 212 sender means: the packet carries no zone.
 */
export function dataTimeToEpochMs(dataTime: string): number {
  const m = typeof dataTime === 'string' ? DATA_TIME.exec(dataTime) : null;
  if (!m) {
    throw new TuojiangError(
      'INVALID_TIMESTAMP',
      `HJ 212 time "${clip(String(dataTime))}" is not YYYYMMDDhhmmss (or the 17-digit QN form).`,
    );
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] === undefined ? 0 : Number(m[7]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new TuojiangError('INVALID_TIMESTAMP', `HJ 212 time "${dataTime}" is not a real date and time.`);
  }
  const d = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms));
  d.setUTCFullYear(year); // Date.UTC maps years 0..99 to 1900..1999
  return d.getTime() - CST_OFFSET_MS;
}

function cstParts(ms: number): string {
  if (!Number.isFinite(ms)) throw new TuojiangError('INVALID_TIMESTAMP', `Cannot format ${ms} as an HJ 212 time.`);
  const d = new Date(ms + CST_OFFSET_MS);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999) {
    throw new TuojiangError('INVALID_TIMESTAMP', `Cannot format ${ms} as an HJ 212 time.`);
  }
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(d.getUTCMilliseconds(), 3)}`;
}

/** Epoch ms -> `YYYYMMDDhhmmss` in China Standard Time (DataTime). Milliseconds are dropped. */
export function epochMsToDataTime(ms: number): string {
  return cstParts(ms).slice(0, 14);
}

/** Epoch ms -> the 17-digit QN, `YYYYMMDDhhmmsszzz` in China Standard Time. */
export function epochMsToQn(ms: number): string {
  return cstParts(ms);
}
