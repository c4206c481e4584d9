/**
 * `tuojiang api`: the small HTTP server the bureaus reach from their e-mails.
 *  - /ack/{alert}/{bureau}     signed acknowledgement links (api/ack-route.ts)
 *  - /cap/…                    CAP 1.2 documents, Restricted ones behind a signed link or an
 *                              operator token (api/cap-routes.ts)
 *  - /thresholds…              the operators' API, mounted through extraRoutes (api/thresholds-routes.ts)
 *  - GET /healthz, /readyz, /metrics
 * Every request error ends in a coded 4xx (lib/http-harden.ts, lib/http-target.ts): a hostile
 * request never ends the process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { RedisClient } from '../lib/redis-client.js';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { NotifyStore } from '../alerts/notify/store.js';
import type { OperatorDirectory } from '../alerts/threshold-store/operators.js';
import { TuojiangError } from '../lib/errors.js';
import { guardRequests } from '../lib/http-harden.js';
import { listen } from '../lib/http-listen.js';
import { parseTarget } from '../lib/http-target.js';
import type { Logger } from '../lib/logger.js';
import { handleAck } from './ack-route.js';
import { AuthFailureLimiter } from './auth-failures.js';
import { handleCap } from './cap-routes.js';
import type { IncidentPages } from './incident-view.js';
import { redisAnswers } from '../lib/readiness.js';

export interface ApiServerOptions {
  store: NotifyStore;
  redis: RedisClient;
  ackSecret: string;
  publicUrl: string;
  /** City id -> names, for the pages. */
  cities: Record<string, { zh: string; en: string }>;
  port?: number;
  host?: string;
  log?: Logger;
  /** Operator tokens, accepted for Restricted CAP documents. */
  operators?: OperatorDirectory;
  /** Shared with the extra routes, so a guesser is limited across all of them. */
  limiter?: AuthFailureLimiter;
  /** The registry served at /metrics (the limiter's counters live there). */
  metrics?: Registry;
  /**
   * More handlers, tried in order for any request the server does not answer itself (e.g. the
   * thresholds API of api/thresholds-routes.ts): each returns true when it answered.
   */
  extraRoutes?: Array<(req: IncomingMessage, res: ServerResponse) => Promise<boolean>>;
  /** The incident pages behind the ack links of incidents (without it they get the plain page). */
  incidents?: IncidentPages;
  /**
   * Serve /readyz and /metrics here too (default true). False when they have their own loopback
   * server (API_OPS_PORT): they say which dependency is down and how busy the service is, which is
   * nobody's business on the public port. /healthz stays, it says only "up".
   */
  opsOnPublicPort?: boolean;
}

export interface ApiServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

const OPS_PATHS = ['/healthz', '/readyz', '/metrics'];

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const metrics = o.metrics ?? new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'tuojiang_api_' });
  const acks = new Counter({
    name: 'tuojiang_api_acks_total',
    help: 'Acknowledgement requests by outcome',
    labelNames: ['outcome'],
    registers: [metrics],
  });
  const ackPages = new Counter({
    name: 'tuojiang_api_ack_pages_total',
    help: 'Acknowledgement pages shown: incident, plain (per alert), or incident-unreadable (stored incident damaged; plain page shown)',
    labelNames: ['page'],
    registers: [metrics],
  });
  const limiter = o.limiter ?? new AuthFailureLimiter({ registry: metrics, ...(o.log ? { log: o.log } : {}) });

  const json = (res: ServerResponse, status: number, x: unknown): void => {
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(JSON.stringify(x));
  };

  const server = createServer(
    guardRequests(async (req, res) => {
      const t = parseTarget(req.url);
      const method = req.method ?? 'GET';
      if (t.segments[0] === 'ack' && t.segments.length === 3) {
        if (method !== 'GET' && method !== 'POST')
          throw new TuojiangError('HTTP_METHOD_NOT_ALLOWED', `${method} ${t.pathname}: use GET (the page) or POST (acknowledge)`);
        return handleAck(req, res, t, {
          store: o.store,
          ackSecret: o.ackSecret,
          cities: o.cities,
          limiter,
          acks,
          ackPages,
          ...(o.incidents ? { incidents: o.incidents } : {}),
          ...(o.log ? { log: o.log } : {}),
        });
      }
      if (
        await handleCap(req, res, t, {
          store: o.store,
          ackSecret: o.ackSecret,
          publicUrl: o.publicUrl,
          limiter,
          ...(o.operators ? { operators: o.operators } : {}),
          ...(o.log ? { log: o.log } : {}),
        })
      )
        return;
      if (!OPS_PATHS.includes(t.pathname) || (o.opsOnPublicPort === false && t.pathname !== '/healthz')) {
        for (const route of o.extraRoutes ?? []) if (await route(req, res)) return;
        if (method !== 'GET') throw new TuojiangError('HTTP_METHOD_NOT_ALLOWED', `${method} ${t.pathname}`);
        throw new TuojiangError('HTTP_NOT_FOUND', `${method} ${t.pathname}`);
      }
      if (method !== 'GET') throw new TuojiangError('HTTP_METHOD_NOT_ALLOWED', `${method} ${t.pathname}: use GET`);
      if (t.pathname === '/healthz') return json(res, 200, { status: 'ok' });
      if (t.pathname === '/readyz') {
        const ok = await redisAnswers(o.redis);
        return json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', checks: { redis: ok } });
      }
      const text = await metrics.metrics();
      res.writeHead(200, { 'Content-Type': metrics.contentType });
      res.end(text);
    }, o.log),
  );
  return listen(server, o.port ?? 8080, o.host ?? '0.0.0.0', { metrics, ...(o.log ? { log: o.log } : {}) });
}
