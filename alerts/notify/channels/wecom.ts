/**
 * WeCom (企业微信) group robots: a markdown message POSTed to the robot's webhook URL. The URL
 * carries the robot's key, so it comes from the environment variable recipients.yaml names for the
 * robot (`channels.wecom.robots.<id>.url_env`) and never appears in a log or an error.
 *
 * WeCom accepts 20 messages a minute per robot; more are refused with errcode 45009. Sends take a
 * slot of a shared one-minute window per robot first (./rate-window.ts): when it is full the
 * delivery waits its turn, and a 45009 all the same (another sender on the same robot) is retried
 * with backoff. A markdown message holds at most 4096 bytes: the links and the mention come first,
 * the body is cut at a line, and the full text is in the e-mail every person also receives.
 */
import { ERRORS } from '../../../lib/errors.js';
import type { Recipient } from '../items.js';
import { renderBatchText } from './batch-text.js';
import { DeliveryError, type Channel, type ChannelDeps } from './channel.js';
import { urlFromEnv } from './env-url.js';
import { gatedPost, PostError } from './http-post.js';
import { RateWindow } from './rate-window.js';

/** The documented limit of a markdown message's content, in bytes of UTF-8. */
export const WECOM_MARKDOWN_MAX_BYTES = 4096;
/** WeCom's "API calls over the limit" error code. */
export const WECOM_RATE_LIMITED = 45009;

export interface WecomMessage {
  robot: string;
  body: Buffer;
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Text of ours inside WeCom markdown: angle brackets would open a <font> tag or an <@mention>, so
 * they become their full-width forms; the rest of the text is shown as it is.
 */
function plain(line: string): string {
  return line.replace(/</g, '＜').replace(/>/g, '＞');
}

/** The markdown content: heading, links, mention, then as much of the body as fits, cut at a line. */
export function wecomMarkdown(
  t: { subject: string; text: string; links: { ack: string | null; grafana: string | null } },
  mention?: string,
  max = WECOM_MARKDOWN_MAX_BYTES,
): string {
  // A subject is one line of ours (under 200 characters); the cap only keeps the sum within the limit.
  const head = [`## ${[...plain(t.subject).replace(/\n/g, ' ')].slice(0, 200).join('')}`];
  const links = [
    t.links.ack ? `[确认收到 Acknowledge](${t.links.ack})` : '',
    t.links.grafana ? `[数据图表 Charts](${t.links.grafana})` : '',
  ].filter(Boolean);
  if (links.length > 0) head.push(links.join('  '));
  if (mention) head.push(`<@${mention}>`);
  const tail = '> …（全文见邮件 / full text in the e-mail）';
  let out = `${head.join('\n')}\n`;
  const lines = t.text.replace(/\n+$/, '').split('\n');
  for (let k = 0; k < lines.length; k++) {
    const line = `> ${plain(lines[k] ?? '')}\n`;
    const room = max - bytes(out) - (k < lines.length - 1 ? bytes(tail) : 0);
    if (bytes(line) > room) {
      out += tail;
      return out;
    }
    out += line;
  }
  return out.replace(/\n$/, '');
}

/** The robots' URLs from the environment; a robot named in recipients.yaml without one stops the start. */
export function wecomUrls(deps: Pick<ChannelDeps, 'config' | 'env'>): Map<string, URL> {
  const urls = new Map<string, URL>();
  for (const [id, robot] of Object.entries(deps.config.recipients.channels.wecom.robots)) {
    urls.set(
      id,
      urlFromEnv(deps.env, robot.url_env, `channels.wecom.robots.${id}`, 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…'),
    );
  }
  return urls;
}

export function wecomChannel(deps: ChannelDeps): Channel<WecomMessage> {
  const urls = wecomUrls(deps);
  const window = new RateWindow(
    deps.redis,
    (robot) => `${deps.prefix}:nt:rate:wecom:${robot}`,
    deps.config.recipients.channels.wecom.per_minute,
    deps.rateWindowMs,
  );
  const robotOf = (r: Recipient): string => r.address ?? '';
  return {
    name: 'wecom',
    codes: { rejected: ERRORS.WECOM_REJECTED.code, uncertain: ERRORS.WECOM_UNCERTAIN.code, expired: ERRORS.WECOM_EXPIRED.code },
    async admit(batch) {
      return window.take(robotOf(batch.recipient), `${batch.batchId}:${Date.now()}:${Math.random()}`);
    },
    async render(ctx, batch) {
      const t = renderBatchText(ctx, batch.recipient, batch.items);
      const content = wecomMarkdown(t, batch.recipient.mention);
      return { robot: robotOf(batch.recipient), body: Buffer.from(JSON.stringify({ msgtype: 'markdown', markdown: { content } })) };
    },
    async send(msg, batch, commit, signal) {
      const url = urls.get(msg.robot);
      // Not configured in this process (recipients.yaml changed since the batch was placed): later, or another process.
      if (!url) throw new DeliveryError(`robot "${msg.robot}" has no URL in this process`, 'retry');
      let answer;
      try {
        answer = await gatedPost(
          url,
          { 'Content-Type': 'application/json; charset=utf-8', 'User-Agent': 'tuojiang-notify' },
          msg.body,
          commit,
          signal,
        );
      } catch (e) {
        if (!(e instanceof PostError)) throw e;
        throw new DeliveryError(e.message, e.committed ? 'uncertain' : 'retry');
      }
      if (answer.status === 429 || answer.status >= 500) throw new DeliveryError(`HTTP ${answer.status}`, 'retry', String(answer.status));
      if (answer.status < 200 || answer.status >= 300)
        throw new DeliveryError(`HTTP ${answer.status}`, 'refused-permanently', String(answer.status));
      let reply: { errcode?: unknown; errmsg?: unknown };
      try {
        reply = JSON.parse(answer.body) as typeof reply;
      } catch {
        // A 2xx that is not WeCom's JSON: something took the message, and what it did is unknown.
        throw new DeliveryError(`HTTP ${answer.status} without a WeCom answer`, 'uncertain', String(answer.status));
      }
      const code = Number(reply.errcode);
      const msgText = typeof reply.errmsg === 'string' ? reply.errmsg.slice(0, 200) : '';
      if (code === 0) return { ref: batch.batchId, response: `errcode 0 ${msgText}`.trim() };
      if (code === WECOM_RATE_LIMITED)
        throw new DeliveryError(`errcode ${code} (over the robot's limit) ${msgText}`.trim(), 'retry', `errcode ${code}`);
      if (reply.errcode === undefined || Number.isNaN(code))
        throw new DeliveryError(`HTTP ${answer.status} without an errcode`, 'uncertain', String(answer.status));
      throw new DeliveryError(`errcode ${code} ${msgText}`.trim(), 'refused-permanently', `errcode ${code}`);
    },
    async close() {},
  };
}
