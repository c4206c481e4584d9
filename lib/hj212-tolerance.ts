/**
 * What a station's HJ 212 logger may deviate from the standard in (stations.yaml `hj212:`), by name.
 * The names live here, below config/ and ingest/, because both the registry schema and the decoder
 * use them. Every tolerated deviation is stored with the reading (the `quirk` field) and counted per
 * station and quirk, so that operators see which loggers deviate (docs/domain.md, HJ 212 quirks).
 */

/**
 * The checksum a station's frames may carry. `annex-a` is the standard's (HJ 212-2017 Annex A); the
 * others are what field loggers are seen sending. A station set to a non-standard flavour still has
 * frames with a correct Annex A CRC accepted (the same logger sends both).
 */
export const CRC_FLAVOURS = ['annex-a', 'modbus', 'modbus-swapped', 'none'] as const;
export type CrcFlavour = (typeof CRC_FLAVOURS)[number];

/** Deviations a station may be allowed one by one (`hj212.lenient`), and what each means. */
export const LENIENCIES = {
  'split-flag-without-pnum': 'Flag has bit D (split packet) but the frame has no PNUM/PNO: taken as a whole, unsplit frame',
  'repeated-key': 'a CP key (or DataTime) appears twice in one frame: the last value wins',
  'datatime-17-digits': 'DataTime has 17 digits (YYYYMMDDhhmmsszzz, milliseconds) instead of 14',
} as const;
export type Leniency = keyof typeof LENIENCIES;
export const LENIENCY_NAMES = Object.keys(LENIENCIES) as Leniency[];

/** The name a tolerated quirk is stored and counted under: a leniency, or the CRC flavour that matched. */
export type Quirk = Leniency | 'crc-modbus' | 'crc-modbus-swapped' | 'crc-unchecked';

export interface Hj212Tolerance {
  crc: CrcFlavour;
  lenient: ReadonlySet<Leniency>;
}

/** What every station gets unless stations.yaml says otherwise: the standard, nothing tolerated. */
export const STRICT: Hj212Tolerance = { crc: 'annex-a', lenient: new Set() };

/** Everything tolerated: what the decoder tries to tell an operator which tolerance a frame needs. */
export const ANYTHING: Hj212Tolerance = { crc: 'none', lenient: new Set(LENIENCY_NAMES) };
