/**
 * GET /cap/{event}.xml        the CAP 1.2 message of one transition
 * GET /cap/alert/{alert}      the CAP messages of one alert (JSON index, operators only)
 *
 * A document whose <scope> is Public is served to anyone. Any other (the default is Restricted:
 * "for the Chengdu and Ziyang environment bureaus") needs the signed link of the notice e-mail
 * (?exp&sig, alerts/notify/links.ts) or an operator token; the event ids are predictable, so the id
 * alone is no secret. Without credentials the answer is 401 whether or not the document exists,
 * so nobody learns which alerts fired by probing ids.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CAP_MIME_TYPE } from '../alerts/notify/cap.js';
import { capUrl, verifyCap } from '../alerts/notify/links.js';
import type { NotifyStore } from '../alerts/notify/store.js';
import type { OperatorDirectory } from '../alerts/threshold-store/operators.js';
import { TuojiangError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { RequestTarget } from '../lib/http-target.js';
import type { AuthFailureLimiter } from './auth-failures.js';
import { authenticateOperator, bearer, remoteOf } from './operator-auth.js';

export interface CapRouteContext {
  store: NotifyStore;
  ackSecret: string;
  publicUrl: string;
  operators?: OperatorDirectory;
  limiter?: AuthFailureLimiter;
  log?: Logger;
  /** How long the links in the index stay valid (default 7 days). */
  linkValidMs?: number;
}

const isPublic = (xml: string): boolean => /<scope>\s*Public\s*<\/scope>/.test(xml);

const unauthorized = (why: string): TuojiangError => new TuojiangError('CAP_UNAUTHORIZED', why);

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

function operatorOnly(req: IncomingMessage, t: RequestTarget, ctx: CapRouteContext): void {
  if (!bearer(req)) throw unauthorized('this CAP document is Restricted: use the signed link of the notice e-mail or an operator token');
  if (!ctx.operators) throw unauthorized('operator tokens are not accepted by this server');
  authenticateOperator(req, t.pathname, ctx.operators, ctx.limiter, ctx.log);
}

/** true when the request was for /cap/…; throws coded refusals. */
export async function handleCap(req: IncomingMessage, res: ServerResponse, t: RequestTarget, ctx: CapRouteContext): Promise<boolean> {
  const [root, a, b] = t.segments;
  if (root !== 'cap') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD')
    throw new TuojiangError('HTTP_METHOD_NOT_ALLOWED', `${req.method ?? ''} ${t.pathname}: CAP documents are read with GET`);

  if (a === 'alert' && t.segments.length === 3) {
    operatorOnly(req, t, ctx);
    const list = await ctx.store.capsOf(b as string);
    if (list.length === 0) throw new TuojiangError('ALERT_NOT_FOUND', 'no CAP message for this alert');
    const exp = Date.now() + (ctx.linkValidMs ?? 7 * 86_400_000);
    send(
      res,
      200,
      JSON.stringify(list.map((c) => ({ ...c, url: capUrl(ctx.publicUrl, ctx.ackSecret, c.eventId, exp) }))),
      'application/json; charset=utf-8',
    );
    return true;
  }
  if (t.segments.length === 2 && (a as string).endsWith('.xml')) {
    const eventId = (a as string).slice(0, -4);
    const xml = await ctx.store.cap(eventId);
    if (!(xml && isPublic(xml))) {
      const sig = t.query.get('sig');
      if (sig !== null) {
        ctx.limiter?.check(remoteOf(req));
        const check = verifyCap(ctx.ackSecret, eventId, Number(t.query.get('exp')), sig);
        if (check === 'invalid') {
          ctx.limiter?.failed(remoteOf(req), 'cap-link', t.pathname);
          throw unauthorized('this CAP link is not valid');
        }
        if (check === 'expired') throw unauthorized('this CAP link has expired: use an operator token or a newer notice');
      } else {
        operatorOnly(req, t, ctx);
      }
    }
    if (!xml) throw new TuojiangError('HTTP_NOT_FOUND', 'no such CAP message');
    send(res, 200, xml, `${CAP_MIME_TYPE}; charset=utf-8`);
    return true;
  }
  throw new TuojiangError('HTTP_NOT_FOUND', `${t.pathname}: CAP documents are at /cap/{event}.xml and /cap/alert/{alert}`);
}
