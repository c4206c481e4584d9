/**
 * The request target, parsed without ever throwing past the caller: `new URL` and
 * `decodeURIComponent` throw on targets a client fully controls (`http://[::1`, `/ack/%E0%A4%A/x`),
 * and a throw in a request listener ends the process. Here they become TJ_HTTP_BAD_TARGET.
 */
import { TuojiangError } from './errors.js';

export interface RequestTarget {
  /** As sent (percent-escapes kept). */
  pathname: string;
  /** The non-empty path segments, decoded. */
  segments: string[];
  query: URLSearchParams;
}

const shown = (s: string): string => JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);

export function parseTarget(target: string | undefined): RequestTarget {
  const t = target ?? '/';
  let url: URL;
  try {
    // Origin-form is glued to a fixed origin rather than resolved against it, so `//host/path`
    // stays a path instead of becoming another host.
    if (t.startsWith('/')) url = new URL(`http://localhost${t}`);
    else if (/^https?:\/\//i.test(t))
      url = new URL(t); // absolute-form (RFC 9112 §3.2.2): its path is served
    else throw new Error('neither origin-form nor absolute-form');
  } catch {
    throw new TuojiangError('HTTP_BAD_TARGET', `the request target ${shown(t)} is not a URL path`);
  }
  const segments = url.pathname
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new TuojiangError('HTTP_BAD_TARGET', `the path segment ${shown(s)} has a percent-escape that is not valid UTF-8`);
      }
    });
  return { pathname: url.pathname, segments, query: url.searchParams };
}
