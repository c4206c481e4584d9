/**
 * CONTRIBUTING.md, recipe 4: the smallest complete channel, to copy to
 * `alerts/notify/channels/<name>.ts`. It POSTs the notice as plain text to one URL taken from an
 * environment variable. CI compiles it and test/unit/contributing-templates.test.ts runs it against
 * a real HTTP server, so the recipe cannot drift from the interface.
 */
import { renderBatchText } from '../../alerts/notify/channels/batch-text.js';
import { DeliveryError, type Channel, type ChannelDeps } from '../../alerts/notify/channels/channel.js';
import { urlFromEnv } from '../../alerts/notify/channels/env-url.js';
import { gatedPost, PostError } from '../../alerts/notify/channels/http-post.js';

export function plainTextChannel(deps: Pick<ChannelDeps, 'env'>, urlEnv = 'TJ_PLAIN_TEXT_URL'): Channel<Buffer> {
  const url = urlFromEnv(deps.env, urlEnv, 'channels.plain-text', 'https://receiver.example/notices');
  return {
    // A real channel adds its name to CHANNEL_NAMES (alerts/notify/items.ts); the template borrows one.
    name: 'webhook',
    codes: { rejected: 'TJ_WEBHOOK_REJECTED', uncertain: 'TJ_WEBHOOK_UNCERTAIN', expired: 'TJ_WEBHOOK_EXPIRED' },
    // The same bytes on every attempt: rendered from the batch only.
    async render(ctx, batch) {
      const t = renderBatchText(ctx, batch.recipient, batch.items);
      return Buffer.from(`${t.subject}\n\n${t.text}`);
    },
    async send(body, batch, commit, signal) {
      let answer;
      try {
        // gatedPost awaits commit() before the body's last byte: the point of no return.
        answer = await gatedPost(
          url,
          { 'Content-Type': 'text/plain; charset=utf-8', 'Idempotency-Key': batch.batchId },
          body,
          commit,
          signal,
        );
      } catch (e) {
        if (!(e instanceof PostError)) throw e;
        throw new DeliveryError(e.message, e.committed ? 'uncertain' : 'retry');
      }
      if (answer.status >= 200 && answer.status < 300) return { ref: batch.batchId, response: `HTTP ${answer.status}` };
      throw new DeliveryError(
        `HTTP ${answer.status}`,
        answer.status === 429 || answer.status >= 500 ? 'retry' : 'refused-permanently',
        String(answer.status),
      );
    },
    async close() {},
  };
}
