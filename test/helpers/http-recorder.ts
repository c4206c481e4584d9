/**
 * A real HTTP server on a free loopback port that records every request (headers, exact body bytes,
 * when) and answers as the test scripts it: a queue of answers taken one per request, then the
 * default. An answer can also hang up after reading the body (the "no reply" case).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Wall clock when the body was complete. */
  at: number;
  /** What it was answered: a status, or 'hung-up'. */
  answered: number | 'hung-up';
}

export interface Answer {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Read the whole body, then destroy the connection without answering. */
  hangUp?: boolean;
}

export interface HttpRecorder {
  url: string;
  requests: RecordedRequest[];
  /** Answers for the next requests, in order (after them: the default). */
  script(...answers: Answer[]): void;
  waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpRecorder(defaultAnswer: Answer = { status: 200, body: '{}' }): Promise<HttpRecorder> {
  const requests: RecordedRequest[] = [];
  const queue: Answer[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a = queue.shift() ?? defaultAnswer;
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now(),
        answered: a.hangUp ? 'hung-up' : (a.status ?? 200),
      });
      if (a.hangUp) {
        req.socket.destroy();
        return;
      }
      res.writeHead(a.status ?? 200, { 'Content-Type': 'application/json', ...a.headers });
      res.end(a.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...answers) => queue.push(...answers),
    async waitFor(pred, timeoutMs, what) {
      const until = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > until)
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${requests.length} requests recorded)`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
