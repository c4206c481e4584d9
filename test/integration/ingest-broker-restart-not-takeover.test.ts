/**
 * A broker going away is not a session takeover. When a broker stops, some of the ingest's
 * connections see a reset (ECONNRESET) and others a silent close; before, only the silent ones
 * counted toward "every connection closed together", so with one reset sibling the other's silent
 * close was reported as TJ_MQTT_SESSION_TAKEN_OVER (seen in bench:scale's broker restart) and the
 * ingest stayed unready for five minutes. A single silent close while the sibling stays up is
 * still reported. Real Mosquitto behind a TCP proxy that can reset or close each connection.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServices } from '../../devtools/local-services/index.js';
import { MqttSource } from '../../ingest/sources/mqtt.js';
import type { TakeoverEvidence } from '../../ingest/session-takeover.js';
import { createLogger } from '../../lib/logger.js';
import { password } from '../helpers/ingest-stack.js';

const pw = password();
let services: Awaited<ReturnType<typeof startServices<{ mosquitto: { users: Array<{ username: string; password: string }> } }>>>;
let proxy: Server;
let proxyPort = 0;
/** Client-side sockets of the proxy, in connection order. */
const links: Socket[] = [];

beforeAll(async () => {
  services = await startServices({ mosquitto: { users: [{ username: 'ingest', password: pw }] } });
  proxy = createServer((client) => {
    const upstream = connect(services.mosquitto.port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    links.push(client);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyPort = (proxy.address() as { port: number }).port;
}, 60_000);
afterAll(async () => {
  proxy?.close();
  await services?.stopAll();
});

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function withSource(instance: string, run: (src: MqttSource, reports: Array<[string, TakeoverEvidence]>) => Promise<void>) {
  const reports: Array<[string, TakeoverEvidence]> = [];
  const src = new MqttSource(
    {
      url: `mqtt://127.0.0.1:${proxyPort}`,
      username: 'ingest',
      password: pw,
      clientIdPrefix: 'tj-restart-test',
      instance,
      connections: 2,
      shareGroup: '',
      reconnectPeriodMs: 100,
      subscriptions: ['tuojiang/water/+', 'tuojiang/air/+'],
      sessionExpiryS: 60,
      receiveMaximum: 100,
      onSessionTakenOver: (clientId, evidence) => reports.push([clientId, evidence]),
    },
    createLogger('test', 'silent'),
  );
  links.length = 0;
  await src.start(() => Promise.resolve());
  try {
    await until('both connections up', () => src.connectedCount === 2 && links.length === 2);
    await run(src, reports);
  } finally {
    await src.stop();
  }
}

describe('a broker going away is not a session takeover', () => {
  it('one connection reset and the other closed silently at the same moment: no takeover reported', async () => {
    await withSource('mixed', async (src, reports) => {
      const [a, b] = links as [Socket, Socket];
      a.resetAndDestroy();
      b.end();
      await until('both connections closed', () => src.connectedCount < 2);
      await until('both reconnected', () => src.connectedCount === 2 && links.length >= 4);
      // A reconnect reports what it saw at once; give a late report a moment to show up.
      await new Promise((r) => setTimeout(r, 300));
      expect(reports).toEqual([]);
    });
  }, 30_000);

  it('a silent close of one connection while the other stays up is still reported', async () => {
    await withSource('alone', async (src, reports) => {
      const [, b] = links as [Socket, Socket];
      b.end();
      await until('the takeover reported', () => reports.length > 0);
      expect(reports).toEqual([['tj-restart-test-alone-1', 'silent-close']]);
      expect(src.connectedCount).toBe(2);
    });
  }, 30_000);
});
