/**
 * One HTTP(S) POST with the commit gate of the SMTP transport, for the webhook-based channels. The
 * request announces its body's length and sends all of it but the last byte; `commit()` (the
 * outbox's `sending -> committing`) runs once the connection is up and before that byte, so:
 *  - a failure before the commit (no connection, refused, reset, TLS) means the other side cannot
 *    have acted on a body it never completed: safe to send again;
 *  - after the commit, a response says what happened; no response (connection lost, timeout)
 *    leaves the outcome unknown, and the caller must not send again.
 * The URL is never put in an error message: a WeCom robot's URL carries the robot's key.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  /** At most MAX_ANSWER bytes of the answer's body. */
  body: string;
}

export const MAX_ANSWER = 64 * 1024;

/** A failed POST: whether the body had been completed (the commit passed) when it failed. */
export class PostError extends Error {
  constructor(
    message: string,
    readonly committed: boolean,
  ) {
    super(message);
    this.name = 'PostError';
  }
}

export async function gatedPost(
  url: URL,
  headers: Record<string, string>,
  body: Buffer,
  commit: () => Promise<void>,
  signal: AbortSignal,
): Promise<HttpAnswer> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PostError(`not an http(s) URL (${url.protocol})`, false);
  if (body.length === 0) throw new PostError('empty body', false);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  let committed = false;
  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(new PostError(message, committed));
    };
    const req = request(url, {
      method: 'POST',
      headers: { ...headers, 'Content-Length': String(body.length), Connection: 'close' },
      signal,
      agent: false,
    });
    req.on('error', (e: Error & { code?: string }) =>
      fail(e.name === 'AbortError' ? 'timed out' : `${e.code ?? e.name}: ${e.message.replace(/https?:\/\/\S+/g, '<url>')}`),
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size >= MAX_ANSWER) return;
        chunks.push(c);
        size += c.length;
      });
      res.on('error', (e: Error) => fail(`answer broken off: ${e.message}`));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER) });
      });
    });
    req.on('socket', (socket) => {
      const ready = (): void => {
        req.write(body.subarray(0, body.length - 1));
        commit().then(
          () => {
            committed = true;
            req.end(body.subarray(body.length - 1));
          },
          (e: unknown) => fail(`not handed over: ${(e as Error).message}`),
        );
      };
      // A fresh socket (agent: false): wait until it is connected (and TLS is up) before the commit.
      if (url.protocol === 'https:') socket.once('secureConnect', ready);
      else if (socket.connecting) socket.once('connect', ready);
      else ready();
    });
  });
}

/** Seconds or an HTTP date in Retry-After, as milliseconds from now; undefined if absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
