/**
 * Benchmark publisher, run as its own process so it does not share an event loop with what it
 * measures. Publishes COUNT QoS 1 messages as fast as the broker acknowledges them (WINDOW in
 * flight) and prints JSON lines: {"start": ms}, {"sent": n, "t": ms} every 1,000, {"done": ms, "cpuMs"}.
 *   MODE=readings: JSON readings from STATIONS stations `bench-000`… on tuojiang/water/{id}
 *   MODE=relay:    the same payloads on one topic no ingest reads (the broker's own relay rate)
 *   FORMAT=json (default) or hj212: the wire-contract JSON, or the same values as HJ 212 CN 2011 frames
 *   SPACING_MS: sensor time between two readings of a station (default 60000)
 */
import mqtt from 'mqtt';
import { benchFrame } from './tcp-publisher.js';

const env = (k: string, d?: string): string => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is required`);
  return v;
};
const count = Number(env('COUNT', '100000'));
const stations = Number(env('STATIONS', '100'));
const windowSize = Number(env('WINDOW', '1000'));
const mode = env('MODE', 'readings');
const t0 = Date.parse(env('T0', '2026-06-01T00:00:00Z'));
// Sensor time between two readings of a station: a minute, as stations send them.
const spacingMs = Number(env('SPACING_MS', '60000'));
const format = env('FORMAT', 'json');

const client = await mqtt.connectAsync(env('URL'), {
  username: env('USER'),
  password: env('PASS'),
  protocolVersion: 5,
  clientId: `bench-pub-${process.pid}`,
});
const messages: Array<[string, string]> = [];
for (let i = 0; i < count; i++) {
  const id = `bench-${String(i % stations).padStart(3, '0')}`;
  const ts = t0 + Math.floor(i / stations) * spacingMs;
  const topic = mode === 'relay' ? 'tuojiang/relay/bench' : `tuojiang/water/${id}`;
  messages.push([
    topic,
    format === 'hj212' ? benchFrame(i % stations, ts, i, 4) : JSON.stringify({ ts, values: { NH3N: (i % 997) / 100, pH: 7.4, DO: 8.1 } }),
  ]);
}
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
out({ start: Date.now() });
let inflight = 0;
let acked = 0;
await new Promise<void>((resolve, reject) => {
  let next = 0;
  const pump = () => {
    while (inflight < windowSize && next < count) {
      const [topic, payload] = messages[next++]!;
      inflight++;
      client.publish(topic, payload, { qos: 1 }, (err) => {
        if (err) return reject(err);
        inflight--;
        acked++;
        if (acked % 1000 === 0) out({ sent: acked, t: Date.now() });
        if (acked === count) resolve();
        else pump();
      });
    }
  };
  pump();
});
// Its own CPU, so a slow round can be told apart from a publisher starved of the CPU.
const cpu = process.cpuUsage();
out({ done: Date.now(), cpuMs: Math.round((cpu.user + cpu.system) / 1000) });
await client.endAsync();
