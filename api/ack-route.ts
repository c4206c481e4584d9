/**
 * GET  /ack/{alert}/{bureau}?exp&sig   a confirmation page (mail scanners follow links: a GET never
 *                                      acknowledges anything)
 * POST /ack/{alert}/{bureau}           records the bureau's acknowledgement (form or JSON: exp, sig,
 *                                      by); JSON answer when asked for
 * The signature is checked before anything else is read from the store; a wrong one counts as a
 * failed authentication of the client's address.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Counter } from 'prom-client';
import { ACK_BY_MAX, ackByName, acknowledge } from '../alerts/notify/ack.js';
import { verifyAck } from '../alerts/notify/links.js';
import { cstTime } from '../alerts/notify/render.js';
import type { NotifyStore } from '../alerts/notify/store.js';
import { TuojiangError, isTuojiangError } from '../lib/errors.js';
import { parseJsonObject, readBody } from '../lib/http-body.js';
import { refusalHeaders, refuse, statusOf } from '../lib/http-refusal.js';
import type { RequestTarget } from '../lib/http-target.js';
import type { Logger } from '../lib/logger.js';
import type { AuthFailureLimiter } from './auth-failures.js';
import { esc, page } from './html.js';
import { incidentPage } from './incident-page.js';
import { incidentView, type IncidentPages } from './incident-view.js';
import { remoteOf } from './operator-auth.js';

export interface AckRouteContext {
  store: NotifyStore;
  ackSecret: string;
  cities: Record<string, { zh: string; en: string }>;
  limiter?: AuthFailureLimiter;
  acks: Counter<'outcome'>;
  ackPages?: Counter<'page'>;
  /** What the page of an incident needs; without it an incident gets the plain page. */
  incidents?: IncidentPages;
  log?: Logger;
}

// The pages load nothing and run nothing: a name that slipped past escaping still could not run,
// and no other site may frame the form (a click on a hidden acknowledge button).
const HTML_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'Referrer-Policy': 'no-referrer',
};

function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = 'text/html; charset=utf-8',
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...(type.startsWith('text/html') ? HTML_HEADERS : {}),
    ...headers,
  });
  res.end(body);
}

/** Form or JSON fields, each a string or left out; anything else is refused with its name. */
async function postedFields(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req);
  if ((req.headers['content-type'] ?? '').includes('application/json')) return parseJsonObject(body);
  return Object.fromEntries(new URLSearchParams(body));
}

export async function handleAck(req: IncomingMessage, res: ServerResponse, t: RequestTarget, ctx: AckRouteContext): Promise<void> {
  const [, alertId, bureau] = t.segments as [string, string, string];
  const wantsJson =
    (req.headers.accept ?? '').includes('application/json') || (req.headers['content-type'] ?? '').includes('application/json');
  const cityName = (id: string): string => (ctx.cities[id] ? `${ctx.cities[id].zh} ${ctx.cities[id].en}` : id);
  const fail = (e: TuojiangError, html: string, headers: Record<string, string> = {}): void => {
    if (wantsJson) refuse(res, e);
    else
      send(
        res,
        statusOf(e),
        page(
          'Tuojiang',
          `<p>${esc(html)}</p><p><code>${esc(e.code)}</code></p><p>tuojiang alerts ack ${esc(alertId)} --bureau ${esc(bureau)}</p>`,
        ),
        undefined,
        headers,
      );
  };
  try {
    const params: Record<string, unknown> = { ...Object.fromEntries(t.query), ...(req.method === 'POST' ? await postedFields(req) : {}) };
    const exp = Number(params.exp);
    ctx.limiter?.check(remoteOf(req));
    const check = verifyAck(ctx.ackSecret, alertId, bureau, exp, params.sig);
    if (check !== 'ok') {
      ctx.acks.inc({ outcome: check });
      if (check === 'invalid') ctx.limiter?.failed(remoteOf(req), 'ack-link', t.pathname);
      return check === 'expired'
        ? fail(
            new TuojiangError('ACK_EXPIRED', 'this acknowledgement link has expired'),
            '确认链接已过期 / This acknowledgement link has expired.',
          )
        : fail(
            new TuojiangError('ACK_INVALID', 'this acknowledgement link is not valid'),
            '确认链接无效 / This acknowledgement link is not valid.',
          );
    }
    const a = await ctx.store.alert(alertId);
    if (!a) {
      ctx.acks.inc({ outcome: 'unknown' });
      return fail(new TuojiangError('ALERT_NOT_FOUND', 'unknown alert'), '告警不存在 / Unknown alert.');
    }
    const summary = `${a.info.station} ${a.info.parameter} (${a.info.rule}) — ${cstTime(a.info.firstAt)} CST — ${a.state === 'firing' ? '告警中 firing' : '已解除 resolved'}`;
    const view = ctx.incidents
      ? await incidentView(ctx.incidents, alertId, ctx.log, () => ctx.ackPages?.inc({ page: 'incident-unreadable' }))
      : undefined;
    if (!wantsJson) ctx.ackPages?.inc({ page: view ? 'incident' : 'plain' });
    const sig = String(params.sig);
    if (req.method === 'GET' && view) {
      const form = a.acks[bureau] ? null : { exp, sig };
      return send(res, 200, incidentPage({ ...view, record: a, bureau, form, now: ctx.incidents?.now?.() ?? Date.now() }));
    }
    if (req.method === 'GET') {
      const existing = a.acks[bureau];
      const done = existing
        ? `<p>已由 ${esc(existing.by)} 于 ${esc(cstTime(existing.at))} 确认 / Acknowledged by ${esc(existing.by)} at ${esc(cstTime(existing.at))} CST.</p>`
        : '';
      const form = existing
        ? ''
        : `<form method="post"><input type="hidden" name="exp" value="${exp}"><input type="hidden" name="sig" value="${esc(String(params.sig))}">` +
          `<p><label>确认人 / Name: <input name="by" required maxlength="${ACK_BY_MAX}"></label></p><p><button type="submit">确认收到 / Acknowledge</button></p></form>`;
      return send(
        res,
        200,
        page(
          '确认告警 / Acknowledge',
          `<h1>${esc(cityName(bureau))}</h1><p>${esc(summary)}</p><p><code>${esc(alertId)}</code></p>${done}${form}`,
        ),
      );
    }
    const r = await acknowledge(ctx.store, alertId, bureau, ackByName(params.by, 'link'), 'link');
    ctx.acks.inc({ outcome: r.status });
    if (wantsJson) return send(res, 200, JSON.stringify({ status: r.status, ack: r.ack }), 'application/json; charset=utf-8');
    if (view) {
      // Read again: the page shows this acknowledgement among the others, as they stand now.
      const now = (await ctx.store.alert(alertId)) ?? a;
      return send(
        res,
        200,
        incidentPage({
          ...view,
          record: now,
          bureau,
          form: null,
          acknowledged: { ack: r.ack, earlier: r.status === 'already' },
          now: ctx.incidents?.now?.() ?? Date.now(),
        }),
      );
    }
    return send(
      res,
      200,
      page(
        '已确认 / Acknowledged',
        `<h1>${esc(cityName(bureau))}</h1><p>${esc(summary)}</p>` +
          `<p>已确认 / Acknowledged: ${esc(r.ack.by)}, ${esc(cstTime(r.ack.at))} CST${r.status === 'already' ? '（此前已确认 / earlier）' : ''}</p>`,
      ),
    );
  } catch (e) {
    if (!isTuojiangError(e) || e.code === 'TJ_HTTP_BAD_REQUEST') throw e;
    if (e.code === 'TJ_ACK_BY_INVALID') ctx.acks.inc({ outcome: 'bad-name' });
    return fail(e, e.message, refusalHeaders(e));
  }
}
