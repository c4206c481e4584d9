/**
 * A generic signed JSON webhook, so that any duty system can subscribe: one POST per batch with the
 * rendered notice, the items it stands for and their CAP 1.2 messages.
 *
 *   Idempotency-Key: <batch id>            the same for every attempt of one batch: a receiver that
 *                                          remembers keys never acts on one twice
 *   X-Tuojiang-Timestamp: <unix seconds>   when this attempt was signed (receivers reject stale ones)
 *   X-Tuojiang-Signature: sha256=<hex>     HMAC-SHA256 with the endpoint's secret over
 *                                          "<timestamp>.<body>" (the body's exact bytes)
 *
 * 2xx is delivered; 408, 429 and 5xx are retried with backoff (a Retry-After is honoured); any
 * other 4xx is refused for good. The URL and the secret come from the environment variables
 * recipients.yaml names for the endpoint.
 */
import { createHmac } from 'node:crypto';
import { ERRORS } from '../../../lib/errors.js';
import type { Recipient } from '../items.js';
import { renderBatchText } from './batch-text.js';
import { DeliveryError, type Batch, type Channel, type ChannelDeps, type RenderContext } from './channel.js';
import { secretFromEnv, urlFromEnv } from './env-url.js';
import { gatedPost, PostError, retryAfterMs } from './http-post.js';

export const WEBHOOK_SCHEMA_VERSION = 1;

export interface WebhookRequest {
  endpoint: string;
  body: Buffer;
}

/** The signature header's value for a body signed at `timestamp` (unix seconds). */
export function webhookSignature(secret: string, timestamp: number, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** The JSON a subscriber receives (the same bytes on every attempt: rendered from the closed batch). */
export async function webhookBody(ctx: RenderContext, batch: Batch): Promise<Record<string, unknown>> {
  const t = renderBatchText(ctx, batch.recipient, batch.items);
  const capIds = t.report ? [t.report.report.id] : batch.items.filter((i) => i.type === 'transition').map((i) => i.id);
  const caps = await ctx.store.caps(capIds);
  return {
    version: WEBHOOK_SCHEMA_VERSION,
    id: batch.batchId,
    sent_for: { bureau: batch.recipient.bureau, list: batch.recipient.list, name: batch.recipient.name },
    closed_at: new Date(batch.closedAt).toISOString(),
    kind: t.report ? 'incident-report' : 'notices',
    severity: t.report?.severity ?? batch.items[0]?.severity ?? 'info',
    language: t.language,
    subject: t.subject,
    text: t.text,
    links: t.links,
    ...(t.report
      ? {
          incident: {
            id: t.report.report.incident.id,
            report: {
              id: t.report.report.id,
              kind: t.report.report.kind,
              seq: t.report.report.seq,
              number: t.report.number ?? t.report.report.seq,
              at: new Date(t.report.report.at).toISOString(),
            },
          },
        }
      : {}),
    items: batch.items.map((i) => ({
      id: i.id,
      type: i.type,
      alert_id: i.alertId,
      severity: i.severity,
      ...(i.type === 'transition'
        ? {
            station: i.event.station,
            key: i.event.key,
            kind: i.event.kind,
            at: new Date(i.event.at).toISOString(),
            value: i.event.value,
            limit: i.event.limit,
          }
        : {}),
    })),
    cap: capIds.map((id, k) => ({ id, xml: caps[k] ?? null })).filter((c) => c.xml !== null),
  };
}

export function webhookChannel(deps: ChannelDeps, now: () => number = Date.now): Channel<WebhookRequest> {
  const endpoints = new Map<string, { url: URL; secret: string }>();
  for (const [id, e] of Object.entries(deps.config.recipients.channels.webhook.endpoints)) {
    const where = `channels.webhook.endpoints.${id}`;
    endpoints.set(id, {
      url: urlFromEnv(deps.env, e.url_env, where, 'https://duty.example/tuojiang'),
      secret: secretFromEnv(deps.env, e.secret_env, where),
    });
  }
  const endpointOf = (r: Recipient): string => r.address ?? '';
  return {
    name: 'webhook',
    codes: { rejected: ERRORS.WEBHOOK_REJECTED.code, uncertain: ERRORS.WEBHOOK_UNCERTAIN.code, expired: ERRORS.WEBHOOK_EXPIRED.code },
    async render(ctx, batch) {
      return { endpoint: endpointOf(batch.recipient), body: Buffer.from(JSON.stringify(await webhookBody(ctx, batch))) };
    },
    async send(req, batch, commit, signal) {
      const endpoint = endpoints.get(req.endpoint);
      if (!endpoint) throw new DeliveryError(`endpoint "${req.endpoint}" has no URL in this process`, 'retry');
      // Signed per attempt: a receiver checking the timestamp's age still accepts a late retry.
      const timestamp = Math.floor(now() / 1000);
      const headers = {
        'Content-Type': 'application/json; charset=utf-8',
        'User-Agent': 'tuojiang-notify',
        'Idempotency-Key': batch.batchId,
        'X-Tuojiang-Timestamp': String(timestamp),
        'X-Tuojiang-Signature': webhookSignature(endpoint.secret, timestamp, req.body),
      };
      let answer;
      try {
        answer = await gatedPost(endpoint.url, headers, req.body, commit, signal);
      } catch (e) {
        if (!(e instanceof PostError)) throw e;
        throw new DeliveryError(e.message, e.committed ? 'uncertain' : 'retry');
      }
      const status = answer.status;
      if (status >= 200 && status < 300) return { ref: batch.batchId, response: `HTTP ${status}` };
      if (status === 408 || status === 429 || status >= 500) {
        const wait = retryAfterMs(answer.headers['retry-after'], now());
        throw new DeliveryError(`HTTP ${status}`, 'retry', String(status), wait);
      }
      throw new DeliveryError(`HTTP ${status}`, 'refused-permanently', String(status));
    },
    async close() {},
  };
}
