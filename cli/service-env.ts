/**
 * Would each service start with this environment? Every service validates its environment at
 * start and refuses when a variable is missing or malformed; `tuojiang config check` runs the same
 * validators here, service by service, so "configuration OK" can no longer hide a notify worker
 * or API that would refuse (no ACK_SECRET, a malformed SMTP_URL).
 * What is printed never carries a URL's userinfo or a secret's value, whatever a validator says.
 */
import { readNotifyEnv } from '../alerts/notify/env.js';
import { readEnv } from '../config/env.js';
import { isTuojiangError } from '../lib/errors.js';
import { redactUrls } from '../lib/redact-url.js';

/** The long-running services and the validators each runs when it starts (cli/commands/*). */
export const SERVICE_VALIDATORS = {
  ingest: [(env: NodeJS.ProcessEnv) => readEnv(env)],
  checks: [(env: NodeJS.ProcessEnv) => readEnv(env)],
  notify: [(env: NodeJS.ProcessEnv) => readEnv(env), (env: NodeJS.ProcessEnv) => readNotifyEnv(env)],
  api: [(env: NodeJS.ProcessEnv) => readEnv(env), (env: NodeJS.ProcessEnv) => readNotifyEnv(env, { mails: false })],
} as const;

export type ServiceName = keyof typeof SERVICE_VALIDATORS;
export const SERVICE_NAMES = Object.keys(SERVICE_VALIDATORS) as ServiceName[];

export interface ServiceEnvResult {
  service: ServiceName;
  starts: boolean;
  /** One line per variable: `NAME: expected …; found …` (redacted). */
  problems: string[];
}

const SECRET_KEYS = /PASSWORD|SECRET|TOKEN/;

/** The values that must never be printed: secrets, and the userinfo of every URL-valued variable. */
function secretsOf(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_KEYS.test(key)) out.push(value);
    // Userinfo, even of a value that does not parse as a URL (`smtp//user:pw@host`).
    const m = /^(?:[^/@]*\/\/)?([^/@]*)@/.exec(value);
    if (key.endsWith('_URL') && m?.[1]) out.push(m[1], ...m[1].split(':').filter((p) => p.length >= 3));
  }
  return out.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
}

export function redact(text: string, env: NodeJS.ProcessEnv): string {
  let out = redactUrls(text, '(hidden)');
  for (const s of secretsOf(env)) out = out.split(s).join('(hidden)');
  return out;
}

/** `extra`: validators that need the configuration too (the notify worker's channels). */
export function checkServiceEnv(
  service: ServiceName,
  env: NodeJS.ProcessEnv = process.env,
  extra: ReadonlyArray<(env: NodeJS.ProcessEnv) => unknown> = [],
): ServiceEnvResult {
  const problems: string[] = [];
  for (const validate of [...SERVICE_VALIDATORS[service], ...extra]) {
    try {
      validate(env);
    } catch (e) {
      if (!isTuojiangError(e)) throw e;
      for (const line of e.message.split('\n').slice(1)) {
        const l = redact(line, env);
        if (!problems.includes(l)) problems.push(l);
      }
    }
  }
  return { service, starts: problems.length === 0, problems };
}
