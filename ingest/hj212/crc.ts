/**
 * The HJ 212-2017 Annex A checksum. It is NOT CRC-16/MODBUS: the register is shifted right by a
 * whole byte before each data byte is xored in, which MODBUS does not do, so a MODBUS routine
 * (what most loggers' vendors ship by mistake, and what a quick web search offers) gives other
 * values. Check value: the standard's sample segment (docs/domain.md §3) gives 1C80 — the
 * standard's prose misprints it as 1C08.
 */
export function hj212Crc(segment: string | Uint8Array): string {
  // Stryker disable next-line ConditionalExpression,StringLiteral: Buffer.from copies a Uint8Array whatever the encoding, and utf8 is its default.
  const bytes = typeof segment === 'string' ? Buffer.from(segment, 'utf8') : segment;
  let reg = 0xffff;
  for (const byte of bytes) {
    reg = (reg >> 8) ^ byte;
    for (let i = 0; i < 8; i++) {
      const out = reg & 1;
      reg >>= 1;
      if (out) reg ^= 0xa001;
    }
  }
  return reg.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * CRC-16/MODBUS (poly 0x8005 reflected, init 0xFFFF; check value 4B37 for "123456789"), written as
 * the register's four hex digits. What many loggers send instead of the Annex A checksum.
 */
export function modbusCrc(segment: string | Uint8Array): string {
  const bytes = typeof segment === 'string' ? Buffer.from(segment, 'utf8') : segment;
  let reg = 0xffff;
  for (const byte of bytes) {
    reg ^= byte;
    for (let i = 0; i < 8; i++) {
      const out = reg & 1;
      reg >>= 1;
      if (out) reg ^= 0xa001;
    }
  }
  return reg.toString(16).toUpperCase().padStart(4, '0');
}

/** CRC-16/MODBUS with its two bytes swapped (low byte first, as Modbus RTU puts it on the wire). */
export function modbusSwappedCrc(segment: string | Uint8Array): string {
  const m = modbusCrc(segment);
  return m.slice(2) + m.slice(0, 2);
}
