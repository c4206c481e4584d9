/**
 * The notifications' endpoints and secrets, from the environment only (never from files in the
 * repository). config/env.ts holds the pipeline's; these are read only by the processes that mail.
 */
import { z } from 'zod';
import { TuojiangError } from '../../lib/errors.js';
import { url } from '../../config/env.js';
import { hideUserinfo } from '../../lib/redact-url.js';


export const NotifyEnvSchema = z.object({
  /** smtp://user:pass@host:port (STARTTLS when the server offers it) or smtps://… (TLS from the start). */
  SMTP_URL: url(['smtp:', 'smtps:']).default('smtp://127.0.0.1:25'),
  /** The From of every notice, e.g. `沱江联合预警 <alerts@sthj.chengdu.gov.cn>`. */
  MAIL_FROM: z.string().min(3).default('Tuojiang alerts <tuojiang-alerts@localhost>'),
  /** Signs acknowledgement links (HMAC-SHA256). Required by the notify worker and the API. */
  ACK_SECRET: z.string().min(16, 'at least 16 characters (e.g. `openssl rand -hex 32`)').optional(),
  /** Where `tuojiang api` is reachable by the bureaus: the base of acknowledgement and CAP links. */
  PUBLIC_URL: url(['http:', 'https:']).default('http://127.0.0.1:8080'),
  GRAFANA_URL: url(['http:', 'https:']).default('http://127.0.0.1:3000'),
  /** Port of `tuojiang api`. */
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
});

export type NotifyEnv = z.output<typeof NotifyEnvSchema>;

export function readNotifyEnv(env: NodeJS.ProcessEnv = process.env, opts: { requireSecret?: boolean } = {}): NotifyEnv & { ACK_SECRET: string } {
  const r = NotifyEnvSchema.safeParse(env);
  const problems: string[] = [];
  if (!r.success) {
    for (const i of r.error.issues) {
      const key = String(i.path[0]);
      const found = env[key];
      const shown = /SECRET|PASSWORD|TOKEN/.test(key) ? '(hidden)' : JSON.stringify(key.endsWith('_URL') ? hideUserinfo(found) : found);
      problems.push(`${key}: expected ${i.message}; found ${shown}`);
    }
  }
  // Named even when another variable is wrong too: an operator should fix everything in one go.
  if (opts.requireSecret !== false && env.ACK_SECRET === undefined) {
    problems.push('ACK_SECRET: expected at least 16 characters (it signs acknowledgement links; e.g. `openssl rand -hex 32`); found nothing');
  }
  if (problems.length > 0 || !r.success) throw new TuojiangError('ENV_INVALID', `invalid environment:\n${problems.join('\n')}`);
  return { ...r.data, ACK_SECRET: r.data.ACK_SECRET ?? '' };
}
