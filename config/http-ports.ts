/**
 * Which port each service's /healthz, /readyz and /metrics take. One variable per service, so one
 * environment (a .env file, a compose anchor) can serve all of them on one host: a shared HTTP_PORT
 * made the second service to start fail with EADDRINUSE.
 */
import type { Env } from './env.js';

interface Warn {
  warn(obj: object, msg: string): void;
}

/** The ingest: INGEST_HTTP_PORT, else the deprecated HTTP_PORT (with a warning), else the configured port (9464). */
export function ingestHttpPort(env: Env, configured: number, log?: Warn): number {
  if (env.INGEST_HTTP_PORT !== undefined) return env.INGEST_HTTP_PORT;
  if (env.HTTP_PORT !== undefined) {
    log?.warn(
      { variable: 'HTTP_PORT', use: 'INGEST_HTTP_PORT' },
      'HTTP_PORT is deprecated: set INGEST_HTTP_PORT (the notify worker has NOTIFY_HTTP_PORT)',
    );
    return env.HTTP_PORT;
  }
  return configured;
}

/**
 * The notify worker: NOTIFY_HTTP_PORT (docker-compose uses 9465), or no HTTP server when unset, since
 * several notify workers often share a host. HTTP_PORT is the ingest's and is never taken here.
 */
export function notifyHttpPort(env: Env, log?: Warn): number | undefined {
  if (env.NOTIFY_HTTP_PORT === undefined && env.HTTP_PORT !== undefined) {
    log?.warn(
      { variable: 'HTTP_PORT', use: 'NOTIFY_HTTP_PORT' },
      "HTTP_PORT is the ingest's: the notify worker ignores it; set NOTIFY_HTTP_PORT for its /healthz, /readyz, /metrics",
    );
  }
  return env.NOTIFY_HTTP_PORT;
}
