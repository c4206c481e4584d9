/**
 * A station flooding the broker, in a process of its own as an attacker is (in the test's process it
 * would share the event loop with the ingest it floods). Publishes COUNT QoS 1 messages of BYTES
 * bytes to TOPIC, WINDOW awaiting the broker's PUBACK at once, then prints `{"done": n}` and exits.
 */
import mqtt from 'mqtt';

const env = (k: string, d?: string): string => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is required`);
  return v;
};
const count = Number(env('COUNT'));
const bytes = Number(env('BYTES', '9000'));
const windowSize = Number(env('WINDOW', '500'));
const topic = env('TOPIC');
const ts = Number(env('TS'));

const client = await mqtt.connectAsync(env('URL'), { username: env('USER'), password: env('PASS'), protocolVersion: 5 });
// Not a reading (an unknown key): what the ingest journals of it, unchecked, is a dead letter of BYTES.
const pad = 'x'.repeat(bytes);
let acked = 0;
await new Promise<void>((resolve, reject) => {
  let next = 0;
  let inflight = 0;
  const go = (): void => {
    while (inflight < windowSize && next < count) {
      inflight++;
      client.publish(topic, JSON.stringify({ ts: ts + next++, values: { NH3N: 0.3 }, pad }), { qos: 1 }, (err) => {
        if (err) return reject(err);
        inflight--;
        if (++acked === count) resolve();
        else go();
      });
    }
  };
  go();
});
process.stdout.write(`${JSON.stringify({ done: acked })}\n`);
await client.endAsync();
