/**
 * How an HTTP server of tuojiang says no: a JSON body `{"error": {code, message, hint}}` with the
 * status that fits the code, never a stack trace or a config detail.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { TuojiangError, type ErrorCode } from './errors.js';

export const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  TJ_HTTP_BAD_REQUEST: 400,
  TJ_HTTP_BAD_TARGET: 400,
  TJ_HTTP_BAD_BODY: 400,
  TJ_HTTP_HEADERS_TOO_LARGE: 431,
  TJ_HTTP_TIMEOUT: 408,
  TJ_HTTP_BODY_TOO_LARGE: 413,
  TJ_HTTP_NOT_FOUND: 404,
  TJ_HTTP_METHOD_NOT_ALLOWED: 405,
  TJ_AUTH_RATE_LIMITED: 429,
  TJ_AUTH_UNAVAILABLE: 503,
  TJ_CAP_UNAUTHORIZED: 401,
  TJ_OPERATOR_UNAUTHENTICATED: 401,
  TJ_ACK_BY_INVALID: 400,
  TJ_ACK_INVALID: 403,
  TJ_ACK_EXPIRED: 410,
  TJ_ALERT_NOT_FOUND: 404,
  TJ_BUREAU_NOT_NOTIFIED: 409,
  TJ_HTTP_INTERNAL: 500,
};

export const statusOf = (e: TuojiangError): number => HTTP_STATUS[e.code] ?? 400;

const SAFE_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

/** Retry-After for a refusal that says how long to wait (details.retryAfter, seconds). */
export function refusalHeaders(e: TuojiangError): Record<string, string> {
  const s = e.details?.retryAfter;
  return typeof s === 'number' ? { 'Retry-After': String(s) } : {};
}

export function refuse(res: ServerResponse, e: TuojiangError, headers: Record<string, string> = {}, status = statusOf(e)): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...SAFE_HEADERS, ...refusalHeaders(e), ...headers });
  res.end(JSON.stringify({ error: e.toJSON() }));
}

/** The same refusal as raw bytes, for a socket whose request never became a request object. */
export function rawRefusal(e: TuojiangError, status = statusOf(e)): string {
  const body = JSON.stringify({ error: e.toJSON() });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`
  );
}
