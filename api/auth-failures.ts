/**
 * Failed authentications in `tuojiang api`: one warn line each (scheme, path, remote address; never
 * the credential), a counter, and a token bucket per remote address. Each failure takes a token;
 * an address with none left is answered 429 (Retry-After) before any credential of its is checked,
 * the right one included, so guessing a token or a signature costs time. Other addresses are
 * unaffected. Successes give nothing back: the bucket refills only with time.
 *
 * The address is the TCP peer's. Behind a reverse proxy every client shares the proxy's address,
 * and X-Forwarded-For is not trusted (a client sets it); limit per client at the proxy then.
 */
import { Counter, type Registry } from 'prom-client';
import { TuojiangError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export type AuthScheme = 'bearer' | 'ack-link' | 'cap-link';

export interface AuthFailureOptions {
  /** Failures an address may make at once (default 10, API_AUTH_FAILURE_BURST). */
  burst?: number;
  /** Failures it regains per minute (default 10, API_AUTH_FAILURES_PER_MIN). */
  perMinute?: number;
  registry?: Registry;
  log?: Logger;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** The "rate limit reached" line was written for this empty spell. */
  announced: boolean;
}

/** Addresses tracked at most; beyond, the oldest entries go first (a flood of addresses cannot grow memory). */
const MAX_ADDRESSES = 50_000;

const positive = (v: string | undefined): number | undefined => {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
};

export function authFailureOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<AuthFailureOptions, 'burst' | 'perMinute'> {
  const burst = positive(env.API_AUTH_FAILURE_BURST);
  const perMinute = positive(env.API_AUTH_FAILURES_PER_MIN);
  return { ...(burst ? { burst } : {}), ...(perMinute ? { perMinute } : {}) };
}

export class AuthFailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly perMs: number;
  private readonly now: () => number;
  private readonly failures?: Counter<'scheme'>;
  private readonly limited?: Counter;

  constructor(private readonly o: AuthFailureOptions = {}) {
    this.burst = o.burst ?? 10;
    this.perMs = (o.perMinute ?? 10) / 60_000;
    this.now = o.now ?? Date.now;
    if (o.registry) {
      this.failures = new Counter({
        name: 'tuojiang_api_auth_failures_total',
        help: 'Wrong credentials presented (bearer token, ack or CAP link signature)',
        labelNames: ['scheme'],
        registers: [o.registry],
      });
      this.limited = new Counter({
        name: 'tuojiang_api_auth_rate_limited_total',
        help: 'Requests answered 429 because their address failed authentication too often',
        registers: [o.registry],
      });
    }
  }

  private bucket(remote: string): Bucket {
    const t = this.now();
    let b = this.buckets.get(remote);
    if (!b) {
      if (this.buckets.size >= MAX_ADDRESSES) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: this.burst, at: t, announced: false };
      this.buckets.set(remote, b);
      return b;
    }
    b.tokens = Math.min(this.burst, b.tokens + (t - b.at) * this.perMs);
    b.at = t;
    if (b.tokens >= 1) b.announced = false;
    if (b.tokens >= this.burst) this.buckets.delete(remote); // full again: nothing to remember
    return b;
  }

  /** Throws TJ_AUTH_RATE_LIMITED (with the seconds to wait) when the address has no failure left. */
  check(remote: string): void {
    const b = this.bucket(remote);
    if (b.tokens >= 1) return;
    this.limited?.inc();
    const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
    throw new TuojiangError('AUTH_RATE_LIMITED', `too many failed authentications from this address; try again in ${retryAfter} s`, {
      retryAfter,
    });
  }

  failed(remote: string, scheme: AuthScheme, path: string): void {
    const b = this.bucket(remote);
    if (!this.buckets.has(remote)) this.buckets.set(remote, b);
    b.tokens = Math.max(0, b.tokens - 1);
    this.failures?.inc({ scheme });
    this.o.log?.warn({ remote, scheme, path }, 'authentication failed');
    if (b.tokens < 1 && !b.announced) {
      b.announced = true;
      this.o.log?.warn({ remote, burst: this.burst, perMinute: this.perMs * 60_000 }, 'authentication rate limit reached');
    }
  }
}
