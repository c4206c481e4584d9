import { pino, type Logger } from 'pino';

/**
 * Structured logs go to stderr so that commands whose stdout is data (`hj212 decode`,
 * `stations list --json`) stay pipeable.
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { svc: name } }, pino.destination({ fd: 2, sync: false }));
}

export type { Logger };
