/** Request bodies, bounded, and the refusals a hostile body gets (never an exception that escapes). */
import type { IncomingMessage } from 'node:http';
import { TuojiangError } from './errors.js';

export const MAX_BODY = 16 * 1024;

export async function readBody(req: IncomingMessage, max = MAX_BODY): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw new TuojiangError('HTTP_BODY_TOO_LARGE', `the body declares ${declared} bytes; at most ${max} are read`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > max) throw new TuojiangError('HTTP_BODY_TOO_LARGE', `the body is larger than ${max} bytes`);
      chunks.push(c as Buffer);
    }
  } catch (e) {
    if (e instanceof TuojiangError) throw e;
    // The parser gave up on the framing or the client went away mid-body; the server's clientError
    // handler answers the socket, this only stops the route.
    throw new TuojiangError('HTTP_BAD_REQUEST', `the body could not be read: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function parseJsonObject(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new TuojiangError('HTTP_BAD_BODY', 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new TuojiangError('HTTP_BAD_BODY', 'the body must be a JSON object');
  return body as Record<string, unknown>;
}

export async function readJsonObject(req: IncomingMessage, max = MAX_BODY): Promise<Record<string, unknown>> {
  return parseJsonObject(await readBody(req, max));
}
