/** What MQTT.js hands its `_sendPacket` for a PUBACK. */
export interface PubackPacket {
  cmd: string;
  messageId?: number;
  reasonCode?: number;
  properties?: unknown;
}

/**
 * Successful PUBACKs as one buffer: 4 bytes each (type 4, remaining length 2, packet identifier),
 * the same bytes in MQTT 3.1.1 and 5 (where a reason code 0 with no properties may be left out,
 * MQTT 5.0 §3.4.2.1). Released together after a journal batch, they leave in one socket write
 * instead of four small writes each through mqtt-packet (docs/decisions/0018). Undefined when any
 * packet is something else (a reason code, properties), which then go out one by one as before.
 */
export function encodePubacks(packets: readonly PubackPacket[]): Buffer | undefined {
  const ids: number[] = [];
  for (const p of packets) {
    const id = p.messageId;
    if (p.cmd !== 'puback' || id === undefined || !Number.isInteger(id) || id < 1 || id > 0xffff) return undefined;
    if ((p.reasonCode !== undefined && p.reasonCode !== 0) || p.properties !== undefined) return undefined;
    ids.push(id);
  }
  return encodePubackIds(ids);
}

/** Successful PUBACKs for these packet identifiers (1–65535), as one buffer (see encodePubacks). */
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
