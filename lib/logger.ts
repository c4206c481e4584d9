import { pino, type Logger } from 'pino';
import { redactDeep, redactUrls } from './redact-url.js';

/**
 * Structured logs go to stderr so that commands whose stdout is data (`hj212 decode`,
 * `stations list --json`) stay pipeable. Every argument passes through redactDeep first: a URL's
 * userinfo (a password in REDIS_URL, INFLUX_URL, ...) never reaches a log line, whichever library
 * put the URL into an error message.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      base: { svc: name },
      hooks: {
        logMethod(args, method) {
          const safe = args.map((a) => (typeof a === 'string' ? redactUrls(a) : redactDeep(a))) as Parameters<typeof method>;
          return method.apply(this, safe);
        },
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

export type { Logger };
