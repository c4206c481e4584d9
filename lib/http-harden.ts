/**
 * What every HTTP server of tuojiang does against hostile clients, whatever its routes: bounded
 * time to send headers and a whole request, bounded headers and connections, a coded 4xx for every
 * request the parser rejects, CONNECT refused, and no exception from a route ever reaching the
 * event loop (where it would end the process and every other client's service with it).
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter, type Registry } from 'prom-client';
import { TuojiangError, isTuojiangError } from './errors.js';
import type { Logger } from './logger.js';
import { rawRefusal, refuse } from './http-refusal.js';

export interface HttpLimits {
  /** From the first byte of a request to the end of its headers (slowloris). */
  headersTimeoutMs: number;
  /** From the first byte to the end of the body. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeadersCount: number;
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxHeadersCount: 100,
  maxConnections: 1024,
};

const positive = (v: string | undefined, fallback: number): number => {
  const n = Number(v);
  return v !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
};

/** HTTP_HEADERS_TIMEOUT_MS and HTTP_REQUEST_TIMEOUT_MS override the defaults. */
export function httpLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): HttpLimits {
  return {
    ...DEFAULT_HTTP_LIMITS,
    headersTimeoutMs: positive(env.HTTP_HEADERS_TIMEOUT_MS, DEFAULT_HTTP_LIMITS.headersTimeoutMs),
    requestTimeoutMs: positive(env.HTTP_REQUEST_TIMEOUT_MS, DEFAULT_HTTP_LIMITS.requestTimeoutMs),
  };
}

export interface HardenOptions {
  limits?: HttpLimits;
  log?: Logger;
  /** Where tuojiang_http_refused_requests_total is counted. */
  metrics?: Registry;
}

function refusedCounter(metrics: Registry | undefined): Counter<'code'> | undefined {
  if (!metrics) return undefined;
  const name = 'tuojiang_http_refused_requests_total';
  return (
    (metrics.getSingleMetric(name) as Counter<'code'> | undefined) ??
    new Counter({
      name,
      help: 'Requests refused before any route: malformed HTTP, oversized headers, timeouts, CONNECT',
      labelNames: ['code'],
      registers: [metrics],
    })
  );
}

function parserRefusal(err: Error & { code?: string }): TuojiangError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new TuojiangError('HTTP_TIMEOUT', 'the request was not complete in time');
  if (err.code === 'HPE_HEADER_OVERFLOW') return new TuojiangError('HTTP_HEADERS_TOO_LARGE', 'the request headers are too large');
  // llhttp's reason names the rule broken (e.g. "Invalid character in chunk size"), nothing of ours.
  const reason = (err as { reason?: string }).reason ?? err.message;
  return new TuojiangError('HTTP_BAD_REQUEST', `the request is not valid HTTP/1.1: ${reason}${err.code ? ` (${err.code})` : ''}`);
}

export function hardenHttpServer(server: Server, o: HardenOptions = {}): void {
  const limits = o.limits ?? httpLimitsFromEnv();
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxHeadersCount = limits.maxHeadersCount;
  server.maxConnections = limits.maxConnections;
  // Node checks both timeouts only this often (30 s by default); read when the server starts listening.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    100,
    Math.min(1000, Math.floor(server.headersTimeout / 4)),
  );
  const refused = refusedCounter(o.metrics);

  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const e = parserRefusal(err);
    refused?.inc({ code: e.code });
    o.log?.debug({ code: e.code, err: err.message }, 'http request refused');
    // A response already under way on this connection (pipelining) cannot be followed by raw bytes.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
    if (inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    socket.end(rawRefusal(e));
  });

  // Without a listener Node drops CONNECT silently; this is not a proxy, so say so.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    const e = new TuojiangError('HTTP_METHOD_NOT_ALLOWED', 'CONNECT is not served: this is not a proxy');
    refused?.inc({ code: e.code });
    socket.on('error', () => undefined);
    socket.end(rawRefusal(e));
  });
}

/**
 * A request listener whose route errors always end in an answer: a TuojiangError in its status
 * (4xx), anything else a logged 500 TJ_INTERNAL without detail.
 */
export function guardRequests(handler: (req: IncomingMessage, res: ServerResponse) => unknown, log?: Logger): RequestListener {
  const fail = (req: IncomingMessage, res: ServerResponse, e: unknown): void => {
    if (isTuojiangError(e)) {
      if (e.code === 'TJ_HTTP_BAD_REQUEST') {
        // The body broke off: clientError (if the parser failed) answers the socket.
        if (!res.headersSent && req.socket.writable) refuse(res, e, { Connection: 'close' });
        return;
      }
      refuse(res, e);
      return;
    }
    log?.error(
      { err: (e as Error)?.message, stack: (e as Error)?.stack, method: req.method, path: (req.url ?? '').split('?')[0] },
      'http request failed',
    );
    refuse(res, new TuojiangError('HTTP_INTERNAL', 'internal error'));
  };
  return (req, res) => {
    try {
      const r = handler(req, res);
      if (r instanceof Promise) r.catch((e: unknown) => fail(req, res, e));
    } catch (e) {
      fail(req, res, e);
    }
  };
}
