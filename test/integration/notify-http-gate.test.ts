/**
 * The HTTP commit gate the WeCom and webhook channels share, against a real HTTP server: the server
 * can have a complete body only after the commit; a failure before it is safe to retry, one after
 * it is not.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatedPost, PostError } from '../../alerts/notify/channels/http-post.js';
import { startHttpRecorder, type HttpRecorder } from '../helpers/http-recorder.js';

let server: HttpRecorder;
beforeAll(async () => {
  server = await startHttpRecorder({ status: 200, body: '{"ok":true}' });
});
afterAll(async () => server?.close());

const body = Buffer.from(JSON.stringify({ notice: '沱江氨氮 5.1 mg/L', pad: 'x'.repeat(100_000) }));
const post = (url: string, commit: () => Promise<void>) =>
  gatedPost(new URL(url), { 'Content-Type': 'application/json' }, body, commit, AbortSignal.timeout(10_000));

describe('gated HTTP POST', () => {
  it('the server has the whole body only after the commit, and its answer comes back', async () => {
    const before = server.requests.length;
    let seenAtCommit = -1;
    const answer = await post(`${server.url}/hook`, async () => {
      // Give a server that could act on a partial body every chance to show it.
      await new Promise((r) => setTimeout(r, 200));
      seenAtCommit = server.requests.length - before;
    });
    expect(seenAtCommit).toBe(0);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('{"ok":true}');
    expect(server.requests.at(-1)!.body.equals(body)).toBe(true);
  });

  it('a commit that fails leaves the server without a complete body: safe to send again', async () => {
    const before = server.requests.length;
    const err = await post(`${server.url}/hook`, async () => {
      throw new Error('lease lost');
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PostError);
    expect((err as PostError).committed).toBe(false);
    expect((err as PostError).message).toContain('not handed over: lease lost');
    // Let the server notice the broken-off request; it must not have recorded it.
    await new Promise((r) => setTimeout(r, 200));
    expect(server.requests.length).toBe(before);
  });

  it('nobody listening: not committed, so retried; no answer after the body: committed, so never sent again', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    let committed = false;
    const refused = await post(`http://127.0.0.1:${port}/cgi-bin/webhook/send?key=robot-key-secret`, async () => {
      committed = true;
    }).catch((e: unknown) => e as PostError);
    expect(refused).toMatchObject({ committed: false });
    expect(committed).toBe(false);
    // The host may be named, the robot's key (in the query) never.
    expect((refused as PostError).message).not.toContain('robot-key-secret');

    server.script({ hangUp: true });
    const hungUp = await post(`${server.url}/hook`, async () => undefined).catch((e: unknown) => e as PostError);
    expect(hungUp).toMatchObject({ committed: true });
    expect(server.requests.at(-1)!.answered).toBe('hung-up');
  });
});
