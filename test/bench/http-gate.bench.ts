/**
 * `npx tsx test/bench/http-gate.bench.ts`: what the HTTP commit gate of the WeCom and webhook
 * channels costs per request against a plain POST, both to the same local HTTP server in the same
 * run: a fresh connection and a held-back last byte (gated) against Node's fetch with keep-alive
 * (plain), and against a fresh connection without the gate. Prints milliseconds per request and
 * the ratios; the Redis commit itself (one script call) is not in it.
 */
import { request } from 'node:http';
import { gatedPost } from '../../alerts/notify/channels/http-post.js';
import { startHttpRecorder } from '../helpers/http-recorder.js';

const server = await startHttpRecorder({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' });
const body = Buffer.from(JSON.stringify({ msgtype: 'markdown', markdown: { content: '沱江'.repeat(600) } }));
const url = new URL(`${server.url}/hook`);
const N = 500;

function freshPost(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length), Connection: 'close' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function time(name: string, once: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 50; i++) await once();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await once();
  const ms = (performance.now() - t0) / N;
  console.log(`${name.padEnd(34)} ${ms.toFixed(3)} ms/request`);
  return ms;
}

const gated = await time('gated POST (fresh connection)', () =>
  gatedPost(url, { 'Content-Type': 'application/json' }, body, async () => undefined, AbortSignal.timeout(5000)),
);
const fresh = await time('plain POST (fresh connection)', freshPost);
const keepAlive = await time('fetch (keep-alive)', () =>
  fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } }).then((r) => r.text()),
);
console.log(
  `gated / plain fresh: ${(gated / fresh).toFixed(2)}; gated / fetch keep-alive: ${(gated / keepAlive).toFixed(2)}; ${body.length} bytes a body, ${N} requests each`,
);
await server.close();
