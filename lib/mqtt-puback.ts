/**
 * Successful PUBACKs for these packet identifiers (1–65535) as one buffer: 4 bytes each (type 4,
 * remaining length 2, packet identifier), the same bytes in MQTT 3.1.1 and 5 (where a reason code 0
 * with no properties may be left out, MQTT 5.0 §3.4.2.1). Released together after a journal batch,
 * they leave in one socket write instead of four small writes each through mqtt-packet
 * (docs/decisions/0018). Throws on an identifier outside 1–65535 rather than acknowledge another message.
 */
export function encodePubackIds(ids: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(ids.length * 4);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 1 || id > 0xffff) throw new RangeError(`PUBACK packet identifier ${id} outside 1-65535`);
    const o = i * 4;
    out[o] = 0x40;
    out[o + 1] = 0x02;
    out[o + 2] = id >> 8;
    out[o + 3] = id & 0xff;
  }
  return out;
}
