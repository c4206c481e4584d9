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
  /**
   * Which kind of deployment this is. `production` (what docker-compose.yml sets unless .env says
   * `demo`) requires a real relay and the addresses the bureaus reach; `demo` and `development` (a
   * checkout, the default) keep the local defaults above.
   */
  TUOJIANG_PROFILE: z.enum(['production', 'demo', 'development']).default('development'),
});

export type NotifyEnv = z.output<typeof NotifyEnvSchema>;

/**
 * What a production deployment must name itself: without them every notice would go to a local
 * sink and every link would point at the reader's own machine, and nothing would look wrong.
 */
const PRODUCTION_REQUIRED = {
  SMTP_URL: "the bureaus' mail relay, e.g. smtps://smtp.example.gov.cn:465 (user:password@ before the host if it needs a login)",
  PUBLIC_URL: 'where the bureaus reach `tuojiang api` (the base of acknowledgement and CAP links), e.g. https://tuojiang.example.gov.cn',
  GRAFANA_URL: 'where the bureaus reach Grafana (the dashboard links), e.g. https://grafana.tuojiang.example.gov.cn',
} as const;

/**
 * Hosts that cannot be right in production: a link the bureaus open on their own machines cannot
 * point at the loopback, and the relay cannot be the demo's sink. (A relay on the loopback can be
 * right: an MTA on the same host.)
 */
const NOT_FOR_PRODUCTION: Record<keyof typeof PRODUCTION_REQUIRED, RegExp> = {
  SMTP_URL: /^mailpit$/i,
  PUBLIC_URL: /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$/i,
  GRAFANA_URL: /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$/i,
};

/** What production lacks: SMTP_URL only for a process that mails (the API does not). */
export function productionProblems(env: NodeJS.ProcessEnv, opts: { mails?: boolean } = {}): string[] {
  if ((env.TUOJIANG_PROFILE ?? '') !== 'production') return [];
  const problems: string[] = [];
  for (const [key, what] of Object.entries(PRODUCTION_REQUIRED)) {
    if (key === 'SMTP_URL' && opts.mails === false) continue;
    const value = env[key];
    if (value === undefined || value.trim() === '') {
      problems.push(
        `${key}: expected ${what} (required in production; TUOJIANG_PROFILE=demo uses Mailpit and localhost instead); found nothing`,
      );
      continue;
    }
    let host: string;
    try {
      host = new URL(value).hostname;
    } catch {
      continue; /* the schema names a malformed URL */
    }
    if (NOT_FOR_PRODUCTION[key as keyof typeof PRODUCTION_REQUIRED].test(host))
      problems.push(
        `${key}: expected ${what}, not the local host or the demo sink (TUOJIANG_PROFILE=production); found a URL with host ${JSON.stringify(host)}`,
      );
  }
  return problems;
}

export function readNotifyEnv(
  env: NodeJS.ProcessEnv = process.env,
  opts: { requireSecret?: boolean; mails?: boolean } = {},
): NotifyEnv & { ACK_SECRET: string } {
  // An empty variable (compose passes `${SMTP_URL:-}` as "") means unset, not a malformed URL.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const r = NotifyEnvSchema.safeParse(present);
  const problems: string[] = productionProblems(env, { mails: opts.mails ?? true });
  if (!r.success) {
    for (const i of r.error.issues) {
      const key = String(i.path[0]);
      if (problems.some((p) => p.startsWith(`${key}:`))) continue;
      const found = env[key];
      const shown = /SECRET|PASSWORD|TOKEN/.test(key) ? '(hidden)' : JSON.stringify(key.endsWith('_URL') ? hideUserinfo(found) : found);
      problems.push(`${key}: expected ${i.message}; found ${shown}`);
    }
  }
  // Named even when another variable is wrong too: an operator should fix everything in one go.
  if (opts.requireSecret !== false && present.ACK_SECRET === undefined) {
    problems.push(
      'ACK_SECRET: expected at least 16 characters (it signs acknowledgement links; e.g. `openssl rand -hex 32`); found nothing',
    );
  }
  if (problems.length > 0 || !r.success) throw new TuojiangError('ENV_INVALID', `invalid environment:\n${problems.join('\n')}`);
  return { ...r.data, ACK_SECRET: r.data.ACK_SECRET ?? '' };
}
