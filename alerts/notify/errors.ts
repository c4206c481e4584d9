/** The notifications' errors, from the central catalogue (lib/errors.ts). */
import { ERRORS, TuojiangError } from '../../lib/errors.js';

export const NOTIFY_ERRORS = {
  SMTP_REJECTED: ERRORS.SMTP_REJECTED,
  MAIL_UNCERTAIN: ERRORS.MAIL_UNCERTAIN,
  MAIL_EXPIRED: ERRORS.MAIL_EXPIRED,
  ACK_INVALID: ERRORS.ACK_INVALID,
  ACK_EXPIRED: ERRORS.ACK_EXPIRED,
  ALERT_NOT_FOUND: ERRORS.ALERT_NOT_FOUND,
  BUREAU_NOT_NOTIFIED: ERRORS.BUREAU_NOT_NOTIFIED,
  ACK_BY_INVALID: ERRORS.ACK_BY_INVALID,
} as const;

export type NotifyErrorName = keyof typeof NOTIFY_ERRORS;

export class NotifyError extends TuojiangError {
  constructor(name: NotifyErrorName, message: string, details?: Record<string, unknown>) {
    super(name, message, details);
  }
}

export function isNotifyError(e: unknown, name: NotifyErrorName): e is NotifyError {
  return e instanceof NotifyError && (e.code as string) === NOTIFY_ERRORS[name].code;
}
