/**
 * Does the broker drop messages in a burst? Publishes a burst of QoS1 messages through the
 * launcher's Mosquitto (rendered from config/mosquitto/mosquitto.conf) to ONE MQTT.js subscriber
 * with a persistent session (clean=false; MQTT 5 with a session expiry) subscribed before the
 * burst, and counts what arrives.
 *
 * Variants (broker config):
 *   stock            our file with the queue lines removed: mosquitto 2.0.11 defaults
 *                    (max_queued_messages 1000, max_queued_bytes 0, max_inflight_messages 20)
 *   ours             config/mosquitto/mosquitto.conf as is
 *   ours-queue-1000  ours with only max_queued_messages put back to 1000
 *   ours-queue-0     ours with max_queued_messages 0 (not in the default run)
 * Scenarios:
 *   online   the subscriber is connected during the burst
 *   offline  the subscriber disconnects before the burst (an ingest restart) and drains afterwards
 *
 *   npx tsx test/bench/broker-burst.ts [--messages 50000] [--repeats 3] [--protocols 5,4]
 *       [--window 0] [--scenarios online,offline] [--variants stock,ours,ours-queue-1000]
 *
 * --window: publishes awaiting their PUBACK at once; 0 = the whole burst at once (worst case).
 * Exit code 1 if `ours` lost anything. Results and decision: docs/decisions/0002-broker-queue-limits.md
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, type MosquittoHandle, type MosquittoOverrides } from '../../devtools/local-services/mosquitto.js';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '50000' },
    repeats: { type: 'string', default: '3' },
    protocols: { type: 'string', default: '5,4' },
    variants: { type: 'string', default: 'stock,ours,ours-queue-1000' },
    scenarios: { type: 'string', default: 'online' },
    window: { type: 'string', default: '0' },
  },
});
const N = Number(args.messages);
const REPEATS = Number(args.repeats);
const PROTOCOLS = args.protocols.split(',').map(Number) as Array<4 | 5>;
const WINDOW = Number(args.window);

const VARIANTS: Record<string, MosquittoOverrides> = {
  stock: { max_queued_messages: null, max_queued_bytes: null, max_inflight_messages: null },
  ours: {},
  'ours-queue-1000': { max_queued_messages: 1000, max_queued_bytes: null },
  // "No count limit" spelled 0: as good in a burst, but see the decision record for its bug.
  'ours-queue-0': { max_queued_messages: 0 },
};

type Scenario = 'online' | 'offline';

interface Result {
  variant: string;
  scenario: Scenario;
  protocol: number;
  received: number;
  duplicates: number;
  msgPerSecond: number;
  rssGrowthMiB: number;
  droppedLog: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function rssKiB(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/**
 * The message handler goes on BEFORE the connection completes: a persistent session's queued
 * messages arrive right behind the CONNACK, in the same TCP read, and MQTT.js emits (and PUBACKs)
 * them before an `await mqtt.connectAsync()` continuation could attach a handler.
 */
async function connectSubscriber(
  broker: MosquittoHandle,
  protocol: 4 | 5,
  onMessage: (topic: string, payload: Buffer) => void,
): Promise<MqttClient> {
  const client = mqtt.connect(broker.url, {
    username: 'ingest',
    password: 'ingest-pw',
    clientId: 'bench-ingest',
    clean: false,
    protocolVersion: protocol,
    // MQTT 5 forgets the session at disconnect unless it has an expiry.
    ...(protocol === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    reconnectPeriod: 0,
  });
  client.on('message', onMessage);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

async function publishBurst(broker: MosquittoHandle): Promise<void> {
  const publisher = await mqtt.connectAsync(broker.url, {
    username: 'simulator',
    password: 'simulator-pw',
    clientId: 'bench-simulator',
    protocolVersion: 5,
    reconnectPeriod: 0,
  });
  const t0 = Date.now();
  const outstanding = new Set<Promise<unknown>>();
  for (let seq = 0; seq < N; seq++) {
    const body = JSON.stringify({ seq, ts: t0 + seq, values: { NH3N: 0.42, pH: 7.6, DO: 6.8 } });
    const ack = publisher.publishAsync(`tuojiang/water/S${seq % 200}`, body, { qos: 1 });
    outstanding.add(ack);
    void ack.finally(() => outstanding.delete(ack));
    if (WINDOW > 0 && outstanding.size >= WINDOW) await Promise.race(outstanding);
  }
  // Every message is PUBACKed by the broker, lost ones included.
  await Promise.all(outstanding);
  await publisher.endAsync();
}

async function runOnce(variant: string, scenario: Scenario, protocol: 4 | 5): Promise<Result> {
  const overrides = VARIANTS[variant];
  if (!overrides) throw new Error(`unknown variant ${variant}`);
  const broker = await startMosquitto({
    users: [
      { username: 'ingest', password: 'ingest-pw' },
      { username: 'simulator', password: 'simulator-pw' },
    ],
    overrides,
  });
  try {
    const seen = new Set<number>();
    let duplicates = 0;
    let first = 0;
    let last = Date.now();
    const onMessage = (_topic: string, payload: Buffer): void => {
      const seq = (JSON.parse(payload.toString('utf8')) as { seq: number }).seq;
      if (seen.has(seq)) duplicates++;
      else seen.add(seq);
      last = Date.now();
      first ||= last;
    };

    let subscriber = await connectSubscriber(broker, protocol, onMessage);
    await subscriber.subscribeAsync('tuojiang/water/#', { qos: 1 });
    if (scenario === 'offline') await subscriber.endAsync();

    const rssBefore = await rssKiB(broker.pid);
    await publishBurst(broker);
    const rssAfter = await rssKiB(broker.pid);

    if (scenario === 'offline') {
      subscriber = await connectSubscriber(broker, protocol, onMessage);
    }
    last = Date.now();
    while (seen.size < N && Date.now() - last < 3000) await sleep(100);
    await subscriber.endAsync();

    const log = await readFile(broker.logFile, 'utf8');
    return {
      variant,
      scenario,
      protocol,
      received: seen.size,
      duplicates,
      msgPerSecond: seen.size / Math.max(0.001, (last - first) / 1000),
      rssGrowthMiB: (rssAfter - rssBefore) / 1024,
      droppedLog: log.split('\n').filter((l) => /dropped/i.test(l)),
    };
  } finally {
    await broker.destroy();
  }
}

const results: Result[] = [];
for (const scenario of args.scenarios.split(',') as Scenario[]) {
  for (const protocol of PROTOCOLS) {
    for (const variant of args.variants.split(',')) {
      for (let i = 0; i < REPEATS; i++) {
        const r = await runOnce(variant, scenario, protocol);
        results.push(r);
        const lost = N - r.received;
        console.log(
          `${scenario.padEnd(7)} ${variant.padEnd(16)} sub MQTT ${protocol === 5 ? '5    ' : '3.1.1'} window ${String(WINDOW || 'all').padEnd(4)}` +
            `  received ${String(r.received).padStart(6)}/${N}  lost ${String(lost).padStart(5)} (${((100 * lost) / N).toFixed(2)} %)` +
            `  dup ${r.duplicates}  ${r.msgPerSecond.toFixed(0)} msg/s  broker RSS +${r.rssGrowthMiB.toFixed(1)} MiB`,
        );
        for (const line of r.droppedLog) console.log(`    broker log: ${line}`);
      }
    }
  }
}
process.exitCode = results.some((r) => r.variant === 'ours' && r.received < N) ? 1 : 0;
