/**
 * A channel's URL or secret from the environment variable recipients.yaml names for it. A missing
 * or malformed one stops the notify process at start, naming the variable and the key that wants
 * it, never the value (a WeCom URL carries the robot's key).
 */
import { TuojiangError } from '../../../lib/errors.js';

export function urlFromEnv(env: Record<string, string | undefined>, name: string, where: string, example: string): URL {
  const raw = env[name];
  if (!raw) throw new TuojiangError('ENV_INVALID', `${name} is not set: recipients.yaml ${where} needs its URL (${example}) in it`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TuojiangError('ENV_INVALID', `${name} is not a URL (recipients.yaml ${where})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TuojiangError('ENV_INVALID', `${name} must be an http(s) URL (recipients.yaml ${where})`);
  return url;
}

/** A signing secret: at least 16 bytes, so that it cannot be guessed from a few signatures. */
export function secretFromEnv(env: Record<string, string | undefined>, name: string, where: string): string {
  const raw = env[name];
  if (!raw) throw new TuojiangError('ENV_INVALID', `${name} is not set: recipients.yaml ${where} needs its signing secret in it`);
  if (Buffer.byteLength(raw) < 16)
    throw new TuojiangError(
      'ENV_INVALID',
      `${name} is shorter than 16 bytes (recipients.yaml ${where}): use a random secret, e.g. openssl rand -hex 32`,
    );
  return raw;
}
