/**
 * Acknowledgement by one bureau (each bureau acknowledges separately): from the CLI
 * (`tuojiang alerts ack`) or the signed link (`tuojiang api`). The first acknowledgement of a
 * bureau stands; acknowledging again says who did it first. It stops that bureau's escalation.
 */
import { NotifyError } from './errors.js';
import type { AckRecord, NotifyStore } from './store.js';

export const ACK_BY_MAX = 80;

/**
 * Characters that would let a name rewrite the terminal or the page it is shown on: C0/C1 controls
 * (escape sequences, newlines), line separators and bidirectional overrides.
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]/u;

/**
 * Who acknowledges, checked at input: a string of at most 80 characters without unsafe characters.
 * Empty or absent gives `fallback`.
 */
export function ackByName(by: unknown, fallback: string): string {
  if (by === undefined || by === null) return fallback;
  if (typeof by !== 'string')
    throw new NotifyError('ACK_BY_INVALID', `by must be a string (a name), got ${Array.isArray(by) ? 'an array' : typeof by}`);
  const name = by.trim();
  if (name === '') return fallback;
  if (UNSAFE.test(name)) throw new NotifyError('ACK_BY_INVALID', 'by contains control or direction-override characters');
  if (name.length > ACK_BY_MAX) throw new NotifyError('ACK_BY_INVALID', `by is ${name.length} characters long; at most ${ACK_BY_MAX}`);
  return name;
}

export async function acknowledge(
  store: NotifyStore,
  alertId: string,
  bureau: string,
  by: string,
  via: AckRecord['via'],
  now = Date.now(),
): Promise<{ status: 'recorded' | 'already'; ack: AckRecord }> {
  const name = ackByName(by, via);
  const a = await store.alert(alertId);
  if (!a) throw new NotifyError('ALERT_NOT_FOUND', `no notified alert "${alertId}"`);
  if (!a.info.bureaus.includes(bureau)) {
    throw new NotifyError(
      'BUREAU_NOT_NOTIFIED',
      `bureau "${bureau}" was not notified of ${alertId} (notified: ${a.info.bureaus.join(', ')})`,
    );
  }
  const r = await store.ack(alertId, bureau, { by: name, at: now, via });
  if (r.status === 'unknown-alert' || !r.ack) throw new NotifyError('ALERT_NOT_FOUND', `no notified alert "${alertId}"`);
  return { status: r.status, ack: r.ack };
}
