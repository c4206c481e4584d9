/**
 * The channels, one entry each: to add one, write `channels/<name>.ts` exporting a factory that
 * returns a Channel (./channel.ts), add its name to CHANNEL_NAMES (../items.ts), its contact to a
 * person in config/recipients-schema.ts, and its factory here (CONTRIBUTING.md, "A notification
 * channel"). E-mail always runs; the others run when recipients.yaml gives anyone a contact on them.
 */
import { isTuojiangError, TuojiangError } from '../../../lib/errors.js';
import type { NotifyConfig } from '../config.js';
import type { ChannelName } from '../items.js';
import type { MailTransport } from '../transport.js';
import type { Channel, ChannelDeps } from './channel.js';
import { emailChannel } from './email.js';
import { secretFromEnv, urlFromEnv } from './env-url.js';
import { webhookChannel } from './webhook.js';
import { wecomChannel } from './wecom.js';

export interface ChannelFactoryDeps extends ChannelDeps {
  transport: MailTransport;
  now: () => number;
}

/** Each channel's factory, and whether the configuration uses it. */
export const CHANNELS: Record<ChannelName, { used: (d: ChannelFactoryDeps) => boolean; create: (d: ChannelFactoryDeps) => Channel }> = {
  email: { used: () => true, create: (d) => emailChannel(d.transport) as Channel },
  wecom: { used: (d) => Object.keys(d.config.recipients.channels.wecom.robots).length > 0, create: (d) => wecomChannel(d) as Channel },
  webhook: {
    used: (d) => Object.keys(d.config.recipients.channels.webhook.endpoints).length > 0,
    create: (d) => webhookChannel(d, d.now) as Channel,
  },
};

/** The channels this process runs; a missing URL or secret stops it here, before any worker starts. */
export function createChannels(d: ChannelFactoryDeps): Map<ChannelName, Channel> {
  const out = new Map<ChannelName, Channel>();
  for (const [name, c] of Object.entries(CHANNELS) as Array<[ChannelName, (typeof CHANNELS)[ChannelName]]>) {
    if (c.used(d)) out.set(name, c.create(d));
  }
  return out;
}

/**
 * Every variable the channels of recipients.yaml need, checked at once (`tuojiang config check`):
 * one line per problem, naming the variable and the key that wants it, never a value.
 */
export function checkChannelEnv(config: NotifyConfig, env: Record<string, string | undefined>): void {
  const problems: string[] = [];
  const check = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      if (!isTuojiangError(e)) throw e;
      problems.push(e.message);
    }
  };
  for (const [id, r] of Object.entries(config.recipients.channels.wecom.robots)) {
    check(() => urlFromEnv(env, r.url_env, `channels.wecom.robots.${id}`, 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…'));
  }
  for (const [id, e] of Object.entries(config.recipients.channels.webhook.endpoints)) {
    const where = `channels.webhook.endpoints.${id}`;
    check(() => urlFromEnv(env, e.url_env, where, 'https://duty.example/tuojiang'));
    check(() => secretFromEnv(env, e.secret_env, where));
  }
  if (problems.length > 0) throw new TuojiangError('ENV_INVALID', `invalid environment:\n${problems.join('\n')}`);
}
