/**
 * `tuojiang api`: the small HTTP server the bureaus reach from their e-mails.
 *  - GET  /ack/{alert}/{bureau}?exp&sig   a confirmation page (mail scanners follow links: a GET
 *                                         never acknowledges anything)
 *  - POST /ack/{alert}/{bureau}           records the bureau's acknowledgement (form or JSON: exp,
 *                                         sig, by); JSON answer when asked for
 *  - GET  /cap/{event}.xml                the CAP 1.2 message of one transition
 *  - GET  /cap/alert/{alert}              the CAP messages of one alert (JSON index)
 *  - GET  /healthz, /readyz, /metrics
 * Links are signed (alerts/notify/links.ts), so the server needs ACK_SECRET and no login.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { capUrl, verifyAck } from '../alerts/notify/links.js';
import { cstTime } from '../alerts/notify/render.js';
import { CAP_MIME_TYPE } from '../alerts/notify/cap.js';
import type { NotifyStore } from '../alerts/notify/store.js';
import { acknowledge } from '../alerts/notify/ack.js';
import { isNotifyError } from '../alerts/notify/errors.js';
import { listen } from '../lib/http-listen.js';

export interface ApiServerOptions {
  store: NotifyStore;
  redis: Redis;
  ackSecret: string;
  publicUrl: string;
  /** City id -> names, for the pages. */
  cities: Record<string, { zh: string; en: string }>;
  port?: number;
  host?: string;
  log?: Logger;
  /**
   * More handlers, tried in order for any request the server does not answer itself (e.g. the
   * thresholds API of api/thresholds-routes.ts): each returns true when it answered.
   */
  extraRoutes?: Array<(req: IncomingMessage, res: ServerResponse) => Promise<boolean>>;
}

export interface ApiServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024;

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)}</title></head>`
    + `<body style="font-family:sans-serif;max-width:40em;margin:2em auto;line-height:1.5">${body}</body></html>`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'tuojiang_api_' });
  const acks = new Counter({ name: 'tuojiang_api_acks_total', help: 'Acknowledgement requests by outcome', labelNames: ['outcome'], registers: [metrics] });

  const send = (res: ServerResponse, status: number, body: string, type = 'text/html; charset=utf-8'): void => {
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, x: unknown): void => send(res, status, JSON.stringify(x), 'application/json; charset=utf-8');
  const cityName = (id: string): string => (o.cities[id] ? `${o.cities[id].zh} ${o.cities[id].en}` : id);

  const handleAck = async (req: IncomingMessage, res: ServerResponse, alertId: string, bureau: string, url: URL): Promise<void> => {
    const wantsJson = (req.headers.accept ?? '').includes('application/json') || (req.headers['content-type'] ?? '').includes('application/json');
    let params: Record<string, string> = Object.fromEntries(url.searchParams);
    if (req.method === 'POST') {
      const body = await readBody(req);
      const ct = req.headers['content-type'] ?? '';
      params = { ...params, ...(ct.includes('application/json') ? (JSON.parse(body || '{}') as Record<string, string>) : Object.fromEntries(new URLSearchParams(body))) };
    }
    const exp = Number(params.exp);
    const check = verifyAck(o.ackSecret, alertId, bureau, exp, params.sig ?? '');
    if (check !== 'ok') {
      acks.inc({ outcome: check });
      const status = check === 'expired' ? 410 : 403;
      const msg = check === 'expired' ? '确认链接已过期 / This acknowledgement link has expired.' : '确认链接无效 / This acknowledgement link is not valid.';
      return wantsJson ? json(res, status, { error: check }) : send(res, status, page('Tuojiang', `<p>${esc(msg)}</p><p>tuojiang alerts ack ${esc(alertId)} --bureau ${esc(bureau)}</p>`));
    }
    const a = await o.store.alert(alertId);
    if (!a) {
      acks.inc({ outcome: 'unknown' });
      return wantsJson ? json(res, 404, { error: 'unknown alert' }) : send(res, 404, page('Tuojiang', '<p>告警不存在 / Unknown alert.</p>'));
    }
    const summary = `${a.info.station} ${a.info.parameter} (${a.info.rule}) — ${cstTime(a.info.firstAt)} CST — ${a.state === 'firing' ? '告警中 firing' : '已解除 resolved'}`;
    if (req.method === 'GET') {
      const existing = a.acks[bureau];
      const done = existing ? `<p>已由 ${esc(existing.by)} 于 ${esc(cstTime(existing.at))} 确认 / Acknowledged by ${esc(existing.by)} at ${esc(cstTime(existing.at))} CST.</p>` : '';
      const form = existing ? '' : `<form method="post"><input type="hidden" name="exp" value="${exp}"><input type="hidden" name="sig" value="${esc(params.sig ?? '')}">`
        + `<p><label>确认人 / Name: <input name="by" required maxlength="80"></label></p><p><button type="submit">确认收到 / Acknowledge</button></p></form>`;
      return send(res, 200, page('确认告警 / Acknowledge', `<h1>${esc(cityName(bureau))}</h1><p>${esc(summary)}</p><p><code>${esc(alertId)}</code></p>${done}${form}`));
    }
    try {
      const by = (params.by ?? '').trim().slice(0, 80) || 'link';
      const r = await acknowledge(o.store, alertId, bureau, by, 'link');
      acks.inc({ outcome: r.status });
      if (wantsJson) return json(res, 200, { status: r.status, ack: r.ack });
      return send(res, 200, page('已确认 / Acknowledged', `<h1>${esc(cityName(bureau))}</h1><p>${esc(summary)}</p>`
        + `<p>已确认 / Acknowledged: ${esc(r.ack.by)}, ${esc(cstTime(r.ack.at))} CST${r.status === 'already' ? '（此前已确认 / earlier）' : ''}</p>`));
    } catch (e) {
      if (isNotifyError(e, 'BUREAU_NOT_NOTIFIED')) return wantsJson ? json(res, 409, { error: 'bureau not notified' }) : send(res, 409, page('Tuojiang', `<p>${esc((e as Error).message)}</p>`));
      throw e;
    }
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
    void (async () => {
      if (parts[0] === 'ack' && parts.length === 3 && (req.method === 'GET' || req.method === 'POST')) return handleAck(req, res, parts[1] as string, parts[2] as string, url);
      if (parts[0] !== 'cap' && !['/healthz', '/readyz', '/metrics'].includes(url.pathname)) {
        for (const route of o.extraRoutes ?? []) if (await route(req, res)) return;
      }
      if (req.method !== 'GET') return json(res, 405, { error: 'method not allowed' });
      if (parts[0] === 'cap' && parts[1] === 'alert' && parts.length === 3) {
        const list = await o.store.capsOf(parts[2] as string);
        if (list.length === 0) return json(res, 404, { error: 'unknown alert' });
        return json(res, 200, list.map((c) => ({ ...c, url: capUrl(o.publicUrl, c.eventId) })));
      }
      if (parts[0] === 'cap' && parts.length === 2 && (parts[1] as string).endsWith('.xml')) {
        const xml = await o.store.cap((parts[1] as string).slice(0, -4));
        return xml ? send(res, 200, xml, `${CAP_MIME_TYPE}; charset=utf-8`) : json(res, 404, { error: 'no such CAP message' });
      }
      if (url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
      if (url.pathname === '/readyz') {
        const ok = await o.redis.ping().then(() => true, () => false);
        return json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', checks: { redis: ok } });
      }
      if (url.pathname === '/metrics') return send(res, 200, await metrics.metrics(), metrics.contentType);
      return json(res, 404, { error: 'not found' });
    })().catch((e: unknown) => {
      const status = (e as { status?: number }).status ?? (e instanceof SyntaxError ? 400 : 500);
      o.log?.warn({ err: (e as Error).message, path: url.pathname }, 'api request failed');
      if (!res.headersSent) json(res, status, { error: status === 500 ? 'internal error' : (e as Error).message });
      else res.end();
    });
  });
  return listen(server, o.port ?? 8080, o.host ?? '0.0.0.0');
}
