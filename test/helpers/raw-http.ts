/**
 * HTTP over a bare socket, for attack and fuzz tests: a client library (fetch, http.request) refuses
 * to send the malformed requests these tests are about, so the bytes are written as they are and
 * the answers parsed here. The parser knows only what a Node server sends: a status line, headers,
 * then Content-Length bytes or a chunked body (HEAD answers and 1xx/204/304 carry none).
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Incremental parser of the responses arriving on one connection. */
export class ResponseParser {
  private buf: Buffer = Buffer.alloc(0);
  readonly responses: RawResponse[] = [];

  /** methods: the methods of the requests sent, in order (a HEAD answer has no body). */
  constructor(private readonly methods: string[] = []) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
      if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(head[0])}`);
      const status = Number(m[1]);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let rest = this.buf.subarray(end + 4);
      if (status < 200) {
        this.buf = rest;
        continue;
      }
      const method = this.methods[this.responses.length] ?? 'GET';
      let body = '';
      if (method !== 'HEAD' && status !== 204 && status !== 304) {
        if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
          const parts: Buffer[] = [];
          let at = 0;
          for (;;) {
            const eol = rest.indexOf('\r\n', at);
            if (eol < 0) return;
            const size = parseInt(rest.subarray(at, eol).toString('latin1'), 16);
            if (rest.length < eol + 2 + size + 2) return;
            if (size === 0) {
              // No trailers from a Node server: the body ends with 0\r\n\r\n.
              rest = rest.subarray(eol + 4);
              break;
            }
            parts.push(rest.subarray(eol + 2, eol + 2 + size));
            at = eol + 2 + size + 2;
          }
          body = Buffer.concat(parts).toString('utf8');
        } else {
          const len = Number(headers['content-length'] ?? 0);
          if (rest.length < len) return;
          body = rest.subarray(0, len).toString('utf8');
          rest = rest.subarray(len);
        }
      }
      this.buf = rest;
      this.responses.push({ status, headers, body });
    }
  }
}

export interface Exchange {
  responses: RawResponse[];
  /** The server closed the connection (rather than the client giving up). */
  closedByServer: boolean;
  error?: string;
}

/**
 * Writes `data` on a fresh connection and collects the answers until the server closes, `expect`
 * answers arrived, or `idleMs` pass without a byte (then the client closes).
 */
export function exchange(
  port: number,
  data: string | Buffer,
  opts: { expect?: number; methods?: string[]; idleMs?: number; localAddress?: string } = {},
): Promise<Exchange> {
  return new Promise((resolve) => {
    const parser = new ResponseParser(opts.methods);
    const sock: Socket = connect({ port, host: '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    let settled = false;
    let error: string | undefined;
    const done = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve({ responses: parser.responses, closedByServer, ...(error ? { error } : {}) });
    };
    sock.setTimeout(opts.idleMs ?? 5000, () => done(false));
    sock.on('connect', () => sock.write(data));
    sock.on('data', (d: Buffer) => {
      try {
        parser.push(d);
      } catch (e) {
        error = (e as Error).message;
        done(false);
        return;
      }
      if (opts.expect !== undefined && parser.responses.length >= opts.expect) done(false);
    });
    sock.on('error', (e) => {
      error = e.message;
    });
    sock.on('close', () => done(true));
  });
}

/** One request line + headers (+ body), as bytes, with the framing exactly as given. */
export function rawRequest(method: string, target: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
