/**
 * The measurement behind decision 0001, point 4: does the broker keep a persistent session's
 * subscription across a restart? A subscriber subscribes (plain, then `$share`), goes away, the
 * broker restarts, 10,000 QoS 1 messages are published, the subscriber comes back WITHOUT
 * subscribing again and counts what it receives.
 *   npx tsx test/bench/mosquitto-shared-restart.ts
 */
import mqtt from 'mqtt';
import { makeBurst } from '../helpers/burst.js';
import { publishAll, startIngestStack } from '../helpers/ingest-stack.js';

const N = 10_000;

async function run(shared: boolean): Promise<{ shared: boolean; received: number; lost: number }> {
  const s = await startIngestStack();
  try {
    const got = new Set<string>();
    const opts = {
      username: 'ingest',
      password: s.users.ingest,
      clientId: 'probe-sub',
      clean: false,
      protocolVersion: 5 as const,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 300,
      resubscribe: false,
    };
    const first = await mqtt.connectAsync(s.services.mosquitto.url, opts);
    await first.subscribeAsync(shared ? '$share/g/tuojiang/water/+' : 'tuojiang/water/+', { qos: 1 });
    await first.endAsync();
    await s.services.mosquitto.restart();
    const burst = makeBurst(N, Date.parse('2026-03-04T00:00:00Z'));
    await publishAll(await s.publisher('probe-publisher'), burst, 500);
    // Attach the handler before the connection completes: queued messages arrive with the CONNACK.
    const again = mqtt.connect(s.services.mosquitto.url, opts);
    again.handleMessage = (p, cb) => {
      got.add(String(p.payload));
      cb();
    };
    let last = -1;
    while (got.size !== last) {
      last = got.size;
      await new Promise((r) => setTimeout(r, 2000));
    }
    await again.endAsync();
    return { shared, received: got.size, lost: burst.filter((b) => !got.has(b.payload)).length };
  } finally {
    await s.stop();
  }
}

for (const shared of [false, true]) {
  const r = await run(shared);
  console.log(
    `${shared ? '$share subscription' : 'plain subscription '}: ${r.received} of ${N} received after a broker restart (${r.lost} lost)`,
  );
}
process.exit(0);
