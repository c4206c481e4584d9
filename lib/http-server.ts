import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { listen, type Listening } from './http-listen.js';
import { READINESS_BOUND_MS, within } from './readiness.js';

export interface HealthSource {
  /** Alive: the process runs its loops. */
  healthy(): boolean;
  /** Ready: its dependencies answer; the reasons when not; `info`: what the process holds (the ingest's partition). */
  ready(): Promise<{ ready: boolean; checks: Record<string, boolean>; info?: Record<string, unknown> }>;
}

/**
 * /healthz, /readyz and /metrics on one small HTTP server. Loopback unless the caller names another
 * host: these endpoints have no authentication.
 */
export async function startOpsServer(port: number, health: HealthSource, metrics: Registry, host = '127.0.0.1'): Promise<Listening> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, JSON.stringify({ error: 'method not allowed' }));
    if (path === '/healthz') {
      const ok = health.healthy();
      return send(ok ? 200 : 503, JSON.stringify({ status: ok ? 'ok' : 'failing' }));
    }
    if (path === '/readyz') {
      // Each source bounds its own probes; this bound is for the one that forgets: a readiness
      // probe that hangs tells the orchestrator nothing, an answer of "not ready" tells it the truth.
      const late = { ready: false, checks: {}, error: `readiness checks did not answer within ${READINESS_BOUND_MS} ms` };
      within<{ ready: boolean; checks: Record<string, boolean>; info?: Record<string, unknown>; error?: string }>(
        READINESS_BOUND_MS,
        () => health.ready().catch((e: unknown) => ({ ready: false, checks: {}, error: (e as Error).message })),
        late,
      ).then(
        (r) =>
          send(
            r.ready ? 200 : 503,
            JSON.stringify({
              status: r.ready ? 'ready' : 'not ready',
              checks: r.checks,
              ...(r.info ? { info: r.info } : {}),
              ...(r.error ? { error: r.error } : {}),
            }),
          ),
        (e: unknown) => send(503, JSON.stringify({ status: 'not ready', error: (e as Error).message })),
      );
      return;
    }
    if (path === '/metrics') {
      metrics.metrics().then(
        (text) => send(200, text, metrics.contentType),
        (e: unknown) => send(500, JSON.stringify({ error: (e as Error).message })),
      );
      return;
    }
    send(404, JSON.stringify({ error: 'not found', paths: ['/healthz', '/readyz', '/metrics'] }));
  });
  return listen(server, port, host);
}
