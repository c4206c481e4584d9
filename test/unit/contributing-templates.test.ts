/**
 * CONTRIBUTING.md's recipes, followed literally where they can be: the templates in test/templates/
 * compile against the interfaces they implement (tsc runs over test/) and behave as the recipes say.
 * The channel, against a real HTTP server: delivered once after the commit, 5xx retried, 4xx
 * refused, a hang-up after the body uncertain. (That a channel's rendering gives the same bytes on
 * every attempt is shown for the webhook in notify-channels.test.ts.) The decoder, listed before
 * the shipped ones as the recipe says, through the real message processor: a sample decoded and
 * validated, hostile lines refused with their code and never thrown. The source, on a real
 * loopback socket: a line handed to the handler, answered in order only as the handler settles,
 * a decoder's reply to the right connection, an oversized line costing only its own connection,
 * a drain that answers what was taken. (Through the whole ingest, journal and InfluxDB:
 * test/integration/contributing-source.test.ts.)
 */
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECODERS } from '../../ingest/decoders/index.js';
import type { JournalItem } from '../../ingest/journal.js';
import { MessageProcessor } from '../../ingest/process-message.js';
import type { SplitPacketStore } from '../../ingest/split-packet-store.js';
import { createLogger } from '../../lib/logger.js';
import { keyValueDecoder } from '../templates/decoder-template.js';
import { LineSource } from '../templates/source-template.js';
import { shippedRegistry } from '../helpers/fixtures.js';
import type { Batch } from '../../alerts/notify/channels/channel.js';
import { DeliveryError } from '../../alerts/notify/channels/channel.js';
import { plainTextChannel } from '../templates/channel-template.js';
import { startHttpRecorder, type HttpRecorder } from '../helpers/http-recorder.js';

let server: HttpRecorder;
beforeAll(async () => {
  server = await startHttpRecorder({ status: 204 });
});
afterAll(async () => server?.close());

const batch = {
  batchId: 'b-template-1',
  recipient: { key: 'k', bureau: 'chengdu', name: 'Duty', email: 'duty@x.test', list: 'duty' },
  items: [],
  closedAt: 0,
} as Batch;
const body = Buffer.from('【告警】沱江 NH3N 1.6 mg/L\n\ntext');

async function outcome(commit: () => Promise<void> = async () => undefined) {
  const channel = plainTextChannel({ env: { TJ_PLAIN_TEXT_URL: `${server.url}/notices` } });
  return channel.send(body, batch, commit, AbortSignal.timeout(5000)).catch((e: unknown) => e);
}

describe('the template channel of CONTRIBUTING.md', () => {
  it('delivers once, after the commit, with the batch id as idempotency key', async () => {
    let before = -1;
    const r = await outcome(async () => {
      before = server.requests.length;
    });
    expect(r).toEqual({ ref: 'b-template-1', response: 'HTTP 204' });
    expect(before).toBe(0);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers['idempotency-key']).toBe('b-template-1');
    expect(server.requests[0]!.body.equals(body)).toBe(true);
  });

  it('maps the answers to the shared verdicts: 5xx retry, 4xx refused, no answer uncertain', async () => {
    server.script({ status: 503 }, { status: 400 }, { hangUp: true });
    expect(await outcome()).toMatchObject({ verdict: 'retry' });
    expect(await outcome()).toMatchObject({ verdict: 'refused-permanently' });
    const hung = await outcome();
    expect(hung).toBeInstanceOf(DeliveryError);
    expect(hung).toMatchObject({ verdict: 'uncertain' });
  });

  it('refuses to start without its URL, naming the variable', () => {
    expect(() => plainTextChannel({ env: {} })).toThrow(/TJ_PLAIN_TEXT_URL is not set/);
  });
});

describe('the template decoder of CONTRIBUTING.md', () => {
  const NOW = Date.parse('2026-03-01T01:00:00Z');
  // The split-packet store belongs to the HJ 212 decoder; nothing here reaches it.
  const processor = new MessageProcessor({
    registry: shippedRegistry(),
    topicPrefix: 'tuojiang',
    maxPayloadBytes: 4096,
    futureToleranceMs: 600_000,
    splitStore: undefined as unknown as SplitPacketStore,
    decoders: [keyValueDecoder, ...DECODERS],
    now: () => NOW,
  });
  const items = (topic: string, line: string): JournalItem[] => {
    const out = processor.process(topic, Buffer.from(line));
    if (out instanceof Promise) throw new Error('the template decoder is synchronous');
    return out.items;
  };
  const refusal = (topic: string, line: string) => {
    const [item] = items(topic, line);
    return item?.kind === 'dead' ? item.dead.reason : `not refused: ${item?.kind}`;
  };

  it('decodes a sample line into a validated reading, flags and all', () => {
    const [item] = items('tuojiang/water/zhaozhen', 'TJKV ts=2026-03-01T08:00:00+08:00 NH3N=0.42 pH=7.6 NH3N.flag=M');
    expect(item?.kind).toBe('reading');
    if (item?.kind !== 'reading') return;
    expect(item.reading).toMatchObject({
      station: 'zhaozhen',
      medium: 'water',
      ts: Date.parse('2026-03-01T00:00:00Z'),
      period: 'rt',
      values: { NH3N: 0.42, pH: 7.6 },
      flags: { NH3N: 'M' },
    });
  });

  it('takes only its own payloads: listed first, JSON still reaches the JSON decoder', () => {
    expect(keyValueDecoder.accepts(Buffer.from('{"ts":1}'))).toBe(false);
    const [item] = items('tuojiang/water/zhaozhen', JSON.stringify({ ts: '2026-03-01T08:00:00+08:00', values: { NH3N: 0.5 } }));
    expect(item).toMatchObject({ kind: 'reading', reading: { source: 'json', values: { NH3N: 0.5 } } });
  });

  it('refuses hostile lines with the code that says why', () => {
    expect(refusal('tuojiang/water/zhaozhen', 'TJKV ts=2026-03-01T08:00:00+08:00 NH3N=0.4 NH3N=9')).toBe('TJ_MALFORMED_JSON');
    expect(refusal('tuojiang/water/zhaozhen', `TJKV ts=1772323200000 ${Array.from({ length: 65 }, (_, i) => `p${i}=1`).join(' ')}`)).toBe(
      'TJ_MALFORMED_JSON',
    );
    expect(refusal('tuojiang/water/zhaozhen', 'TJKV ts=2026-03-01T08:00:00+08:00 station=huaikou NH3N=0.4')).toBe('TJ_STATION_MISMATCH');
    expect(refusal('tuojiang/air/zhaozhen', 'TJKV ts=2026-03-01T08:00:00+08:00 NH3N=0.4')).toBe('TJ_KIND_MISMATCH');
    expect(refusal('other/topic', 'TJKV ts=2026-03-01T08:00:00+08:00 NH3N=0.4')).toBe('TJ_UNKNOWN_STATION');
    expect(refusal('tuojiang/water/zhaozhen', 'TJKV ts=2026-03-01T08:00:00 NH3N=0.4')).toBe('TJ_INVALID_TIMESTAMP');
    expect(refusal('tuojiang/water/zhaozhen', 'TJKV ts=2026-03-01T08:00:00+08:00 NH3N=lots')).toBe('TJ_INVALID_VALUE');
  });

  it('never throws, whatever follows the magic', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (rest) => {
        const [item] = items('tuojiang/water/zhaozhen', `TJKV ${rest}`);
        expect(['reading', 'dead']).toContain(item?.kind);
      }),
      { numRuns: 2000 },
    );
  });
});

/** A client of the line source: what it has read so far, and a way to wait for more. */
async function lineClient(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  const waiters: Array<() => void> = [];
  socket.on('data', (d: Buffer) => {
    text += d.toString('utf8');
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      resolve();
      for (const w of waiters.splice(0)) w();
    }),
  );
  return {
    socket,
    closed,
    send: (s: string) => socket.write(s),
    get text() {
      return text;
    },
    /** Resolves once `n` lines have arrived (or the connection closed first). */
    lines: async (n: number): Promise<string[]> => {
      while (text.split('\n').length - 1 < n && !socket.destroyed && socket.readable) await new Promise<void>((r) => waiters.push(r));
      return text.split('\n').slice(0, n);
    },
  };
}

describe('the template source of CONTRIBUTING.md', () => {
  const log = createLogger('template-source', 'silent');

  /** A handler whose verdicts the test gives, message by message. */
  function heldHandler() {
    const taken: Array<{ topic: string; payload: string; station: string | undefined; settle: (ok: boolean) => void }> = [];
    const arrived: Array<() => void> = [];
    return {
      taken,
      handler: (topic: string, payload: Buffer, context?: { sender?: string | null | undefined }) =>
        new Promise<void>((resolve, reject) => {
          taken.push({
            topic,
            payload: payload.toString(),
            station: context?.sender ?? undefined,
            settle: (ok) => (ok ? resolve() : reject(new Error('not durable'))),
          });
          for (const w of arrived.splice(0)) w();
        }),
      until: async (n: number) => {
        while (taken.length < n) await new Promise<void>((r) => arrived.push(r));
      },
    };
  }

  async function started(limits: Partial<{ maxLineBytes: number; maxPendingPerConnection: number }> = {}) {
    const source = new LineSource(
      { host: '127.0.0.1', port: 0, maxLineBytes: 1024, maxConnections: 10, maxPendingPerConnection: 100, ...limits },
      'tuojiang',
      log,
    );
    const h = heldHandler();
    await source.start(h.handler);
    return { source, h, port: source.port! };
  }

  it('hands each line to the handler under its topic and answers in line order, as each settles', async () => {
    const { source, h, port } = await started();
    expect(source.ready()).toEqual({ tcp_lines: true });
    const c = await lineClient(port);
    c.send('water/zhaozhen {"ts":1772323200000,"values":{"NH3N":0.4}}\nwater/zhaozhen {"ts":1772323260000,"values":{"NH3N":0.5}}\n');
    await h.until(2);
    expect(h.taken.map((t) => [t.topic, t.payload, t.station])).toEqual([
      ['tuojiang/water/zhaozhen', '{"ts":1772323200000,"values":{"NH3N":0.4}}', 'zhaozhen'],
      ['tuojiang/water/zhaozhen', '{"ts":1772323260000,"values":{"NH3N":0.5}}', 'zhaozhen'],
    ]);
    expect(source.held).toBe(2);
    // The second settles first, the first is refused: the answers still follow the lines.
    h.taken[1]!.settle(true);
    h.taken[0]!.settle(false);
    expect(await c.lines(2)).toEqual(['RETRY', 'OK']);
    expect(source.held).toBe(0);
    c.socket.destroy();
    await source.stop();
  });

  it("sends a decoder's reply to the connection that last sent for that station, and refuses one for a station with none", async () => {
    const { source, h, port } = await started();
    const a = await lineClient(port);
    const b = await lineClient(port);
    a.send('water/zhaozhen {}\n');
    b.send('air/chengdu-air {}\n');
    await h.until(2);
    await source.reply('zhaozhen', 'ANSWER for zhaozhen');
    for (const t of h.taken) t.settle(true);
    expect(await a.lines(2)).toEqual(['ANSWER for zhaozhen', 'OK']);
    expect(await b.lines(1)).toEqual(['OK']);
    await expect(source.reply('huaikou', 'x')).rejects.toThrow(/huaikou has no open connection/);
    a.socket.destroy();
    b.socket.destroy();
    await source.stop();
  });

  it('answers a line it cannot read with ERR and keeps the connection', async () => {
    const { source, h, port } = await started();
    const c = await lineClient(port);
    c.send('no prefix here\nwater/zhaozhen {}\n');
    await h.until(1);
    h.taken[0]!.settle(true);
    expect(await c.lines(2)).toEqual(['ERR expected "<water|air>/<station> <payload>"', 'OK']);
    c.socket.destroy();
    await source.stop();
  });

  it('closes only the connection that sends an oversized line, before buffering more than the limit', async () => {
    const { source, h, port } = await started({ maxLineBytes: 256 });
    const hostile = await lineClient(port);
    const other = await lineClient(port);
    hostile.send(`water/zhaozhen ${'x'.repeat(100_000)}`);
    await hostile.closed;
    other.send('water/zhaozhen {}\n');
    await h.until(1);
    h.taken[0]!.settle(true);
    expect(await other.lines(1)).toEqual(['OK']);
    expect(h.taken).toHaveLength(1);
    other.socket.destroy();
    await source.stop();
  });

  it('drains on stop: no new connections, what was taken is answered, then the connection ends', async () => {
    const { source, h, port } = await started();
    const c = await lineClient(port);
    c.send('water/zhaozhen {}\n');
    await h.until(1);
    const stopping = source.stop();
    expect(source.ready()).toEqual({ tcp_lines: false });
    h.taken[0]!.settle(true);
    await stopping;
    await c.closed;
    expect(c.text).toBe('OK\n');
  });
});
