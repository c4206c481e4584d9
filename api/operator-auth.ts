/**
 * The operator's bearer token, checked for the thresholds API and Restricted CAP documents. What an
 * unauthenticated client learns is only "no", "wait" or "cannot check now": a broken operators.yaml
 * is reported in the server log, never in the answer (its errors name operators, cities and paths).
 */
import type { IncomingMessage } from 'node:http';
import type { Operator, OperatorDirectory } from '../alerts/threshold-store/operators.js';
import { TuojiangError, isTuojiangError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { AuthFailureLimiter } from './auth-failures.js';

export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export const remoteOf = (req: IncomingMessage): string => req.socket.remoteAddress ?? 'unknown';

/** The operator of the request's token; throws a coded refusal (401, 429, 503) otherwise. */
export function authenticateOperator(
  req: IncomingMessage,
  path: string,
  operators: OperatorDirectory,
  limiter: AuthFailureLimiter | undefined,
  log?: Logger,
): Operator {
  const token = bearer(req);
  if (!token) throw new TuojiangError('OPERATOR_UNAUTHENTICATED', 'no bearer token');
  limiter?.check(remoteOf(req));
  let op: Operator | undefined;
  try {
    op = operators.authenticate(token);
  } catch (e) {
    log?.error(
      { code: isTuojiangError(e) ? e.code : undefined, err: (e as Error).message, file: operators.file },
      'operator tokens cannot be checked: the operators file is invalid',
    );
    throw new TuojiangError('AUTH_UNAVAILABLE', 'credentials cannot be checked now');
  }
  if (!op) {
    limiter?.failed(remoteOf(req), 'bearer', path);
    throw new TuojiangError('OPERATOR_UNAUTHENTICATED', 'unknown or revoked token');
  }
  return op;
}
