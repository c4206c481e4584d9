import { afterEach, describe, expect, it } from 'vitest';
import { compareBurst, makeBurst, storedValues } from '../helpers/burst.js';
import { startIngestStack, untilSubscribed, waitFor, type IngestStack } from '../helpers/ingest-stack.js';
import type { IngestService } from '../../ingest/ingest-service.js';

/*
 * The ingest reads plain QoS 0/1 PUBLISH packets itself and leaves the rest (MQTT 5 properties,
 * QoS 2) to MQTT.js (lib/mqtt-publish-reader.ts, decision 0018 round 5). Both paths store every
 * reading once and acknowledge it: a second ingest on the same sessions is sent nothing again.
 */
let stack: IngestStack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function received(svc: IngestService): Promise<number> {
  return (await svc.metrics.readingsIn.get()).values.reduce((a, v) => a + v.value, 0);
}

describe('ingest: the two ways a PUBLISH is read', () => {
  it('stores QoS 1, QoS 0 and property-carrying messages once each, and acknowledges every QoS 1 one', async () => {
    stack = await startIngestStack();
    const s = stack;
    const first = await s.startIngest({ instance: 'paths', connections: 2 });
    const burst = makeBurst(600, Date.parse('2026-05-04T00:00:00Z'));
    const pub = await s.publisher('paths-publisher');
    await untilSubscribed(first.httpPort!);
    await Promise.all(
      burst.map((r, i) =>
        i % 3 === 0
          ? // MQTT 5 properties: left to MQTT.js.
            pub.publishAsync(r.topic, r.payload, {
              qos: 1,
              properties: { userProperties: { site: 'test' }, messageExpiryInterval: 3600, payloadFormatIndicator: true },
            })
          : pub.publishAsync(r.topic, r.payload, { qos: i % 3 === 1 ? 1 : 0 }),
      ),
    );
    const from = burst[0]!.ts;
    const to = burst[burst.length - 1]!.ts;
    await waitFor(async () => (await storedValues(s.influx, from, to)).size >= burst.length, 30_000, 'all 600 readings stored');
    expect(compareBurst(burst, await storedValues(s.influx, from, to))).toEqual({ missing: 0, doubled: 0, wrong: 0, extra: 0 });
    expect(await received(first)).toBe(600);
    // Each path read what it should: the plain messages by the ingest's reader, the 200 with properties by MQTT.js.
    const readBy = Object.fromEntries((await first.metrics.mqttMessages.get()).values.map((v) => [v.labels.read_by, v.value]));
    expect(readBy).toEqual({ ingest: 400, 'mqtt.js': 200 });

    // Same instance, same client ids, same broker sessions: a message the first never acknowledged comes again.
    await first.stop();
    const second = await s.startIngest({ instance: 'paths', connections: 2 });
    await untilSubscribed(second.httpPort!);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await received(second)).toBe(0);
  });
});
