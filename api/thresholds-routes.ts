/**
 * The threshold commands over HTTP (JSON), for `tuojiang api`. Every request carries an operator's
 * token (`Authorization: Bearer …`, from `tuojiang thresholds token create`); the token alone says
 * who acts and for which city, so a Chengdu token can never act for Ziyang, whatever the body says.
 *
 *   GET  /thresholds                          version in force, explicit limits, pending proposals,
 *                                             changes announced to the token's city (7 days)
 *   GET  /thresholds/versions/{n|current}     one version (?station=id: the limits in force there)
 *   GET  /thresholds/history                  ?station ?param ?limit
 *   GET  /thresholds/diff?from=&to=           key-by-key differences and the versions between
 *   GET  /thresholds/export                   ?version: thresholds.yaml (text/yaml)
 *   GET  /thresholds/proposals                ?status=pending|applied|rejected|expired|stale|all
 *   POST /thresholds/proposals                {station|section|defaults, param, value|min|max|clear,
 *                                              unit?, why, exception?: {reason, until}}
 *   GET  /thresholds/proposals/{id}
 *   POST /thresholds/proposals/{id}/approve   {comment?}
 *   POST /thresholds/proposals/{id}/reject    {why}
 *   POST /thresholds/restore                  {station|section|defaults, param, toVersion | value|min|max|clear,
 *                                              why}: a limit the token's city had on its own stations
 *                                              before the other city changed it alone (no consent)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { OperatorDirectory } from '../alerts/threshold-store/operators.js';
import type { ThresholdStore } from '../alerts/threshold-store/store.js';
import type { Actor, ProposalStatus } from '../alerts/threshold-store/types.js';
import { effectiveLimits, explicitLimits } from '../alerts/threshold-store/views.js';
import { TuojiangError, isTuojiangError, type ErrorCode } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { listen } from '../lib/http-listen.js';
import { readJsonObject } from '../lib/http-body.js';
import { guardRequests } from '../lib/http-harden.js';
import { refusalHeaders, statusOf } from '../lib/http-refusal.js';
import { parseTarget } from '../lib/http-target.js';
import type { AuthFailureLimiter } from './auth-failures.js';
import { authenticateOperator } from './operator-auth.js';

export interface ThresholdsApiContext {
  store: ThresholdStore;
  operators: OperatorDirectory;
  log?: Logger;
  /** Failed tokens are counted and limited per address (api/auth-failures.ts). */
  limiter?: AuthFailureLimiter;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  TJ_THRESHOLD_UNKNOWN_PARAMETER: 400,
  TJ_THRESHOLD_UNKNOWN_STATION: 400,
  TJ_THRESHOLD_INVALID_VALUE: 400,
  TJ_THRESHOLD_WRONG_UNIT: 400,
  TJ_THRESHOLD_WRONG_BOUND: 400,
  TJ_THRESHOLD_EXCEPTION_INVALID: 400,
  TJ_CONFIG_INVALID: 400,
  TJ_THRESHOLD_NO_CHANGE: 422,
  TJ_THRESHOLD_BELOW_STANDARD: 422,
  TJ_THRESHOLD_NOT_A_RESTORE: 422,
  TJ_THRESHOLD_PROPOSAL_NOT_FOUND: 404,
  TJ_THRESHOLD_VERSION_NOT_FOUND: 404,
  TJ_THRESHOLD_PROPOSAL_CLOSED: 409,
  TJ_THRESHOLD_PROPOSAL_STALE: 409,
  TJ_THRESHOLD_CONFLICT: 409,
  TJ_THRESHOLD_PROPOSAL_EXPIRED: 410,
  TJ_THRESHOLD_APPROVAL_REFUSED: 403,
  TJ_OPERATOR_FORBIDDEN: 403,
  TJ_OPERATOR_UNKNOWN: 403,
  TJ_OPERATOR_UNAUTHENTICATED: 401,
  TJ_THRESHOLD_STORE_EMPTY: 503,
};

function send(res: ServerResponse, status: number, body: string, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...extra });
  res.end(body);
}

const json = (res: ServerResponse, status: number, x: unknown, extra: Record<string, string> = {}): void =>
  send(res, status, JSON.stringify(x), 'application/json; charset=utf-8', extra);

/** A body or query may name who acts (clients like to), but only to agree with the token. */
function checkClaims(actor: Actor, claims: Record<string, unknown>): void {
  for (const [key, mine] of [
    ['city', actor.city],
    ['operator', actor.operator],
  ] as const) {
    const claimed = claims[key];
    if (claimed !== undefined && claimed !== mine) {
      throw new TuojiangError(
        'OPERATOR_FORBIDDEN',
        `this token is ${actor.operator}'s of ${actor.city}: it cannot act as ${key} ${JSON.stringify(claimed)}`,
      );
    }
  }
}

const PROPOSAL_STATUSES: ReadonlySet<string> = new Set(['pending', 'applied', 'rejected', 'expired', 'stale', 'all']);

function versionParam(name: string, s: string | null): number | undefined {
  if (s === null || s === '' || s === 'current') return undefined;
  const n = Number(s.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1)
    throw new TuojiangError('THRESHOLD_VERSION_NOT_FOUND', `${name}: a version number such as 3, got "${s}"`);
  return n;
}

/** Handles /thresholds and below; false for any other path (the caller's server handles those). */
export async function handleThresholdsRequest(req: IncomingMessage, res: ServerResponse, ctx: ThresholdsApiContext): Promise<boolean> {
  const url = parseTarget(req.url);
  if (url.pathname !== '/thresholds' && !url.pathname.startsWith('/thresholds/')) return false;
  const parts = url.segments;
  const method = req.method ?? 'GET';
  const q = url.query;
  try {
    const op = authenticateOperator(req, url.pathname, ctx.operators, ctx.limiter, ctx.log);
    const actor: Actor = { operator: op.id, city: op.city };
    checkClaims(actor, Object.fromEntries(q));
    const { store } = ctx;
    const [, section, id, action] = parts;

    if (method === 'GET') {
      if (parts.length === 1) {
        const { config, ...current } = await store.current();
        const announcements = await store.announcements(actor.city, Date.now() - 7 * 86_400_000);
        json(res, 200, { you: actor, current, explicit: explicitLimits(config), pending: await store.proposals('pending'), announcements });
        return true;
      }
      if (section === 'versions' && parts.length === 3) {
        const v = await store.version(versionParam('version', id ?? null));
        const station = q.get('station');
        if (station) json(res, 200, { version: v.version, station, limits: effectiveLimits(store.registry, v, station, Date.now()) });
        else json(res, 200, v);
        return true;
      }
      if (section === 'history' && parts.length === 2) {
        const limit = q.get('limit');
        json(
          res,
          200,
          await store.history({
            ...(q.get('station') ? { station: q.get('station') as string } : {}),
            ...(q.get('param') ? { param: q.get('param') as string } : {}),
            ...(limit ? { limit: Number(limit) } : {}),
          }),
        );
        return true;
      }
      if (section === 'diff' && parts.length === 2) {
        const from = versionParam('from', q.get('from'));
        if (from === undefined)
          throw new TuojiangError('THRESHOLD_VERSION_NOT_FOUND', 'give ?from=<version> (and ?to=, default the version in force)');
        json(res, 200, await store.diff(from, versionParam('to', q.get('to'))));
        return true;
      }
      if (section === 'export' && parts.length === 2) {
        send(res, 200, await store.exportYaml(versionParam('version', q.get('version'))), 'text/yaml; charset=utf-8');
        return true;
      }
      if (section === 'proposals' && parts.length === 2) {
        const status = q.get('status') ?? 'pending';
        if (!PROPOSAL_STATUSES.has(status))
          throw Object.assign(new Error(`status must be one of ${[...PROPOSAL_STATUSES].join(', ')}`), { status: 400 });
        json(res, 200, await store.proposals(status as ProposalStatus | 'all'));
        return true;
      }
      if (section === 'proposals' && parts.length === 3) {
        json(res, 200, await store.proposal(id as string));
        return true;
      }
    }

    if (method === 'POST' && section === 'restore' && parts.length === 2) {
      const body = await readJsonObject(req);
      checkClaims(actor, body);
      await store.sweep();
      json(res, 201, await store.restore(actor, body));
      return true;
    }

    if (method === 'POST' && section === 'proposals') {
      const body = await readJsonObject(req);
      checkClaims(actor, body);
      if (parts.length === 2) {
        await store.sweep();
        const r = await store.propose(actor, body);
        json(res, 201, r);
        return true;
      }
      if (parts.length === 4 && action === 'approve') {
        const comment = typeof body.comment === 'string' ? body.comment : undefined;
        const r = await store.approve(actor, id as string, comment);
        json(res, 200, r);
        return true;
      }
      if (parts.length === 4 && action === 'reject') {
        json(res, 200, await store.reject(actor, id as string, body.why));
        return true;
      }
    }

    const known = parts.length === 1 || ['versions', 'history', 'diff', 'export', 'proposals', 'restore'].includes(section ?? '');
    throw new TuojiangError(known ? 'HTTP_METHOD_NOT_ALLOWED' : 'HTTP_NOT_FOUND', `${method} ${url.pathname}`);
  } catch (e) {
    if (isTuojiangError(e)) {
      if (e.code === 'TJ_HTTP_BAD_REQUEST') throw e; // the body broke off: the server's guard answers
      const status = STATUS[e.code] ?? statusOf(e);
      json(
        res,
        status,
        { error: e.toJSON() },
        { ...refusalHeaders(e), ...(status === 401 ? { 'WWW-Authenticate': 'Bearer realm="tuojiang thresholds"' } : {}) },
      );
      if (status >= 500) ctx.log?.warn({ code: e.code, err: e.message, path: url.pathname }, 'thresholds request failed');
      return true;
    }
    const status = (e as { status?: number }).status ?? 500;
    if (status === 500) ctx.log?.error({ err: (e as Error).message, path: url.pathname }, 'thresholds request failed');
    if (!res.headersSent)
      json(res, status, {
        error: { code: status === 500 ? 'internal' : 'bad_request', message: status === 500 ? 'internal error' : (e as Error).message },
      });
    else res.end();
    return true;
  }
}

export interface ThresholdsApi {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** A server with only the threshold routes (tests; `tuojiang api` mounts the handler in its own server). */
export async function startThresholdsApi(o: ThresholdsApiContext & { port?: number; host?: string }): Promise<ThresholdsApi> {
  const server = createServer(
    guardRequests(async (req, res) => {
      if (!(await handleThresholdsRequest(req, res, o))) throw new TuojiangError('HTTP_NOT_FOUND', parseTarget(req.url).pathname);
    }, o.log),
  );
  return listen(server, o.port ?? 0, o.host ?? '127.0.0.1', o.log ? { log: o.log } : {});
}
