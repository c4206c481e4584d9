/**
 * URLs carry credentials (`redis://:password@host`, `http://user:password@influxdb:8086`), and
 * URLs end up in error messages: fetch/undici, ioredis and our own "cannot reach X at URL" texts.
 * Everything that prints runs text through here first, so userinfo never reaches a log or a
 * terminal, whichever library produced the text.
 */

// scheme://userinfo@ — userinfo may not contain '/', '?', '#' or whitespace (RFC 3986), but is
// otherwise matched greedily up to its last '@' so a raw '@' inside a password is hidden too.
const USERINFO = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/?#@]*(?:@[^\s/?#@]*)*@/g;

/** The text with the userinfo of every URL in it replaced by `mask`. */
export function redactUrls(text: string, mask = '***'): string {
  return text.includes('@') ? text.replace(USERINFO, (_m, scheme: string) => `${scheme}${mask}@`) : text;
}

/**
 * One value meant to be a URL, perhaps malformed (`smtp//user:pw@host`, no scheme at all): all
 * before its last '@' hidden, the scheme kept. For "expected …; found …" lines about a variable.
 */
export function hideUserinfo(value: string | undefined, mask = '(hidden)'): string | undefined {
  return value?.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?.*@/, (_m, scheme: string | undefined) => `${scheme ?? ''}${mask}@`);
}

/** A URL for display: its userinfo replaced, the rest kept. */
export function redactUrl(url: string): string {
  return redactUrls(url);
}

/** Same, through every string of a log object (nested objects, arrays, Error messages). */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrls(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const copy = Object.assign(Object.create(Object.getPrototypeOf(value) as object) as Error, value);
    copy.message = redactUrls(value.message);
    if (value.stack) copy.stack = redactUrls(value.stack);
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1));
  if (Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, depth + 1);
  return out;
}
