/**
 * The seam every way of notifying a person goes through. A channel renders one batch (a recipient
 * and its notice items) into what it sends, and sends it; everything around that is shared by all
 * channels in ../deliver.ts: the batch's outbox in Redis, the lease, the commit gate that marks
 * the point of no return, retries with capped backoff, dead letters, history, metrics.
 *
 * The contract of `send`: it awaits `commit()` immediately before the last bytes that would let
 * the other side act on the message go out (SMTP: the end-of-data dot; HTTP: the last byte of a
 * body whose length was announced), and throws DeliveryError saying what the failure means.
 */
import type { RedisClient } from '../../../lib/redis-client.js';
import type { Logger } from '../../../lib/logger.js';
import type { StationRegistry } from '../../../config/station-registry.js';
import type { NotifyConfig } from '../config.js';
import type { ChannelName, NoticeItem, Recipient } from '../items.js';
import type { NotifyStore } from '../store.js';

/** What a failed send means for the batch. */
export type DeliveryVerdict =
  /** The other side refused it for good (SMTP 5xx, HTTP 4xx, a WeCom error code): dead-lettered, never retried. */
  | 'refused-permanently'
  /** Not handed over, or refused for now (4xx SMTP, HTTP 429/5xx, WeCom 45009, connection errors before the commit): retried. */
  | 'retry'
  /** Handed over, no answer: probably delivered, dead-lettered as uncertain, never sent again. */
  | 'uncertain';

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly verdict: DeliveryVerdict,
    /** What the other side answered, for logs and dead letters (SMTP code, HTTP status, WeCom errcode). */
    readonly reply?: string,
    /** A retry: how long the other side asked us to wait (HTTP Retry-After), instead of the backoff. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** What the shared delivery gives a channel to render with. */
export interface RenderContext {
  store: NotifyStore;
  registry: StationRegistry;
  config: NotifyConfig;
  mailFrom: string;
}

export interface Batch {
  batchId: string;
  recipient: Recipient;
  items: NoticeItem[];
  /** When the batch closed: every attempt renders the same message from the same data. */
  closedAt: number;
}

export interface SendOutcome {
  /** The id the message is known by on the other side (Message-ID, idempotency key). */
  ref: string;
  /** The other side's answer, kept with the outbox. */
  response: string;
}

/** Whether a send may start now; a channel with a rate limit says when a slot frees instead. */
export type Admission = { ok: true } | { ok: false; retryAt: number };

export interface Channel<Rendered = unknown> {
  readonly name: ChannelName;
  /** Stable error codes for the logs (TJ_…): refused for good, uncertain, given up. */
  readonly codes: { rejected: string; uncertain: string; expired: string };
  render(ctx: RenderContext, batch: Batch): Promise<Rendered>;
  send(rendered: Rendered, batch: Batch, commit: () => Promise<void>, signal: AbortSignal): Promise<SendOutcome>;
  /** Called before each attempt; a channel without a rate limit leaves it out. */
  admit?(batch: Batch): Promise<Admission>;
  close(): Promise<void>;
}

/** What a channel factory gets: the configuration, the environment that holds URLs and secrets, Redis. */
export interface ChannelDeps {
  config: NotifyConfig;
  env: Record<string, string | undefined>;
  redis: RedisClient;
  prefix: string;
  /** The rate windows' length (default one minute, as WeCom counts; tests shorten it). */
  rateWindowMs?: number;
  log?: Logger;
}
