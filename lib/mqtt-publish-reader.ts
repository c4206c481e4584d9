/** A PUBLISH the reader took: QoS 0 or 1, no properties (MQTT 5) or none possible (3.1.1). */
export interface InboundPublish {
  topic: string;
  /** A view of the received bytes, not a copy. */
  payload: Buffer;
  qos: 0 | 1;
  /** 0 for QoS 0 (no packet identifier). */
  messageId: number;
}

export interface PublishReaderHandlers {
  /** A PUBLISH the reader took. Return false to stop reading after it, until `read()` is called again. */
  publish(p: InboundPublish): boolean;
  /** Every other packet, whole and as received, in order: for the MQTT library to parse and handle. */
  other(bytes: Buffer): void;
  /**
   * Bytes that cannot be framed as MQTT packets: nothing after them can be trusted, and the reader
   * reads nothing more. MQTT 5.0 §4.13: the connection is to be closed.
   */
  malformed(reason: string): void;
}

/**
 * Takes QoS 0 and 1 PUBLISH packets off an MQTT client's inbound bytes and hands every other packet,
 * unchanged and in order, to the library. A QoS 1 message through MQTT.js and mqtt-packet costs
 * a packet object, a buffer list, a property parse, a callback chain and a `nextTick` each; here it
 * is a header read and two views (docs/decisions/0018, round 5).
 *
 * Only what is certain is taken: QoS 2 (its PUBREC/PUBREL state lives in the library), a PUBLISH
 * with MQTT 5 properties (a topic alias, which only the library can resolve, or anything else), a
 * PUBLISH whose fields do not fit its packet, packet identifier 0, and other packet types all go to
 * the library whole, which handles or reports them as it always did. A remaining length the reader
 * cannot frame (a fifth length byte) is reported through `malformed`, and nothing after it is read
 * or handed on: no boundary after it can be trusted.
 */
export class PublishReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the packet at the front needs before it can be read (0: not known yet). */
  private needed = 0;
  private broken = false;

  constructor(
    private readonly protocolVersion: 4 | 5,
    private readonly on: PublishReaderHandlers,
  ) {}

  /** Bytes received and not yet handed on (a partial packet, or packets after a stop). */
  get pending(): number {
    return this.buffered;
  }

  /** Appends received bytes; call `read()` to hand them on. */
  push(chunk: Buffer): void {
    if (this.buffered === 0) this.chunks = [chunk];
    else this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * Hands on every whole packet buffered, until the bytes run out (true) or a `publish` handler
   * asked to stop (false: call again to go on).
   */
  read(): boolean {
    if (this.broken) {
      this.discard();
      return true;
    }
    // Empty, or the packet at the front is known to be longer than what has arrived: wait, joining nothing.
    if (this.buffered === 0 || this.needed > this.buffered) return true;
    const buf = this.front();
    let off = 0;
    let going = true;
    while (going) {
      const size = this.packetSize(buf, off);
      if (size === undefined) break;
      if (size === -1) {
        this.broken = true;
        this.discard();
        this.on.malformed('a remaining length longer than four bytes (MQTT 5.0 §1.5.5)');
        return true;
      }
      if (off + size > buf.length) {
        this.needed = size;
        break;
      }
      going = this.handle(buf, off, size);
      off += size;
    }
    this.consume(off);
    return going;
  }

  /** The buffered bytes as one buffer: chunks are joined only once the packet at the front is whole. */
  private front(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    this.needed = 0;
    return this.chunks[0]!;
  }

  private consume(n: number): void {
    this.buffered -= n;
    this.chunks = [this.chunks[0]!.subarray(n)];
  }

  private discard(): void {
    this.chunks = [];
    this.buffered = 0;
  }

  /**
   * The size of the packet at `off`: undefined while its fixed header is incomplete, -1 when its
   * remaining length is malformed (more than four bytes, MQTT 5.0 §1.5.5).
   */
  private packetSize(buf: Buffer, off: number): number | undefined {
    let length = 0;
    let multiplier = 1;
    for (let i = 1; i <= 4; i++) {
      if (off + i >= buf.length) return undefined;
      const byte = buf[off + i]!;
      length += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return 1 + i + length;
      multiplier *= 128;
    }
    return -1;
  }

  /** One whole packet: a PUBLISH taken, or anything else handed on. False: a handler asked to stop. */
  private handle(buf: Buffer, off: number, size: number): boolean {
    const first = buf[off]!;
    const qos = (first >> 1) & 0x03;
    const end = off + size;
    let p = off + 2;
    while (buf[p - 1]! & 0x80) p++;
    const topicStart = p + 2;
    // The topic length itself must lie inside the packet: it may be the last bytes received.
    if (first >> 4 !== 3 || qos > 1 || topicStart > end) return this.other(buf, off, end);
    const topicLength = buf.readUInt16BE(p);
    const idAt = topicStart + topicLength;
    // The packet identifier (QoS 1), then the property length (MQTT 5), must fit before the end.
    p = idAt + (qos === 1 ? 2 : 0) + (this.protocolVersion === 5 ? 1 : 0);
    if (p > end || topicLength === 0) return this.other(buf, off, end);
    const messageId = qos === 1 ? buf.readUInt16BE(idAt) : 0;
    // Identifier 0 is a protocol error (MQTT 5.0 §2.2.1); a property length other than a single 0
    // means properties, a topic alias among them perhaps: both the library's.
    if ((qos === 1 && messageId === 0) || (this.protocolVersion === 5 && buf[p - 1] !== 0)) return this.other(buf, off, end);
    const topic = buf.toString('utf8', topicStart, idAt);
    return this.on.publish({ topic, payload: buf.subarray(p, end), qos: qos as 0 | 1, messageId });
  }

  private other(buf: Buffer, off: number, end: number): true {
    this.on.other(buf.subarray(off, end));
    return true;
  }
}
