/**
 * Issue 15, item 3: memory of the ingest under a 20,000-message burst with Redis down. Prints the
 * peak held (un-journaled) count against its bound and the process's peak RSS; asserts nothing.
 * Run: npm run bench:held (BENCH_N, BENCH_RECEIVE_MAXIMUM, BENCH_CONNECTIONS to vary).
 */
import { makeBurst } from '../helpers/burst.js';
import { countPoints, publishAll, startIngestStack, waitFor } from '../helpers/ingest-stack.js';

const N = Number(process.env.BENCH_N ?? 20_000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 2);
const receiveMaximum = Number(process.env.BENCH_RECEIVE_MAXIMUM ?? 1000);

const stack = await startIngestStack();
try {
  const svc = await stack.startIngest({ connections, receiveMaximum });
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  await stack.services.redis.stop();
  const burst = makeBurst(N, Date.parse('2026-05-01T00:00:00Z'));
  const pub = await stack.publisher('held-bound-bench');
  const t0 = Date.now();
  await publishAll(pub, burst, 1000);
  const published = Date.now() - t0;
  await new Promise((r) => setTimeout(r, 3000));
  const held = (await svc.metrics.messagesHeld.get()).values[0]?.value ?? 0;
  const peakHeld = (await svc.metrics.messagesHeldPeak.get()).values[0]?.value ?? 0;
  const pauses = (await svc.metrics.readPauses.get()).values[0]?.value ?? 0;
  await stack.services.redis.start();
  const t1 = Date.now();
  const from = burst[0]!.ts;
  const to = burst[burst.length - 1]!.ts;
  await waitFor(
    async () => (await countPoints(stack.influx, 'water_quality', 'NH3N', `time >= ${from}ms AND time <= ${to}ms`)) >= N,
    300_000,
    'every reading stored',
    250,
  );
  clearInterval(rssTimer);
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(
    `burst ${N} with Redis down, ${connections} connections x receive_maximum ${receiveMaximum} = bound ${connections * receiveMaximum}`,
  );
  console.log(`  published to the broker in ${published} ms`);
  console.log(`  held while down: ${held}, peak held: ${peakHeld}, read pauses: ${pauses}`);
  console.log(`  RSS before ${mb(rssBefore)} MiB, peak ${mb(peakRss)} MiB (whole process: ingest, publisher and test harness)`);
  console.log(`  after Redis came back: all ${N} stored in ${Date.now() - t1} ms`);
} finally {
  await stack.stop();
}
